//! Isolation of the repository itself: a function given another tenant's proof finds and
//! changes nothing. Each test runs on SQLite and on PostgreSQL (`VERBUND_TEST_PG_URL`).

use verbund_tenant::db::Db;

use sea_orm::Set;
use verbund_tenant::Permission;

use super::*;
use crate::access;
use crate::org_units::NewOrgUnit;
use crate::services::NewService;

pub(crate) use verbund_tenant::testing::{Backend, database, login};

async fn tenant_id(db: &Db, slug: &str) -> TenantId {
    verbund_tenant::directory::find_tenant(db, slug)
        .await
        .expect("tenant")
        .id
}

/// A draft of Koblenz: Mainz's editor neither finds, reads nor saves it; once published,
/// every reader reads it, and still only Koblenz changes it.
async fn description_of_another_tenant_is_not_found_nor_saved(backend: Backend) {
    let (db, _dir) = database(backend).await;
    let koblenz = login(&db, "editor@stadt-koblenz.demo").await;
    let mainz = login(&db, "editor@stadt-mainz.demo").await;
    let (koblenz_id, mainz_id) = (
        tenant_id(&db, "stadt-koblenz").await,
        tenant_id(&db, "stadt-mainz").await,
    );
    let view = crate::services::create_service(
        &db,
        &koblenz,
        "stadt-koblenz",
        NewService {
            leika: Some("99123456789012".into()),
            title: Some("Hundesteuer anmelden".into()),
            ..NewService::default()
        },
    )
    .await
    .expect("create draft");

    let mainz_writer = Writer::user(
        &mainz
            .authorize(Permission::EditKnowledge, mainz_id)
            .expect("editor of mainz"),
    );
    let koblenz_writer = Writer::user(
        &koblenz
            .authorize(Permission::EditKnowledge, koblenz_id)
            .expect("editor of koblenz"),
    );
    let mainz_reader = access::reader(&mainz).expect("reader");
    let koblenz_reader = access::reader(&koblenz).expect("reader");

    assert!(
        service_for_edit(&db, &mainz_writer, view.id.into())
            .await
            .expect("q")
            .is_none()
    );
    assert!(
        readable_service(&db, &mainz_reader, koblenz_id, view.id.into())
            .await
            .expect("q")
            .is_none()
    );
    let page = service_page(&db, &mainz_reader, koblenz_id, Condition::all(), 0, 100)
        .await
        .expect("q");
    assert!(page.iter().all(|s| s.id != view.id));
    let current = service_for_edit(&db, &koblenz_writer, view.id.into())
        .await
        .expect("q")
        .expect("own draft");
    assert!(
        readable_service(&db, &koblenz_reader, koblenz_id, view.id.into())
            .await
            .expect("q")
            .is_some()
    );

    let mut changes = <service::ActiveModel as sea_orm::ActiveModelTrait>::default();
    changes.title = Set("übernommen".into());
    changes.version = Set(current.version + 1);
    let saved = save_service(&db, &mainz_writer, &current, current.version, changes).await;
    assert!(matches!(saved, Err(Error::Conflict(_, _))), "{saved:?}");
    let after = service_for_edit(&db, &koblenz_writer, view.id.into())
        .await
        .expect("q")
        .expect("still there");
    assert_eq!(after.title, "Hundesteuer anmelden");
    assert_eq!(after.version, current.version);

    crate::services::publish_service(&db, &koblenz, "stadt-koblenz", view.id.into())
        .await
        .expect("publish");
    assert!(
        readable_service(&db, &mainz_reader, koblenz_id, view.id.into())
            .await
            .expect("q")
            .is_some()
    );
    assert!(
        service_for_edit(&db, &mainz_writer, view.id.into())
            .await
            .expect("q")
            .is_none()
    );
}

/// An office of Koblenz: public to Mainz's readers, but not Mainz's to change.
async fn office_of_another_tenant_is_not_changed(backend: Backend) {
    let (db, _dir) = database(backend).await;
    let koblenz = login(&db, "admin@stadt-koblenz.demo").await;
    let mainz = login(&db, "admin@stadt-mainz.demo").await;
    let (koblenz_id, mainz_id) = (
        tenant_id(&db, "stadt-koblenz").await,
        tenant_id(&db, "stadt-mainz").await,
    );
    let office = crate::org_units::create_org_unit(
        &db,
        &koblenz,
        "stadt-koblenz",
        NewOrgUnit {
            name: "Bürgeramt Mitte".into(),
            external_id: Some("ba-mitte".into()),
            ..NewOrgUnit::default()
        },
    )
    .await
    .expect("create office");
    let mainz_writer = Writer::user(
        &mainz
            .authorize(Permission::ManageOrgUnits, mainz_id)
            .expect("admin of mainz"),
    );
    let mainz_reader = access::reader(&mainz).expect("reader");
    assert!(
        org_unit_for_edit(&db, &mainz_writer, office.id)
            .await
            .expect("q")
            .is_none()
    );
    assert!(
        org_unit_by_key(&db, &mainz_writer, Some("ba-mitte"), "Bürgeramt Mitte")
            .await
            .expect("q")
            .is_none()
    );
    assert!(
        org_units_for_edit(&db, &mainz_writer)
            .await
            .expect("q")
            .is_empty()
    );
    let current = org_unit(&db, &mainz_reader, koblenz_id, office.id)
        .await
        .expect("q")
        .expect("offices are public to readers");
    let changes = verbund_schema::org_unit::ActiveModel {
        name: Set("Übernommen".into()),
        version: Set(current.version + 1),
        ..Default::default()
    };
    assert!(
        !save_org_unit(&db, &mainz_writer, &current, changes)
            .await
            .expect("q")
    );
    let after = org_unit(&db, &mainz_reader, koblenz_id, office.id)
        .await
        .expect("q")
        .expect("still there");
    assert_eq!(after.name, "Bürgeramt Mitte");
    assert_eq!(after.version, current.version);
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

both_backends!(
    description_of_another_tenant_is_not_found_nor_saved,
    office_of_another_tenant_is_not_changed,
);
