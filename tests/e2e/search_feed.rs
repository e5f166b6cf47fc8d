//! The search index of every instance follows the change feed: many concurrent publishes on
//! two instances, on a loaded CPU, are found on both within a bound; a change whose
//! transaction commits after a later one (PostgreSQL) is found, also by an instance that
//! started in between.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;
use verbund_schema::tenant;

use crate::helpers::{DEMO_PASSWORD, TestApp};

/// How long a change may take to be searchable on every instance once it is committed. The
/// index wakes at once on its own instance and looks every 500 ms for the others' changes;
/// the rest is room for a loaded CPU and a debug build.
const BOUND: Duration = Duration::from_secs(10);

/// Busy threads that keep every core of the machine loaded until dropped (or for at most
/// `max`, should a test hang).
struct CpuLoad {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuLoad {
    fn start(max: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let start = Instant::now();
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) && start.elapsed() < max {
                        for _ in 0..10_000 {
                            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005) + 1);
                        }
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A tenant whose id shares its first 64 bits with `like`'s, as the UUIDv7 ids of tenants
/// created in the same millisecond do, with an editor. Returns the editor's token.
async fn twin_tenant(app: &TestApp, like: &str, slug: &str) -> String {
    let original = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(like))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let (first_half, second_half) = original.id.uuid().as_u64_pair();
    let id = Uuid::from_u64_pair(first_half, second_half ^ 0x0000_0000_00ff_ff00);
    tenant::ActiveModel {
        id: Set(id.into()),
        slug: Set(slug.to_owned()),
        name: Set("Gemeinde Zwilling".to_owned()),
        ags: Set("07111001".to_owned()),
        state: Set(original.state.clone()),
        time_zone: Set(original.time_zone.clone()),
        ticket_prefix: Set("ZW".to_owned()),
        settings: Set(original.settings.clone()),
        active: Set(true),
        created_at: Set(original.created_at),
        updated_at: Set(original.updated_at),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let operator = app.token("operator@verbund.demo").await;
    let email = format!("editor@{slug}.demo");
    let resp = app
        .post(
            &operator,
            &format!("/api/v1/tenants/{slug}/users"),
            &json!({
                "email": email, "display_name": "Redaktion Zwilling",
                "password": DEMO_PASSWORD, "roles": [{"role": "editor"}]
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    app.token(&email).await
}

async fn ok_json(resp: reqwest::Response, status: StatusCode) -> Value {
    let got = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

/// The ids a search for `q` in every tenant shows (at most 50).
async fn found(app: &TestApp, token: &str, q: &str) -> BTreeSet<String> {
    let resp = app
        .client
        .get(app.url("/api/v1/search"))
        .query(&[("q", q), ("tenant", "all"), ("limit", "50")])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    ok_json(resp, StatusCode::OK).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits (at most [`BOUND`]) until the search shows exactly `expected` on every instance;
/// returns how long that took.
async fn visible_everywhere(
    instances: &[(&str, &TestApp)],
    token: &str,
    q: &str,
    expected: &BTreeSet<String>,
) -> Duration {
    let start = Instant::now();
    for (name, app) in instances {
        loop {
            let got = found(app, token, q).await;
            if got == *expected {
                break;
            }
            assert!(
                start.elapsed() < BOUND,
                "after {BOUND:?} the search of instance {name} shows {} of {} descriptions; \
                 missing: {:?}, extra: {:?}",
                got.intersection(expected).count(),
                expected.len(),
                expected.difference(&got).collect::<Vec<_>>(),
                got.difference(expected).collect::<Vec<_>>(),
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    start.elapsed()
}

/// Many descriptions of five tenants, one of them the twin of Koblenz, are drafted on one
/// instance and published on the other, all at once, while every core is busy; a third of
/// them are archived again. An agent of Koblenz then searches every tenant on both instances:
/// each published description is found, no archived one, within [`BOUND`]; and so on a third
/// instance that builds its index at start.
async fn concurrent_publishes_on_two_instances_are_found_on_both_under_cpu_load(a: TestApp) {
    let b = a.second_instance().await;
    let twin = twin_tenant(&a, "stadt-koblenz", "gemeinde-zwilling").await;
    let mut editors = Vec::new();
    for slug in [
        "stadt-koblenz",
        "stadt-mainz",
        "stadt-trier",
        "kreis-trier-saarburg",
    ] {
        editors.push((slug, a.token(&format!("editor@{slug}.demo")).await));
    }
    editors.push(("gemeinde-zwilling", twin));
    let agent = a.token("agent@sc-koblenz.demo").await;
    let instances = Arc::new([a.base.clone(), b.base.clone()]);
    const PER_TENANT: usize = 9;

    let load = CpuLoad::start(Duration::from_secs(120));
    let mut writers = tokio::task::JoinSet::new();
    for (t, (slug, token)) in editors.into_iter().enumerate() {
        for i in 0..PER_TENANT {
            let client = a.client.clone();
            let (token, instances) = (token.clone(), instances.clone());
            writers.spawn(async move {
                let base = format!("/api/v1/tenants/{slug}/services");
                let on = |n: usize| instances[n % 2].clone();
                let send = |n: usize, path: String, body: Value| {
                    let request = client
                        .post(format!("{}{path}", on(n)))
                        .bearer_auth(&token)
                        .json(&body);
                    async move { request.send().await.unwrap() }
                };
                let created = ok_json(
                    send(
                        i,
                        base.clone(),
                        json!({
                            "leika": format!("9999{t:02}{i:04}0000"),
                            "title": format!("Belastungsprobe {slug} Nummer {i}"),
                            "modules": {"kurztext": "Eine Beschreibung unter Last."}
                        }),
                    )
                    .await,
                    StatusCode::CREATED,
                )
                .await;
                let id = created["id"].as_str().unwrap().to_owned();
                let url = format!("{base}/{id}");
                ok_json(
                    send(i + 1, format!("{url}/publish"), json!({})).await,
                    StatusCode::OK,
                )
                .await;
                let archived = i % 3 == 0;
                if archived {
                    ok_json(
                        send(i, format!("{url}/archive"), json!({})).await,
                        StatusCode::OK,
                    )
                    .await;
                }
                (id, archived)
            });
        }
    }
    let mut expected = BTreeSet::new();
    let mut archived = 0;
    while let Some(done) = writers.join_next().await {
        let (id, was_archived) = done.unwrap();
        if was_archived {
            archived += 1;
        } else {
            expected.insert(id);
        }
    }
    assert_eq!(expected.len() + archived, 5 * PER_TENANT);
    // Every write has returned: from now on, each must become searchable on both instances.
    let took = visible_everywhere(
        &[("a", &a), ("b", &b)],
        &agent,
        "Belastungsprobe",
        &expected,
    )
    .await;
    drop(load);
    println!(
        "{} published and {archived} archived descriptions searchable on both instances {took:?} \
         after the last write",
        expected.len()
    );
    // A new instance builds its index from the database at start.
    let c = a.second_instance().await;
    assert_eq!(found(&c, &agent, "Belastungsprobe").await, expected);
}

/// On PostgreSQL a change id is taken when the row is written, so a transaction that holds
/// id N can commit after one that holds N + 1. An instance that starts in between reads N + 1
/// as the newest change and builds its index without the change of N; the change must still
/// reach its index (and that of the running instance) when N commits. (On SQLite, with one
/// writer, the open transaction has to commit before anything else is written: there the test
/// checks the same end state.)
async fn a_change_that_commits_after_a_later_one_is_found_on_every_instance(a: TestApp) {
    let mainz = a.token("editor@stadt-mainz.demo").await;
    let agent = a.token("agent@sc-koblenz.demo").await;
    let base = "/api/v1/tenants/stadt-mainz/services";
    let draft = ok_json(
        a.post(
            &mainz,
            base,
            &json!({"leika": "99999000003000", "title": "Spätzünder veröffentlichen"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = Uuid::parse_str(draft["id"].as_str().unwrap()).unwrap();
    let tenant_id = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq("stadt-mainz"))
        .one(&a.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    // Published in a transaction that stays open: it holds the next change id.
    let late = sea_orm::TransactionTrait::begin(&a.db).await.unwrap();
    let backend = late.get_database_backend();
    late.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DatabaseBackend::Postgres => {
                "UPDATE knowledge_services SET status = 'published' WHERE id = $1"
            }
            _ => "UPDATE knowledge_services SET status = 'published' WHERE id = ?",
        },
        [id.into()],
    ))
    .await
    .unwrap();
    verbund_knowledge::changes::record(&late, tenant_id, id.into())
        .await
        .unwrap();
    let postgres = backend == sea_orm::DatabaseBackend::Postgres;
    let mut late = Some(late);
    if !postgres && let Some(txn) = late.take() {
        txn.commit().await.unwrap();
    }
    // A later change commits first.
    ok_json(
        a.post(
            &mainz,
            base,
            &json!({"leika": "99999000004000", "title": "Frühaufsteher"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    // An instance starts now: the late change is not in what it reads.
    let c = a.second_instance().await;
    // Committed on a connection of no instance: both learn of it from the feed only.
    if let Some(txn) = late.take() {
        txn.commit().await.unwrap();
    }
    let expected: BTreeSet<String> = [id.to_string()].into();
    visible_everywhere(&[("a", &a), ("c", &c)], &agent, "Spätzünder", &expected).await;
}

/// A change id that never commits (a rolled-back transaction on PostgreSQL) is waited for a
/// while; the changes after it must not wait with it, however many there are. (Here the
/// missing id is left out on purpose, followed by more changes than the index reads at once.)
async fn a_missing_change_does_not_hold_back_the_changes_after_it(a: TestApp) {
    use verbund_schema::change;
    let mainz = a.token("editor@stadt-mainz.demo").await;
    let agent = a.token("agent@sc-koblenz.demo").await;
    let base = "/api/v1/tenants/stadt-mainz/services";
    let first = ok_json(
        a.post(
            &mainz,
            base,
            &json!({"leika": "99999000005000", "title": "Füllstand prüfen"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let service_id = Uuid::parse_str(first["id"].as_str().unwrap()).unwrap();
    let newest = change::Entity::find()
        .filter(change::Column::ServiceId.eq(service_id))
        .one(&a.db)
        .await
        .unwrap()
        .unwrap();
    // Id `newest + 1` stays missing; 12,000 changes follow it.
    let from = newest.id + 2;
    for chunk in (from..from + 12_000).collect::<Vec<i32>>().chunks(1_000) {
        change::Entity::insert_many(chunk.iter().map(|id| change::ActiveModel {
            id: Set(*id),
            tenant_id: Set(newest.tenant_id),
            service_id: Set(service_id.into()),
            created_at: Set(newest.created_at),
        }))
        .exec(&a.db)
        .await
        .unwrap();
    }
    if a.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        a.db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('knowledge_changes', 'id'),              (SELECT max(id) FROM knowledge_changes))",
        )
        .await
        .unwrap();
    }
    // Then a description is published.
    let published = ok_json(
        a.post(
            &mainz,
            base,
            &json!({"leika": "99999000006000", "title": "Nachzügler veröffentlichen"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = published["id"].as_str().unwrap().to_owned();
    ok_json(
        a.post(&mainz, &format!("{base}/{id}/publish"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let b = a.second_instance().await;
    let expected: BTreeSet<String> = [id].into();
    visible_everywhere(&[("a", &a), ("b", &b)], &agent, "Nachzügler", &expected).await;
}

crate::both_backends!(
    concurrent_publishes_on_two_instances_are_found_on_both_under_cpu_load,
    a_change_that_commits_after_a_later_one_is_found_on_every_instance,
    a_missing_change_does_not_hold_back_the_changes_after_it,
);
