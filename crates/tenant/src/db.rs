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

/// A write transaction's body, borrowing the transaction. It may run more than once (see
/// [`write`]), so it clones what it consumes.
pub type WriteBody<T> = Box<
    dyn for<'a> Fn(
            &'a WriteTxn,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = crate::Result<T>> + Send + 'a>,
        > + Send
        + Sync,
>;

/// How many queued bodies one SQLite transaction takes at most.
const GROUP_MAX: usize = 64;

/// Runs a queued body and keeps its output.
type RunJob = Box<
    dyn for<'a> FnMut(
            &'a WriteTxn,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = crate::Result<()>> + Send + 'a>,
        > + Send,
>;

/// A body queued for the SQLite writer thread, with the answer to its caller.
struct Job {
    db: DatabaseConnection,
    /// Which database (the pool's options, by address): only bodies of one database share a
    /// transaction.
    pool: usize,
    /// Runs the body and keeps its output for `finish`.
    run: RunJob,
    /// Answers the caller: the kept output once committed, or the error.
    finish: Box<dyn FnOnce(crate::Result<()>) + Send>,
}

/// The thread SQLite write transactions run on (a tokio runtime of its own), fed by a queue.
/// While a transaction holds the writer slot, each of its statements is a hop to the
/// connection's worker thread and back; on a request's worker the transaction would wait
/// behind the other requests' work after every hop, and the slot with it. Here it continues
/// at once. Bodies that queue up meanwhile share one transaction (group commit).
static SQLITE_WRITER_QUEUE: LazyLock<Option<tokio::sync::mpsc::UnboundedSender<Job>>> =
    LazyLock::new(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| tracing::warn!(error = %e, "no SQLite writer runtime; writing inline"))
            .ok()?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || rt.block_on(group_commits(rx)))
            .map_err(|e| tracing::warn!(error = %e, "no SQLite writer thread; writing inline"))
            .ok()?;
        Some(tx)
    });

/// The writer thread's loop: takes every body queued for the same database (up to
/// [`GROUP_MAX`]) and runs them in one transaction. If one of them fails, the transaction is
/// rolled back and each body runs again in a transaction of its own, so one body's error never
/// touches another's writes.
async fn group_commits(mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    let mut next: Option<Job> = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match rx.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(job) if job.pool == group[0].pool => group.push(job),
                Ok(job) => {
                    next = Some(job);
                    break;
                }
                Err(_) => break,
            }
        }
        // A task of its own: a body that panics fails its group's callers (their answers
        // are dropped), not this loop.
        if let Err(e) = tokio::spawn(commit_group(group)).await {
            tracing::error!(error = %e, "an SQLite write group panicked");
        }
    }
}

/// Runs a group in one transaction and answers its callers; on an error each body runs again
/// alone.
async fn commit_group(mut group: Vec<Job>) {
    let db = group[0].db.clone();
    let outcome = run_group(&db, &mut group).await;
    match outcome {
        Ok(()) => group.into_iter().for_each(|job| (job.finish)(Ok(()))),
        Err(e) if group.len() == 1 => {
            if let Some(job) = group.pop() {
                (job.finish)(Err(e));
            }
        }
        Err(_) => {
            for mut job in group {
                let alone = run_group(&db, std::slice::from_mut(&mut job)).await;
                (job.finish)(alone);
            }
        }
    }
}

/// Runs the bodies in one write transaction; commits if all succeed.
async fn run_group(db: &DatabaseConnection, group: &mut [Job]) -> crate::Result<()> {
    let txn = begin_write(db).await?;
    for job in group.iter_mut() {
        if let Err(e) = (job.run)(&txn).await {
            txn.rollback().await?;
            return Err(e);
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Runs `body` in a write transaction and commits it when the body succeeds (an error rolls it
/// back). On SQLite the transaction runs on the writer thread, possibly together with other
/// queued bodies (group commit; a failing body is then retried alone, so `body` may run twice
/// and must not have effects outside the transaction).
pub async fn write<T: Send + 'static>(
    db: &DatabaseConnection,
    body: WriteBody<T>,
) -> crate::Result<T> {
    let queue = SQLITE_WRITER_QUEUE.as_ref();
    match queue {
        Some(queue) if db.get_database_backend() == DatabaseBackend::Sqlite => {
            let output: Arc<std::sync::Mutex<Option<T>>> = Arc::default();
            let kept = output.clone();
            let (tx, rx) = tokio::sync::oneshot::channel();
            let body = Arc::new(body);
            let job = Job {
                db: db.clone(),
                pool: Arc::as_ptr(&db.get_sqlite_connection_pool().connect_options()) as usize,
                run: Box::new(move |txn| {
                    let (body, kept) = (body.clone(), kept.clone());
                    Box::pin(async move {
                        let out = body(txn).await?;
                        *kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
                        Ok(())
                    })
                }),
                finish: Box::new(move |result| {
                    let _ = tx.send(result);
                }),
            };
            queue
                .send(job)
                .map_err(|_| crate::Error::bug("the SQLite writer thread is gone"))?;
            rx.await
                .map_err(|_| crate::Error::bug("the SQLite writer dropped a write"))??;
            output
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .ok_or_else(|| crate::Error::bug("a write returned nothing"))
        }
        _ => {
            let txn = begin_write(db).await?;
            let out = body(&txn).await?;
            txn.commit().await?;
            Ok(out)
        }
    }
}

/// The current time, truncated to microseconds so that values round-trip through both backends.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}
