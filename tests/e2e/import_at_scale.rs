//! A real-size import: 2,000 descriptions shaped like a municipal export (HTML texts, 40 %
//! without a LeiKa key, some with several keys, variants sharing keys, keywords) import
//! without loss, and the unchanged file imported again changes nothing (no new version, no
//! changed `updated_at`, no new change-feed row).

#[path = "../../benches/support/municipal.rs"]
mod municipal;

use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use verbund_schema::{service, service_leika_key};

use crate::helpers::TestApp;

async fn import(app: &TestApp, token: &str, body: String) -> Value {
    let resp = app
        .client
        .post(app.url("/api/v1/tenants/stadt-koblenz/import"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

/// Every description (id, version, updated_at, status) and every key row, sorted.
async fn state(app: &TestApp) -> (Vec<String>, Vec<(String, String)>) {
    let mut rows: Vec<String> = service::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            format!(
                "{} v{} {} {} {:?}",
                s.id,
                s.version,
                s.updated_at.to_rfc3339(),
                s.status.as_str(),
                s.external_id
            )
        })
        .collect();
    rows.sort();
    let mut keys: Vec<(String, String)> = service_leika_key::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.service_id.to_string(), k.leika_key))
        .collect();
    keys.sort();
    (rows, keys)
}

async fn a_municipal_export_imports_without_loss_and_reruns_unchanged(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let (file, stats) = municipal::municipal_export(2_000, 0x5eed_2026);
    assert_eq!(stats.descriptions, 2_000);
    assert_eq!(stats.without_key, 800, "{stats:?}");
    assert!(stats.several_keys > 20, "{stats:?}");
    assert!(stats.shared_keys > 20, "{stats:?}");
    assert!(stats.without_external_id > 20, "{stats:?}");

    let services = app.count("knowledge_services").await;
    let keys = app.count("knowledge_service_leika_keys").await;
    let versions = app.count("knowledge_service_versions").await;
    let report = import(&app, &editor, file.clone()).await;
    assert_eq!(report["errors"], json!([]), "{report}");
    assert_eq!(report["services"]["created"], 2_000, "{report}");
    assert_eq!(app.count("knowledge_services").await, services + 2_000);
    assert_eq!(
        app.count("knowledge_service_leika_keys").await,
        keys + stats.key_rows as i64
    );
    assert_eq!(
        app.count("knowledge_service_versions").await,
        versions + 2_000
    );
    let before = state(&app).await;
    let changes = app.count("knowledge_changes").await;

    // The same file again: every item is matched and left as it is.
    let again = import(&app, &editor, file).await;
    assert_eq!(again["errors"], json!([]), "{again}");
    assert_eq!(again["services"]["unchanged"], 2_000, "{again}");
    assert_eq!(again["services"]["created"], 0);
    assert_eq!(again["services"]["updated"], 0);
    assert_eq!(
        app.count("knowledge_service_versions").await,
        versions + 2_000
    );
    assert_eq!(app.count("knowledge_changes").await, changes);
    let after = state(&app).await;
    assert!(before == after, "the rerun changed rows");
}

crate::both_backends!(a_municipal_export_imports_without_loss_and_reruns_unchanged,);
