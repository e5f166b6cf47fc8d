//! The isolation matrix: users of one tenant cannot see or change another tenant's data, and
//! users of the wrong role cannot act even within their own tenant. Every refused request is
//! followed by a check that the data did not change.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

async fn koblenz_admin_cannot_list_read_or_change_mainz_users(app: TestApp) {
    let before = app.snapshot("/api/v1/tenants/stadt-mainz/users").await;
    let users_before = app.count("users").await;
    let roles_before = app.count("role_assignments").await;
    let mainz_editor = app.user_id("stadt-mainz", "editor@stadt-mainz.demo").await;
    let admin = app.token("admin@stadt-koblenz.demo").await;

    let resp = app.get(&admin, "/api/v1/tenants/stadt-mainz/users").await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .get(
            &admin,
            &format!("/api/v1/tenants/stadt-mainz/users/{mainz_editor}"),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-mainz/users/{mainz_editor}"),
            &json!({"active": false, "display_name": "übernommen"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .post(
            &admin,
            "/api/v1/tenants/stadt-mainz/users",
            &json!({
                "email": "eindringling@stadt-mainz.demo", "display_name": "X",
                "password": "ein-langes-passwort", "roles": [{"role": "tenant_admin"}]
            }),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    // Through its own tenant's path, the Mainz user does not exist for Koblenz.
    let resp = app
        .get(
            &admin,
            &format!("/api/v1/tenants/stadt-koblenz/users/{mainz_editor}"),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-koblenz/users/{mainz_editor}"),
            &json!({"active": false}),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    // Granting a Mainz role to a Koblenz account is refused too.
    let koblenz_editor = app
        .user_id("stadt-koblenz", "editor@stadt-koblenz.demo")
        .await;
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-koblenz/users/{koblenz_editor}"),
            &json!({"roles": [{"role": "tenant_admin", "tenant": "stadt-mainz"}]}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;

    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-mainz/users").await,
        before
    );
    assert_eq!(app.count("users").await, users_before);
    assert_eq!(app.count("role_assignments").await, roles_before);
    // The Mainz editor still works.
    let editor = app.token("editor@stadt-mainz.demo").await;
    assert_eq!(
        app.get(&editor, "/api/v1/me").await.status(),
        StatusCode::OK
    );
}

async fn koblenz_admin_cannot_read_or_change_mainz_tenant(app: TestApp) {
    let before = app.snapshot("/api/v1/tenants/stadt-mainz").await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    assert_problem(
        app.get(&admin, "/api/v1/tenants/stadt-mainz").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-mainz",
            &json!({"name": "Gekapert", "mail_addresses": ["x@evil.example"]}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let list: Value = app
        .get(&admin, "/api/v1/tenants")
        .await
        .json()
        .await
        .unwrap();
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["stadt-koblenz"]);
    assert_eq!(app.snapshot("/api/v1/tenants/stadt-mainz").await, before);
}

async fn trier_agent_acts_for_trier_and_the_kreis_but_not_koblenz(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    for slug in ["stadt-trier", "kreis-trier-saarburg"] {
        let resp = app.get(&agent, &format!("/api/v1/tenants/{slug}")).await;
        assert_eq!(resp.status(), StatusCode::OK, "{slug}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["slug"], slug);
    }
    assert_problem(
        app.get(&agent, "/api/v1/tenants/stadt-koblenz").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(&agent, "/api/v1/tenants/stadt-mainz").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let list: Value = app
        .get(&agent, "/api/v1/tenants")
        .await
        .json()
        .await
        .unwrap();
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["kreis-trier-saarburg", "stadt-trier"]);
    let centers: Value = app
        .get(&agent, "/api/v1/centers")
        .await
        .json()
        .await
        .unwrap();
    let slugs: Vec<&str> = centers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["sc-trier"]);
    assert_problem(
        app.get(&agent, "/api/v1/centers/sc-koblenz").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

async fn when_a_center_stops_serving_a_tenant_its_agent_loses_it_at_once(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    assert_eq!(
        app.get(&agent, "/api/v1/tenants/kreis-trier-saarburg")
            .await
            .status(),
        StatusCode::OK
    );
    let op = app.token("operator@verbund.demo").await;
    let resp = app
        .put(
            &op,
            "/api/v1/centers/sc-trier/tenants",
            &json!({"tenants": ["stadt-trier"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_problem(
        app.get(&agent, "/api/v1/tenants/kreis-trier-saarburg")
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.get(&agent, "/api/v1/tenants/stadt-trier")
            .await
            .status(),
        StatusCode::OK
    );
}

async fn wrong_roles_are_refused_inside_the_own_tenant(app: TestApp) {
    let users_before = app.snapshot("/api/v1/tenants/stadt-koblenz/users").await;
    let tenant_before = app.snapshot("/api/v1/tenants/stadt-koblenz").await;
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let responder = app.token("responder@stadt-koblenz.demo").await;
    let agent = app.token("agent@sc-koblenz.demo").await;
    let admin_id = app
        .user_id("stadt-koblenz", "admin@stadt-koblenz.demo")
        .await;
    for (who, token) in [
        ("editor", &editor),
        ("responder", &responder),
        ("agent", &agent),
    ] {
        let resp = app.get(token, "/api/v1/tenants/stadt-koblenz/users").await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{who} lists users");
        let resp = app
            .post(token, "/api/v1/tenants/stadt-koblenz/users", &json!({
                "email": "neu@stadt-koblenz.demo", "display_name": "Neu", "password": "ein-langes-passwort"
            }))
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{who} creates a user");
        let resp = app
            .patch(
                token,
                &format!("/api/v1/tenants/stadt-koblenz/users/{admin_id}"),
                &json!({"active": false}),
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{who} deactivates the admin"
        );
        let resp = app
            .patch(
                token,
                "/api/v1/tenants/stadt-koblenz",
                &json!({"name": "Anders"}),
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{who} renames the tenant"
        );
        let resp = app
            .post(
                token,
                "/api/v1/tenants",
                &json!({"slug": "neu", "name": "Neu", "ags": "07111001", "ticket_prefix": "NE"}),
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{who} creates a tenant"
        );
        let resp = app
            .post(
                token,
                "/api/v1/centers",
                &json!({"slug": "sc-neu", "name": "Neu"}),
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{who} creates a center"
        );
    }
    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-koblenz/users").await,
        users_before
    );
    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-koblenz").await,
        tenant_before
    );
    assert_eq!(app.count("tenants").await, 4);
    assert_eq!(app.count("service_centers").await, 3);
}

async fn tenant_admin_cannot_escalate(app: TestApp) {
    let before = app.snapshot("/api/v1/tenants/stadt-koblenz/users").await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let editor_id = app
        .user_id("stadt-koblenz", "editor@stadt-koblenz.demo")
        .await;
    // (The agent role of sc-koblenz, which serves Koblenz alone, lies inside Koblenz: see
    // users.rs for the account rule.)
    for roles in [
        json!([{"role": "operator"}]),
        json!([{"role": "agent", "center": "sc-trier"}]),
        json!([{"role": "agent", "center": "sc-mainz"}]),
    ] {
        let resp = app
            .patch(
                &admin,
                &format!("/api/v1/tenants/stadt-koblenz/users/{editor_id}"),
                &json!({"roles": roles}),
            )
            .await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
        let resp = app
            .post(
                &admin,
                "/api/v1/tenants/stadt-koblenz/users",
                &json!({
                    "email": "neu@stadt-koblenz.demo", "display_name": "Neu",
                    "password": "ein-langes-passwort", "roles": roles
                }),
            )
            .await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"ags": "07111999"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"active": false}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .put(
            &admin,
            "/api/v1/centers/sc-koblenz/tenants",
            &json!({"tenants": ["stadt-koblenz", "stadt-mainz"]}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-koblenz/users").await,
        before
    );
    assert_eq!(
        app.snapshot("/api/v1/centers/sc-koblenz").await["tenants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-koblenz").await["ags"],
        "07111000"
    );
}

crate::both_backends!(
    koblenz_admin_cannot_list_read_or_change_mainz_users,
    koblenz_admin_cannot_read_or_change_mainz_tenant,
    trier_agent_acts_for_trier_and_the_kreis_but_not_koblenz,
    when_a_center_stops_serving_a_tenant_its_agent_loses_it_at_once,
    wrong_roles_are_refused_inside_the_own_tenant,
    tenant_admin_cannot_escalate,
);
