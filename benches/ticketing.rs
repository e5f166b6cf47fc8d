//! Ticketing benchmark (issue "Ticketing", point 12). Run on the release build:
//!
//! ```sh
//! cargo bench --bench ticketing -- sqlite
//! VERBUND_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/verbund_bench cargo bench --bench ticketing -- postgres
//! ```
//!
//! It fills the database with 1,000,000 contacts and 200,000 tickets over 50 tenants, starts the
//! server in-process, and measures with wrk (64 → 32 connections as the issue asks):
//! ticket creation over HTTP next to a raw insert of the same row with the same durability,
//! the p99 of the queue listing, and the time of a monthly report. It prints a Markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
#![allow(
    clippy::disallowed_methods,
    reason = "the benchmark prepares and checks its data directly in the tables"
)]

mod support;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::machine::{machine_busy_since, machine_jiffies};
use support::wrk::{field, p99, wrk};

use chrono::{TimeZone, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait};
use uuid::Uuid;
use verbund_schema::ids::TenantId;
use verbund_schema::tenant;
use verbund_schema::types::{AnswerChannel, Channel, ForwardState, Priority, TicketState};
use verbund_schema::{contact, ticket};
use verbund_server::{Application, Settings};

const TENANTS: usize = 50;
const CONTACTS: usize = 1_000_000;
const TICKETS: usize = 200_000;
const SECRET: &str = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

fn ticket_row(
    tenant_id: TenantId,
    number: String,
    at: chrono::DateTime<Utc>,
) -> ticket::ActiveModel {
    ticket::ActiveModel {
        id: Set(verbund_schema::ids::TicketId::now_v7()),
        tenant_id: Set(tenant_id),
        number: Set(number),
        subject: Set("Personalausweis beantragen".into()),
        question: Set("Welche Unterlagen brauche ich für den neuen Personalausweis?".into()),
        citizen_name: Set(Some("Erika Mustermann".into())),
        citizen_phone: Set(Some("+49 261 123456".into())),
        citizen_email: Set(None),
        citizen_address: Set(None),
        answer_channel: Set(AnswerChannel::Callback),
        callback_windows: Set(serde_json::json!([])),
        service_id: Set(None),
        state: Set(TicketState::New),
        assignee_user_id: Set(None),
        queue: Set("frontoffice".into()),
        priority: Set(Priority::Normal),
        due_at: Set(at + chrono::Duration::days(1)),
        at_risk: Set(false),
        overdue: Set(false),
        failed_call_attempts: Set(0),
        needs_other_channel: Set(false),
        origin_tenant_id: Set(tenant_id),
        forward_state: Set(ForwardState::None),
        created_by: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        closed_at: Set(None),
        first_answered_at: Set(Some(at + chrono::Duration::hours(3))),
        anonymized_at: Set(None),
        version: Set(1),
    }
}

async fn fill(db: &verbund_tenant::db::Db) -> Vec<TenantId> {
    verbund_tenant::demo::seed(db).await.unwrap();
    let start = Instant::now();
    let now = Utc::now();
    for i in 0..(TENANTS - 4) {
        tenant::Entity::insert(tenant::ActiveModel {
            id: Set(TenantId::now_v7()),
            slug: Set(format!("bench-{i:03}")),
            name: Set(format!("Benchgemeinde {i}")),
            ags: Set(format!("07{i:06}")),
            state: Set("RP".into()),
            time_zone: Set("Europe/Berlin".into()),
            ticket_prefix: Set(format!("B{i:03}")),
            settings: Set(serde_json::json!({})),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(db)
        .await
        .unwrap();
    }
    let tenants: Vec<tenant::Model> = tenant::Entity::find().all(db).await.unwrap();
    let ids: Vec<TenantId> = tenants.iter().map(|t| t.id).collect();
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 7, 0, 0).unwrap();
    let channels = [
        Channel::Phone,
        Channel::Phone,
        Channel::Phone,
        Channel::Email,
        Channel::Letter,
        Channel::WalkIn,
    ];
    let batch = 1000;
    for chunk in 0..(CONTACTS / batch) {
        let rows = (0..batch).map(|j| {
            let n = chunk * batch + j;
            contact::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(ids[n % ids.len()]),
                center_id: Set(None),
                agent_user_id: Set(Uuid::nil()),
                channel: Set(channels[n % channels.len()]),
                service_id: Set(None),
                topic: Set(None),
                solved_first_contact: Set(n % 3 != 0),
                duration_seconds: Set(120),
                ticket_id: Set(None),
                created_at: Set(base + chrono::Duration::seconds((n as i64 * 31) % (330 * 86400))),
            }
        });
        contact::Entity::insert_many(rows).exec(db).await.unwrap();
    }
    println!("# {CONTACTS} contacts in {:.1?}", start.elapsed());
    let start = Instant::now();
    for chunk in 0..(TICKETS / batch) {
        let rows = (0..batch).map(|j| {
            let n = chunk * batch + j;
            let t = &tenants[n % tenants.len()];
            let at = base + chrono::Duration::seconds((n as i64 * 157) % (330 * 86400));
            ticket_row(
                t.id,
                format!("{}-2026-{:06}", t.ticket_prefix, 500_000 + n),
                at,
            )
        });
        ticket::Entity::insert_many(rows).exec(db).await.unwrap();
    }
    println!("# {TICKETS} tickets in {:.1?}", start.elapsed());
    ids
}

/// The same row inserted by 32 tasks, one autocommit statement each. `queued`: through the
/// server's SQLite writer queue (`begin_write`), as the server's own writes go.
async fn raw_inserts(
    db: &verbund_tenant::db::Db,
    tenant_id: TenantId,
    secs: u64,
    queued: bool,
) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..32u64 {
        let db = db.clone();
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let tag = if queued { "Q" } else { "D" };
                let row = ticket_row(tenant_id, format!("RAW{tag}-{w:02}-{i:09}"), Utc::now());
                if queued {
                    let txn = verbund_tenant::db::begin_write(&db).await.unwrap();
                    ticket::Entity::insert(row).exec(&txn).await.unwrap();
                    txn.commit().await.unwrap();
                } else {
                    ticket::Entity::insert(row).exec(&db).await.unwrap();
                }
                count.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / secs as f64
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list" || a == "--test") {
        // Test runners probing for tests: this binary has none.
        return;
    }
    let backend = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir().unwrap();
    let url = match backend.as_str() {
        "postgres" => std::env::var("VERBUND_BENCH_PG_URL").expect("VERBUND_BENCH_PG_URL"),
        _ => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        ),
    };
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(url.clone()),
        jwt_secret: Some(SECRET.to_owned().into()),
        jobs_interval_seconds: 0,
        ..Settings::default()
    };
    let db = verbund_server::db::connect(&settings).await.unwrap();
    verbund_server::db::migrate(&db).await.unwrap();
    let ids = fill(&db).await;
    let app = Application::build_with_db(settings, db.clone())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "agent@sc-trier.demo", "password": "verbund-demo-2026"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let auth = format!("authorization: Bearer {token}");

    let script = dir.path().join("create.lua");
    std::fs::write(
        &script,
        r#"wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"subject":"Personalausweis beantragen","question":"Welche Unterlagen brauche ich für den neuen Personalausweis?","citizen":{"name":"Erika Mustermann","phone":"+49 261 123456"},"answer_channel":"callback"}'
"#,
    )
    .unwrap();
    let secs = "10";
    let busy_start = machine_jiffies();
    let create = wrk(&[
        "-t2",
        "-c32",
        &format!("-d{secs}s"),
        "--latency",
        "-H",
        &auth,
        "-s",
        script.to_str().unwrap(),
        &format!("{base}/api/v1/tenants/stadt-trier/tickets"),
    ]);
    let create_rps: f64 = field(&create, "Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let non2xx = field(&create, "Non-2xx").unwrap_or("0").to_owned();
    let create_busy = machine_busy_since(busy_start);
    let raw_rps = raw_inserts(&db, ids[0], 10, false).await;
    let raw_queued_rps = raw_inserts(&db, ids[0], 10, true).await;

    let queue = wrk(&[
        "-t2",
        "-c32",
        &format!("-d{secs}s"),
        "--latency",
        "-H",
        &auth,
        &format!("{base}/api/v1/tickets?tenant=stadt-trier&limit=50"),
    ]);
    let queue_rps = field(&queue, "Requests/sec:").unwrap_or("?").to_owned();
    // A service center's own load: a few agents refreshing their queues at once.
    let queue8 = wrk(&[
        "-t2",
        "-c8",
        &format!("-d{secs}s"),
        "--latency",
        "-H",
        &auth,
        &format!("{base}/api/v1/tickets?tenant=stadt-trier&limit=50"),
    ]);
    let queue8_rps = field(&queue8, "Requests/sec:").unwrap_or("?").to_owned();

    let admin: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "admin@stadt-trier.demo", "password": "verbund-demo-2026"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let resp = client
            .get(format!("{base}/api/v1/tenants/stadt-trier/reports?from=2026-03-01&to=2026-03-31&group=month"))
            .bearer_auth(&admin_token)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        let _ = resp.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();

    println!("| {backend} | value |");
    println!("|---|---|");
    println!(
        "| ticket creation over HTTP, 32 connections | {create_rps:.0} /s (non-2xx: {non2xx}) |"
    );
    println!(
        "| machine busy during creation (2 cores = 100 %) | {:.0} % |",
        100.0 * create_busy
    );
    println!("| raw insert of the same row, 32 tasks, autocommit | {raw_rps:.0} /s |");
    println!(
        "| creation / raw insert | {:.0} % |",
        100.0 * create_rps / raw_rps.max(1.0)
    );
    println!(
        "| raw insert through the writer queue (`begin_write`), 32 tasks | {raw_queued_rps:.0} /s |"
    );
    println!(
        "| creation / raw insert through the writer queue | {:.0} % |",
        100.0 * create_rps / raw_queued_rps.max(1.0)
    );
    println!("| creation latency p99 | {} |", p99(&create));
    println!(
        "| queue listing (50 per page), 32 connections | {queue_rps} /s, p99 {} |",
        p99(&queue)
    );
    println!(
        "| queue listing (50 per page), 8 connections | {queue8_rps} /s, p50 {}, p99 {} |",
        field(&queue8, "50%").unwrap_or("?"),
        p99(&queue8)
    );
    println!(
        "| monthly report (median of 7) | {:.1?} |",
        times[times.len() / 2]
    );
}
