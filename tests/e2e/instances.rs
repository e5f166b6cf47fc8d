//! Several instances on one database: a login on one works on the other, and logout or
//! deactivation through one takes effect on the other as soon as its epoch watcher looks
//! (every 250 ms by default).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

async fn wait_for_401(app: &TestApp, token: &str) -> Duration {
    let start = Instant::now();
    loop {
        let status = app.get(token, "/api/v1/me").await.status();
        if status == StatusCode::UNAUTHORIZED {
            return start.elapsed();
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still accepted after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn logout_and_deactivation_reach_every_instance(a: TestApp) {
    let b = a.second_instance().await;
    let token = a.token("agent@sc-koblenz.demo").await;
    // Warm the cache of instance B.
    assert_eq!(b.get(&token, "/api/v1/me").await.status(), StatusCode::OK);
    let resp = a
        .client
        .post(a.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        a.get(&token, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let took = wait_for_401(&b, &token).await;
    assert!(took < Duration::from_secs(2), "{took:?}");

    let editor = b.token("editor@stadt-koblenz.demo").await;
    assert_eq!(b.get(&editor, "/api/v1/me").await.status(), StatusCode::OK);
    let admin = a.token("admin@stadt-koblenz.demo").await;
    let id = a
        .user_id("stadt-koblenz", "editor@stadt-koblenz.demo")
        .await;
    let resp = a
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-koblenz/users/{id}"),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let took = wait_for_401(&b, &editor).await;
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// Two processes of the real binary on one database, nothing else between them: a description
/// published through one is found by the other's search (its index follows the change feed),
/// and a logout through the other ends the session on the first.
async fn two_processes_meet_only_in_the_database(a: TestApp) {
    let b = a.second_instance().await;
    let c = a.second_instance().await;
    assert!(b.process.is_some() && c.process.is_some());
    assert_ne!(
        b.process.as_ref().unwrap().pid(),
        c.process.as_ref().unwrap().pid()
    );
    let editor = b.token("editor@stadt-koblenz.demo").await;
    let agent = c.token("agent@sc-koblenz.demo").await;
    let base = "/api/v1/tenants/stadt-koblenz/services";
    let created = b
        .post(
            &editor,
            base,
            &json!({"leika": "99999000007000", "title": "Zwischenprozessprobe"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let published = b
        .post(&editor, &format!("{base}/{id}/publish"), &json!({}))
        .await;
    assert_eq!(published.status(), StatusCode::OK);
    let start = Instant::now();
    loop {
        let resp = c
            .client
            .get(c.url("/api/v1/search"))
            .query(&[("q", "Zwischenprozessprobe"), ("tenant", "all")])
            .bearer_auth(&agent)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body: serde_json::Value = resp.json().await.unwrap();
        if body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == id.as_str())
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not found on the other process after 10 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Warm B's cache, log out through C.
    assert_eq!(b.get(&editor, "/api/v1/me").await.status(), StatusCode::OK);
    let resp = c
        .client
        .post(c.url("/api/v1/auth/logout"))
        .bearer_auth(&editor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let took = wait_for_401(&b, &editor).await;
    assert!(took < Duration::from_secs(2), "{took:?}");
}

crate::both_backends!(
    logout_and_deactivation_reach_every_instance,
    two_processes_meet_only_in_the_database,
);
