//! Every failure answers with its own problem type from the registry (`code` and `type`), and
//! the state is left as it was. A database that went away answers 503 `database-unavailable`
//! without a word of the cause.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem};

/// Asserts the problem (status, `type`) and that `code` names the same registry entry.
async fn assert_code(resp: Response, status: StatusCode, code: &str) -> Value {
    let body = assert_problem(resp, status, code).await;
    assert_eq!(body["code"], code, "{body}");
    body
}

async fn new_ticket(app: &TestApp, token: &str, tenant: &str) -> Value {
    let resp = app
        .post(
            token,
            "/api/v1/contacts",
            &json!({
                "tenant": tenant, "channel": "phone", "solved": false, "duration_seconds": 60,
                "topic": "Hundesteuer",
                "ticket": {
                    "subject": "Hundesteuer",
                    "question": "Wie melde ich meinen Hund an?",
                    "citizen": {"name": "Erika Mustermann", "phone": "+49 261 123456"},
                    "answer_channel": "callback",
                    "callback_windows": [{"from": "2026-12-01T08:00:00Z", "to": "2026-12-01T10:00:00Z"}]
                }
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json::<Value>().await.unwrap()["ticket"].clone()
}

async fn a_stale_version_is_stale_version_and_changes_nothing(app: TestApp) {
    let agent = app.token("agent@sc-koblenz.demo").await;
    let ticket = new_ticket(&app, &agent, "stadt-koblenz").await;
    let id = ticket["id"].as_str().unwrap();
    let url = format!("/api/v1/tickets/{id}");
    let v = ticket["version"].as_i64().unwrap();
    let resp = app
        .patch(&agent, &url, &json!({"version": v, "state": "in_progress"}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let before = app.snapshot(&url).await;
    let events = app.count("ticket_events").await;
    let resp = app
        .patch(&agent, &url, &json!({"version": v, "state": "closed"}))
        .await;
    let body = assert_code(resp, StatusCode::CONFLICT, "stale-version").await;
    assert_eq!(body["title"], "Changed meanwhile");
    assert!(
        body["detail"].as_str().unwrap().contains("reload"),
        "{body}"
    );
    assert_eq!(app.snapshot(&url).await, before);
    assert_eq!(app.count("ticket_events").await, events);
}

async fn a_closed_ticket_is_ticket_closed_and_changes_nothing(app: TestApp) {
    let agent = app.token("agent@sc-koblenz.demo").await;
    let ticket = new_ticket(&app, &agent, "stadt-koblenz").await;
    let id = ticket["id"].as_str().unwrap();
    let url = format!("/api/v1/tickets/{id}");
    let resp = app
        .patch(
            &agent,
            &url,
            &json!({"version": ticket["version"], "state": "closed"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let before = app.snapshot(&url).await;
    let notes = app.count("ticket_notes").await;
    let resp = app
        .post(
            &agent,
            &format!("{url}/notes"),
            &json!({"kind": "internal", "body": "zu spät"}),
        )
        .await;
    assert_code(resp, StatusCode::CONFLICT, "ticket-closed").await;
    let resp = app
        .post(
            &agent,
            &format!("{url}/call-attempts"),
            &json!({"outcome": "not_reached"}),
        )
        .await;
    assert_code(resp, StatusCode::CONFLICT, "ticket-closed").await;
    assert_eq!(app.count("ticket_notes").await, notes);
    assert_eq!(app.count("call_attempts").await, 0);
    assert_eq!(app.snapshot(&url).await, before);
}

async fn an_already_forwarded_ticket_is_already_forwarded_and_changes_nothing(app: TestApp) {
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let mainz = app.token("agent@sc-mainz.demo").await;
    let ticket = new_ticket(&app, &koblenz, "stadt-koblenz").await;
    let id = ticket["id"].as_str().unwrap();
    let url = format!("/api/v1/tickets/{id}");
    let resp = app
        .post(
            &koblenz,
            &format!("{url}/forward"),
            &json!({"tenant": "stadt-mainz", "reason": "Hund in Mainz gemeldet", "version": ticket["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let fwd: Value = resp.json().await.unwrap();
    assert_eq!(fwd["forward_state"], "pending");
    let before = app.snapshot(&url).await;
    // The receiver cannot hand it on before deciding.
    let resp = app
        .post(
            &mainz,
            &format!("{url}/forward"),
            &json!({"tenant": "stadt-trier", "reason": "weiter", "version": fwd["version"]}),
        )
        .await;
    assert_code(resp, StatusCode::CONFLICT, "already-forwarded").await;
    assert_eq!(app.count("ticket_forwards").await, 1);
    assert_eq!(app.snapshot(&url).await, before);
    // Once accepted, a second accept finds no pending forward.
    let resp = app
        .post(
            &mainz,
            &format!("{url}/accept"),
            &json!({"version": fwd["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let accepted = app.snapshot(&url).await;
    let resp = app
        .post(
            &mainz,
            &format!("{url}/accept"),
            &json!({"version": accepted["version"]}),
        )
        .await;
    assert_code(resp, StatusCode::CONFLICT, "forward-not-pending").await;
    assert_eq!(app.snapshot(&url).await, accepted);
}

async fn a_duplicate_is_duplicate_and_changes_nothing(app: TestApp) {
    let op = app.token("operator@verbund.demo").await;
    let tenants = app.count("tenants").await;
    let resp = app
        .post(
            &op,
            "/api/v1/tenants",
            &json!({"slug": "stadt-koblenz", "name": "Doppelt", "ags": "07111000", "ticket_prefix": "DK"}),
        )
        .await;
    let body = assert_code(resp, StatusCode::CONFLICT, "duplicate").await;
    assert_eq!(body["title"], "Already exists");
    assert_eq!(app.count("tenants").await, tenants);
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let users = app.count("users").await;
    let resp = app
        .post(
            &admin,
            "/api/v1/tenants/stadt-koblenz/users",
            &json!({"email": "agent@sc-koblenz.demo", "display_name": "X", "password": "ein-sehr-langes-passwort"}),
        )
        .await;
    assert_code(resp, StatusCode::CONFLICT, "duplicate").await;
    assert_eq!(app.count("users").await, users);
}

/// The OpenAPI document lists every code of the registry as the `code` enum and documents it.
async fn the_document_lists_every_problem_code(app: TestApp) {
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let description = doc["info"]["description"].as_str().unwrap();
    for kind in verbund_tenant::problem::ProblemKind::ALL {
        assert!(
            codes.contains(&kind.slug()),
            "{} not in the enum",
            kind.slug()
        );
        assert!(
            description.contains(&format!("| `{}` | {} |", kind.slug(), kind.status())),
            "{} not in the description",
            kind.slug()
        );
    }
    for code in [
        "stale-version",
        "ticket-closed",
        "already-forwarded",
        "duplicate",
        "database-unavailable",
    ] {
        assert!(codes.contains(&code), "{code}");
    }
}

crate::both_backends!(
    a_stale_version_is_stale_version_and_changes_nothing,
    a_closed_ticket_is_ticket_closed_and_changes_nothing,
    an_already_forwarded_ticket_is_already_forwarded_and_changes_nothing,
    a_duplicate_is_duplicate_and_changes_nothing,
    the_document_lists_every_problem_code,
);

/// The application's own database pool is closed under it: every request that needs the
/// database answers 503 `database-unavailable` with `Retry-After`, and the body names no
/// driver, pool, file or SQL.
async fn a_database_that_went_away_answers_503(backend: Backend) {
    let (app, own_db) = crate::helpers::spawn_app_with_db(backend).await;
    let agent = app.token("agent@sc-koblenz.demo").await;
    let ticket = new_ticket(&app, &agent, "stadt-koblenz").await;
    let id = ticket["id"].as_str().unwrap();
    own_db.conn().clone().close().await.unwrap();
    let reads = app.get(&agent, &format!("/api/v1/tickets/{id}")).await;
    let writes = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{id}/notes"),
            &json!({"kind": "internal", "body": "x"}),
        )
        .await;
    let login = app.login_raw("agent@sc-koblenz.demo", "wrong").await;
    for resp in [reads, writes, login] {
        // The request id names the logged cause for a support call.
        assert!(resp.headers().get("x-request-id").is_some());
        assert_eq!(
            resp.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("5")
        );
        let body = assert_code(
            resp,
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
        )
        .await;
        let text = body.to_string().to_lowercase();
        for word in [
            "pool",
            "sqlx",
            "sqlite",
            "postgres",
            "connection",
            "closed",
            "select",
        ] {
            assert!(!text.contains(word), "{word} in {body}");
        }
    }
    // Nothing was written: the note is not there (checked over the test's own connection).
    assert_eq!(app.count("ticket_notes").await, 0);
}

mod database_gone {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_database_that_went_away_answers_503(crate::helpers::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_database_that_went_away_answers_503(crate::helpers::Backend::Postgres).await;
    }
}
