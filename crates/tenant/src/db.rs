//! Database helpers shared by every domain crate.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, QueryResult, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// SQLite has one writer at a time. Writers of this process queue here, in order, instead of
/// in SQLite's busy handler, which sleeps with growing back-off and gives long tail latencies
/// under load. (Other processes on the same file still meet the busy handler.)
static SQLITE_WRITER: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(1)));

/// How long a writer waits for its turn before giving up.
const WRITER_WAIT: Duration = Duration::from_secs(30);

/// A write transaction. On SQLite it holds this process's writer slot until it is committed,
/// rolled back or dropped.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.txn.is_mock_connection()
    }
}

/// Begins a transaction that will write. On SQLite it waits for this process's writer slot and
/// is `BEGIN IMMEDIATE`, so a transaction that reads before it writes cannot fail with a busy
/// snapshot when another connection commits first.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let turn = tokio::time::timeout(WRITER_WAIT, SQLITE_WRITER.clone().acquire_owned())
                .await
                .map_err(|_| DbErr::Custom("timed out waiting for the SQLite writer".into()))?
                .map_err(|e| DbErr::Custom(e.to_string()))?;
            let txn = db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await?;
            Ok(WriteTxn {
                txn,
                _turn: Some(turn),
            })
        }
        _ => Ok(WriteTxn {
            txn: db.begin().await?,
            _turn: None,
        }),
    }
}

/// A write transaction's body, borrowing the transaction.
pub type WriteBody<T> = Box<
    dyn for<'a> FnOnce(
            &'a WriteTxn,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = crate::Result<T>> + Send + 'a>,
        > + Send,
>;

/// The thread SQLite write transactions run on (a tokio runtime of its own). While a
/// transaction holds the writer slot, each of its statements is a hop to the connection's
/// worker thread and back; on a request's worker the transaction would wait behind the other
/// requests' work after every hop, and the slot with it. Here it continues at once.
static SQLITE_WRITER_THREAD: LazyLock<Option<tokio::runtime::Handle>> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| tracing::warn!(error = %e, "no SQLite writer runtime; writing inline"))
        .ok()?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))
        .map_err(|e| tracing::warn!(error = %e, "no SQLite writer thread; writing inline"))
        .ok()?;
    Some(handle)
});

/// Runs `body` in a write transaction and commits it when the body succeeds (an error rolls it
/// back). On SQLite the transaction runs on the writer thread.
pub async fn write<T: Send + 'static>(
    db: &DatabaseConnection,
    body: WriteBody<T>,
) -> crate::Result<T> {
    let db = db.clone();
    let sqlite = db.get_database_backend() == DatabaseBackend::Sqlite;
    let run = async move {
        let txn = begin_write(&db).await?;
        let out = body(&txn).await?;
        txn.commit().await?;
        Ok(out)
    };
    match SQLITE_WRITER_THREAD.as_ref() {
        Some(thread) if sqlite => thread
            .spawn(run)
            .await
            .map_err(|e| crate::Error::Internal(format!("write transaction: {e}")))?,
        _ => run.await,
    }
}

/// The current time, truncated to microseconds so that values round-trip through both backends.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}
