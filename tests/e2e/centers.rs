//! Service centers and the tenants they serve.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

async fn demo_centers_serve_their_tenants(app: TestApp) {
    let centers = app.snapshot("/api/v1/centers").await;
    let summary: Vec<(String, Vec<String>)> = centers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["slug"].as_str().unwrap().to_owned(),
                c["tenants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["slug"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("sc-koblenz".to_owned(), vec!["stadt-koblenz".to_owned()]),
            ("sc-mainz".to_owned(), vec!["stadt-mainz".to_owned()]),
            (
                "sc-trier".to_owned(),
                vec!["kreis-trier-saarburg".to_owned(), "stadt-trier".to_owned()]
            ),
        ]
    );
    let tenants = app.snapshot("/api/v1/centers/sc-trier/tenants").await;
    assert_eq!(tenants.as_array().unwrap().len(), 2);
}

async fn operator_creates_a_center_and_gives_it_an_agent(app: TestApp) {
    let op = app.token("operator@verbund.demo").await;
    let resp = app
        .post(&op, "/api/v1/centers", &json!({"slug": "sc-rheinhessen", "name": "Servicecenter Rheinhessen", "tenants": ["stadt-mainz", "stadt-koblenz"]}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["tenants"].as_array().unwrap().len(), 2);
    // Unknown tenants and duplicate slugs are refused, and nothing is written.
    let resp = app
        .post(
            &op,
            "/api/v1/centers",
            &json!({"slug": "sc-x", "name": "X", "tenants": ["gibt-es-nicht"]}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let resp = app
        .post(
            &op,
            "/api/v1/centers",
            &json!({"slug": "sc-rheinhessen", "name": "X"}),
        )
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "duplicate").await;
    assert_eq!(app.count("service_centers").await, 4);

    // The operator grants a Mainz account the agent role of the new center.
    let id = app
        .user_id("stadt-mainz", "responder@stadt-mainz.demo")
        .await;
    let resp = app
        .patch(
            &op,
            &format!("/api/v1/tenants/stadt-mainz/users/{id}"),
            &json!({"roles": [
                {"role": "responder"}, {"role": "agent", "center": "sc-rheinhessen"}
            ]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let token = app.token("responder@stadt-mainz.demo").await;
    assert_eq!(
        app.get(&token, "/api/v1/tenants/stadt-koblenz")
            .await
            .status(),
        StatusCode::OK
    );
    let me: Value = app.get(&token, "/api/v1/me").await.json().await.unwrap();
    let koblenz = me["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "stadt-koblenz")
        .unwrap();
    assert_eq!(koblenz["roles"], json!(["agent"]));
    let mainz = me["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "stadt-mainz")
        .unwrap();
    assert_eq!(mainz["roles"], json!(["agent", "responder"]));
}

crate::both_backends!(
    demo_centers_serve_their_tenants,
    operator_creates_a_center_and_gives_it_an_agent,
);
