//! The optional Verbund role `coordinator` (sees the cross-tenant forwarding traffic, no
//! citizen data): the role CHECK of `m20261203_120000_state_checks` is replaced by one that
//! also allows it, under the same name (constraint `ck_role_assignments_role` on PostgreSQL,
//! the two `ck_role_assignments_role_*` triggers on SQLite). `down` restores the old list and
//! refuses while a `coordinator` row exists.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The roles the CHECK allows after this migration (the schema drift test compares them with
/// `Role::ALL`).
pub const ROLES: &[&str] = &[
    "operator",
    "tenant_admin",
    "editor",
    "agent",
    "responder",
    "coordinator",
];

const OLD_ROLES: &[&str] = &["operator", "tenant_admin", "editor", "agent", "responder"];

const NAME: &str = "ck_role_assignments_role";

fn allowed(prefix: &str, roles: &[&str]) -> String {
    let list = roles
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("({prefix}\"role\" IN ({list}))")
}

async fn exec(m: &SchemaManager<'_>, sql: String) -> Result<(), DbErr> {
    m.get_connection()
        .execute_unprepared(&sql)
        .await
        .map(|_| ())
}

async fn replace(m: &SchemaManager<'_>, roles: &[&str]) -> Result<(), DbErr> {
    if m.get_database_backend() == DbBackend::Sqlite {
        // One statement list on one pooled connection: the read of `sqlite_master` first makes
        // that connection load the current schema (a connection whose schema is stale compiles
        // `DROP TRIGGER IF EXISTS` of a trigger made on another connection to nothing).
        let raise = format!("SELECT RAISE(ABORT, 'CHECK constraint failed: {NAME}'); END");
        exec(
            m,
            format!(
                "SELECT COUNT(*) FROM sqlite_master; \
                 DROP TRIGGER IF EXISTS \"{NAME}_insert\"; \
                 DROP TRIGGER IF EXISTS \"{NAME}_update\"; \
                 CREATE TRIGGER \"{NAME}_insert\" BEFORE INSERT ON \"role_assignments\" \
                 WHEN NOT {} BEGIN {raise}; \
                 CREATE TRIGGER \"{NAME}_update\" BEFORE UPDATE OF \"role\" ON \
                 \"role_assignments\" WHEN NOT {} BEGIN {raise};",
                allowed("NEW.", roles),
                allowed("NEW.", roles)
            ),
        )
        .await
    } else {
        exec(
            m,
            format!("ALTER TABLE \"role_assignments\" DROP CONSTRAINT IF EXISTS \"{NAME}\""),
        )
        .await?;
        exec(
            m,
            format!(
                "ALTER TABLE \"role_assignments\" ADD CONSTRAINT \"{NAME}\" CHECK {}",
                allowed("", roles)
            ),
        )
        .await
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        replace(m, ROLES).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        let left = m
            .get_connection()
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COUNT(*) AS n FROM \"role_assignments\" WHERE \"role\" = 'coordinator'",
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        if left > 0 {
            return Err(DbErr::Migration(format!(
                "{left} coordinator role assignment(s) exist; remove them first"
            )));
        }
        replace(m, OLD_ROLES).await
    }
}
