//! `verbund_tenant::db::write`, the write path of ticket creation: many bodies at once (on
//! SQLite several share one transaction, group commit), one of them failing after it wrote.
//! The failing body leaves nothing behind and every other body's write is committed.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use verbund_schema::tenant;
use verbund_schema::ticket_counter;
use verbund_tenant::db::write;

use crate::helpers::TestApp;

const FAILING: i32 = 2007;

async fn tenant_id(app: &TestApp, slug: &str) -> verbund_schema::ids::TenantId {
    tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The row every body writes: a counter of the tenant for `year` (a table without other
/// writers in these tests).
async fn insert_counter(
    txn: &verbund_tenant::db::WriteTxn,
    tenant_id: verbund_schema::ids::TenantId,
    year: i32,
) -> Result<(), verbund_tenant::Error> {
    ticket_counter::Entity::insert(ticket_counter::ActiveModel {
        tenant_id: Set(tenant_id),
        year: Set(year),
        last_number: Set(i64::from(year)),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// The counter years of the tenant, sorted.
async fn counter_years(app: &TestApp, tenant_id: verbund_schema::ids::TenantId) -> Vec<i32> {
    let mut years: Vec<i32> = ticket_counter::Entity::find()
        .filter(ticket_counter::Column::TenantId.eq(tenant_id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.year)
        .collect();
    years.sort();
    years
}

async fn a_failing_body_leaves_the_others_committed(app: TestApp) {
    let tenant_id = tenant_id(&app, "stadt-trier").await;
    let calls: Vec<_> = (2000..2024)
        .map(|year| {
            let db = app.db.clone();
            tokio::spawn(async move {
                let body: verbund_tenant::db::WriteBody<i32> = Box::new(move |txn| {
                    Box::pin(async move {
                        insert_counter(txn, tenant_id, year).await?;
                        if year == FAILING {
                            return Err(verbund_tenant::Error::conflict(
                                verbund_tenant::ProblemKind::StaleVersion,
                                "this body fails",
                            ));
                        }
                        Ok(year)
                    })
                });
                (year, write(&db, body).await)
            })
        })
        .collect();
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.unwrap());
    }
    for (year, result) in &results {
        match result {
            Ok(out) => assert_eq!(out, year, "each body answers its own caller"),
            Err(e) => {
                assert_eq!(*year, FAILING, "only the failing body fails: {e}");
                assert!(matches!(e, verbund_tenant::Error::Conflict(..)), "{e}");
            }
        }
    }
    assert!(results.iter().any(|(y, r)| *y == FAILING && r.is_err()));
    let years: Vec<i32> = counter_years(&app, tenant_id)
        .await
        .into_iter()
        .filter(|y| (2000..2024).contains(y))
        .collect();
    let expected: Vec<i32> = (2000..2024).filter(|y| *y != FAILING).collect();
    assert_eq!(years, expected);
}

/// A body that panics fails its own caller; the writes after it still go through (on SQLite
/// the writer thread lives on).
async fn a_panicking_body_does_not_stop_later_writes(app: TestApp) {
    let tenant_id = tenant_id(&app, "stadt-mainz").await;
    let db = app.db.clone();
    let panicking = tokio::spawn(async move {
        let body: verbund_tenant::db::WriteBody<()> = Box::new(move |txn| {
            Box::pin(async move {
                insert_counter(txn, tenant_id, 1999).await?;
                panic!("a body that panics");
            })
        });
        write(&db, body).await
    })
    .await;
    // On SQLite the caller gets an error; on PostgreSQL the body runs in the caller's task,
    // which panics.
    assert!(!matches!(panicking, Ok(Ok(()))));
    let body: verbund_tenant::db::WriteBody<i32> = Box::new(move |txn| {
        Box::pin(async move {
            insert_counter(txn, tenant_id, 1998).await?;
            Ok(1998)
        })
    });
    assert_eq!(write(&app.db, body).await.unwrap(), 1998);
    let years = counter_years(&app, tenant_id).await;
    assert_eq!(
        years,
        vec![1998],
        "the panicking body's write is rolled back"
    );
}

crate::both_backends!(
    a_failing_body_leaves_the_others_committed,
    a_panicking_body_does_not_stop_later_writes
);
