//! Graceful shutdown of the real binary: on SIGTERM the requests in flight are answered, every
//! background worker ends when asked, an exit report is logged, and the process exits with 0.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{DEMO_PASSWORD, TestApp};

/// Demo users, one login each (so no account throttling gets in the way).
const USERS: [&str; 8] = [
    "operator@verbund.demo",
    "agent@sc-koblenz.demo",
    "editor@stadt-koblenz.demo",
    "admin@stadt-koblenz.demo",
    "responder@stadt-koblenz.demo",
    "editor@stadt-mainz.demo",
    "admin@stadt-mainz.demo",
    "editor@stadt-trier.demo",
];

async fn sigterm_answers_requests_in_flight_stops_the_workers_and_exits_with_0(a: TestApp) {
    // One password check at a time: the logins queue up inside the server, so most of them are
    // still being worked on when the signal arrives.
    let mut b = a
        .second_instance_with(|s| {
            s.login.max_concurrent_hashes = 1;
            s.login.hash_wait_ms = 60_000;
            s.shutdown_timeout_seconds = 30;
            s.jobs_interval_seconds = 1;
        })
        .await;
    let sessions_before = a.count("sessions").await;
    let mut logins = tokio::task::JoinSet::new();
    for email in USERS {
        let request = b
            .client
            .post(b.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": DEMO_PASSWORD }));
        logins.spawn(async move {
            let resp = request.send().await.expect("login answered");
            let status = resp.status();
            let body: Value = resp.json().await.expect("login body");
            (status, body, Instant::now())
        });
    }
    // Once the first is answered, every login has reached the server.
    let mut answers = vec![logins.join_next().await.unwrap().unwrap()];
    let process = b.process.as_mut().unwrap();
    process.terminate();
    let signalled = Instant::now();
    while let Some(done) = logins.join_next().await {
        answers.push(done.unwrap());
    }
    for (status, body, _) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert!(body["access_token"].is_string(), "{body}");
    }
    let after_signal = answers.iter().filter(|(_, _, at)| *at > signalled).count();
    assert!(
        after_signal > 0,
        "no login was still in flight when the signal arrived"
    );

    println!(
        "{after_signal} of {} logins answered after SIGTERM",
        answers.len()
    );
    let status = process.wait_exit(Duration::from_secs(10)).await;
    let log = process.log();
    let status = status.unwrap_or_else(|| {
        panic!(
            "the process still runs 10 s after SIGTERM:\n{}",
            log.join("\n")
        )
    });
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        log.join("\n")
    );
    let report: Value = log
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "exit report")
        .unwrap_or_else(|| panic!("no exit report in the log:\n{}", log.join("\n")));
    println!("{report}");
    assert_eq!(report["server"], "stopped", "{report}");
    assert_eq!(report["clean"], true, "{report}");
    let workers = report["workers"].as_str().unwrap();
    for worker in ["epoch-watcher", "jobs", "search-follower"] {
        assert!(
            workers.contains(&format!("{worker}: stopped")),
            "{worker} missing in {workers}"
        );
    }
    if a.db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        assert!(workers.contains("sqlite-writer: stopped"), "{workers}");
    }
    // The sessions of the answered logins were committed before the process ended.
    assert_eq!(
        a.count("sessions").await,
        sessions_before + USERS.len() as i64
    );
    // Nothing listens any more; the other instance serves on.
    assert!(b.client.get(b.url("/healthz")).send().await.is_err());
    let token = a.token("agent@sc-koblenz.demo").await;
    assert_eq!(a.get(&token, "/api/v1/me").await.status(), StatusCode::OK);
}

/// A worker that ends on its own (here: panics) stops the server too, gracefully, and the
/// application ends with an error naming it, so a supervisor restarts the instance; the other
/// workers are stopped and the state is unchanged.
async fn a_worker_that_dies_stops_the_instance_with_an_error(a: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let mut app = verbund_server::Application::build(verbund_server::Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(a.database_url.clone()),
        database_max_connections: 5,
        jwt_secret: Some(crate::helpers::JWT_SECRET.to_owned().into()),
        workers: Some(1),
        ..verbund_server::Settings::default()
    })
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    app.add_worker(
        "doomed",
        tokio::spawn(async move {
            let _ = go_rx.await;
            panic!("kaputt");
        }),
    );
    let running = tokio::spawn(app.run_until_stopped());
    let health = a
        .client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let users_before = a.count("users").await;
    go_tx.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the application stops within 10 s")
        .unwrap();
    let error = ended.expect_err("a dead worker is an error").to_string();
    assert!(error.contains("doomed"), "{error}");
    assert!(
        a.client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err()
    );
    assert_eq!(a.count("users").await, users_before);
}

crate::both_backends!(
    sigterm_answers_requests_in_flight_stops_the_workers_and_exits_with_0,
    a_worker_that_dies_stops_the_instance_with_an_error,
);
