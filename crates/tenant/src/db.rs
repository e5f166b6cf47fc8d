//! Database helpers shared by every domain crate.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, QueryResult, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a writer waits for its turn before giving up.
const WRITER_WAIT: Duration = Duration::from_secs(30);

/// A write transaction. On SQLite it holds this process's writer slot until it is committed,
/// rolled back or dropped.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<OwnedSemaphorePermit>,
    local: Arc<Local>,
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
pub async fn begin_write(db: &Db) -> Result<WriteTxn, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let turn = tokio::time::timeout(WRITER_WAIT, db.local.writer.clone().acquire_owned())
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
                local: db.local.clone(),
            })
        }
        _ => Ok(WriteTxn {
            txn: db.begin().await?,
            _turn: None,
            local: db.local.clone(),
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
    db: Db,
    /// Which database (the pool's options, by address): only bodies of one database share a
    /// transaction.
    pool: usize,
    /// Runs the body and keeps its output for `finish`.
    run: RunJob,
    /// Answers the caller: the kept output once committed, or the error.
    finish: Box<dyn FnOnce(crate::Result<()>) + Send>,
}

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
async fn run_group(db: &Db, group: &mut [Job]) -> crate::Result<()> {
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
pub async fn write<T: Send + 'static>(db: &Db, body: WriteBody<T>) -> crate::Result<T> {
    let queue = db
        .local
        .queue
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    match queue {
        Some(queue) if db.get_database_backend() == DatabaseBackend::Sqlite => {
            let output: Arc<std::sync::Mutex<Option<T>>> = Arc::default();
            let kept = output.clone();
            let (tx, rx) = tokio::sync::oneshot::channel();
            let body = Arc::new(body);
            let job = Job {
                db: db.clone(),
                pool: Arc::as_ptr(&db.conn.get_sqlite_connection_pool().connect_options()) as usize,
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

/// The database of one application (one running instance), with what that application keeps
/// in memory beside it: the SQLite writer slot and queue, the access-change generation, and
/// the parts other crates keep per application ([`Local::get`]: the knowledge change
/// notifier, the outbox wake-up, caches). A clone is cheap and shares all of it. Two
/// applications in one process (two `Db::new`) share nothing but the database, as two
/// processes do.
///
/// It is a connection (`find().all(&db)` works) and begins transactions by delegation.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    local: Arc<Local>,
}

/// What one application keeps in memory next to its database. See [`Db`].
pub struct Local {
    /// SQLite has one writer at a time. Writers of this application queue here, in order,
    /// instead of in SQLite's busy handler, which sleeps with growing back-off and gives long
    /// tail latencies under load. (Other processes on the same file still meet the busy
    /// handler.)
    writer: Arc<Semaphore>,
    /// The queue of the SQLite writer thread while it runs ([`Db::start_writer`]); without it
    /// writes run on the caller's task.
    queue: RwLock<Option<tokio::sync::mpsc::UnboundedSender<Job>>>,
    /// Bumped after every committed change of who may do what, by this application.
    pub(crate) generation: std::sync::atomic::AtomicU64,
    /// Parts of other crates, one per type.
    parts: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").finish_non_exhaustive()
    }
}

impl Default for Local {
    fn default() -> Self {
        Self {
            writer: Arc::new(Semaphore::new(1)),
            queue: RwLock::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
            parts: Mutex::new(HashMap::new()),
        }
    }
}

impl Local {
    /// This application's part of type `T`, created (`T::default()`) on first use. A crate
    /// keeps its per-application state (a notifier, a cache) in a private type of its own.
    pub fn get<T: Any + Default + Send + Sync>(&self) -> Arc<T> {
        let part = self
            .parts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()))
            .clone();
        // The entry of `TypeId::of::<T>()` always holds a `T`.
        part.downcast::<T>()
            .unwrap_or_else(|_| Arc::new(T::default()))
    }
}

/// A connection or transaction that belongs to an application: [`Db`] and [`WriteTxn`]. Code
/// that keeps per-application state takes `&(impl ConnectionTrait + WithLocal)`.
pub trait WithLocal {
    fn local(&self) -> &Local;
}

impl WithLocal for Db {
    fn local(&self) -> &Local {
        &self.local
    }
}

impl WithLocal for WriteTxn {
    fn local(&self) -> &Local {
        &self.local
    }
}

impl WithLocal for Local {
    fn local(&self) -> &Local {
        self
    }
}

impl<T: WithLocal + ?Sized> WithLocal for &T {
    fn local(&self) -> &Local {
        (**self).local()
    }
}

impl From<DatabaseConnection> for Db {
    fn from(conn: DatabaseConnection) -> Self {
        Self::new(conn)
    }
}

impl Db {
    /// A new application's handle on the database: nothing in memory yet, no writer thread.
    pub fn new(conn: DatabaseConnection) -> Self {
        Self {
            conn,
            local: Arc::default(),
        }
    }

    /// The plain connection (for the migrator and the like).
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Closes the connection pool.
    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }

    /// Starts this application's SQLite writer thread (none on PostgreSQL): from now on
    /// [`write`] bodies run there. Stop it with [`WriterThread::stop`], after everything that
    /// writes has stopped.
    ///
    /// The thread has a tokio runtime of its own. While a transaction holds the writer slot,
    /// each of its statements is a hop to the connection's worker thread and back; on a
    /// request's worker the transaction would wait behind the other requests' work after every
    /// hop, and the slot with it. Here it continues at once. Bodies that queue up meanwhile
    /// share one transaction (group commit).
    pub fn start_writer(&self) -> std::io::Result<Option<WriterThread>> {
        if self.conn.get_database_backend() != DatabaseBackend::Sqlite {
            return Ok(None);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                rt.block_on(group_commits(rx));
                let _ = done_tx.send(());
            })?;
        *self.local.queue.write().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        Ok(Some(WriterThread {
            local: self.local.clone(),
            done: done_rx,
        }))
    }
}

/// A running SQLite writer thread (see [`Db::start_writer`]).
pub struct WriterThread {
    local: Arc<Local>,
    done: tokio::sync::oneshot::Receiver<()>,
}

impl WriterThread {
    /// Takes no more bodies (later writes run on the caller's task), lets the thread commit
    /// the queued ones, and waits until it has ended.
    pub async fn stop(self) {
        drop(
            self.local
                .queue
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
        let _ = self.done.await;
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.conn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.conn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.conn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.conn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.conn.support_returning()
    }

    fn is_mock_connection(&self) -> bool {
        self.conn.is_mock_connection()
    }
}

#[async_trait::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.conn.begin().await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<sea_orm::IsolationLevel>,
        access_mode: Option<sea_orm::AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.conn
            .begin_with_config(isolation_level, access_mode)
            .await
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.conn.begin_with_options(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, sea_orm::TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>,
            > + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.conn.transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<sea_orm::IsolationLevel>,
        access_mode: Option<sea_orm::AccessMode>,
    ) -> Result<T, sea_orm::TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<T, E>> + Send + 'c>,
            > + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.conn
            .transaction_with_config(callback, isolation_level, access_mode)
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Default)]
    struct Counter(std::sync::atomic::AtomicU64);

    #[tokio::test]
    async fn clones_share_the_application_state_and_another_application_does_not() {
        let conn = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let app = Db::new(conn.clone());
        let same_app = app.clone();
        let other_app = Db::new(conn);
        app.local()
            .get::<Counter>()
            .0
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let seen = |db: &Db| {
            db.local()
                .get::<Counter>()
                .0
                .load(std::sync::atomic::Ordering::Acquire)
        };
        assert_eq!(seen(&same_app), 1);
        assert_eq!(seen(&other_app), 0);
        crate::auth::invalidate_local(&app);
        assert_eq!(
            same_app
                .local()
                .generation
                .load(std::sync::atomic::Ordering::Acquire),
            1
        );
        assert_eq!(
            other_app
                .local()
                .generation
                .load(std::sync::atomic::Ordering::Acquire),
            0
        );
    }
}
