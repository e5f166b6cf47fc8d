//! IMAP polling under hostile or dead servers: one tenant's dead mailboxes do not slow another
//! tenant's polling (against the real Dovecot from `scripts/test`), a mailbox's `last_error`
//! names a class of failure and never what a remote port answered, and the documented
//! interval bounds are enforced.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::EntityTrait;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use verbund_email::imap::{self, ImapConfig, Security};
use verbund_schema::mailbox;

use crate::helpers::{Backend, TestApp, assert_problem, spawn_app_with};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with ./scripts/test, which starts Dovecot")
    })
}

/// A port that accepts TCP connections and never says a word; counts how many are open at
/// once (the most seen).
async fn blackhole() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let seen = most.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            let open = open.clone();
            tokio::spawn(async move {
                // Read until the client gives up; answer nothing.
                let mut buf = [0u8; 256];
                while matches!(sock.read(&mut buf).await, Ok(n) if n > 0) {}
                open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (port, seen)
}

/// A port that answers every connection with `greeting` and every line with `reply` (where
/// `{tag}` is the line's first word).
async fn talker(greeting: &'static str, reply: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (read, mut write) = sock.into_split();
                let _ = write.write_all(greeting.as_bytes()).await;
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let tag = line.split_whitespace().next().unwrap_or("*").to_owned();
                    let _ = write
                        .write_all(reply.replace("{tag}", &tag).as_bytes())
                        .await;
                }
            });
        }
    });
    port
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn add_mailbox(
    app: &TestApp,
    token: &str,
    tenant: &str,
    port: u16,
    user: &str,
    secret: &str,
) -> Value {
    let resp = app
        .post(
            token,
            &format!("/api/v1/tenants/{tenant}/mailboxes"),
            &json!({
                "name": format!("Postfach {port} {user}"), "host": "127.0.0.1", "port": port,
                "security": "plain", "username": user, "secret": secret, "interval_seconds": 10
            }),
        )
        .await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn mailbox_row(app: &TestApp, id: &str) -> mailbox::Model {
    mailbox::Entity::find_by_id(uuid::Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

/// Koblenz has three mailboxes on a host that accepts connections and never answers. Mainz's
/// mailbox on Dovecot is still polled every ten seconds, its mail becomes a ticket, and
/// Koblenz's dead mailboxes take at most two pollers at a time and end with "timeout".
async fn dead_servers_of_one_tenant_do_not_delay_another(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.mailbox_tick_seconds = 1;
        s.mailbox_per_tenant = 2;
        // Long enough that Mainz waiting behind even one dead connection would stretch a gap
        // between its polls to 10 + 12 s: far beyond the 20 s allowed below, so a loaded
        // machine's slower ticks cannot be mistaken for it (nor hide it).
        s.mailbox_connect_timeout_seconds = 12;
    })
    .await;
    let (dead_port, most_open) = blackhole().await;
    let koblenz = app.token("admin@stadt-koblenz.demo").await;
    let mainz = app.token("admin@stadt-mainz.demo").await;
    for i in 0..3 {
        add_mailbox(
            &app,
            &koblenz,
            "stadt-koblenz",
            dead_port,
            &format!("tot{i}"),
            "x",
        )
        .await;
    }
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let user = format!("mainz-{suffix}@stadt-mainz.demo");
    let password = env("VERBUND_TEST_MAIL_PASSWORD");
    let imap_port: u16 = env("VERBUND_TEST_IMAP_PORT").parse().unwrap();
    let live = add_mailbox(&app, &mainz, "stadt-mainz", imap_port, &user, &password).await;
    let live_id = live["id"].as_str().unwrap().to_owned();

    // Watch Mainz's polls for 32 seconds; a mail arrives in between.
    let start = Instant::now();
    let mut polls: BTreeSet<chrono::DateTime<chrono::Utc>> = BTreeSet::new();
    let mut mailed = false;
    while start.elapsed() < Duration::from_secs(32) {
        if let Some(at) = mailbox_row(&app, &live_id).await.last_polled_at {
            polls.insert(at);
        }
        if !mailed && start.elapsed() > Duration::from_secs(3) {
            let raw = format!(
                "From: Anna <anna-{suffix}@buerger.example>\r\nTo: buergerservice@stadt-mainz.demo\r\nSubject: Wohngeld\r\n\
Message-ID: <w-{suffix}@buerger.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nFrage\r\n"
            );
            let cfg = ImapConfig {
                host: "127.0.0.1".into(),
                port: imap_port,
                security: Security::Plain,
                username: user.clone(),
                password: SecretString::from(password.clone()),
                folder: "INBOX".into(),
                processed_folder: None,
                timeout: Duration::from_secs(10),
                connect_timeout: Duration::from_secs(10),
            };
            imap::append(&cfg, "INBOX", raw.as_bytes()).await.unwrap();
            mailed = true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        polls.len() >= 3,
        "Mainz's mailbox was polled {} times in 32 s: {polls:?}",
        polls.len()
    );
    let times: Vec<_> = polls.iter().collect();
    for pair in times.windows(2) {
        let gap = (*pair[1] - *pair[0]).num_milliseconds();
        assert!(gap <= 20_000, "a gap of {gap} ms between polls: {polls:?}");
    }
    assert_eq!(mailbox_row(&app, &live_id).await.last_error, None);
    let responder = app.token("responder@stadt-mainz.demo").await;
    let page: Value = app
        .get(&responder, "/api/v1/tenants/stadt-mainz/tickets")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");

    // The dead ones: at most two at once (the per-tenant limit), each ending in a timeout.
    let most = most_open.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "{most} dead connections at once");
    let listed: Value = app
        .get(&koblenz, "/api/v1/tenants/stadt-koblenz/mailboxes")
        .await
        .json()
        .await
        .unwrap();
    for m in listed.as_array().unwrap() {
        assert_eq!(m["last_error"], "timeout", "{m}");
        assert!(m["last_polled_at"].is_string(), "{m}");
    }
}

/// A mailbox pointed at arbitrary ports tells its admin only what kind of failure happened,
/// never the bytes that answered: no port scanner, no banner grabber.
async fn last_error_is_a_class_not_the_remote_answer(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.mailbox_tick_seconds = 1;
        s.mailbox_connect_timeout_seconds = 2;
        s.mailbox_timeout_seconds = 2;
    })
    .await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let banner = talker("SSH-2.0-OpenSSH_9.6 geheim-banner-4711\r\n", "").await;
    let http = talker("HTTP/1.1 400 geheim-http-4711\r\n\r\n", "").await;
    let refusing = talker(
        "* OK [CAPABILITY IMAP4rev1] geheim-greeting-4711\r\n",
        "{tag} NO [AUTHENTICATIONFAILED] geheim-login-4711\r\n",
    )
    .await;
    let bye = talker("* BYE geheim-bye-4711\r\n", "").await;
    let (silent, _) = blackhole().await;
    let cases = [
        (closed_port(), "connection refused"),
        (banner, "not an IMAP server"),
        (http, "not an IMAP server"),
        (refusing, "authentication failed"),
        (bye, "connection failed"),
        (silent, "timeout"),
    ];
    let mut ids = Vec::new();
    for (port, _) in &cases {
        ids.push(
            add_mailbox(&app, &admin, "stadt-koblenz", *port, "user", "pw").await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let start = Instant::now();
    loop {
        let mut done = 0;
        for id in &ids {
            if mailbox_row(&app, id).await.last_polled_at.is_some() {
                done += 1;
            }
        }
        if done == ids.len() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "polls did not finish"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let listed = app
        .get(&admin, "/api/v1/tenants/stadt-koblenz/mailboxes")
        .await
        .text()
        .await
        .unwrap();
    assert!(!listed.contains("geheim"), "{listed}");
    assert!(!listed.contains("OpenSSH"), "{listed}");
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    for ((port, class), id) in cases.iter().zip(&ids) {
        let m = listed.iter().find(|m| m["id"] == id.as_str()).unwrap();
        assert_eq!(m["last_error"], *class, "port {port}: {m}");
        assert!(
            !mailbox_row(&app, id)
                .await
                .last_error
                .unwrap()
                .contains("geheim")
        );
    }
    // Another tenant's admin and a responder do not see the list at all.
    for token in [
        app.token("admin@stadt-mainz.demo").await,
        app.token("responder@stadt-koblenz.demo").await,
    ] {
        let resp = app
            .get(&token, "/api/v1/tenants/stadt-koblenz/mailboxes")
            .await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
}

/// The interval is 10-86,400 seconds, on create and on update; outside it a 422 and nothing
/// changes.
async fn mailbox_intervals_are_bounded(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.mailbox_tick_seconds = 0).await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let input = |interval: Value| {
        json!({
            "name": format!("Postfach {interval}"), "host": "imap.koblenz.example", "port": 993,
            "security": "tls", "username": "buergerservice", "secret": "geheim-123",
            "interval_seconds": interval
        })
    };
    for bad in [json!(0), json!(9), json!(86_401), json!(4_000_000_000u64)] {
        let resp = app
            .post(
                &admin,
                "/api/v1/tenants/stadt-koblenz/mailboxes",
                &input(bad.clone()),
            )
            .await;
        let status = resp.status();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("application/problem+json"), "{ct}");
    }
    let resp = app
        .post(
            &admin,
            "/api/v1/tenants/stadt-koblenz/mailboxes",
            &input(json!(9)),
        )
        .await;
    let p = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert!(
        p["detail"].as_str().unwrap().contains("interval_seconds"),
        "{p}"
    );
    assert_eq!(app.count("mailboxes").await, 0);
    let mut ids = Vec::new();
    for good in [10, 86_400] {
        let resp = app
            .post(
                &admin,
                "/api/v1/tenants/stadt-koblenz/mailboxes",
                &input(json!(good)),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["interval_seconds"], good);
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let id = &ids[0];
    let url = format!("/api/v1/tenants/stadt-koblenz/mailboxes/{id}");
    for bad in [5, 86_401] {
        let resp = app
            .patch(
                &admin,
                &url,
                &json!({"interval_seconds": bad, "name": "Umbenannt"}),
            )
            .await;
        assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    }
    // Another tenant's admin and a responder cannot change it either.
    let other = app.token("admin@stadt-mainz.demo").await;
    let resp = app
        .patch(
            &other,
            &format!("/api/v1/tenants/stadt-mainz/mailboxes/{id}"),
            &json!({"interval_seconds": 30}),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let responder = app.token("responder@stadt-koblenz.demo").await;
    let resp = app
        .patch(&responder, &url, &json!({"interval_seconds": 30}))
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let row = mailbox_row(&app, id).await;
    assert_eq!(row.interval_seconds, 10);
    assert_eq!(row.name, "Postfach 10");
    let resp = app
        .patch(&admin, &url, &json!({"interval_seconds": 600}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(mailbox_row(&app, id).await.interval_seconds, 600);
}

/// An application that stops takes its IMAP IDLE watchers with it: after the stop, mail that
/// arrives in a watched mailbox changes nothing (a watcher left running would mark the mailbox
/// due in the database of an application that has ended), and the stop is clean.
async fn a_stopped_application_leaves_no_mailbox_watcher_behind(backend: Backend) {
    // The served instance does not poll; the application under test does, every second.
    let app = spawn_app_with(backend, |s| s.mailbox_tick_seconds = 0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut watched = verbund_server::Application::build(verbund_server::Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(app.database_url.clone()),
        database_max_connections: 5,
        jwt_secret: Some(crate::helpers::JWT_SECRET.to_owned().into()),
        workers: Some(1),
        mailbox_tick_seconds: 1,
        jobs_interval_seconds: 0,
        ..verbund_server::Settings::default()
    })
    .await
    .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    watched.add_worker(
        "stopper",
        tokio::spawn(async move {
            let _ = stop_rx.await;
        }),
    );
    let running = tokio::spawn(watched.run_until_stopped());

    let user = format!("watched-{}@stadt-mainz.demo", uuid::Uuid::new_v4().simple());
    let secret = env("VERBUND_TEST_MAIL_PASSWORD");
    let admin = app.token("admin@stadt-mainz.demo").await;
    let port: u16 = env("VERBUND_TEST_IMAP_PORT").parse().unwrap();
    let created = add_mailbox(&app, &admin, "stadt-mainz", port, &user, &secret).await;
    let id = created["id"].as_str().unwrap();
    // Polled once (nothing there); the IDLE watcher starts right after.
    let start = Instant::now();
    let polled_at = loop {
        let row = mailbox_row(&app, id).await;
        if let Some(at) = row.last_polled_at {
            assert_eq!(row.last_error, None);
            break at;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never polled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;

    stop_tx.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the application stops within 10 s")
        .unwrap();
    let error = ended
        .expect_err("the ended test worker is reported")
        .to_string();
    assert!(error.contains("stopper"), "{error}");

    // Mail arrives after the stop, well inside the watcher's wait (the interval, 10 s).
    let cfg = ImapConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        username: user.clone(),
        password: SecretString::from(secret),
        folder: "INBOX".into(),
        processed_folder: None,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(10),
    };
    let raw = "From: citizen@buerger.example\r\nTo: buergerservice@stadt-mainz.demo\r\n\
Subject: Nach dem Stopp\r\nMessage-ID: <after-stop@buerger.example>\r\n\r\nHallo\r\n";
    imap::append(&cfg, "INBOX", raw.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let row = mailbox_row(&app, id).await;
    assert_eq!(
        row.last_polled_at,
        Some(polled_at),
        "a watcher of the stopped application marked the mailbox due"
    );
    assert_eq!(app.count("inbound_mails").await, 0);
}

crate::per_backend!(
    dead_servers_of_one_tenant_do_not_delay_another,
    last_error_is_a_class_not_the_remote_answer,
    mailbox_intervals_are_bounded,
    a_stopped_application_leaves_no_mailbox_watcher_behind,
);
