//! CHECK constraints on every state and kind column with a closed set of values: the database
//! refuses a value that the application's enums (`verbund_schema::types`, `Role`) cannot read,
//! so a corrupt state can no longer be written by a bug, a hand-made `UPDATE` or an older binary.
//! Open vocabularies stay unchecked: the history kinds (`ticket_events.kind`,
//! `knowledge_service_versions.kind`, `notifications.kind`, `audit_events.action`), which grow
//! with every feature, and `tickets.queue` (`frontoffice` or `backoffice:<unit>`).
//!
//! PostgreSQL gets a named constraint per column (`ck_<table>_<column>`), which also validates
//! the rows already there. SQLite cannot add a constraint to an existing table, and rebuilding a
//! table would have to re-create its indexes and the foreign keys that point at it; instead each
//! column gets two triggers (`ck_<table>_<column>_insert` / `_update`) that abort a write with a
//! value outside the list, after the rows already there were checked the same way. Both leave
//! data, indexes and foreign keys as they are; `down` drops exactly what `up` added.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One checked column: table, column, whether NULL is allowed, the allowed values.
pub struct StateCheck {
    pub table: &'static str,
    pub column: &'static str,
    pub nullable: bool,
    pub values: &'static [&'static str],
}

const fn check(
    table: &'static str,
    column: &'static str,
    values: &'static [&'static str],
) -> StateCheck {
    StateCheck {
        table,
        column,
        nullable: false,
        values,
    }
}

const TICKET_CHANNELS: &[&str] = &["callback", "email", "letter"];
const FORWARD_STATES: &[&str] = &["none", "pending", "accepted", "returned"];
const SERVICE_STATUSES: &[&str] = &["draft", "published", "archived"];

/// The value lists as this migration wrote them. They are frozen here (a migration never
/// changes once landed); the schema drift test compares them with the enums of the code.
pub const STATE_CHECKS: &[StateCheck] = &[
    check(
        "contacts",
        "channel",
        &["phone", "email", "letter", "walk_in"],
    ),
    check("tickets", "answer_channel", TICKET_CHANNELS),
    check(
        "tickets",
        "state",
        &[
            "new",
            "in_progress",
            "waiting_backoffice",
            "answered",
            "closed",
        ],
    ),
    check("tickets", "priority", &["low", "normal", "high"]),
    check("tickets", "forward_state", FORWARD_STATES),
    check(
        "call_attempts",
        "outcome",
        &["reached", "not_reached", "mailbox"],
    ),
    check("ticket_notes", "kind", &["internal", "message"]),
    check("ticket_forwards", "state", FORWARD_STATES),
    check("mailboxes", "security", &["tls", "start_tls", "plain"]),
    check("knowledge_base_texts", "level", &["bund", "land"]),
    check("knowledge_services", "status", SERVICE_STATUSES),
    check("knowledge_service_versions", "status", SERVICE_STATUSES),
    check("outbox_mails", "kind", &["receipt", "reply", "escalation"]),
    check(
        "outbox_mails",
        "state",
        &["queued", "sending", "sent", "failed", "bounced"],
    ),
    check(
        "role_assignments",
        "role",
        &["operator", "tenant_admin", "editor", "agent", "responder"],
    ),
    check("inbound_mails", "source", &["mta", "imap"]),
    check("inbound_mails", "state", &["stored", "processed"]),
    StateCheck {
        table: "inbound_mails",
        column: "outcome",
        nullable: true,
        values: &[
            "new_ticket",
            "reply",
            "reply_flagged",
            "bounce",
            "bounce_unmatched",
            "catchall",
            "unparseable",
            "review",
        ],
    },
];

impl StateCheck {
    /// The name of the PostgreSQL constraint (and the stem of the SQLite triggers).
    pub fn name(&self) -> String {
        format!("ck_{}_{}", self.table, self.column)
    }

    /// `"col" IN ('a', 'b')`, or `"col" IS NULL OR ...` for a nullable column: true for an
    /// allowed value. The values are fixed identifiers (checked below), never user input.
    fn allowed(&self, prefix: &str) -> String {
        let list = self
            .values
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let col = format!("{prefix}\"{}\"", self.column);
        if self.nullable {
            format!("({col} IS NULL OR {col} IN ({list}))")
        } else {
            format!("({col} IN ({list}))")
        }
    }

    fn well_formed(&self) -> bool {
        let ident = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        ident(self.table) && ident(self.column) && self.values.iter().all(|v| ident(v))
    }
}

async fn exec(m: &SchemaManager<'_>, sql: String) -> Result<(), DbErr> {
    m.get_connection()
        .execute_unprepared(&sql)
        .await
        .map(|_| ())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        if let Some(c) = STATE_CHECKS.iter().find(|c| !c.well_formed()) {
            return Err(DbErr::Migration(format!("malformed check {}", c.name())));
        }
        if backend == DbBackend::Sqlite {
            // The rows already there must pass, as ADD CONSTRAINT demands on PostgreSQL. All
            // columns are checked before the first trigger is made, so a refusal leaves nothing
            // half done.
            for c in STATE_CHECKS {
                let bad = m
                    .get_connection()
                    .query_one_raw(Statement::from_string(
                        backend,
                        format!(
                            "SELECT COUNT(*) AS n FROM \"{}\" WHERE NOT {}",
                            c.table,
                            c.allowed("")
                        ),
                    ))
                    .await?
                    .map(|row| row.try_get::<i64>("", "n"))
                    .transpose()?
                    .unwrap_or(0);
                if bad > 0 {
                    return Err(DbErr::Migration(format!(
                        "{bad} row(s) of {} have a {} outside {:?}; correct them first",
                        c.table, c.column, c.values
                    )));
                }
            }
        }
        for c in STATE_CHECKS {
            let (table, name) = (c.table, c.name());
            if backend == DbBackend::Sqlite {
                let raise = format!("SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END");
                exec(
                    m,
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS \"{name}_insert\" BEFORE INSERT ON \"{table}\" \
                         WHEN NOT {} BEGIN {raise}",
                        c.allowed("NEW.")
                    ),
                )
                .await?;
                exec(
                    m,
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS \"{name}_update\" BEFORE UPDATE OF \"{}\" \
                         ON \"{table}\" WHEN NOT {} BEGIN {raise}",
                        c.column,
                        c.allowed("NEW.")
                    ),
                )
                .await?;
            } else {
                exec(
                    m,
                    format!(
                        "ALTER TABLE \"{table}\" ADD CONSTRAINT \"{name}\" CHECK {}",
                        c.allowed("")
                    ),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        for c in STATE_CHECKS.iter().rev() {
            let (table, name) = (c.table, c.name());
            match backend {
                DbBackend::Sqlite => {
                    exec(m, format!("DROP TRIGGER IF EXISTS \"{name}_insert\"")).await?;
                    exec(m, format!("DROP TRIGGER IF EXISTS \"{name}_update\"")).await?;
                }
                _ => {
                    exec(
                        m,
                        format!("ALTER TABLE \"{table}\" DROP CONSTRAINT IF EXISTS \"{name}\""),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }
}
