//! Users of a tenant: list, create, change roles; and the account rule: a tenant admin changes
//! only accounts all of whose roles lie inside the tenants it administers.

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
    assert_problem(resp, StatusCode::CONFLICT, "duplicate").await;
    // A stored password is an argon2id hash.
    let hash: String = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        use verbund_schema::user;
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
    assert_problem(resp, StatusCode::CONFLICT, "own-account").await;
    assert_eq!(app.get(&admin, "/api/v1/me").await.status(), StatusCode::OK);
}

/// The operator creates an account homed in `tenant` with the given roles.
async fn operator_creates(app: &TestApp, tenant: &str, email: &str, roles: Value) -> String {
    let op = app.token("operator@verbund.demo").await;
    let resp = app
        .post(
            &op,
            &format!("/api/v1/tenants/{tenant}/users"),
            &json!({"email": email, "display_name": "Konto", "password": OLD_PASSWORD, "roles": roles}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create {email}");
    resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const OLD_PASSWORD: &str = "das-alte-passwort-2026";

/// Every way a tenant admin can change an account, each refused with 403 problem+json, and the
/// account left as it was: same view, the old password logs in, its session still works.
async fn assert_untouchable(app: &TestApp, admin: &str, tenant: &str, id: &str, email: &str) {
    let session = {
        let resp = app.login_raw(email, OLD_PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let path = format!("/api/v1/tenants/{tenant}/users/{id}");
    let before = app.snapshot(&path).await;
    let audit_before = app.count("audit_events").await;
    for patch in [
        json!({"password": "uebernommen-und-lang"}),
        json!({"active": false}),
        json!({"display_name": "Übernommen"}),
        json!({"roles": []}),
        json!({"roles": [{"role": "editor"}]}),
        json!({}),
    ] {
        let resp = app.patch(admin, &path, &patch).await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(
        app.count("audit_events").await,
        audit_before,
        "nothing was recorded"
    );
    assert_eq!(
        app.snapshot(&path).await,
        before,
        "the account is unchanged"
    );
    assert_eq!(
        app.get(&session, "/api/v1/me").await.status(),
        StatusCode::OK,
        "its session was not ended"
    );
    assert_eq!(
        app.login_raw(email, OLD_PASSWORD).await.status(),
        StatusCode::OK,
        "the old password still logs in"
    );
}

async fn tenant_admin_cannot_take_over_an_operator_homed_in_its_tenant(app: TestApp) {
    let id = operator_creates(
        &app,
        "stadt-koblenz",
        "betrieb@stadt-koblenz.demo",
        json!([{"role": "operator"}]),
    )
    .await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    // The admin sees the account (it is homed in its tenant) but cannot change it.
    assert_eq!(
        app.get(&admin, &format!("/api/v1/tenants/stadt-koblenz/users/{id}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_untouchable(
        &app,
        &admin,
        "stadt-koblenz",
        &id,
        "betrieb@stadt-koblenz.demo",
    )
    .await;
    let me: Value = {
        let t = app
            .login_raw("betrieb@stadt-koblenz.demo", OLD_PASSWORD)
            .await;
        let token = t.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        app.get(&token, "/api/v1/me").await.json().await.unwrap()
    };
    assert_eq!(me["roles"], json!([{"role": "operator"}]));
}

async fn tenant_admin_cannot_change_a_user_with_roles_in_another_tenant(app: TestApp) {
    let email = "doppelt@stadt-koblenz.demo";
    let id = operator_creates(
        &app,
        "stadt-koblenz",
        email,
        json!([{"role": "editor", "tenant": "stadt-koblenz"}, {"role": "editor", "tenant": "stadt-mainz"}]),
    )
    .await;
    let koblenz = app.token("admin@stadt-koblenz.demo").await;
    assert_untouchable(&app, &koblenz, "stadt-koblenz", &id, email).await;
    // The admin of the other tenant does not even see the account: it is homed in Koblenz.
    let mainz = app.token("admin@stadt-mainz.demo").await;
    let resp = app
        .patch(
            &mainz,
            &format!("/api/v1/tenants/stadt-mainz/users/{id}"),
            &json!({"password": "uebernommen-und-lang"}),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let resp = app
        .patch(
            &mainz,
            &format!("/api/v1/tenants/stadt-koblenz/users/{id}"),
            &json!({"password": "uebernommen-und-lang"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        app.login_raw(email, OLD_PASSWORD).await.status(),
        StatusCode::OK
    );
    // The operator may change it.
    let op = app.token("operator@verbund.demo").await;
    let resp = app
        .patch(
            &op,
            &format!("/api/v1/tenants/stadt-koblenz/users/{id}"),
            &json!({"password": "vom-betrieb-gesetzt"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        app.login_raw(email, "vom-betrieb-gesetzt").await.status(),
        StatusCode::OK
    );
    // Once the Mainz role is gone, the account is Koblenz's alone and its admin may change it.
    let resp = app
        .patch(
            &op,
            &format!("/api/v1/tenants/stadt-koblenz/users/{id}"),
            &json!({"roles": [{"role": "editor", "tenant": "stadt-koblenz"}]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .patch(
            &koblenz,
            &format!("/api/v1/tenants/stadt-koblenz/users/{id}"),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["active"], false);
}

async fn tenant_admin_cannot_grant_roles_outside_its_tenants(app: TestApp) {
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let users_before = app.count("users").await;
    for roles in [
        json!([{"role": "editor", "tenant": "stadt-mainz"}]),
        json!([{"role": "operator"}]),
        json!([{"role": "agent", "center": "sc-mainz"}]),
        json!([{"role": "agent", "center": "sc-trier"}]),
    ] {
        let resp = app
            .post(
                &admin,
                "/api/v1/tenants/stadt-koblenz/users",
                &json!({"email": "neu@stadt-koblenz.demo", "display_name": "Neu", "password": OLD_PASSWORD, "roles": roles}),
            )
            .await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(app.count("users").await, users_before);
    // Nor to an account of its own tenant.
    let id = app
        .user_id("stadt-koblenz", "editor@stadt-koblenz.demo")
        .await;
    let path = format!("/api/v1/tenants/stadt-koblenz/users/{id}");
    let before = app.snapshot(&path).await;
    for roles in [
        json!([{"role": "editor"}, {"role": "tenant_admin", "tenant": "stadt-mainz"}]),
        json!([{"role": "operator"}]),
        json!([{"role": "agent", "center": "sc-mainz"}]),
    ] {
        let resp = app.patch(&admin, &path, &json!({"roles": roles})).await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(app.snapshot(&path).await, before);
    // What lies inside may be granted: the agent role of sc-koblenz, which serves Koblenz alone.
    let resp = app
        .patch(
            &admin,
            &path,
            &json!({"roles": [{"role": "editor"}, {"role": "agent", "center": "sc-koblenz"}]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["roles"],
        json!([{"role": "editor", "tenant": "stadt-koblenz"}, {"role": "agent", "center": "sc-koblenz"}])
    );
}

async fn center_roles_lie_inside_only_when_every_served_tenant_is_administered(app: TestApp) {
    // sc-koblenz serves Koblenz alone: its admin may create and keep its agents.
    let koblenz = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .post(
            &koblenz,
            "/api/v1/tenants/stadt-koblenz/users",
            &json!({"email": "agent2@sc-koblenz.demo", "display_name": "Agentin", "password": OLD_PASSWORD,
                    "roles": [{"role": "agent", "center": "sc-koblenz"}]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["roles"],
        json!([{"role": "agent", "center": "sc-koblenz"}])
    );
    let id = body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/tenants/stadt-koblenz/users/{id}");
    // The same role again is not stored twice.
    let resp = app
        .patch(
            &koblenz,
            &path,
            &json!({"roles": [{"role": "agent", "center": "sc-koblenz"}, {"role": "responder"}],
                                         "password": "ein-neues-langes-passwort"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["roles"],
        json!([{"role": "agent", "center": "sc-koblenz"}, {"role": "responder", "tenant": "stadt-koblenz"}])
    );
    assert_eq!(
        app.login_raw("agent2@sc-koblenz.demo", "ein-neues-langes-passwort")
            .await
            .status(),
        StatusCode::OK
    );
    // While sc-koblenz covers for Mainz, its agents reach Mainz: Koblenz's admin alone may
    // neither change such an account nor make a new one.
    let mainz = app.token("admin@stadt-mainz.demo").await;
    let until = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    let resp = app
        .post(
            &mainz,
            "/api/v1/tenants/stadt-mainz/coverages",
            &json!({"center": "sc-koblenz", "until": until, "reason": "Personalversammlung"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cover = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app.snapshot(&path).await;
    let resp = app
        .patch(
            &koblenz,
            &path,
            &json!({"password": "waehrend-der-vertretung"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .post(
            &koblenz,
            "/api/v1/tenants/stadt-koblenz/users",
            &json!({"email": "agent4@sc-koblenz.demo", "display_name": "Agent", "password": OLD_PASSWORD,
                    "roles": [{"role": "agent", "center": "sc-koblenz"}]}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.snapshot(&path).await, before);
    assert_eq!(
        app.login_raw("agent2@sc-koblenz.demo", "ein-neues-langes-passwort")
            .await
            .status(),
        StatusCode::OK
    );
    // Revoked, the account is Koblenz's alone again.
    let resp = app
        .post(
            &mainz,
            &format!("/api/v1/tenants/stadt-mainz/coverages/{cover}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .patch(&koblenz, &path, &json!({"display_name": "Agentin Koblenz"}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // sc-trier serves Trier and Trier-Saarburg: the admin of Trier alone may not touch its agents.
    let email = "agentin@stadt-trier.demo";
    let id = operator_creates(
        &app,
        "stadt-trier",
        email,
        json!([{"role": "agent", "center": "sc-trier"}]),
    )
    .await;
    let trier = app.token("admin@stadt-trier.demo").await;
    assert_untouchable(&app, &trier, "stadt-trier", &id, email).await;
    let resp = app
        .post(
            &trier,
            "/api/v1/tenants/stadt-trier/users",
            &json!({"email": "agent3@stadt-trier.demo", "display_name": "Agent", "password": OLD_PASSWORD,
                    "roles": [{"role": "agent", "center": "sc-trier"}]}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;

    // Made admin of Trier-Saarburg as well, it administers every tenant sc-trier serves.
    let op = app.token("operator@verbund.demo").await;
    let admin_id = app.user_id("stadt-trier", "admin@stadt-trier.demo").await;
    let resp = app
        .patch(
            &op,
            &format!("/api/v1/tenants/stadt-trier/users/{admin_id}"),
            &json!({"roles": [{"role": "tenant_admin", "tenant": "stadt-trier"},
                              {"role": "tenant_admin", "tenant": "kreis-trier-saarburg"}]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let trier = app.token("admin@stadt-trier.demo").await;
    let resp = app
        .patch(
            &trier,
            &format!("/api/v1/tenants/stadt-trier/users/{id}"),
            &json!({"password": "ein-neues-langes-passwort"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        app.login_raw(email, "ein-neues-langes-passwort")
            .await
            .status(),
        StatusCode::OK
    );
}

/// A role is one of the five: an unknown or misspelled role in a new user or a role change is
/// a 422 naming the allowed roles, and nothing is created or changed. Roles are read back
/// typed from the `role_assignments` column.
async fn an_unknown_role_is_refused_and_changes_nothing(app: TestApp) {
    let admin = app.token("admin@stadt-trier.demo").await;
    let users_before = app.count("users").await;
    let roles_before = app.count("role_assignments").await;
    for role in ["superuser", "Editor", "tenant-admin", ""] {
        let resp = app
            .post(
                &admin,
                "/api/v1/tenants/stadt-trier/users",
                &json!({
                    "email": "neu@stadt-trier.demo", "display_name": "Neu",
                    "password": "ein-sehr-langes-passwort", "roles": [{"role": role}]
                }),
            )
            .await;
        let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
        assert!(
            body["detail"].as_str().unwrap().contains("tenant_admin"),
            "{role}: {body}"
        );
    }
    let id = app
        .user_id("stadt-trier", "responder@stadt-trier.demo")
        .await;
    let url = format!("/api/v1/tenants/stadt-trier/users/{id}");
    let before = app.snapshot(&url).await;
    let resp = app
        .patch(
            &admin,
            &url,
            &json!({"roles": [{"role": "responder"}, {"role": "chef"}]}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
    assert_eq!(app.snapshot(&url).await, before);
    assert_eq!(
        before["roles"],
        json!([{"role": "responder", "tenant": "stadt-trier"}])
    );
    assert_eq!(app.count("users").await, users_before);
    assert_eq!(app.count("role_assignments").await, roles_before);
}

crate::both_backends!(
    tenant_admin_creates_a_user_who_can_log_in,
    tenant_admin_changes_roles_within_its_tenant,
    tenant_admin_cannot_take_over_an_operator_homed_in_its_tenant,
    tenant_admin_cannot_change_a_user_with_roles_in_another_tenant,
    tenant_admin_cannot_grant_roles_outside_its_tenants,
    center_roles_lie_inside_only_when_every_served_tenant_is_administered,
    an_unknown_role_is_refused_and_changes_nothing,
);
