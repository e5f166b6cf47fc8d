//! The schema and the entities agree, and state columns hold only what the enums can read.
//!
//! - `migrations_up_down_up_match_the_entities`: on a fresh database, every migration goes up,
//!   all of them down, and up again; then the live schema (PostgreSQL: `information_schema`,
//!   SQLite: `pragma table_info`) is compared with the sea-orm entities of `verbund_schema`:
//!   every entity column exists with a compatible type family and the same nullability, every
//!   table column belongs to an entity, and every table (but `seaql_migrations`) has one.
//! - `state_checks_list_the_enum_values`: the value lists frozen in the CHECK migration are the
//!   variants of the enums the code reads the columns with.
//! - `check_constraints_refuse_bad_states`: the database refuses an unknown state, through a
//!   raw write that bypasses the application.
//! - `corrupt_state_is_a_500_not_a_default`: a state that got into the table anyway (the
//!   constraint dropped first) makes reading the row fail with a plain 500 problem, not a
//!   silently invented state; the value and the SQL do not leak.
//! - `state_checks_migrate_existing_rows`: the CHECK migration on a database with data: it goes
//!   down and up again over valid rows, and refuses to go up over an invalid one, naming it.

use std::collections::{BTreeMap, BTreeSet};

use migration::m20261203_120000_state_checks::{STATE_CHECKS, StateCheck};
use migration::{Migrator, MigratorTrait};
use reqwest::StatusCode;
use sea_orm::sea_query::ColumnType;
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait, IdenStatic,
    Iterable, Statement,
};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem};

/// One column as the entities describe it: (type family, nullable).
type Columns = BTreeMap<String, (&'static str, bool)>;

fn entity_columns<E: EntityTrait>(out: &mut BTreeMap<String, Columns>) {
    let table = E::default().table_name().to_owned();
    let cols = out.entry(table).or_default();
    for c in E::Column::iter() {
        let def = c.def();
        cols.insert(
            c.as_str().to_owned(),
            (entity_family(def.get_column_type()), def.is_null()),
        );
    }
}

/// Every entity of `verbund_schema`, by table (`service_ref` is a narrower view of
/// `knowledge_services`, so its columns join those of `service`).
fn entities() -> BTreeMap<String, Columns> {
    let mut out = BTreeMap::new();
    macro_rules! each {
        ($($m:ident),* $(,)?) => { $( entity_columns::<verbund_schema::$m::Entity>(&mut out); )* };
    }
    each!(
        audit_event,
        auth_epoch,
        center_coverage,
        center_tenant,
        login_throttle,
        role_assignment,
        service_center,
        session,
        tenant,
        tenant_mail_address,
        tenant_mail_domain,
        user,
        base_text,
        base_text_revision,
        change,
        org_unit,
        org_unit_service,
        service,
        service_leika_key,
        service_version,
        call_attempt,
        contact,
        inbound_mail,
        mail_attachment,
        mailbox,
        notification,
        outbox_mail,
        personal_data_access,
        service_ref,
        text_template,
        ticket,
        ticket_counter,
        ticket_event,
        ticket_forward,
        ticket_note,
        escalation_notice,
        ticket_change,
    );
    out
}

fn entity_family(t: &ColumnType) -> &'static str {
    match t {
        ColumnType::Char(_)
        | ColumnType::String(_)
        | ColumnType::Text
        | ColumnType::Enum { .. } => "text",
        ColumnType::TinyInteger
        | ColumnType::SmallInteger
        | ColumnType::Integer
        | ColumnType::BigInteger
        | ColumnType::TinyUnsigned
        | ColumnType::SmallUnsigned
        | ColumnType::Unsigned
        | ColumnType::BigUnsigned => "int",
        ColumnType::Float | ColumnType::Double | ColumnType::Decimal(_) => "number",
        ColumnType::DateTime | ColumnType::Timestamp | ColumnType::TimestampWithTimeZone => {
            "timestamp"
        }
        ColumnType::Boolean => "bool",
        ColumnType::Json | ColumnType::JsonBinary => "json",
        ColumnType::Uuid => "uuid",
        ColumnType::Blob | ColumnType::Binary(_) | ColumnType::VarBinary(_) => "bytes",
        _ => "other",
    }
}

/// The family of a type as the database names it (PostgreSQL's `data_type`, SQLite's
/// declared type as sea-query writes it: `uuid_text`, `timestamp_with_timezone_text`, ...).
fn db_family(raw: &str) -> &'static str {
    let t = raw.to_ascii_lowercase();
    let has = |s: &str| t.contains(s);
    if has("uuid") {
        "uuid"
    } else if has("timestamp") || has("datetime") {
        "timestamp"
    } else if has("json") {
        "json"
    } else if has("bool") {
        "bool"
    } else if has("int") {
        "int"
    } else if has("blob") || has("bytea") || has("binary") {
        "bytes"
    } else if has("char") || has("text") || has("clob") {
        "text"
    } else if has("real") || has("double") || has("float") || has("numeric") || has("decimal") {
        "number"
    } else {
        "other"
    }
}

/// The live schema: table → column → (type family, nullable).
async fn live_schema(
    db: &DatabaseConnection,
) -> BTreeMap<String, BTreeMap<String, (String, bool)>> {
    let backend = db.get_database_backend();
    let mut out: BTreeMap<String, BTreeMap<String, (String, bool)>> = BTreeMap::new();
    match backend {
        DbBackend::Postgres => {
            let rows = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, \
                     is_nullable::text AS n FROM information_schema.columns \
                     WHERE table_schema = current_schema()",
                ))
                .await
                .unwrap();
            for r in rows {
                let t: String = r.try_get("", "t").unwrap();
                let c: String = r.try_get("", "c").unwrap();
                let ty: String = r.try_get("", "ty").unwrap();
                let n: String = r.try_get("", "n").unwrap();
                out.entry(t).or_default().insert(c, (ty, n == "YES"));
            }
        }
        _ => {
            let tables = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%'",
                ))
                .await
                .unwrap();
            for t in tables {
                let table: String = t.try_get("", "name").unwrap();
                let cols = db
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("SELECT name, type, \"notnull\" AS nn, pk FROM pragma_table_info('{table}')"),
                    ))
                    .await
                    .unwrap();
                let entry = out.entry(table).or_default();
                for c in cols {
                    let name: String = c.try_get("", "name").unwrap();
                    let ty: String = c.try_get("", "type").unwrap();
                    let nn: i64 = c.try_get("", "nn").unwrap();
                    let pk: i64 = c.try_get("", "pk").unwrap();
                    // A primary-key column holds no NULL in practice even where SQLite's
                    // legacy rules would allow it.
                    entry.insert(name, (ty, nn == 0 && pk == 0));
                }
            }
        }
    }
    out
}

/// Every difference between the live schema and the entities, as readable lines.
fn drift(
    live: &BTreeMap<String, BTreeMap<String, (String, bool)>>,
    entities: &BTreeMap<String, Columns>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, cols) in entities {
        let Some(db_cols) = live.get(table) else {
            problems.push(format!(
                "entity table {table} does not exist in the database"
            ));
            continue;
        };
        for (col, (family, nullable)) in cols {
            match db_cols.get(col) {
                None => problems.push(format!("{table}.{col}: in the entity, not in the database")),
                Some((ty, db_null)) => {
                    if db_family(ty) != *family {
                        problems.push(format!(
                            "{table}.{col}: entity type {family}, database type {ty}"
                        ));
                    }
                    if db_null != nullable {
                        problems.push(format!(
                            "{table}.{col}: entity nullable={nullable}, database nullable={db_null}"
                        ));
                    }
                }
            }
        }
        for col in db_cols.keys() {
            if !cols.contains_key(col) {
                problems.push(format!("{table}.{col}: in the database, in no entity"));
            }
        }
    }
    for table in live.keys() {
        if table != "seaql_migrations" && !entities.contains_key(table) {
            problems.push(format!("table {table} has no entity"));
        }
    }
    problems
}

/// A fresh, empty database of its own (no application, no demo data).
async fn fresh_database(backend: Backend, dir: &std::path::Path) -> DatabaseConnection {
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("drift.db").display()),
        Backend::Postgres => {
            let admin_url = std::env::var("VERBUND_TEST_PG_URL").expect("VERBUND_TEST_PG_URL");
            let with_db = |db: &str| match admin_url.split_once('?') {
                Some((base, query)) => format!("{}/{db}?{query}", base.trim_end_matches('/')),
                None => format!("{}/{db}", admin_url.trim_end_matches('/')),
            };
            let admin = Database::connect(with_db("postgres")).await.unwrap();
            let name = format!("verbund_drift_{}", uuid::Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let _ = admin.close().await;
            with_db(&name)
        }
    };
    Database::connect(&url).await.unwrap()
}

async fn up_down_up_matches(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(backend, dir.path()).await;
    Migrator::up(&db, None).await.unwrap();
    Migrator::down(&db, None).await.unwrap();
    let left = live_schema(&db).await;
    assert!(
        left.keys().all(|t| t == "seaql_migrations"),
        "down (all) leaves tables behind: {:?}",
        left.keys().collect::<Vec<_>>()
    );
    Migrator::up(&db, None).await.unwrap();
    let problems = drift(&live_schema(&db).await, &entities());
    assert!(
        problems.is_empty(),
        "the schema and the entities drifted apart ({backend:?}):\n  {}",
        problems.join("\n  ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_up_down_up_match_the_entities_sqlite() {
    up_down_up_matches(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_up_down_up_match_the_entities_postgres() {
    up_down_up_matches(Backend::Postgres).await;
}

#[test]
fn state_checks_list_the_enum_values() {
    let frozen: BTreeMap<(&str, &str), BTreeSet<&str>> = STATE_CHECKS
        .iter()
        .map(|c| ((c.table, c.column), c.values.iter().copied().collect()))
        .collect();
    let mut expected: BTreeMap<(&str, &str), BTreeSet<&str>> =
        verbund_schema::types::checked_columns()
            .into_iter()
            .map(|(t, c, v)| ((t, c), v.into_iter().collect()))
            .collect();
    // Columns still read as strings by the code: their values come from the domain crates.
    expected.insert(("inbound_mails", "source"), ["mta", "imap"].into());
    // A later migration replaced the role check (adding `coordinator`).
    let mut frozen = frozen;
    frozen.insert(
        ("role_assignments", "role"),
        migration::m20261203_240100_coordinator_role::ROLES
            .iter()
            .copied()
            .collect(),
    );
    expected.insert(
        ("inbound_mails", "state"),
        [
            verbund_email::ingest::STORED,
            verbund_email::ingest::PROCESSED,
        ]
        .into(),
    );
    let keys: BTreeSet<_> = frozen.keys().chain(expected.keys()).collect();
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| frozen.get(*k) != expected.get(*k))
        .map(|k| {
            format!(
                "{}.{}: CHECK allows {:?}, the code reads {:?}",
                k.0,
                k.1,
                frozen.get(k),
                expected.get(k)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "the CHECK migration and the enums disagree (add a migration that changes the \
         constraint together with the enum):\n  {}",
        differ.join("\n  ")
    );
    // Exactly the typed-nullable column allows NULL.
    let nullable: Vec<_> = STATE_CHECKS
        .iter()
        .filter(|c| c.nullable)
        .map(|c| (c.table, c.column))
        .collect();
    assert_eq!(nullable, [("inbound_mails", "outcome")]);
}

/// Whether the CHECK of `c` is in place: the PostgreSQL constraint or both SQLite triggers.
async fn check_in_place(db: &DatabaseConnection, c: &StateCheck) -> bool {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT COUNT(*) AS n FROM pg_constraint WHERE contype = 'c' AND conname = '{}'",
            c.name()
        ),
        _ => format!(
            "SELECT COUNT(*) / 2 AS n FROM sqlite_master WHERE type = 'trigger' \
             AND name IN ('{0}_insert', '{0}_update')",
            c.name()
        ),
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap() == 1
}

/// A callback ticket of Stadt Trier, created through the API; returns its id.
async fn new_ticket(app: &TestApp) -> String {
    let agent = app.token("agent@sc-trier.demo").await;
    let resp = app
        .post(
            &agent,
            "/api/v1/contacts",
            &json!({
                "tenant": "stadt-trier", "channel": "phone", "solved": false,
                "duration_seconds": 60, "topic": "Personalausweis",
                "ticket": {
                    "subject": "Personalausweis",
                    "question": "Welche Unterlagen brauche ich?",
                    "citizen": {"name": "Erika Mustermann", "phone": "+49 651 123456"},
                    "answer_channel": "callback"
                }
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    body["ticket"]["id"].as_str().unwrap().to_owned()
}

async fn raw(app: &TestApp, sql: &str) -> Result<u64, sea_orm::DbErr> {
    app.db
        .execute_unprepared(sql)
        .await
        .map(|r| r.rows_affected())
}

async fn state_of(app: &TestApp, id: &str) -> String {
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            format!(
                "SELECT state FROM tickets WHERE id = {}",
                id_literal(app, id)
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "state").unwrap()
}

/// The id as a SQL literal: PostgreSQL stores a uuid, SQLite its 16 bytes.
fn id_literal(app: &TestApp, id: &str) -> String {
    uuid_literal(app.db.get_database_backend(), id.parse().unwrap())
}

fn uuid_literal(backend: DbBackend, id: uuid::Uuid) -> String {
    match backend {
        DbBackend::Postgres => format!("'{id}'::uuid"),
        _ => format!("X'{}'", id.simple()),
    }
}

async fn check_constraints_refuse_bad_states(app: TestApp) {
    for c in STATE_CHECKS {
        assert!(
            check_in_place(app.db.conn(), c).await,
            "no check on {}",
            c.name()
        );
    }
    let id = new_ticket(&app).await;
    let at = id_literal(&app, &id);
    for (col, bad) in [
        ("state", "bogus"),
        ("state", "Closed"),
        ("priority", "urgent"),
        ("answer_channel", "fax"),
        ("forward_state", ""),
    ] {
        let err = raw(
            &app,
            &format!("UPDATE tickets SET {col} = '{bad}' WHERE id = {at}"),
        )
        .await
        .expect_err("the database accepted an unknown state");
        assert!(
            err.to_string().contains(&format!("ck_tickets_{col}")),
            "{col}: {err}"
        );
    }
    // A valid value still goes through, and the row is as the last valid write left it.
    assert_eq!(state_of(&app, &id).await, "new");
    assert_eq!(
        raw(
            &app,
            &format!("UPDATE tickets SET state = 'in_progress' WHERE id = {at}")
        )
        .await
        .unwrap(),
        1
    );
    assert_eq!(state_of(&app, &id).await, "in_progress");
    // An insert with a bad value is refused too (here: a contact with an unknown channel).
    let tenant = app.db.get_database_backend();
    let now = match tenant {
        DbBackend::Postgres => "now()",
        _ => "'2026-12-03T12:00:00Z'",
    };
    let uuid = |u: uuid::Uuid| uuid_literal(tenant, u);
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            tenant,
            "SELECT tenant_id, agent_user_id FROM contacts LIMIT 1",
        ))
        .await
        .unwrap()
        .unwrap();
    let (tid, aid): (uuid::Uuid, uuid::Uuid) = (
        row.try_get("", "tenant_id").unwrap(),
        row.try_get("", "agent_user_id").unwrap(),
    );
    let contacts = app.count("contacts").await;
    let err = raw(
        &app,
        &format!(
            "INSERT INTO contacts (id, tenant_id, agent_user_id, channel, solved_first_contact, \
             duration_seconds, created_at) VALUES ({}, {}, {}, 'fax', false, 1, {now})",
            uuid(uuid::Uuid::now_v7()),
            uuid(tid),
            uuid(aid)
        ),
    )
    .await
    .expect_err("the database accepted an unknown channel");
    assert!(err.to_string().contains("ck_contacts_channel"), "{err}");
    assert_eq!(app.count("contacts").await, contacts);
}

/// Drops the check of `table.column` (the test plays a database written around it).
async fn drop_check(app: &TestApp, table: &str, column: &str) {
    let name = format!("ck_{table}_{column}");
    match app.db.get_database_backend() {
        DbBackend::Postgres => {
            raw(app, &format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))
                .await
                .unwrap();
        }
        _ => {
            raw(app, &format!("DROP TRIGGER {name}_insert"))
                .await
                .unwrap();
            raw(app, &format!("DROP TRIGGER {name}_update"))
                .await
                .unwrap();
        }
    }
}

async fn corrupt_state_is_a_500_not_a_default(app: TestApp) {
    let id = new_ticket(&app).await;
    let agent = app.token("agent@sc-trier.demo").await;
    let before: Value = app
        .get(&agent, &format!("/api/v1/tickets/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["state"], "new");

    drop_check(&app, "tickets", "state").await;
    let at = id_literal(&app, &id);
    raw(
        &app,
        &format!("UPDATE tickets SET state = 'vergessen' WHERE id = {at}"),
    )
    .await
    .unwrap();

    // Reading it is an error, not a ticket in state "new" (what the old fallback showed).
    for path in [
        format!("/api/v1/tickets/{id}"),
        "/api/v1/tickets".to_owned(),
    ] {
        let resp = app.get(&agent, &path).await;
        let body = assert_problem(resp, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
        let text = body.to_string();
        assert!(!text.contains("vergessen"), "{text}");
        assert!(!text.to_lowercase().contains("select"), "{text}");
        assert!(!text.contains("TicketState"), "{text}");
    }
    // Writing to it does not quietly turn it into something else either.
    let resp = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            &json!({"state": "in_progress", "version": before["version"]}),
        )
        .await;
    assert_problem(resp, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    assert_eq!(state_of(&app, &id).await, "vergessen");

    // The same for a mailbox's security (the old code read an unknown one as TLS).
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .post(
            &admin,
            "/api/v1/tenants/stadt-koblenz/mailboxes",
            &json!({
                "name": "Bürgerservice", "host": "127.0.0.1", "port": 1143,
                "security": "plain", "username": "buergerservice", "secret": "geheim"
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    drop_check(&app, "mailboxes", "security").await;
    raw(&app, "UPDATE mailboxes SET security = 'ssl3'")
        .await
        .unwrap();
    let resp = app
        .get(&admin, "/api/v1/tenants/stadt-koblenz/mailboxes")
        .await;
    let body = assert_problem(resp, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    assert!(!body.to_string().contains("ssl3"), "{body}");
}

/// How many migrations `down` must undo to take the state checks away (they and every
/// migration listed after them).
fn steps_to_state_checks() -> u32 {
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let at = names
        .iter()
        .position(|n| n == "m20261203_120000_state_checks")
        .unwrap();
    u32::try_from(names.len() - at).unwrap()
}

async fn state_checks_migrate_existing_rows(app: TestApp) {
    let id = new_ticket(&app).await;
    let at = id_literal(&app, &id);
    // Down and up again over valid rows: the data stays, the checks come back.
    Migrator::down(app.db.conn(), Some(steps_to_state_checks()))
        .await
        .unwrap();
    for c in STATE_CHECKS {
        assert!(
            !check_in_place(app.db.conn(), c).await,
            "{} left after down",
            c.name()
        );
    }
    Migrator::up(app.db.conn(), None).await.unwrap();
    for c in STATE_CHECKS {
        assert!(
            check_in_place(app.db.conn(), c).await,
            "{} missing after up",
            c.name()
        );
    }
    assert_eq!(state_of(&app, &id).await, "new");
    assert_eq!(app.count("tickets").await, 1);

    // An invalid row written while the checks were absent stops the migration, named.
    Migrator::down(app.db.conn(), Some(steps_to_state_checks()))
        .await
        .unwrap();
    raw(
        &app,
        &format!("UPDATE tickets SET state = 'kaputt' WHERE id = {at}"),
    )
    .await
    .unwrap();
    let err = Migrator::up(app.db.conn(), None)
        .await
        .expect_err("the checks went up over an invalid row");
    assert!(
        err.to_string().contains("tickets") && err.to_string().contains("state"),
        "{err}"
    );
    // Repaired, it goes up.
    raw(
        &app,
        &format!("UPDATE tickets SET state = 'new' WHERE id = {at}"),
    )
    .await
    .unwrap();
    Migrator::up(app.db.conn(), None).await.unwrap();
    for c in STATE_CHECKS {
        assert!(
            check_in_place(app.db.conn(), c).await,
            "{} missing after repair",
            c.name()
        );
    }
}

crate::both_backends!(
    check_constraints_refuse_bad_states,
    corrupt_state_is_a_500_not_a_default,
    state_checks_migrate_existing_rows,
);

/// SQLite builds a temporary b-tree for an `IN (…)` list in a trigger on every firing (a tenth
/// of a ticket creation's work, BENCHMARKS.md): after all migrations every check trigger
/// compares with `=`, and after the last one is undone they are the `IN` triggers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_check_triggers_compare_without_in_lists() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(Backend::Sqlite, dir.path()).await;
    let triggers = |db: DatabaseConnection| async move {
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ck\\_%' ESCAPE '\\'",
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.try_get::<String>("", "name").unwrap(),
                    r.try_get::<String>("", "sql").unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    Migrator::up(&db, None).await.unwrap();
    let after = triggers(db.clone()).await;
    assert_eq!(after.len(), 2 * STATE_CHECKS.len(), "{after:?}");
    for (name, sql) in &after {
        assert!(!sql.contains(" IN ("), "{name}: {sql}");
        assert!(
            sql.contains(" OR ") || sql.contains(" = '"),
            "{name}: {sql}"
        );
    }
    let role = after
        .iter()
        .find(|(n, _)| n == "ck_role_assignments_role_insert")
        .unwrap();
    assert!(role.1.contains("'coordinator'"), "{}", role.1);
    Migrator::down(&db, Some(1)).await.unwrap();
    let before = triggers(db.clone()).await;
    assert_eq!(before.len(), 2 * STATE_CHECKS.len());
    assert!(
        before.iter().all(|(_, sql)| sql.contains(" IN (")),
        "{before:?}"
    );
    let role = before
        .iter()
        .find(|(n, _)| n == "ck_role_assignments_role_insert")
        .unwrap();
    assert!(role.1.contains("'coordinator'"), "{}", role.1);
}
