//! A service description's identity is its own id (and an optional external id), not its
//! LeiKa key: descriptions without a key, with several keys, and variants sharing a key;
//! imports idempotent by external id; keys searchable and filterable one by one; the
//! migration keeps every existing key.

use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

const KO: &str = "/api/v1/tenants/stadt-koblenz/services";
const FOUR: [&str; 4] = [
    "99050012104000",
    "99050012104001",
    "99050012261000",
    "99050012261001",
];
const SHARED: &str = "99010004001000";

async fn json_of(resp: reqwest::Response, status: StatusCode) -> Value {
    let got = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

async fn import(app: &TestApp, token: &str, tenant: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/tenants/{tenant}/import")))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn list(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let body = json_of(
        app.get(token, &format!("{KO}?{query}")).await,
        StatusCode::OK,
    )
    .await;
    body["items"].as_array().unwrap().clone()
}

fn titles(items: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = items
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect();
    t.sort();
    t
}

/// Polls the search (bounded) until `pred` holds: the index follows the change feed.
async fn search_until(
    app: &TestApp,
    token: &str,
    query: &[(&str, &str)],
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let resp = app
            .client
            .get(app.url("/api/v1/search"))
            .query(query)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let body = json_of(resp, StatusCode::OK).await;
        if pred(&body) {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "search never showed it: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn key_rows(app: &TestApp) -> i64 {
    app.count("knowledge_service_leika_keys").await
}

async fn services_have_none_one_or_several_keys_and_variants_share_one(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let agent = app.token("agent@sc-koblenz.demo").await;

    // No key: a local service.
    let local = json_of(
        app.post(
            &editor,
            KO,
            &json!({"title": "Führung durch die Feuerwache", "external_id": "1063423"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(local["leika_keys"], json!([]));
    assert_eq!(local["leika"], Value::Null);
    assert_eq!(local["external_id"], "1063423");

    // Four keys, given unsorted and with a repeat: stored sorted, once each.
    let four = json_of(
        app.post(
            &editor,
            KO,
            &json!({"title": "Gewerbe anmelden (Stadtverwaltung)",
                    "leika_keys": [FOUR[3], FOUR[0], FOUR[2], FOUR[1], FOUR[0]]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(four["leika_keys"], json!(FOUR));
    assert_eq!(four["leika"], FOUR[0]);

    // Three variants share one key; the older single-key form still works.
    let mut variants = Vec::new();
    for (i, suffix) in ["Studium", "Au-pair", "Beschäftigung"].iter().enumerate() {
        let body = if i == 0 {
            json!({"title": format!("Aufenthaltserlaubnis – {suffix}"), "leika": SHARED})
        } else {
            json!({"title": format!("Aufenthaltserlaubnis – {suffix}"), "leika_keys": [SHARED]})
        };
        let v = json_of(app.post(&editor, KO, &body).await, StatusCode::CREATED).await;
        assert_eq!(v["leika_keys"], json!([SHARED]));
        variants.push(v);
    }

    // The list filter finds every variant by the shared key, and the four-key service by
    // each of its keys (also by a prefix).
    assert_eq!(
        titles(&list(&app, &editor, &format!("leika={SHARED}")).await),
        [
            "Aufenthaltserlaubnis – Au-pair",
            "Aufenthaltserlaubnis – Beschäftigung",
            "Aufenthaltserlaubnis – Studium"
        ]
    );
    for key in FOUR {
        let items = list(&app, &editor, &format!("leika={key}")).await;
        assert_eq!(
            titles(&items),
            ["Gewerbe anmelden (Stadtverwaltung)"],
            "{key}"
        );
        assert_eq!(items[0]["leika_keys"], json!(FOUR));
    }
    assert_eq!(list(&app, &editor, "leika=9905001226").await.len(), 1);

    // Search: every key is found by `leika=`.
    for s in [&four, &variants[0], &variants[1], &variants[2]] {
        let id = s["id"].as_str().unwrap();
        json_of(
            app.post(&editor, &format!("{KO}/{id}/publish"), &json!({}))
                .await,
            StatusCode::OK,
        )
        .await;
    }
    for key in FOUR {
        let hits = search_until(&app, &agent, &[("q", "Gewerbe"), ("leika", key)], |b| {
            !b["items"].as_array().unwrap().is_empty()
        })
        .await;
        assert_eq!(
            hits["items"][0]["title"],
            "Gewerbe anmelden (Stadtverwaltung)"
        );
        assert_eq!(hits["items"][0]["leika_keys"], json!(FOUR));
    }
    let hits = search_until(
        &app,
        &agent,
        &[("q", "Aufenthaltserlaubnis"), ("leika", SHARED)],
        |b| b["items"].as_array().unwrap().len() == 3,
    )
    .await;
    assert!(
        hits["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["leika_keys"] == json!([SHARED]))
    );

    // A change of the keys replaces them and makes a new version.
    let id = four["id"].as_str().unwrap();
    let changed = json_of(
        app.patch(
            &editor,
            &format!("{KO}/{id}"),
            &json!({"version": 2, "leika_keys": [FOUR[1]]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["leika_keys"], json!([FOUR[1]]));
    assert_eq!(changed["version"], 3);
    assert!(
        list(&app, &editor, &format!("leika={}", FOUR[0]))
            .await
            .is_empty()
    );

    // A bad key is named, one by one, and nothing is written.
    let before = (app.count("knowledge_services").await, key_rows(&app).await);
    let resp = app
        .post(
            &editor,
            KO,
            &json!({"title": "Neu", "leika_keys": [FOUR[0], "99-050-012", FOUR[1]]}),
        )
        .await;
    let problem = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(problem["field"], "leika_keys[1]");
    assert!(
        problem["detail"].as_str().unwrap().contains("99-050-012"),
        "{problem}"
    );
    let resp = app
        .patch(
            &editor,
            &format!("{KO}/{id}"),
            &json!({"version": 3, "leika_keys": [FOUR[0], "98050012104000"]}),
        )
        .await;
    let problem = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(problem["field"], "leika_keys[1]");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("98050012104000")
    );
    let resp = app
        .post(
            &editor,
            KO,
            &json!({"title": "Doppelt", "external_id": "1063423"}),
        )
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "duplicate").await;
    assert_eq!(
        (app.count("knowledge_services").await, key_rows(&app).await),
        before
    );
}

fn line(ext: &str, keys: &[&str], title: &str, text: &str) -> String {
    json!({"external_id": ext, "leika_keys": keys, "title": title,
           "modules": {"kurztext": text}, "status": "published"})
    .to_string()
}

fn file(variant_text: &str) -> String {
    [
        line(
            "1063423",
            &[],
            "Führung durch die Feuerwache",
            "Termine nach Absprache.",
        ),
        line(
            "2001",
            &FOUR,
            "Gewerbe anmelden",
            "Anmeldung beim Gewerbeamt.",
        ),
        line(
            "3001",
            &[SHARED],
            "Aufenthaltserlaubnis – Studium",
            variant_text,
        ),
        line(
            "3002",
            &[SHARED],
            "Aufenthaltserlaubnis – Au-pair",
            "Für Au-pairs.",
        ),
        line(
            "3003",
            &[SHARED],
            "Aufenthaltserlaubnis – Beschäftigung",
            "Für Arbeit.",
        ),
        // No external id: matched by its title on a rerun.
        json!({"title": "Taxiwarteliste", "modules": {"kurztext": "Warteliste."}}).to_string(),
    ]
    .join("\n")
}

async fn reimport_is_idempotent_by_external_id(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let services = app.count("knowledge_services").await;
    let keys = key_rows(&app).await;
    let report = json_of(
        import(&app, &editor, "stadt-koblenz", file("Für Studierende.")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["services"]["created"], 6, "{report}");
    assert_eq!(report["errors"], json!([]));
    assert_eq!(app.count("knowledge_services").await, services + 6);
    assert_eq!(key_rows(&app).await, keys + 4 + 3);
    let versions = app.count("knowledge_service_versions").await;

    // The same file again: nothing new, nothing changed.
    let again = json_of(
        import(&app, &editor, "stadt-koblenz", file("Für Studierende.")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["services"]["unchanged"], 6, "{again}");
    assert_eq!(again["services"]["created"], 0);
    assert_eq!(again["services"]["updated"], 0);
    assert_eq!(app.count("knowledge_service_versions").await, versions);

    // One variant changed: exactly that one is updated (by its external id), the other
    // variants with the same key stay as they are.
    let changed = json_of(
        import(
            &app,
            &editor,
            "stadt-koblenz",
            file("Für Studierende, neu."),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["services"]["updated"], 1, "{changed}");
    assert_eq!(changed["services"]["unchanged"], 5);
    assert_eq!(app.count("knowledge_services").await, services + 6);
    assert_eq!(app.count("knowledge_service_versions").await, versions + 1);
    let studium = list(&app, &editor, &format!("leika={SHARED}")).await;
    assert_eq!(studium.len(), 3);

    // A renamed item keeps its description (external id), a new title does not make a new one.
    let renamed = file("Für Studierende, neu.").replace(
        "Aufenthaltserlaubnis – Au-pair",
        "Aufenthaltserlaubnis für Au-pair-Beschäftigte",
    );
    let report = json_of(
        import(&app, &editor, "stadt-koblenz", renamed).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["services"]["updated"], 1, "{report}");
    assert_eq!(report["services"]["created"], 0);
    assert_eq!(app.count("knowledge_services").await, services + 6);

    // Two items of one file with one external id: the second is refused.
    let twice = [
        line("4001", &[], "Eins", "x"),
        line("4001", &[], "Zwei", "y"),
    ]
    .join("\n");
    let report = json_of(
        import(&app, &editor, "stadt-koblenz", twice).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["services"]["created"], 1);
    assert_eq!(report["errors"][0]["location"], "line 2");
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("duplicate external id 4001")
    );
}

async fn another_tenant_neither_sees_nor_changes_keys(app: TestApp) {
    let koblenz = app.token("editor@stadt-koblenz.demo").await;
    let mainz = app.token("editor@stadt-mainz.demo").await;
    let mainz_agent = app.token("agent@sc-mainz.demo").await;
    let draft = json_of(
        app.post(
            &koblenz,
            KO,
            &json!({"title": "Sondernutzung Koblenz", "leika_keys": FOUR, "external_id": "K-1"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = draft["id"].as_str().unwrap();
    let before = (
        app.count("knowledge_services").await,
        key_rows(&app).await,
        app.count("knowledge_service_versions").await,
    );
    // Mainz's editor: not found, not listed, not changed, not imported into.
    assert_problem(
        app.get(&mainz, &format!("{KO}/{id}")).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert!(
        list(&app, &mainz, &format!("leika={}", FOUR[0]))
            .await
            .is_empty()
    );
    assert_problem(
        app.patch(
            &mainz,
            &format!("{KO}/{id}"),
            &json!({"version": 1, "leika_keys": []}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let resp = import(
        &app,
        &mainz,
        "stadt-koblenz",
        line("K-1", &[], "Übernommen", "x"),
    )
    .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    // Mainz's own import with the same external id makes Mainz's own description.
    let report = json_of(
        import(
            &app,
            &mainz,
            "stadt-mainz",
            line("K-1", &[FOUR[0]], "Mainzer Text", "y"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["services"]["created"], 1, "{report}");
    // Search by key from Mainz: the Koblenz draft is not there.
    let hits = search_until(
        &app,
        &mainz_agent,
        &[
            ("q", "Sondernutzung Mainzer"),
            ("leika", FOUR[0]),
            ("tenant", "all"),
        ],
        |_| true,
    )
    .await;
    assert!(
        hits["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["tenant"] != "stadt-koblenz"),
        "{hits}"
    );
    let koblenz_view = json_of(
        app.get(&koblenz, &format!("{KO}/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(koblenz_view["leika_keys"], json!(FOUR));
    assert_eq!(koblenz_view["title"], "Sondernutzung Koblenz");
    assert_eq!(koblenz_view["version"], 1);
    assert_eq!(
        (
            app.count("knowledge_services").await,
            key_rows(&app).await,
            app.count("knowledge_service_versions").await,
        ),
        (before.0 + 1, before.1 + 1, before.2 + 1)
    );
}

const MIGRATION: &str = "m20261203_220000_service_identity";

fn steps_to_identity() -> u32 {
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let at = names.iter().position(|n| n == MIGRATION).unwrap();
    (names.len() - at) as u32
}

async fn raw_count(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn the_migration_keeps_every_key_and_refuses_a_lossy_down(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    // Descriptions as the old code wrote them: one key each.
    for (i, title) in [
        "Personalausweis beantragen",
        "Reisepass beantragen",
        "Hund anmelden",
    ]
    .iter()
    .enumerate()
    {
        json_of(
            app.post(
                &editor,
                KO,
                &json!({"title": title, "leika": format!("9910201300{i}000")}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let services = app.count("knowledge_services").await;
    assert_eq!(services, 3);
    assert_eq!(key_rows(&app).await, services, "one key each, as before");
    let keys_before = raw_count(
        &app,
        "SELECT COUNT(*) AS n FROM knowledge_service_leika_keys",
    )
    .await;

    // Down: every description gets its one key back into the old column.
    Migrator::down(app.db.conn(), Some(steps_to_identity()))
        .await
        .unwrap();
    assert_eq!(
        raw_count(
            &app,
            "SELECT COUNT(*) AS n FROM knowledge_services WHERE leika LIKE '99%'"
        )
        .await,
        services
    );
    // Up again: the same keys, nothing lost.
    Migrator::up(app.db.conn(), None).await.unwrap();
    assert_eq!(app.count("knowledge_services").await, services);
    assert_eq!(
        raw_count(
            &app,
            "SELECT COUNT(*) AS n FROM knowledge_service_leika_keys",
        )
        .await,
        keys_before
    );
    let items = list(&app, &editor, "limit=500").await;
    assert!(
        items
            .iter()
            .all(|i| i["leika_keys"].as_array().unwrap().len() == 1),
        "every description keeps its key"
    );

    // A description with several keys cannot go back to one column: down refuses, names
    // why, and changes nothing.
    json_of(
        app.post(
            &editor,
            KO,
            &json!({"title": "Mehrere", "leika_keys": FOUR}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let err = Migrator::down(app.db.conn(), Some(steps_to_identity()))
        .await
        .expect_err("down over a description with four keys");
    assert!(err.to_string().contains("no or several keys"), "{err}");
    assert_eq!(app.count("knowledge_services").await, services + 1);
    assert_eq!(key_rows(&app).await, keys_before + 4);
}

crate::both_backends!(
    services_have_none_one_or_several_keys_and_variants_share_one,
    reimport_is_idempotent_by_external_id,
    another_tenant_neither_sees_nor_changes_keys,
    the_migration_keeps_every_key_and_refuses_a_lossy_down,
);
