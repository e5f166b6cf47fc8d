//! Connecting to SQLite or PostgreSQL, and running the migrations.

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database};
use verbund_tenant::db::Db;

use crate::settings::Settings;

/// Connects with the right options per backend. SQLite gets WAL, NORMAL sync, foreign keys and
/// a busy timeout through the connect options, so every pooled connection has them. The handle
/// is a new application's: it shares nothing in memory with another `connect`.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.database_url();
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(settings.database_max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        // sqlx pings every connection it hands out by default: one more round trip (on SQLite
        // a hop to the connection's thread) before each statement outside a transaction and
        // each transaction. Only connections idle long enough to have been dropped by the
        // server or a firewall are checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        if !url.contains(":memory:") {
            std::fs::create_dir_all(&settings.data_dir)
                .with_context(|| format!("creating data folder {}", settings.data_dir.display()))?;
        }
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
                // Rows come from the connection's thread through a channel of this size; with
                // sqlx's 50 a page of 50 (+1 to see if there is more) made the thread wait for
                // the request to take the first rows.
                .row_buffer_size(256)
        });
    }
    Database::connect(options)
        .await
        .map(Db::new)
        .with_context(|| format!("connecting to the database ({})", redact(&url)))
}

pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    Migrator::up(db.conn(), None)
        .await
        .context("running migrations")
}

/// Hides a password in a database URL for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact("sqlite://./data/v.db"),
            "sqlite://./data/v.db"
        );
    }
}
