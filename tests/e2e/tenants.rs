//! Tenants: the operator creates them, tenant admins keep their own.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

async fn operator_creates_a_tenant(app: TestApp) {
    let op = app.token("operator@verbund.demo").await;
    let resp = app
        .post(
            &op,
            "/api/v1/tenants",
            &json!({
                "slug": "stadt-kaiserslautern", "name": "Stadt Kaiserslautern", "ags": "07312000",
                "ticket_prefix": "KL", "mail_addresses": ["Buergerservice@Kaiserslautern.demo"],
                "settings": {"at_risk_hours": 3}
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        resp.headers()["location"],
        "/api/v1/tenants/stadt-kaiserslautern"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["state"], "RP");
    assert_eq!(body["time_zone"], "Europe/Berlin");
    assert_eq!(
        body["mail_addresses"],
        json!(["buergerservice@kaiserslautern.demo"])
    );
    assert_eq!(body["settings"]["at_risk_hours"], 3);
    assert_eq!(body["settings"]["service_day_hours"], 10);
    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-kaiserslautern").await,
        body
    );
    // The same slug again is a conflict.
    let resp = app
        .post(&op, "/api/v1/tenants", &json!({"slug": "stadt-kaiserslautern", "name": "X", "ags": "07312000", "ticket_prefix": "KL"}))
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "conflict").await;
    // An address another tenant receives mail at is a conflict.
    let resp = app
        .post(&op, "/api/v1/tenants", &json!({"slug": "stadt-speyer", "name": "Stadt Speyer", "ags": "07318000", "ticket_prefix": "SP", "mail_addresses": ["buergerservice@stadt-mainz.demo"]}))
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.count("tenants").await, 5);
    // Every creation is in the audit trail.
    assert!(app.count("audit_events").await >= 5);
}

async fn tenant_admin_keeps_its_tenant(app: TestApp) {
    let admin = app.token("admin@stadt-mainz.demo").await;
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-mainz",
            &json!({
                "name": "Landeshauptstadt Mainz",
                "mail_addresses": ["buergerservice@stadt-mainz.demo", "115@stadt-mainz.demo"],
                "settings": {"callback_max_attempts": 4}
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["name"], "Landeshauptstadt Mainz");
    assert_eq!(
        body["mail_addresses"],
        json!(["115@stadt-mainz.demo", "buergerservice@stadt-mainz.demo"])
    );
    assert_eq!(body["settings"]["callback_max_attempts"], 4);
    assert_eq!(
        body["settings"]["at_risk_hours"], 2,
        "other settings are kept"
    );
    assert_eq!(app.snapshot("/api/v1/tenants/stadt-mainz").await, body);
    let me: Value = app.get(&admin, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["tenants"][0]["name"], "Landeshauptstadt Mainz");
}

async fn operator_deactivates_a_tenant_and_its_users_lose_access(app: TestApp) {
    let editor = app.token("editor@stadt-mainz.demo").await;
    assert_eq!(
        app.get(&editor, "/api/v1/tenants/stadt-mainz")
            .await
            .status(),
        StatusCode::OK
    );
    let op = app.token("operator@verbund.demo").await;
    let resp = app
        .patch(
            &op,
            "/api/v1/tenants/stadt-mainz",
            &json!({"active": false}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        app.get(&editor, "/api/v1/tenants/stadt-mainz")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let me: Value = app.get(&editor, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["tenants"], json!([]));
}

crate::both_backends!(
    operator_creates_a_tenant,
    tenant_admin_keeps_its_tenant,
    operator_deactivates_a_tenant_and_its_users_lose_access,
);
