//! The background work of one application, owned by it: each worker is a task that runs until
//! the application's [`CancellationToken`] is cancelled, then finishes the pass it is in and
//! ends. [`Workers::shutdown`] cancels, waits (at most the grace period) and reports how each
//! worker ended; the SQLite writer thread is stopped last, after everything that writes.
//! (zero2prod's `main.rs`: the API and the workers joined with `select!`, with an exit report.)

use std::fmt;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use verbund_tenant::access::{Job, SystemScope};
use verbund_tenant::db::{Db, WriterThread};

/// How a worker ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Ended after the stop signal.
    Stopped,
    /// Ended before anything asked it to (a bug: workers loop until stopped).
    EndedEarly,
    /// Panicked.
    Panicked(String),
    /// Did not end within the grace period and was aborted.
    Aborted,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stopped => f.write_str("stopped"),
            Self::EndedEarly => f.write_str("ended early"),
            Self::Panicked(why) => write!(f, "panicked: {why}"),
            Self::Aborted => f.write_str("aborted after the grace period"),
        }
    }
}

/// Which worker ended how, in the order they were started.
#[derive(Clone, Debug, Default)]
pub struct ExitReport {
    pub workers: Vec<(&'static str, Outcome)>,
}

impl ExitReport {
    /// Whether every worker ended when asked to.
    pub fn clean(&self) -> bool {
        self.workers.iter().all(|(_, o)| *o == Outcome::Stopped)
    }
}

impl fmt::Display for ExitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, outcome)) in self.workers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name}: {outcome}")?;
        }
        Ok(())
    }
}

/// The running workers of an application.
pub struct Workers {
    stop: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    /// Outcomes of workers that ended before the shutdown.
    ended: Vec<(&'static str, Outcome)>,
    writer: Option<WriterThread>,
}

impl Workers {
    /// Starts the application's SQLite writer thread (none on PostgreSQL); the other workers
    /// are added with [`Self::add`].
    pub fn start(db: &Db) -> std::io::Result<Self> {
        Ok(Self {
            stop: CancellationToken::new(),
            tasks: Vec::new(),
            ended: Vec::new(),
            writer: db.start_writer()?,
        })
    }

    /// The token every worker watches.
    pub fn token(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub fn add(&mut self, name: &'static str, task: JoinHandle<()>) {
        self.tasks.push((name, task));
    }

    /// The names of the running workers.
    pub fn names(&self) -> Vec<&'static str> {
        self.tasks.iter().map(|(n, _)| *n).collect()
    }

    /// Resolves when a worker ends before the shutdown (never, if none does), with its name
    /// and how it ended. It is then no longer waited for by [`Self::shutdown`].
    pub async fn first_to_end(&mut self) -> (&'static str, Outcome) {
        if self.tasks.is_empty() {
            return std::future::pending().await;
        }
        let (result, index, _) =
            futures_util::future::select_all(self.tasks.iter_mut().map(|(_, task)| task)).await;
        let (name, _) = self.tasks.remove(index);
        let outcome = match result {
            Ok(()) => Outcome::EndedEarly,
            Err(e) => outcome_of(e),
        };
        self.ended.push((name, outcome.clone()));
        (name, outcome)
    }

    /// Cancels every worker, waits for each at most until `grace` has passed (then aborts
    /// it), stops the SQLite writer thread after them, and reports.
    pub async fn shutdown(self, grace: Duration) -> ExitReport {
        let Self {
            stop,
            tasks,
            ended,
            writer,
        } = self;
        stop.cancel();
        let deadline = tokio::time::Instant::now() + grace;
        let mut report = ExitReport { workers: ended };
        for (name, mut task) in tasks {
            let outcome = match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => Outcome::Stopped,
                Ok(Err(e)) => outcome_of(e),
                Err(_) => {
                    task.abort();
                    Outcome::Aborted
                }
            };
            report.workers.push((name, outcome));
        }
        if let Some(writer) = writer {
            // Queued writes are committed; a write after this runs on its caller's task.
            let outcome = match tokio::time::timeout_at(
                deadline.max(tokio::time::Instant::now() + Duration::from_secs(1)),
                writer.stop(),
            )
            .await
            {
                Ok(()) => Outcome::Stopped,
                Err(_) => Outcome::Aborted,
            };
            report.workers.push(("sqlite-writer", outcome));
        }
        report
    }
}

fn outcome_of(e: tokio::task::JoinError) -> Outcome {
    if e.is_panic() {
        let payload = e.into_panic();
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_owned());
        Outcome::Panicked(why)
    } else {
        Outcome::Aborted
    }
}

/// Background work of every instance: escalation, stored mail left behind, and due
/// anonymisation, every `every` until `stop`. Each item is claimed through the database, so
/// several instances never do the same ticket twice. A pass that has begun is finished.
///
/// The one place that makes the proofs of these jobs ([`SystemScope`]): the jobs run for no
/// user, and nothing that answers a request can reach this.
#[expect(
    clippy::disallowed_methods,
    reason = "the entry point of the periodic background jobs: the proofs of escalation and retention are made here"
)]
pub fn spawn_jobs(db: Db, every: Duration, stop: CancellationToken) -> JoinHandle<()> {
    let escalation = SystemScope::job(Job::Escalation);
    let retention = SystemScope::job(Job::PrivacyRetention);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stop.cancelled() => return,
            }
            let at = chrono::Utc::now();
            match verbund_ticketing::escalation::run_once(&db, &escalation, at).await {
                Ok(p) if p.at_risk + p.overdue + p.unaccepted + p.notices > 0 => {
                    tracing::info!(
                        at_risk = p.at_risk,
                        overdue = p.overdue,
                        unaccepted = p.unaccepted,
                        returned = p.returned,
                        notices = p.notices,
                        "escalated tickets"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "escalation failed"),
            }
            match verbund_email::ingest::process_pending(&db).await {
                Ok(n) if n > 0 => tracing::info!(mails = n, "processed stored mail left behind"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "processing stored mail failed"),
            }
            match verbund_ticketing::privacy::run_due_anonymization(&db, &retention, at).await {
                Ok(n) if n > 0 => tracing::info!(tickets = n, "anonymised closed tickets"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "anonymisation failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A fresh SQLite file (an in-memory database would be one per pooled connection).
    async fn sqlite() -> Db {
        let path =
            std::env::temp_dir().join(format!("verbund-workers-{}.db", uuid::Uuid::new_v4()));
        let conn = sea_orm::Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        Db::new(conn)
    }

    #[tokio::test]
    async fn the_report_tells_how_each_worker_ended() {
        let db = sqlite().await;
        let mut workers = Workers::start(&db).unwrap();
        let stop = workers.token();
        workers.add(
            "polite",
            tokio::spawn(async move { stop.cancelled().await }),
        );
        workers.add(
            "deaf",
            tokio::spawn(async { tokio::time::sleep(Duration::from_secs(3600)).await }),
        );
        workers.add("broken", tokio::spawn(async { panic!("kaputt") }));
        let (name, outcome) = workers.first_to_end().await;
        assert_eq!(name, "broken");
        assert_eq!(outcome, Outcome::Panicked("kaputt".into()));
        let report = workers.shutdown(Duration::from_millis(200)).await;
        assert_eq!(
            report.workers,
            vec![
                ("broken", Outcome::Panicked("kaputt".into())),
                ("polite", Outcome::Stopped),
                ("deaf", Outcome::Aborted),
                ("sqlite-writer", Outcome::Stopped),
            ]
        );
        assert!(!report.clean());
        assert_eq!(
            report.to_string(),
            "broken: panicked: kaputt, polite: stopped, deaf: aborted after the grace period, \
             sqlite-writer: stopped"
        );
    }

    #[tokio::test]
    async fn writes_queued_before_the_stop_are_committed_and_later_ones_run_inline() {
        use sea_orm::ConnectionTrait;
        let db = sqlite().await;
        db.execute_unprepared("CREATE TABLE t (n INTEGER)")
            .await
            .unwrap();
        let workers = Workers::start(&db).unwrap();
        let insert = |n: i64| -> verbund_tenant::db::WriteBody<()> {
            Box::new(move |txn| {
                Box::pin(async move {
                    txn.execute_unprepared(&format!("INSERT INTO t VALUES ({n})"))
                        .await?;
                    Ok(())
                })
            })
        };
        let queued: Vec<_> = (0..20)
            .map(|n| {
                let db = db.clone();
                let body = insert(n);
                tokio::spawn(async move { verbund_tenant::db::write(&db, body).await })
            })
            .collect();
        for q in queued {
            q.await.unwrap().unwrap();
        }
        let report = workers.shutdown(Duration::from_secs(5)).await;
        assert!(report.clean(), "{report}");
        verbund_tenant::db::write(&db, insert(99)).await.unwrap();
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM t",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 21);
    }
}
