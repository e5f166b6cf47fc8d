//! Login, logout, throttling and the token rules.

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{DEMO_PASSWORD, JWT_SECRET, TestApp, assert_problem};

async fn login_returns_a_short_lived_bearer_token(app: TestApp) {
    let resp = app
        .login_raw("Admin@Stadt-Koblenz.demo", DEMO_PASSWORD)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!(expires_in > 0 && expires_in <= 3600, "{expires_in}");
    let token = body["access_token"].as_str().unwrap();
    let me: Value = app.get(token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["email"], "admin@stadt-koblenz.demo");
    assert_eq!(app.count("sessions").await, 1);
}

async fn unknown_user_and_wrong_password_look_the_same(app: TestApp) {
    // Three rounds in turn, the fastest of each: a burst of load on the machine hits both
    // alike (the account's added delay starts only after three failures).
    let (mut wrong_time, mut unknown_time) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        let t = Instant::now();
        let wrong = app
            .login_raw("admin@stadt-koblenz.demo", "falsches-passwort")
            .await;
        wrong_time = wrong_time.min(t.elapsed());
        let t = Instant::now();
        let unknown = app
            .login_raw("niemand@stadt-koblenz.demo", "falsches-passwort")
            .await;
        unknown_time = unknown_time.min(t.elapsed());
        let a = assert_problem(wrong, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        let b = assert_problem(unknown, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        assert_eq!(a, b, "both failures must read the same");
    }
    // Both paths run one argon2 verification; neither is an order of magnitude faster.
    let (fast, slow) = if wrong_time < unknown_time {
        (wrong_time, unknown_time)
    } else {
        (unknown_time, wrong_time)
    };
    assert!(
        slow.as_secs_f64() < fast.as_secs_f64() * 5.0 + 0.05,
        "timing differs: wrong password {wrong_time:?}, unknown user {unknown_time:?}"
    );
    assert_eq!(app.count("sessions").await, 0);
}

async fn logout_ends_the_session_at_once(app: TestApp) {
    let token = app.token("editor@stadt-mainz.demo").await;
    assert_eq!(app.get(&token, "/api/v1/me").await.status(), StatusCode::OK);
    let resp = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.get(&token, "/api/v1/me").await;
    assert_problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // A second login still works.
    let again = app.token("editor@stadt-mainz.demo").await;
    assert_eq!(app.get(&again, "/api/v1/me").await.status(), StatusCode::OK);
}

async fn refresh_issues_a_new_token_for_the_same_session(app: TestApp) {
    let token = app.token("agent@sc-trier.demo").await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let fresh = body["access_token"].as_str().unwrap();
    assert_eq!(app.get(fresh, "/api/v1/me").await.status(), StatusCode::OK);
    assert_eq!(app.count("sessions").await, 1);
}

async fn repeated_failures_lock_the_account(app: TestApp) {
    // Defaults: slow down after 3 failures, lock after 10.
    for _ in 0..10 {
        let resp = app
            .login_raw("responder@stadt-trier.demo", "falsches-passwort")
            .await;
        assert!(
            resp.status() == StatusCode::UNAUTHORIZED
                || resp.status() == StatusCode::TOO_MANY_REQUESTS,
            "{}",
            resp.status()
        );
    }
    // Even the right password is refused while the lock holds.
    let resp = app
        .login_raw("responder@stadt-trier.demo", DEMO_PASSWORD)
        .await;
    let retry = resp.headers().get("retry-after").cloned();
    assert_problem(resp, StatusCode::TOO_MANY_REQUESTS, "login-locked").await;
    let retry: u64 = retry.unwrap().to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 15 * 60);
    // Other accounts are not affected.
    assert_eq!(
        app.login_raw("editor@stadt-trier.demo", DEMO_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.count("sessions").await, 1);
}

async fn failures_slow_down_before_locking(app: TestApp) {
    for _ in 0..4 {
        app.login_raw("editor@stadt-koblenz.demo", "falsches-passwort")
            .await;
    }
    // After 4 failures the answer is held back (500 ms by default).
    let t = Instant::now();
    let resp = app
        .login_raw("editor@stadt-koblenz.demo", DEMO_PASSWORD)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(t.elapsed().as_millis() >= 450, "{:?}", t.elapsed());
    // A success clears the account counter (the state, not a timing: a loaded machine may
    // take 450 ms for a login without any delay).
    assert_eq!(
        throttle_failures(&app, "account:editor@stadt-koblenz.demo").await,
        0
    );
    assert_eq!(
        app.login_raw("editor@stadt-koblenz.demo", "falsches-passwort")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        throttle_failures(&app, "account:editor@stadt-koblenz.demo").await,
        1
    );
}

fn claims(exp_offset: i64, aud: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": "verbund",
        "aud": aud,
        "sub": uuid::Uuid::nil(),
        "sid": uuid::Uuid::nil(),
        "iat": now,
        "exp": now + exp_offset,
    })
}

/// Builds a token for a real session, with the claims changed by `edit`.
async fn forged(app: &TestApp, key: &str, edit: impl FnOnce(&mut Value)) -> String {
    let real = app.token("admin@stadt-mainz.demo").await;
    let payload = real.split('.').nth(1).unwrap();
    use base64_decode::decode;
    let mut c: Value = serde_json::from_slice(&decode(payload)).unwrap();
    edit(&mut c);
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &c,
        &EncodingKey::from_secret(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

mod base64_decode {
    /// URL-safe base64 without padding, as JWT segments use.
    pub fn decode(s: &str) -> Vec<u8> {
        let val = |c: u8| -> u32 {
            match c {
                b'A'..=b'Z' => (c - b'A') as u32,
                b'a'..=b'z' => (c - b'a' + 26) as u32,
                b'0'..=b'9' => (c - b'0' + 52) as u32,
                b'-' => 62,
                b'_' => 63,
                _ => panic!("bad base64"),
            }
        };
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4) {
            let mut n = 0u32;
            for (i, &c) in chunk.iter().enumerate() {
                n |= val(c) << (18 - 6 * i);
            }
            out.push((n >> 16) as u8);
            if chunk.len() > 2 {
                out.push((n >> 8) as u8);
            }
            if chunk.len() > 3 {
                out.push(n as u8);
            }
        }
        out
    }

    pub fn encode(data: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let n = (chunk[0] as u32) << 16
                | (*chunk.get(1).unwrap_or(&0) as u32) << 8
                | *chunk.get(2).unwrap_or(&0) as u32;
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

async fn token_attacks_are_refused(app: TestApp) {
    let good = forged(&app, JWT_SECRET, |_| {}).await;
    assert_eq!(
        app.get(&good, "/api/v1/me").await.status(),
        StatusCode::OK,
        "control"
    );

    let mut attacks: Vec<(&str, String)> = Vec::new();
    // Tampered: payload changed, signature kept.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut c: Value = serde_json::from_slice(&base64_decode::decode(&parts[1])).unwrap();
    c["sub"] = json!(uuid::Uuid::new_v4());
    parts[1] = base64_decode::encode(&serde_json::to_vec(&c).unwrap());
    attacks.push(("tampered", parts.join(".")));
    // Expired well beyond the leeway.
    attacks.push((
        "expired",
        forged(&app, JWT_SECRET, |c| {
            c["exp"] = json!(chrono::Utc::now().timestamp() - 600);
        })
        .await,
    ));
    // alg none, no signature.
    let header = base64_decode::encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64_decode::encode(&serde_json::to_vec(&claims(600, "verbund-api")).unwrap());
    attacks.push(("alg none", format!("{header}.{payload}.")));
    let good_payload = good.split('.').nth(1).unwrap().to_owned();
    attacks.push((
        "alg none with real claims",
        format!("{header}.{good_payload}."),
    ));
    // Signed with another key.
    attacks.push((
        "wrong key",
        forged(&app, "another-secret-0123456789-abcdefghijklmnop", |_| {}).await,
    ));
    // Wrong audience and wrong issuer.
    attacks.push((
        "wrong audience",
        forged(&app, JWT_SECRET, |c| c["aud"] = json!("someone-else")).await,
    ));
    attacks.push((
        "wrong issuer",
        forged(&app, JWT_SECRET, |c| c["iss"] = json!("evil")).await,
    ));
    // Another user's id in a valid-looking token for this session.
    attacks.push((
        "session of another user",
        forged(&app, JWT_SECRET, |c| c["sub"] = json!(uuid::Uuid::new_v4())).await,
    ));
    attacks.push(("garbage", "not.a.token".into()));
    attacks.push(("empty", String::new()));

    for (name, token) in attacks {
        let resp = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(resp.headers().contains_key("www-authenticate"), "{name}");
        assert_problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    let resp = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", format!("Basic {good}"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

async fn deactivated_user_is_locked_out_at_once(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    assert_eq!(
        app.get(&editor, "/api/v1/me").await.status(),
        StatusCode::OK
    );
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let id = app
        .user_id("stadt-koblenz", "editor@stadt-koblenz.demo")
        .await;
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-koblenz/users/{id}"),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["active"], false);
    // The token issued before is refused now, and a new login fails like a wrong password.
    assert_problem(
        app.get(&editor, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_problem(
        app.login_raw("editor@stadt-koblenz.demo", DEMO_PASSWORD)
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    // Reactivated, the user can log in again.
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-koblenz/users/{id}"),
            &json!({"active": true}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        app.login_raw("editor@stadt-koblenz.demo", DEMO_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn password_change_ends_sessions(app: TestApp) {
    let editor = app.token("editor@stadt-mainz.demo").await;
    let admin = app.token("admin@stadt-mainz.demo").await;
    let id = app.user_id("stadt-mainz", "editor@stadt-mainz.demo").await;
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-mainz/users/{id}"),
            &json!({"password": "kurz"}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(
        app.get(&editor, "/api/v1/me").await.status(),
        StatusCode::OK,
        "a refused change changes nothing"
    );
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-mainz/users/{id}"),
            &json!({"password": "ein-neues-langes-passwort"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        app.get(&editor, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_raw("editor@stadt-mainz.demo", DEMO_PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login_raw("editor@stadt-mainz.demo", "ein-neues-langes-passwort")
            .await
            .status(),
        StatusCode::OK
    );
}

async fn me_lists_roles_and_acting_tenants(app: TestApp) {
    let token = app.token("agent@sc-trier.demo").await;
    let me: Value = app.get(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(
        me["roles"],
        json!([{"role": "agent", "center": "sc-trier"}])
    );
    let slugs: Vec<&str> = me["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["kreis-trier-saarburg", "stadt-trier"]);
    assert_eq!(me["tenants"][0]["roles"], json!(["agent"]));

    let token = app.token("operator@verbund.demo").await;
    let me: Value = app.get(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["roles"], json!([{"role": "operator"}]));
    assert_eq!(me["tenants"].as_array().unwrap().len(), 4);
}

/// Fires `n` logins at once (across the given instances, round robin) and returns the answers'
/// statuses, with the problem type of every refusal checked.
async fn burst(apps: &[&TestApp], n: usize, email: impl Fn(usize) -> String) -> Vec<StatusCode> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = apps[i % apps.len()];
        let (client, url, email) = (app.client.clone(), app.url("/api/v1/auth/login"), email(i));
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"email": email, "password": "falsches-passwort"}))
                .send()
                .await
                .unwrap()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let resp = t.await.unwrap();
        let status = resp.status();
        match status {
            StatusCode::UNAUTHORIZED => {
                assert_problem(resp, status, "unauthenticated").await;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(resp.headers().contains_key("retry-after"));
                assert_problem(resp, status, "login-locked").await;
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(resp.headers().contains_key("retry-after"));
                assert_problem(resp, status, "overloaded").await;
            }
            other => panic!("unexpected status {other}"),
        }
        statuses.push(status);
    }
    statuses
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// The stored failure count of a throttle key.
async fn throttle_failures(app: &TestApp, key: &str) -> i32 {
    use sea_orm::EntityTrait;
    verbund_schema::login_throttle::Entity::find_by_id(key.to_owned())
        .one(&app.db)
        .await
        .unwrap()
        .map_or(0, |r| r.failures)
}

/// Long hash waits, so that every attempt the throttle lets through is really checked.
fn patient(s: &mut verbund_server::Settings) {
    s.login.hash_wait_ms = 120_000;
}

async fn parallel_wrong_passwords_are_checked_no_more_than_the_lock_allows(app: TestApp) {
    // Defaults: lock after 10 failures. 60 wrong passwords at once on one account.
    let statuses = burst(&[&app], 60, |_| "responder@stadt-trier.demo".into()).await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        10,
        "exactly as many checked as the lock allows: {statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 50);
    assert_eq!(
        throttle_failures(&app, "account:responder@stadt-trier.demo").await,
        10
    );
    // The right password is refused while the lock holds.
    let resp = app
        .login_raw("responder@stadt-trier.demo", DEMO_PASSWORD)
        .await;
    assert_problem(resp, StatusCode::TOO_MANY_REQUESTS, "login-locked").await;
    assert_eq!(app.count("sessions").await, 0);
}

async fn two_instances_share_one_attempt_count(a: TestApp) {
    let b = a.second_instance_with(patient).await;
    let statuses = burst(&[&a, &b], 60, |_| "editor@stadt-mainz.demo".into()).await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        10,
        "{statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 50);
    for app in [&a, &b] {
        let resp = app
            .login_raw("editor@stadt-mainz.demo", DEMO_PASSWORD)
            .await;
        assert_problem(resp, StatusCode::TOO_MANY_REQUESTS, "login-locked").await;
    }
    assert_eq!(a.count("sessions").await, 0);
}

/// Two hashes at once at most, and no waiting for a turn: a burst of 60 logins for 60 accounts
/// gets 401 for the ones checked and 503 for the rest, never more than two checks at once.
fn two_hashes_no_wait(s: &mut verbund_server::Settings) {
    s.login.max_concurrent_hashes = 2;
    s.login.hash_wait_ms = 0;
    // Keep the per-address throttle out of the way: this is about hashing.
    s.login.address_delay_after = 1000;
    s.login.address_lock_after = 1000;
}

async fn password_checks_are_bounded_and_the_rest_refused(app: TestApp) {
    verbund_tenant::password::reset_peak(app.served.as_ref().unwrap());
    let statuses = burst(&[&app], 60, |i| format!("niemand{i}@stadt-trier.demo")).await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    let refused = count(&statuses, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(checked + refused, 60, "{statuses:?}");
    assert!(
        checked >= 2 && refused >= 1,
        "{checked} checked, {refused} refused"
    );
    let peak = verbund_tenant::password::peak_in_flight(app.served.as_ref().unwrap());
    assert!((1..=2).contains(&peak), "{peak} hashes ran at once");
    // Refused attempts were not checked, so they do not count against the client address.
    assert_eq!(
        throttle_failures(&app, "address:127.0.0.1").await,
        checked as i32
    );
    // Once the burst is over, logins work again.
    assert_eq!(
        app.login_raw("editor@stadt-trier.demo", DEMO_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

/// One test per backend with adjusted settings.
macro_rules! with_settings {
    ($tweak:ident: $($case:ident),* $(,)?) => {
        mod tweaked {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let app = $crate::helpers::spawn_app_with(
                            $crate::helpers::Backend::Sqlite, super::super::$tweak).await;
                        super::super::$case(app).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let app = $crate::helpers::spawn_app_with(
                            $crate::helpers::Backend::Postgres, super::super::$tweak).await;
                        super::super::$case(app).await;
                    }
                )*
            }
        }
    };
}

mod patient_hashing {
    use super::*;
    with_settings!(patient:
        parallel_wrong_passwords_are_checked_no_more_than_the_lock_allows,
        two_instances_share_one_attempt_count,
    );
}

mod bounded_hashing {
    use super::*;
    with_settings!(two_hashes_no_wait: password_checks_are_bounded_and_the_rest_refused);
}

crate::both_backends!(
    login_returns_a_short_lived_bearer_token,
    unknown_user_and_wrong_password_look_the_same,
    logout_ends_the_session_at_once,
    refresh_issues_a_new_token_for_the_same_session,
    repeated_failures_lock_the_account,
    failures_slow_down_before_locking,
    token_attacks_are_refused,
    deactivated_user_is_locked_out_at_once,
    password_change_ends_sessions,
    me_lists_roles_and_acting_tenants,
);
