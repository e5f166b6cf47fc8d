//! SQLite: the state check triggers of `m20261203_120000_state_checks` test a value with
//! `NEW."col" IN ('a', 'b', …)`. Inside a trigger SQLite evaluates such a list by building a
//! temporary b-tree of its values on every firing, which made each ticket creation about a
//! tenth more work (four checked columns on `tickets`, profiled with callgrind). The triggers are
//! made again with the same names, the same values and the same answer, the test written as
//! `NEW."col" = 'a' OR NEW."col" = 'b' OR …` (NULL gives NULL as before, so a NULL passes a
//! nullable column's `IS NULL OR` and fails nowhere else as before). The role check keeps the
//! list of `m20261203_240100_coordinator_role`. PostgreSQL keeps its CHECK constraints; nothing
//! changes there. `down` makes the `IN` triggers again.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::m20261203_120000_state_checks::{STATE_CHECKS, StateCheck};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The allowed values of a checked column as the migrations before this one left them.
fn values(c: &StateCheck) -> &'static [&'static str] {
    if (c.table, c.column) == ("role_assignments", "role") {
        crate::m20261203_240100_coordinator_role::ROLES
    } else {
        c.values
    }
}

/// True for an allowed value: `IN (…)` (as the migrations before wrote it) or a chain of `=`.
fn allowed(c: &StateCheck, chain: bool) -> String {
    let col = format!("NEW.\"{}\"", c.column);
    let test = if chain {
        values(c)
            .iter()
            .map(|v| format!("{col} = '{v}'"))
            .collect::<Vec<_>>()
            .join(" OR ")
    } else {
        let list = values(c)
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{col} IN ({list})")
    };
    if c.nullable {
        format!("({col} IS NULL OR {test})")
    } else {
        format!("({test})")
    }
}

/// Drops and makes again the insert and update trigger of every checked column.
async fn remake(m: &SchemaManager<'_>, chain: bool) -> Result<(), DbErr> {
    if m.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let db = m.get_connection();
    for c in STATE_CHECKS {
        let (table, name) = (c.table, c.name());
        let raise = format!("SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END");
        let when = allowed(c, chain);
        // One statement list on one pooled connection: the read of `sqlite_master` first makes
        // that connection load the current schema (see m20261203_240100_coordinator_role).
        db.execute_unprepared(&format!(
            "SELECT COUNT(*) FROM sqlite_master; \
             DROP TRIGGER IF EXISTS \"{name}_insert\"; \
             DROP TRIGGER IF EXISTS \"{name}_update\"; \
             CREATE TRIGGER \"{name}_insert\" BEFORE INSERT ON \"{table}\" \
             WHEN NOT {when} BEGIN {raise}; \
             CREATE TRIGGER \"{name}_update\" BEFORE UPDATE OF \"{}\" ON \"{table}\" \
             WHEN NOT {when} BEGIN {raise};",
            c.column
        ))
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        remake(m, true).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        remake(m, false).await
    }
}
