//! Isolation of the repository itself: a function given another tenant's scope finds and
//! changes nothing. Each test runs on SQLite and on PostgreSQL (`VERBUND_TEST_PG_URL`).

use crate::db::Db;
use sea_orm::{ActiveModelTrait, Set};

use super::*;
use crate::access::{Actor, Grant, GrantScope, Permission, Role};

use crate::testing::{Backend, database};

/// The admin of one tenant, as `Actor::authorize` sees it.
fn admin_of(tenant_id: TenantId) -> Actor {
    Actor::new(
        Uuid::now_v7(),
        Uuid::now_v7(),
        "admin@example.org".into(),
        "Admin".into(),
        vec![Grant::new(
            Role::TenantAdmin,
            GrantScope::Tenant(tenant_id),
            [tenant_id].into(),
        )],
    )
}

async fn tenant_id(db: &Db, slug: &str) -> TenantId {
    tenant_by_slug(db, slug)
        .await
        .expect("q")
        .expect("tenant")
        .id
}

/// Accounts, coverages and mail domains of Koblenz are not found with Mainz's scope.
async fn rows_of_another_tenant_are_not_found(backend: Backend) {
    let (db, _dir) = database(backend).await;
    let (koblenz, mainz) = (
        tenant_id(&db, "stadt-koblenz").await,
        tenant_id(&db, "stadt-mainz").await,
    );
    let mainz_users = admin_of(mainz)
        .authorize(Permission::ViewUsers, mainz)
        .expect("own tenant");
    let koblenz_users = admin_of(koblenz)
        .authorize(Permission::ViewUsers, koblenz)
        .expect("own tenant");
    let editor = login_account(&db, "editor@stadt-koblenz.demo")
        .await
        .expect("q")
        .expect("demo editor");
    assert!(
        user(&db, &mainz_users, editor.id, false)
            .await
            .expect("q")
            .is_none()
    );
    assert!(
        user(&db, &mainz_users, editor.id, true)
            .await
            .expect("q")
            .is_none()
    );
    assert!(
        users(&db, &mainz_users)
            .await
            .expect("q")
            .iter()
            .all(|u| u.tenant_id == Some(mainz))
    );
    assert!(
        user(&db, &koblenz_users, editor.id, false)
            .await
            .expect("q")
            .is_some()
    );

    let center = center_by_slug(&db, "sc-trier")
        .await
        .expect("q")
        .expect("demo center");
    let at = now();
    let cover = center_coverage::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(koblenz),
        center_id: Set(center.id),
        starts_at: Set(at),
        ends_at: Set(at + chrono::Duration::days(1)),
        reason: Set("Rosenmontag".into()),
        created_by: Set(Uuid::now_v7()),
        created_at: Set(at),
        revoked_at: Set(None),
    }
    .insert(&db)
    .await
    .expect("insert coverage");
    let mainz_cover = admin_of(mainz)
        .authorize(Permission::ManageCoverage, mainz)
        .expect("own tenant");
    assert!(
        coverage(&db, &mainz_cover, cover.id)
            .await
            .expect("q")
            .is_none()
    );
    assert!(coverages(&db, &mainz_cover).await.expect("q").is_empty());
    let koblenz_cover = admin_of(koblenz)
        .authorize(Permission::ManageCoverage, koblenz)
        .expect("own tenant");
    assert_eq!(coverages(&db, &koblenz_cover).await.expect("q").len(), 1);

    let mainz_tenant = admin_of(mainz)
        .authorize(Permission::ManageTenant, mainz)
        .expect("own tenant");
    let listed: Vec<String> = domains(&db, &mainz_tenant)
        .await
        .expect("q")
        .into_iter()
        .map(|d| d.domain)
        .collect();
    assert_eq!(listed, vec!["stadt-mainz.demo".to_owned()]);
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

both_backends!(rows_of_another_tenant_are_not_found);
