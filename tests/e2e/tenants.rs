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
    // The operator creates the tenant: the domains of its first addresses become its own.
    assert_eq!(body["mail_domains"], json!(["kaiserslautern.demo"]));
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
    assert_problem(resp, StatusCode::CONFLICT, "duplicate").await;
    // An address another tenant receives mail at is a conflict.
    let resp = app
        .post(&op, "/api/v1/tenants", &json!({"slug": "stadt-speyer", "name": "Stadt Speyer", "ags": "07318000", "ticket_prefix": "SP", "mail_addresses": ["buergerservice@stadt-mainz.demo"]}))
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "duplicate").await;
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

/// The tenant's view as the operator sees it, and the mail-related rows straight from the database.
async fn mail_state(app: &TestApp, slug: &str) -> (Value, i64, i64) {
    (
        app.snapshot(&format!("/api/v1/tenants/{slug}")).await,
        app.count("tenant_mail_addresses").await,
        app.count("tenant_mail_domains").await,
    )
}

async fn tenant_admin_cannot_claim_another_tenants_mail_identity(app: TestApp) {
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let before = mail_state(&app, "stadt-koblenz").await;
    assert_eq!(before.0["mail_domains"], json!(["stadt-koblenz.demo"]));
    // Mainz's inbound address, plain or as a plus-address, and an address in no domain of ours.
    for foreign in [
        "poststelle@stadt-mainz.demo",
        "buergerservice@stadt-mainz.demo",
        "buergerservice+koblenz@stadt-mainz.demo",
        "Poststelle@STADT-MAINZ.demo",
        "info@mail.stadt-koblenz.demo",
        "info@koblenz.de",
    ] {
        let resp = app
            .patch(
                &admin,
                "/api/v1/tenants/stadt-koblenz",
                &json!({"mail_addresses": ["buergerservice@stadt-koblenz.demo", foreign]}),
            )
            .await;
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], "mail_addresses", "{foreign}");
    }
    // A sender that is not one of the tenant's own addresses: Mainz's, or an unclaimed one.
    for sender in [
        "buergerservice@stadt-mainz.demo",
        "noreply@stadt-koblenz.demo",
    ] {
        let resp = app
            .patch(
                &admin,
                "/api/v1/tenants/stadt-koblenz",
                &json!({"settings": {"mail_from": sender}}),
            )
            .await;
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], "settings.mail_from", "{sender}");
    }
    // Nor can the admin assign itself a domain, or take one away.
    let resp = app
        .post(
            &admin,
            "/api/v1/tenants/stadt-koblenz/mail-domains",
            &json!({"domain": "stadt-mainz.demo"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .client
        .delete(app.url("/api/v1/tenants/stadt-koblenz/mail-domains/stadt-koblenz.demo"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    // Or look at another tenant's domains.
    let resp = app
        .get(&admin, "/api/v1/tenants/stadt-mainz/mail-domains")
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        mail_state(&app, "stadt-koblenz").await,
        before,
        "nothing changed"
    );
    let mainz = app.snapshot("/api/v1/tenants/stadt-mainz").await;
    assert_eq!(
        mainz["mail_addresses"],
        json!(["buergerservice@stadt-mainz.demo"])
    );
    assert!(mainz["settings"]["mail_from"].is_null());

    // Within its own domain the admin is free: a second address, and sending from it.
    let resp = app
        .get(&admin, "/api/v1/tenants/stadt-koblenz/mail-domains")
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let domains: Value = resp.json().await.unwrap();
    assert_eq!(domains[0]["domain"], "stadt-koblenz.demo");
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"mail_addresses": ["buergerservice@stadt-koblenz.demo", "115@stadt-koblenz.demo"],
                    "settings": {"mail_from": "115@Stadt-Koblenz.demo"}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["mail_addresses"],
        json!([
            "115@stadt-koblenz.demo",
            "buergerservice@stadt-koblenz.demo"
        ])
    );
    // Dropping the address the tenant sends from is refused while it still sends from it.
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"mail_addresses": ["buergerservice@stadt-koblenz.demo"]}),
        )
        .await;
    let problem = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(problem["field"], "settings.mail_from");
    assert_eq!(app.snapshot("/api/v1/tenants/stadt-koblenz").await, body);
}

async fn operator_assigns_mail_domains(app: TestApp) {
    let op = app.token("operator@verbund.demo").await;
    let path = "/api/v1/tenants/stadt-koblenz/mail-domains";
    let resp = app
        .post(&op, path, &json!({"domain": " Koblenz.DE "}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["location"], format!("{path}/koblenz.de"));
    assert_eq!(resp.json::<Value>().await.unwrap()["domain"], "koblenz.de");
    let resp = app.post(&op, path, &json!({"domain": "koblenz.de"})).await;
    assert_problem(resp, StatusCode::CONFLICT, "duplicate").await;
    for bad in ["koblenz", "-x.de", "a b.de", "a@koblenz.de", ""] {
        let resp = app.post(&op, path, &json!({"domain": bad})).await;
        assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    }
    let resp = app
        .post(
            &op,
            "/api/v1/tenants/nirgendwo/mail-domains",
            &json!({"domain": "x.de"}),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let listed: Vec<String> = app
        .get(&op, path)
        .await
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["koblenz.de", "stadt-koblenz.demo"]);
    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-koblenz").await["mail_domains"],
        json!(["koblenz.de", "stadt-koblenz.demo"])
    );

    // The tenant admin can now claim an address there.
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"mail_addresses": ["buergerservice@stadt-koblenz.demo", "info@koblenz.de"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // A domain still in use is not taken away; once unused, it is.
    let resp = app
        .client
        .delete(app.url(&format!("{path}/koblenz.de")))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::CONFLICT, "in-use").await;
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"mail_addresses": ["buergerservice@stadt-koblenz.demo"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    for expected in [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND] {
        let resp = app
            .client
            .delete(app.url(&format!("{path}/koblenz.de")))
            .bearer_auth(&op)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), expected);
    }
    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-koblenz").await["mail_domains"],
        json!(["stadt-koblenz.demo"])
    );
    // The operator is bound by the same rule when it edits addresses.
    let resp = app
        .patch(
            &op,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"mail_addresses": ["info@koblenz.de"]}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
}

async fn an_address_in_a_shared_domain_belongs_to_one_tenant(app: TestApp) {
    let op = app.token("operator@verbund.demo").await;
    for slug in ["stadt-koblenz", "stadt-mainz"] {
        let resp = app
            .post(
                &op,
                &format!("/api/v1/tenants/{slug}/mail-domains"),
                &json!({"domain": "115-rlp.demo"}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let koblenz = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .patch(
            &koblenz,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"mail_addresses": ["buergerservice@stadt-koblenz.demo", "info@115-rlp.demo"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mainz = app.token("admin@stadt-mainz.demo").await;
    let before = mail_state(&app, "stadt-mainz").await;
    for taken in [
        "info@115-rlp.demo",
        "INFO@115-rlp.demo",
        "info+mainz@115-rlp.demo",
    ] {
        let resp = app
            .patch(
                &mainz,
                "/api/v1/tenants/stadt-mainz",
                &json!({"mail_addresses": ["buergerservice@stadt-mainz.demo", taken]}),
            )
            .await;
        assert_problem(resp, StatusCode::CONFLICT, "duplicate").await;
    }
    assert_eq!(
        mail_state(&app, "stadt-mainz").await,
        before,
        "nothing changed"
    );
    let resp = app
        .patch(
            &mainz,
            "/api/v1/tenants/stadt-mainz",
            &json!({"mail_addresses": ["buergerservice@stadt-mainz.demo", "mainz@115-rlp.demo"],
                    "settings": {"mail_from": "mainz@115-rlp.demo"}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // Sending from the other tenant's address in the shared domain is refused.
    let resp = app
        .patch(
            &mainz,
            "/api/v1/tenants/stadt-mainz",
            &json!({"settings": {"mail_from": "info@115-rlp.demo"}}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-mainz").await["settings"]["mail_from"],
        "mainz@115-rlp.demo"
    );
}

crate::both_backends!(
    tenant_admin_cannot_claim_another_tenants_mail_identity,
    operator_assigns_mail_domains,
    an_address_in_a_shared_domain_belongs_to_one_tenant,
    operator_creates_a_tenant,
    tenant_admin_keeps_its_tenant,
    operator_deactivates_a_tenant_and_its_users_lose_access,
);
