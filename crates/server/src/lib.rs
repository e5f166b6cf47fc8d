//! The HTTP server of Verbund: routes, extractors, auth, errors, OpenAPI. It holds no business
//! rules; every decision is made by the domain crates.

pub mod db;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod panic;
pub mod routes;
pub mod secret;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod workers;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, NormalizePath, TrailingSlash};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;
use verbund_tenant::auth::{AuthConfig, Authenticator};
use verbund_tenant::db::Db;
use verbund_tenant::token::TokenConfig;

pub use settings::Settings;
use state::AppState;

/// mimalloc instead of the system allocator, for every binary that links the server (the
/// `verbund` binary, benchmarks, tests): under load glibc's malloc took a quarter of the CPU
/// (BENCHMARKS.md, "Ticketing"). With the `override` feature it also serves the C code's
/// `malloc` (SQLite allocates for every row and value it hands out).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    /// The background work, started here and stopped by [`Self::run_until_stopped`].
    workers: workers::Workers,
    /// How long the workers get to end once the server has stopped.
    grace: Duration,
}

impl Application {
    /// Connects to the database, runs the migrations, binds the listener (port 0 picks a free
    /// one) and prepares the server. Nothing is served until [`Self::run_until_stopped`].
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = db::connect(&settings).await?;
        db::migrate(&db).await?;
        Self::build_with_db(settings, db).await
    }

    /// Like [`Self::build`] with an already migrated connection.
    pub async fn build_with_db(settings: Settings, db: Db) -> anyhow::Result<Self> {
        let secret = secret::load_or_generate(&settings)?;
        let ui_secret = secret.clone();
        let auth = Authenticator::new(AuthConfig {
            token: TokenConfig {
                secret,
                issuer: settings.jwt_issuer.clone(),
                audience: settings.jwt_audience.clone(),
                ttl: Duration::from_secs(settings.token_ttl_seconds),
            },
            policy: settings.login.policy(),
            session_lifetime: Duration::from_secs(settings.session_hours.max(1) * 3600),
            cache_ttl: Duration::from_secs(settings.auth_cache_seconds),
        })
        .map_err(|e| anyhow::anyhow!("invalid token configuration: {e}"))?;
        verbund_tenant::password::set_limits(&db, settings.login.hash_limits());
        verbund_tenant::password::warm_up().await;
        let mut workers = workers::Workers::start(&db).context("starting the SQLite writer")?;
        if settings.auth_cache_seconds > 0 {
            workers.add(
                "epoch-watcher",
                verbund_tenant::auth::spawn_epoch_watcher(
                    db.clone(),
                    Duration::from_millis(settings.auth_epoch_poll_ms.max(20)),
                    workers.token(),
                ),
            );
        }

        if settings.jobs_interval_seconds > 0 {
            workers.add(
                "jobs",
                workers::spawn_jobs(
                    db.clone(),
                    Duration::from_secs(settings.jobs_interval_seconds),
                    workers.token(),
                ),
            );
        }

        let instance = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        if let Some(smtp) = settings.smtp.config() {
            let delivery = verbund_email::delivery::spawn(
                db.clone(),
                smtp,
                Duration::from_millis(settings.smtp.poll_ms.max(10)),
                workers.token(),
            )
            .map_err(|e| anyhow::anyhow!("SMTP configuration: {e}"))?;
            workers.add("delivery", delivery);
        } else {
            tracing::warn!(
                "no SMTP host configured (VERBUND_SMTP__HOST): outbound mail stays queued"
            );
        }
        if settings.mailbox_tick_seconds > 0 {
            let mailboxes = verbund_email::mailboxes::spawn(
                db.clone(),
                instance,
                verbund_email::mailboxes::PollSettings {
                    tick: Duration::from_secs(settings.mailbox_tick_seconds),
                    concurrency: settings.mailbox_concurrency.max(1),
                    per_tenant: settings.mailbox_per_tenant.max(1),
                    connect_timeout: Duration::from_secs(
                        settings.mailbox_connect_timeout_seconds.max(1),
                    ),
                    command_timeout: Duration::from_secs(settings.mailbox_timeout_seconds.max(1)),
                },
                workers.token(),
            );
            workers.add("mailboxes", mailboxes);
        }

        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let (search, follower) = verbund_knowledge::search::SearchIndex::start(
            db.clone(),
            Duration::from_millis(settings.search_feed_poll_ms),
            workers.token(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("building the search index: {e}"))?;
        workers.add("search-follower", follower);
        workers.add(
            "ticket-feed",
            verbund_ticketing::changes::spawn_follower(
                db.clone(),
                Duration::from_millis(settings.ticket_feed_poll_ms.max(10)),
                workers.token(),
            ),
        );
        let auth = Arc::new(auth);
        let ui = web::Data::new(verbund_web::WebState::new(
            db.clone(),
            auth.clone(),
            search.clone(),
            &ui_secret,
            settings.web_cookie_secure,
            settings.trust_forwarded_for,
        ));
        let state = web::Data::new(AppState {
            db: db.clone(),
            auth,
            settings: Arc::new(settings.clone()),
            search,
        });
        let max_body = settings.max_body_bytes;
        let max_json = settings.max_json_bytes.min(max_body);
        let max_inbound = settings.max_inbound_bytes;
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(panic::CatchPanic)
                .wrap(ErrorHandlers::new().default_handler(extract::ensure_problem))
                .wrap(NormalizePath::new(TrailingSlash::Trim))
                .wrap(TracingLogger::<telemetry::VerbundRootSpan>::new())
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(extract::json_config(max_json))
                .app_data(extract::path_config())
                .app_data(extract::query_config())
                .configure(|c| routes::configure(c, max_inbound))
                // The web UI at `/`, after the API so that `/api/v1` stays the API's.
                .configure(|c| verbund_web::configure(c, ui.clone()))
        })
        .shutdown_timeout(settings.shutdown_timeout_seconds)
        // SIGTERM/SIGINT are handled in `run_until_stopped`, which stops the workers too.
        .disable_signals();
        if let Some(w) = settings.workers {
            server = server.workers(w.max(1));
        }
        let server = server.listen(listener)?.run();
        Ok(Self {
            port,
            server,
            db,
            workers,
            grace: Duration::from_secs(settings.shutdown_timeout_seconds),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The names of the running background workers.
    pub fn worker_names(&self) -> Vec<&'static str> {
        self.workers.names()
    }

    /// The token the application's workers watch; cancelled when it stops.
    pub fn stop_token(&self) -> tokio_util::sync::CancellationToken {
        self.workers.token()
    }

    /// Adds a worker of the caller's (a task that ends once [`Self::stop_token`] is
    /// cancelled): it is then stopped, awaited and reported like the application's own.
    pub fn add_worker(&mut self, name: &'static str, task: tokio::task::JoinHandle<()>) {
        self.workers.add(name, task);
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests (graceful shutdown) while
    /// the workers end their current pass (both within the shutdown timeout, so the whole stop
    /// takes about that long), stops the SQLite writer last and logs the exit report. If a
    /// worker ends on its own (a panic), the server is stopped gracefully too and an error
    /// returned, so a supervisor restarts the instance instead of it serving on without, say,
    /// mail delivery.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            server,
            mut workers,
            grace,
            ..
        } = self;
        let handle = server.handle();
        let mut server = std::pin::pin!(server);
        let stop = workers.token();
        let (served, failed) = tokio::select! {
            served = &mut server => (served, None),
            signal = stop_signal() => {
                tracing::info!(
                    signal,
                    "stopping: finishing requests in flight, ending the workers"
                );
                // The workers end their pass while the server drains.
                stop.cancel();
                // The server runs its commands while it is polled: stop and poll together.
                let (served, ()) = tokio::join!(&mut server, handle.stop(true));
                (served, None)
            }
            (name, outcome) = workers.first_to_end() => {
                tracing::error!(worker = name, %outcome, "a background worker ended; stopping");
                let (served, ()) = tokio::join!(&mut server, handle.stop(true));
                (served, Some(name))
            }
        };
        let report = workers.shutdown(grace).await;
        for (worker, outcome) in &report.workers {
            if *outcome == workers::Outcome::Stopped {
                tracing::info!(worker, %outcome, "worker ended");
            } else {
                tracing::error!(worker, %outcome, "worker ended");
            }
        }
        tracing::info!(
            server = if served.is_ok() { "stopped" } else { "failed" },
            workers = %report,
            clean = report.clean(),
            "exit report"
        );
        served.context("the HTTP server failed")?;
        match failed {
            Some(name) => Err(anyhow::anyhow!("the background worker {name} ended")),
            None => Ok(()),
        }
    }
}

/// Resolves on SIGTERM (how systemd stops a service) or SIGINT (Ctrl-C), with its name.
async fn stop_signal() -> &'static str {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => "SIGINT",
        () = term => "SIGTERM",
    }
}
