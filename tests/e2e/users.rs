//! Users of a tenant: list, create, change roles.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

async fn tenant_admin_creates_a_user_who_can_log_in(app: TestApp) {
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .post(
            &admin,
            "/api/v1/tenants/stadt-koblenz/users",
            &json!({
                "email": "Redaktion2@Stadt-Koblenz.demo", "display_name": "Zweite Redaktion",
                "password": "ein-sehr-langes-passwort", "roles": [{"role": "editor"}]
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["email"], "redaktion2@stadt-koblenz.demo");
    assert_eq!(body["tenant"], "stadt-koblenz");
    assert_eq!(
        body["roles"],
        json!([{"role": "editor", "tenant": "stadt-koblenz"}])
    );
    assert!(body.get("password_hash").is_none() && body.get("password").is_none());
    let list: Value = app
        .get(&admin, "/api/v1/tenants/stadt-koblenz/users")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|u| u["tenant"] == "stadt-koblenz")
    );
    let resp = app
        .login_raw("redaktion2@stadt-koblenz.demo", "ein-sehr-langes-passwort")
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The same e-mail again is a conflict.
    let resp = app
        .post(&admin, "/api/v1/tenants/stadt-koblenz/users", &json!({
            "email": "redaktion2@stadt-koblenz.demo", "display_name": "X", "password": "ein-sehr-langes-passwort"
        }))
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "conflict").await;
    // A stored password is an argon2id hash.
    let hash: String = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        use verbund_tenant::entities::user;
        user::Entity::find()
            .filter(user::Column::Email.eq("redaktion2@stadt-koblenz.demo"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .password_hash
    };
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}

async fn tenant_admin_changes_roles_within_its_tenant(app: TestApp) {
    let admin = app.token("admin@stadt-trier.demo").await;
    let id = app
        .user_id("stadt-trier", "responder@stadt-trier.demo")
        .await;
    let resp = app
        .patch(&admin, &format!("/api/v1/tenants/stadt-trier/users/{id}"), &json!({
            "display_name": "Team E-Mail", "roles": [{"role": "responder"}, {"role": "editor", "tenant": "stadt-trier"}]
        }))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["display_name"], "Team E-Mail");
    assert_eq!(
        body["roles"],
        json!([{"role": "editor", "tenant": "stadt-trier"}, {"role": "responder", "tenant": "stadt-trier"}])
    );
    let single = app
        .get(&admin, &format!("/api/v1/tenants/stadt-trier/users/{id}"))
        .await;
    assert_eq!(single.json::<Value>().await.unwrap(), body);
    // An admin cannot deactivate itself.
    let own = app.user_id("stadt-trier", "admin@stadt-trier.demo").await;
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-trier/users/{own}"),
            &json!({"active": false}),
        )
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.get(&admin, "/api/v1/me").await.status(), StatusCode::OK);
}

crate::both_backends!(
    tenant_admin_creates_a_user_who_can_log_in,
    tenant_admin_changes_roles_within_its_tenant,
);
