//! The migration that introduces mail domains (`m20261203_000001_tenant_mail_domains`) on data
//! written before it: every tenant gets the domains of its addresses, a sender address in the
//! tenant's own domain is adopted, and a sender address of another tenant or of no domain of
//! the tenant is removed.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use verbund_schema::{tenant, tenant_mail_address};

use crate::helpers::TestApp;

const MIGRATION: &str = "m20261203_000001_tenant_mail_domains";

async fn set_mail_from(app: &TestApp, slug: &str, mail_from: &str) {
    let t = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut settings = t.settings.clone();
    settings["mail_from"] = json!(mail_from);
    let mut active: tenant::ActiveModel = t.into();
    active.settings = Set(settings);
    active.update(&app.db).await.unwrap();
}

async fn migration_derives_domains_and_repairs_senders(app: TestApp) {
    // Back to the schema before mail domains (and whatever came after it).
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let at = names.iter().position(|n| n == MIGRATION).unwrap();
    Migrator::down(app.db.conn(), Some((names.len() - at) as u32))
        .await
        .unwrap();

    // Data as the old code let it be written.
    let mainz = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq("stadt-mainz"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    tenant_mail_address::ActiveModel {
        address: Set("info@mainz.de".into()),
        tenant_id: Set(mainz.id),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&app.db)
    .await
    .unwrap();
    // Koblenz sends from an unclaimed address of its own domain: adopted.
    set_mail_from(&app, "stadt-koblenz", "Noreply@Stadt-Koblenz.demo").await;
    // Mainz sends as Koblenz: removed.
    set_mail_from(&app, "stadt-mainz", "buergerservice@stadt-koblenz.demo").await;
    // Trier sends from its own inbound address: kept.
    set_mail_from(&app, "stadt-trier", "buergerservice@stadt-trier.demo").await;
    // The county sends from a domain it has no address in: removed.
    set_mail_from(&app, "kreis-trier-saarburg", "info@elsewhere.demo").await;

    Migrator::up(app.db.conn(), None).await.unwrap();

    let tenants = app.snapshot("/api/v1/tenants").await;
    let by_slug = |slug: &str| -> Value {
        tenants
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["slug"] == slug)
            .unwrap()
            .clone()
    };
    let koblenz = by_slug("stadt-koblenz");
    assert_eq!(koblenz["mail_domains"], json!(["stadt-koblenz.demo"]));
    assert_eq!(
        koblenz["mail_addresses"],
        json!([
            "buergerservice@stadt-koblenz.demo",
            "noreply@stadt-koblenz.demo"
        ])
    );
    assert_eq!(
        koblenz["settings"]["mail_from"],
        "Noreply@Stadt-Koblenz.demo"
    );
    let mainz = by_slug("stadt-mainz");
    assert_eq!(
        mainz["mail_domains"],
        json!(["mainz.de", "stadt-mainz.demo"])
    );
    assert_eq!(
        mainz["mail_addresses"],
        json!(["buergerservice@stadt-mainz.demo", "info@mainz.de"])
    );
    assert!(mainz["settings"]["mail_from"].is_null(), "{mainz}");
    let trier = by_slug("stadt-trier");
    assert_eq!(trier["mail_domains"], json!(["stadt-trier.demo"]));
    assert_eq!(
        trier["settings"]["mail_from"],
        "buergerservice@stadt-trier.demo"
    );
    let kreis = by_slug("kreis-trier-saarburg");
    assert_eq!(kreis["mail_domains"], json!(["kreis-trier-saarburg.demo"]));
    assert_eq!(
        kreis["mail_addresses"],
        json!(["buergerservice@kreis-trier-saarburg.demo"])
    );
    assert!(kreis["settings"]["mail_from"].is_null(), "{kreis}");
    // The other settings are untouched.
    assert_eq!(mainz["settings"]["service_day_hours"], 10);
}

crate::both_backends!(migration_derives_domains_and_repairs_senders);
