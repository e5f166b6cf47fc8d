//! Isolation of the repository itself: a function given another tenant's proof finds and
//! changes nothing. Each test runs on SQLite and on PostgreSQL (`VERBUND_TEST_PG_URL`).

use std::time::Duration;
use verbund_tenant::db::Db;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DbBackend, Set};
use secrecy::SecretString;
use verbund_tenant::auth::{AuthConfig, Authenticator, Credentials};
use verbund_tenant::throttle::LoginPolicy;
use verbund_tenant::token::TokenConfig;
use verbund_tenant::{Actor, Permission};

use super::*;
use crate::access;
use crate::org_units::NewOrgUnit;
use crate::services::NewService;

pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated database with the demo tenants, centers and users; the temp dir keeps the
/// SQLite file alive.
pub(crate) async fn database(backend: Backend) -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("VERBUND_TEST_PG_URL")
                .expect("VERBUND_TEST_PG_URL is not set: run ./scripts/test");
            let with_db = |db: &str| match admin.split_once('?') {
                Some((base, q)) => format!("{}/{db}?{q}", base.trim_end_matches('/')),
                None => format!("{}/{db}", admin.trim_end_matches('/')),
            };
            let server = Database::connect(with_db("postgres"))
                .await
                .expect("connect");
            let name = format!("verbund_r_{}", uuid::Uuid::new_v4().simple());
            server
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            let _ = server.close().await;
            with_db(&name)
        }
    };
    let db = Database::connect(url).await.expect("connect");
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL")
            .await
            .expect("wal");
    }
    Migrator::up(&db, None).await.expect("migrate");
    let db = Db::from(db);
    verbund_tenant::demo::seed(&db).await.expect("seed");
    (db, dir)
}

/// The demo user `email`, logged in.
pub(crate) async fn login(db: &Db, email: &str) -> Actor {
    let auth = Authenticator::new(AuthConfig {
        token: TokenConfig {
            secret: SecretString::from("repository-test-secret-0123456789abcdef"),
            issuer: "verbund-test".into(),
            audience: "verbund-test".into(),
            ttl: Duration::from_secs(600),
        },
        policy: LoginPolicy::default(),
        session_lifetime: Duration::from_secs(3600),
        cache_ttl: Duration::ZERO,
    })
    .expect("authenticator");
    let token = auth
        .login(
            db,
            Credentials {
                email: email.into(),
                password: SecretString::from(verbund_tenant::demo::DEMO_PASSWORD),
                client_ip: None,
                user_agent: None,
            },
        )
        .await
        .expect("login");
    auth.authenticate(db, &token.access_token)
        .await
        .expect("authenticate")
}

async fn tenant_id(db: &Db, slug: &str) -> Uuid {
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
        service_for_edit(&db, &mainz_writer, view.id)
            .await
            .expect("q")
            .is_none()
    );
    assert!(
        readable_service(&db, &mainz_reader, koblenz_id, view.id)
            .await
            .expect("q")
            .is_none()
    );
    let page = service_page(&db, &mainz_reader, koblenz_id, Condition::all(), 0, 100)
        .await
        .expect("q");
    assert!(page.iter().all(|s| s.id != view.id));
    let current = service_for_edit(&db, &koblenz_writer, view.id)
        .await
        .expect("q")
        .expect("own draft");
    assert!(
        readable_service(&db, &koblenz_reader, koblenz_id, view.id)
            .await
            .expect("q")
            .is_some()
    );

    let mut changes = <service::ActiveModel as sea_orm::ActiveModelTrait>::default();
    changes.title = Set("übernommen".into());
    changes.version = Set(current.version + 1);
    let saved = save_service(&db, &mainz_writer, &current, current.version, changes).await;
    assert!(matches!(saved, Err(Error::Conflict(_, _))), "{saved:?}");
    let after = service_for_edit(&db, &koblenz_writer, view.id)
        .await
        .expect("q")
        .expect("still there");
    assert_eq!(after.title, "Hundesteuer anmelden");
    assert_eq!(after.version, current.version);

    crate::services::publish_service(&db, &koblenz, "stadt-koblenz", view.id)
        .await
        .expect("publish");
    assert!(
        readable_service(&db, &mainz_reader, koblenz_id, view.id)
            .await
            .expect("q")
            .is_some()
    );
    assert!(
        service_for_edit(&db, &mainz_writer, view.id)
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
