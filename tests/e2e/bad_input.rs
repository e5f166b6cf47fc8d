//! Malformed JSON, unknown fields, wrong content types and oversized bodies get a 4xx
//! problem+json and change nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_problem};

async fn malformed_requests_get_problems_and_change_nothing(app: TestApp) {
    let op = app.token("operator@verbund.demo").await;
    let tenants_before = app.count("tenants").await;
    let users_before = app.count("users").await;

    // Malformed JSON.
    let resp = app
        .client
        .post(app.url("/api/v1/tenants"))
        .bearer_auth(&op)
        .header("content-type", "application/json")
        .body("{\"slug\": \"neu\", ")
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::BAD_REQUEST, "malformed-json").await;

    // Unknown field.
    let resp = app
        .post(&op, "/api/v1/tenants", &json!({"slug": "neu", "name": "Neu", "ags": "07111001", "ticket_prefix": "NE", "is_admin": true}))
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
    assert!(
        body["detail"].as_str().unwrap().contains("is_admin"),
        "{body}"
    );

    // Wrong content type.
    let resp = app
        .client
        .post(app.url("/api/v1/tenants"))
        .bearer_auth(&op)
        .header("content-type", "text/plain")
        .body(r#"{"slug": "neu", "name": "Neu", "ags": "07111001", "ticket_prefix": "NE"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(
        resp,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    // No content type at all.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .body(r#"{"email": "operator@verbund.demo", "password": "verbund-demo-2026"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(
        resp,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;

    // Oversized body (default JSON limit 256 KiB).
    let huge = "x".repeat(300 * 1024);
    let resp = app
        .post(
            &op,
            "/api/v1/tenants",
            &json!({"slug": "neu", "name": huge, "ags": "07111001", "ticket_prefix": "NE"}),
        )
        .await;
    assert_problem(resp, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large").await;

    // Wrong types and invalid values.
    let resp = app
        .post(&op, "/api/v1/tenants", &json!({"slug": 5, "name": "Neu"}))
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
    let resp = app
        .post(
            &op,
            "/api/v1/tenants",
            &json!({"slug": "Neu Stadt", "name": "Neu", "ags": "07111001", "ticket_prefix": "NE"}),
        )
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "slug");
    let resp = app
        .post(
            &op,
            "/api/v1/tenants",
            &json!({"slug": "neu", "name": "Neu", "ags": "123", "ticket_prefix": "NE"}),
        )
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "ags");
    let resp = app
        .post(&op, "/api/v1/tenants/stadt-koblenz/users", &json!({"email": "kein-at-zeichen", "display_name": "X", "password": "ein-langes-passwort"}))
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "email");
    let resp = app
        .post(&op, "/api/v1/tenants/stadt-koblenz/users", &json!({"email": "neu@stadt-koblenz.demo", "display_name": "X", "password": "elf-zeichen"}))
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "password");
    let resp = app
        .patch(
            &op,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"settings": {"unbekannt": 1}}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let resp = app
        .patch(
            &op,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"settings": {"service_day_hours": 0}}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;

    // Unknown routes, bad ids and wrong methods.
    assert_problem(
        app.get(&op, "/api/v1/gibt-es-nicht").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_problem(
        app.get(&op, "/api/v1/tenants/stadt-koblenz/users/keine-uuid")
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_problem(
        app.get(&op, "/api/v1/tenants/gibt-es-nicht").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let resp = app
        .client
        .delete(app.url("/api/v1/tenants"))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;

    assert_eq!(app.count("tenants").await, tenants_before);
    assert_eq!(app.count("users").await, users_before);
    let koblenz = app.snapshot("/api/v1/tenants/stadt-koblenz").await;
    assert_eq!(koblenz["settings"]["service_day_hours"], 10);
}

async fn a_rejected_patch_leaves_no_half_written_data(app: TestApp) {
    let op = app.token("operator@verbund.demo").await;
    let before = app.snapshot("/api/v1/tenants/stadt-koblenz").await;
    // The name is valid, the second address is Mainz's (outside Koblenz's mail domains):
    // nothing may change.
    let resp = app
        .patch(
            &op,
            "/api/v1/tenants/stadt-koblenz",
            &json!({
                "name": "Stadt Koblenz (neu)",
                "mail_addresses": ["post@stadt-koblenz.demo", "buergerservice@stadt-mainz.demo"]
            }),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(app.snapshot("/api/v1/tenants/stadt-koblenz").await, before);
}

crate::both_backends!(
    malformed_requests_get_problems_and_change_nothing,
    a_rejected_patch_leaves_no_half_written_data,
);
