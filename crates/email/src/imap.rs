//! IMAP client of the inbound e-mail channel: polls a tenant's mailbox, hands every new message
//! to a `store` callback, and only after that callback succeeded marks the message as processed
//! (`\Seen`, or moved into a "processed" folder). A crash or a failing store therefore never
//! loses a message: it stays unseen on the server and is fetched again by the next poll.
//!
//! Built on `async-imap` (tokio runtime) with rustls (`ring` provider, Mozilla roots from
//! `webpki-roots`) for implicit TLS and STARTTLS. Plaintext connections are only allowed to
//! loopback hosts (the test suite's Dovecot, a local proxy).
//!
//! Folder names are given in plain Unicode ("Gelöscht") and are sent in IMAP's modified UTF-7.
//! Reaching the server (lookup, connect, TLS, greeting) is bounded by
//! [`ImapConfig::connect_timeout`], every command after that by [`ImapConfig::timeout`];
//! messages are fetched one at a time, so a mailbox with thousands of messages never has more
//! than one of them in memory.
//!
//! Errors keep the server's words for the log only: [`ImapError::summary`] is a fixed class
//! ("connection refused", "timeout", "not an IMAP server", ...) that is safe to show.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::error::Error as LibError;
use async_imap::extensions::idle::IdleResponse;
use async_imap::imap_proto::{Response, Status};
use async_imap::types::{Capabilities, Fetch, Flag};
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tracing::{debug, info, warn};

/// How the connection to the IMAP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Implicit TLS from the first byte (usually port 993).
    Tls,
    /// Plaintext connect, then `STARTTLS` before logging in (usually port 143). A server that
    /// refuses STARTTLS is an error; there is no fallback to plaintext.
    StartTls,
    /// No encryption at all. Only allowed for loopback hosts (`localhost`, 127.0.0.0/8, `::1`).
    Plain,
}

/// Where and how to reach one mailbox.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    /// Never logged; `SecretString` also keeps it out of `Debug` output.
    pub password: SecretString,
    /// The folder that is polled, e.g. `INBOX`.
    pub folder: String,
    /// `Some(folder)`: a processed message is moved there (the folder is created when missing).
    /// `None`: a processed message is only marked `\Seen`.
    pub processed_folder: Option<String>,
    /// Upper bound for every single IMAP command once connected.
    pub timeout: Duration,
    /// Upper bound for reaching the server: name lookup, TCP connect, TLS handshake and the
    /// greeting, each. Keep it short: a host that accepts connections and never answers
    /// holds a poller for this long.
    pub connect_timeout: Duration,
}

/// What one [`poll_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Unseen messages fetched from the server.
    pub fetched: usize,
    /// Messages the `store` callback accepted (and that were then marked processed).
    pub stored: usize,
    /// Messages the `store` callback rejected (left unseen on the server), or that the server
    /// delivered without a body.
    pub failed: usize,
    /// Whether the server announced IDLE, i.e. whether [`wait_for_change`] can wait for news.
    pub idle_supported: bool,
}

/// What went wrong. The `String`s are details for the log and may quote what the server sent;
/// [`ImapError::summary`] is the part that may be stored and shown to users.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The configuration cannot work (plaintext to a remote host, empty user name, ...).
    #[error("invalid IMAP configuration: {0}")]
    Config(String),
    /// The host name does not resolve.
    #[error("IMAP host not found: {0}")]
    HostNotFound(String),
    /// Nothing listens on the port.
    #[error("IMAP connection refused: {0}")]
    Refused(String),
    /// The server could not be reached or the connection broke.
    #[error("IMAP connection failed: {0}")]
    Connect(String),
    /// TLS could not be set up (no TLS on the port, a bad certificate, STARTTLS refused).
    #[error("IMAP TLS handshake failed: {0}")]
    Tls(String),
    /// Something answered that does not speak IMAP.
    #[error("not an IMAP server: {0}")]
    NotImap(String),
    /// The server rejected the user name or password.
    #[error("IMAP login failed: {0}")]
    Auth(String),
    /// The server refused a command or answered something unexpected.
    #[error("IMAP protocol error: {0}")]
    Protocol(String),
    /// The server did not answer within [`ImapConfig::timeout`] (or
    /// [`ImapConfig::connect_timeout`] while connecting).
    #[error("IMAP server did not answer in time")]
    Timeout,
}

impl ImapError {
    /// A fixed description of the failure that contains nothing the remote side sent, so that
    /// a mailbox's `last_error` cannot be used to read what some port answers. Configuration
    /// errors are our own words about the administrator's input.
    pub fn summary(&self) -> String {
        match self {
            ImapError::Config(m) => format!("invalid configuration: {m}"),
            ImapError::HostNotFound(_) => "host not found".into(),
            ImapError::Refused(_) => "connection refused".into(),
            ImapError::Connect(_) => "connection failed".into(),
            ImapError::Tls(_) => "TLS handshake failed".into(),
            ImapError::NotImap(_) => "not an IMAP server".into(),
            ImapError::Auth(_) => "authentication failed".into(),
            ImapError::Protocol(_) => "the server refused a command".into(),
            ImapError::Timeout => "timeout".into(),
        }
    }
}

/// Connects, selects the folder, fetches every message that is not `\Seen` (and not `\Deleted`),
/// and for each calls `store(raw_bytes)`. ONLY when `store` returns `Ok` is the message marked
/// `\Seen` (or moved to [`ImapConfig::processed_folder`]). When `store` fails the message stays
/// untouched on the server (it is fetched again next time) and counts in [`PollReport::failed`].
/// Messages are fetched with `BODY.PEEK[]`, so fetching itself does not set `\Seen`.
pub async fn poll_once<F, Fut, E>(cfg: &ImapConfig, store: F) -> Result<PollReport, ImapError>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut conn = Connection::open(cfg).await?;
    let result = conn.poll(store).await;
    conn.logout().await;
    match &result {
        Ok(report) if report.fetched > 0 => info!(
            host = %cfg.host, user = %cfg.username, folder = %cfg.folder,
            fetched = report.fetched, stored = report.stored, failed = report.failed,
            "IMAP poll done"
        ),
        Ok(_) => {
            debug!(host = %cfg.host, user = %cfg.username, folder = %cfg.folder, "IMAP poll: nothing new")
        }
        Err(e) => {
            warn!(host = %cfg.host, user = %cfg.username, folder = %cfg.folder, error = %e, "IMAP poll failed")
        }
    }
    result
}

/// Waits with IDLE until the server reports a change in the folder or `max_wait` passes.
/// Returns `Ok(true)` on a change, `Ok(false)` on timeout or when the server has no IDLE
/// capability (then the caller sleeps its interval instead).
///
/// A message that arrives between the caller's last [`poll_once`] and the start of IDLE is
/// only noticed after `max_wait`, so keep `max_wait` moderate (minutes, not hours).
pub async fn wait_for_change(cfg: &ImapConfig, max_wait: Duration) -> Result<bool, ImapError> {
    let conn = Connection::open(cfg).await?;
    if !conn.has_capability("IDLE") {
        debug!(host = %cfg.host, "IMAP server has no IDLE; caller falls back to interval polling");
        conn.logout().await;
        return Ok(false);
    }
    if max_wait.is_zero() {
        conn.logout().await;
        return Ok(false);
    }
    conn.idle(max_wait).await
}

/// Appends a message (without flags, so it counts as new) to a folder, creating the folder
/// when it is missing (tests, tools).
pub async fn append(cfg: &ImapConfig, folder: &str, raw: &[u8]) -> Result<(), ImapError> {
    let mut conn = Connection::open(cfg).await?;
    let result = conn.append(folder, raw).await;
    conn.logout().await;
    result
}

/// Connects, logs in and opens the folder read-only (EXAMINE, no flag changes), then logs out:
/// whether the settings of a mailbox work ("Verbindung testen").
pub async fn check(cfg: &ImapConfig) -> Result<(), ImapError> {
    let mut conn = Connection::open(cfg).await?;
    let name = encode_mailbox_name(&cfg.folder);
    let result = conn
        .run(&format!("EXAMINE {}", cfg.folder), |s| {
            Box::pin(s.examine(name))
        })
        .await
        .map(|_| ());
    conn.logout().await;
    result
}

/// Every message in a folder, raw, oldest first (tests: read what a citizen received).
/// The folder is opened read-only (EXAMINE), so no flag changes.
pub async fn fetch_all(cfg: &ImapConfig, folder: &str) -> Result<Vec<Vec<u8>>, ImapError> {
    let mut conn = Connection::open(cfg).await?;
    let result = conn.fetch_all(folder).await;
    conn.logout().await;
    result
}

// ---------------------------------------------------------------------------------------------
// connection handling

/// The byte stream under the IMAP session: plain TCP (loopback only) or TLS.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A logged-in session plus what is needed to run commands with timeouts.
struct Connection<'a> {
    cfg: &'a ImapConfig,
    session: Session<Stream>,
    capabilities: Capabilities,
}

impl<'a> Connection<'a> {
    async fn open(cfg: &'a ImapConfig) -> Result<Self, ImapError> {
        validate(cfg)?;
        debug!(host = %cfg.host, port = cfg.port, security = ?cfg.security, user = %cfg.username, "IMAP connect");
        let tcp = connect_tcp(cfg).await?;
        // Best effort: only latency, never correctness.
        let _ = tcp.set_nodelay(true);

        let client = match cfg.security {
            Security::Plain => {
                let mut client = Client::new(Stream::Plain(tcp));
                read_greeting(cfg, &mut client).await?;
                client
            }
            Security::Tls => {
                let tls = tls_handshake(cfg, tcp).await?;
                let mut client = Client::new(Stream::Tls(Box::new(tls)));
                read_greeting(cfg, &mut client).await?;
                client
            }
            Security::StartTls => {
                let mut client = Client::new(Stream::Plain(tcp));
                read_greeting(cfg, &mut client).await?;
                within(
                    cfg.connect_timeout,
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await?
                .map_err(|e| ImapError::Tls(format!("{}: STARTTLS refused: {e}", cfg.host)))?;
                let Stream::Plain(tcp) = client.into_inner() else {
                    return Err(ImapError::Tls("STARTTLS on a TLS stream".into()));
                };
                // No greeting after STARTTLS: the session continues inside TLS.
                Client::new(Stream::Tls(Box::new(tls_handshake(cfg, tcp).await?)))
            }
        };

        let mut session = match within(
            cfg.timeout,
            client.login(&cfg.username, cfg.password.expose_secret()),
        )
        .await?
        {
            Ok(session) => session,
            Err((e, _client)) => {
                return Err(match e {
                    LibError::No(msg) | LibError::Bad(msg) => ImapError::Auth(msg),
                    LibError::Validate(_) => {
                        ImapError::Config("user name or password contains a line break".into())
                    }
                    other => lib_error("LOGIN", other),
                });
            }
        };
        let capabilities = within(cfg.timeout, session.capabilities())
            .await?
            .map_err(|e| lib_error("CAPABILITY", e))?;
        Ok(Connection {
            cfg,
            session,
            capabilities,
        })
    }

    fn has_capability(&self, name: &str) -> bool {
        self.capabilities.has_str(name)
    }

    /// Runs one command with the configured timeout, mapping errors. `what` names the command
    /// in error messages.
    async fn run<T>(
        &mut self,
        what: &str,
        cmd: impl for<'s> FnOnce(
            &'s mut Session<Stream>,
        )
            -> Pin<Box<dyn Future<Output = Result<T, LibError>> + Send + 's>>,
    ) -> Result<T, ImapError> {
        within(self.cfg.timeout, cmd(&mut self.session))
            .await?
            .map_err(|e| lib_error(what, e))
    }

    async fn logout(mut self) {
        if let Err(e) = self.run("LOGOUT", |s| Box::pin(s.logout())).await {
            debug!(host = %self.cfg.host, error = %e, "IMAP logout failed (ignored)");
        }
    }

    async fn select(&mut self, folder: &str) -> Result<(), ImapError> {
        let name = encode_mailbox_name(folder);
        self.run(&format!("SELECT {folder}"), |s| Box::pin(s.select(name)))
            .await
            .map(|_| ())
    }

    /// Creates `folder` unless it exists (LIST first; a concurrent CREATE is tolerated).
    async fn ensure_folder(&mut self, folder: &str) -> Result<(), ImapError> {
        if self.folder_exists(folder).await? {
            return Ok(());
        }
        let name = encode_mailbox_name(folder);
        let created = self
            .run(&format!("CREATE {folder}"), |s| Box::pin(s.create(name)))
            .await;
        match created {
            Ok(()) => {
                info!(host = %self.cfg.host, user = %self.cfg.username, folder, "IMAP folder created");
                Ok(())
            }
            Err(e) => {
                // Someone else may have created it in between.
                if self.folder_exists(folder).await? {
                    debug!(folder, error = %e, "CREATE failed but the folder exists now");
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn folder_exists(&mut self, folder: &str) -> Result<bool, ImapError> {
        let encoded = encode_mailbox_name(folder);
        let pattern = quote(&encoded);
        let names = self
            .run(&format!("LIST {folder}"), move |s| {
                Box::pin(async move {
                    let names: Vec<_> = s
                        .list(Some(""), Some(pattern.as_str()))
                        .await?
                        .try_collect()
                        .await?;
                    Ok(names)
                })
            })
            .await?;
        // "*" and "%" in a name are LIST wildcards, so compare the names; INBOX is case-blind.
        let is_inbox = encoded.eq_ignore_ascii_case("INBOX");
        Ok(names
            .iter()
            .any(|n| n.name() == encoded || (is_inbox && n.name().eq_ignore_ascii_case("INBOX"))))
    }

    /// UIDs matching `query`, ascending.
    async fn uids(&mut self, query: &'static str) -> Result<Vec<u32>, ImapError> {
        let set = self
            .run(&format!("UID SEARCH {query}"), |s| {
                Box::pin(s.uid_search(query))
            })
            .await?;
        let mut uids: Vec<u32> = set.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Fetches one message by UID. `None` when it is gone (expunged by another client).
    async fn fetch_one(
        &mut self,
        uid: u32,
        query: &'static str,
    ) -> Result<Option<Fetch>, ImapError> {
        let fetches = self
            .run(&format!("UID FETCH {uid}"), move |s| {
                Box::pin(async move {
                    let fetches: Vec<Fetch> = s
                        .uid_fetch(uid.to_string(), query)
                        .await?
                        .try_collect()
                        .await?;
                    Ok(fetches)
                })
            })
            .await?;
        // The server may add unsolicited FETCH responses for other messages.
        Ok(fetches.into_iter().find(|f| f.uid == Some(uid)))
    }

    /// `UID STORE <uid> <flags>` (silent, so no FETCH responses to wait for).
    async fn uid_store(&mut self, uid: u32, flags: &'static str) -> Result<(), ImapError> {
        self.run(&format!("UID STORE {uid} {flags}"), move |s| {
            Box::pin(async move {
                let _: Vec<Fetch> = s
                    .uid_store(uid.to_string(), flags)
                    .await?
                    .try_collect()
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn poll<F, Fut, E>(&mut self, mut store: F) -> Result<PollReport, ImapError>
    where
        F: FnMut(Vec<u8>) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let cfg = self.cfg;
        let mut report = PollReport {
            idle_supported: self.has_capability("IDLE"),
            ..PollReport::default()
        };
        if let Some(processed) = &cfg.processed_folder {
            self.ensure_folder(processed).await?;
        }
        self.select(&cfg.folder).await?;
        let uids = self.uids("UNSEEN UNDELETED").await?;
        debug!(folder = %cfg.folder, unseen = uids.len(), "IMAP unseen messages");

        for uid in uids {
            let Some(fetch) = self.fetch_one(uid, "(UID FLAGS BODY.PEEK[])").await? else {
                debug!(uid, "message vanished before it was fetched");
                continue;
            };
            // Another client may have processed it since the SEARCH.
            if fetch
                .flags()
                .any(|f| matches!(f, Flag::Seen | Flag::Deleted))
            {
                debug!(uid, "message was marked meanwhile; skipped");
                continue;
            }
            report.fetched += 1;
            let Some(raw) = fetch.body().map(<[u8]>::to_vec) else {
                warn!(uid, folder = %cfg.folder, "server sent no body for the message; left unseen");
                report.failed += 1;
                continue;
            };
            drop(fetch);
            let size = raw.len();
            match store(raw).await {
                Ok(()) => {
                    self.mark_processed(uid).await?;
                    report.stored += 1;
                    debug!(uid, size, "message stored and marked processed");
                }
                Err(e) => {
                    report.failed += 1;
                    warn!(uid, size, folder = %cfg.folder, error = %e,
                        "storing the message failed; it stays unseen and is fetched again next poll");
                }
            }
        }
        Ok(report)
    }

    async fn mark_processed(&mut self, uid: u32) -> Result<(), ImapError> {
        self.uid_store(uid, "+FLAGS.SILENT (\\Seen)").await?;
        let Some(target) = self.cfg.processed_folder.clone() else {
            return Ok(());
        };
        let name = encode_mailbox_name(&target);
        if self.has_capability("MOVE") {
            self.run(&format!("UID MOVE {uid} {target}"), move |s| {
                Box::pin(s.uid_mv(uid.to_string(), name))
            })
            .await
        } else {
            self.run(&format!("UID COPY {uid} {target}"), move |s| {
                Box::pin(s.uid_copy(uid.to_string(), name))
            })
            .await?;
            self.uid_store(uid, "+FLAGS.SILENT (\\Deleted)").await?;
            if self.has_capability("UIDPLUS") {
                self.run(&format!("UID EXPUNGE {uid}"), move |s| {
                    Box::pin(async move {
                        let _: Vec<u32> =
                            s.uid_expunge(uid.to_string()).await?.try_collect().await?;
                        Ok(())
                    })
                })
                .await
            } else {
                self.run("EXPUNGE", |s| {
                    Box::pin(async move {
                        let _: Vec<u32> = s.expunge().await?.try_collect().await?;
                        Ok(())
                    })
                })
                .await
            }
        }
    }

    async fn append(&mut self, folder: &str, raw: &[u8]) -> Result<(), ImapError> {
        self.ensure_folder(folder).await?;
        let name = encode_mailbox_name(folder);
        let raw = raw.to_vec();
        self.run(&format!("APPEND {folder}"), move |s| {
            Box::pin(async move { s.append(name, None, None, raw).await })
        })
        .await
    }

    async fn fetch_all(&mut self, folder: &str) -> Result<Vec<Vec<u8>>, ImapError> {
        let name = encode_mailbox_name(folder);
        self.run(&format!("EXAMINE {folder}"), |s| Box::pin(s.examine(name)))
            .await?;
        let uids = self.uids("ALL").await?;
        let mut messages = Vec::with_capacity(uids.len());
        for uid in uids {
            if let Some(fetch) = self.fetch_one(uid, "(UID BODY.PEEK[])").await?
                && let Some(body) = fetch.body()
            {
                messages.push(body.to_vec());
            }
        }
        Ok(messages)
    }

    /// Selects the folder, IDLEs up to `max_wait`, and reports whether the server announced
    /// a change (new, expunged, or re-flagged messages).
    async fn idle(mut self, max_wait: Duration) -> Result<bool, ImapError> {
        let cfg = self.cfg;
        self.select(&cfg.folder).await?;
        let mut handle = self.session.idle();
        within(cfg.timeout, handle.init())
            .await?
            .map_err(|e| lib_error("IDLE", e))?;
        debug!(host = %cfg.host, folder = %cfg.folder, ?max_wait, "IMAP IDLE");

        // The library's own timeout restarts on every keep-alive ("* OK Still here"), so the
        // outer timeout is what bounds the wait.
        let outcome = {
            let (wait, _stop) = handle.wait_with_timeout(max_wait);
            tokio::time::timeout(max_wait, wait).await
        };
        let changed = match outcome {
            Err(_) | Ok(Ok(IdleResponse::Timeout)) => false,
            Ok(Ok(IdleResponse::NewData(data))) => {
                debug!(response = ?data.parsed(), "IMAP IDLE: change");
                true
            }
            Ok(Ok(IdleResponse::ManualInterrupt)) => {
                return Err(ImapError::Connect(
                    "the server closed the connection during IDLE".into(),
                ));
            }
            Ok(Err(e)) => return Err(lib_error("IDLE", e)),
        };

        // Leave politely; the answer is known already, so failures here do not matter.
        match within(cfg.timeout, handle.done()).await {
            Ok(Ok(mut session)) => {
                let _ = within(cfg.timeout, session.logout()).await;
            }
            Ok(Err(e)) => debug!(error = %e, "IMAP DONE failed (ignored)"),
            Err(e) => debug!(error = %e, "IMAP DONE timed out (ignored)"),
        }
        Ok(changed)
    }
}

// ---------------------------------------------------------------------------------------------
// helpers

fn validate(cfg: &ImapConfig) -> Result<(), ImapError> {
    if cfg.host.trim().is_empty() {
        return Err(ImapError::Config("host is empty".into()));
    }
    if cfg.port == 0 {
        return Err(ImapError::Config("port is 0".into()));
    }
    if cfg.username.is_empty() {
        return Err(ImapError::Config("user name is empty".into()));
    }
    if cfg.folder.is_empty() {
        return Err(ImapError::Config("folder is empty".into()));
    }
    if cfg
        .processed_folder
        .as_deref()
        .is_some_and(|p| p == cfg.folder)
    {
        return Err(ImapError::Config(
            "processed_folder must differ from folder".into(),
        ));
    }
    if cfg.timeout.is_zero() || cfg.connect_timeout.is_zero() {
        return Err(ImapError::Config("timeout is 0".into()));
    }
    if cfg.security == Security::Plain && !crate::is_loopback_host(&cfg.host) {
        return Err(ImapError::Config(format!(
            "plaintext IMAP is only allowed to loopback hosts, not {:?}; use tls or starttls",
            cfg.host
        )));
    }
    Ok(())
}

/// Runs `fut` with a timeout.
async fn within<T>(limit: Duration, fut: impl Future<Output = T>) -> Result<T, ImapError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| ImapError::Timeout)
}

/// Resolves the host and connects to its first address that answers, within
/// [`ImapConfig::connect_timeout`] for the lookup and for each attempt.
async fn connect_tcp(cfg: &ImapConfig) -> Result<TcpStream, ImapError> {
    let host = cfg
        .host
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let addrs: Vec<std::net::SocketAddr> = within(
        cfg.connect_timeout,
        tokio::net::lookup_host((host, cfg.port)),
    )
    .await?
    .map_err(|e| ImapError::HostNotFound(format!("{}: {e}", cfg.host)))?
    .collect();
    let mut last = ImapError::HostNotFound(format!("{}: no address", cfg.host));
    for addr in addrs {
        match within(cfg.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => return Ok(tcp),
            Ok(Err(e)) => {
                let detail = format!("{}:{} ({addr}): {e}", cfg.host, cfg.port);
                last = match e.kind() {
                    io::ErrorKind::ConnectionRefused => ImapError::Refused(detail),
                    io::ErrorKind::TimedOut => ImapError::Timeout,
                    _ => ImapError::Connect(detail),
                };
            }
            Err(timeout) => last = timeout,
        }
    }
    Err(last)
}

fn lib_error(what: &str, e: LibError) -> ImapError {
    match e {
        LibError::Io(e) => ImapError::Connect(format!("{what}: {e}")),
        LibError::ConnectionLost => ImapError::Connect(format!("{what}: connection lost")),
        LibError::No(msg) => ImapError::Protocol(format!("{what}: server answered NO: {msg}")),
        LibError::Bad(msg) => ImapError::Protocol(format!("{what}: server answered BAD: {msg}")),
        other => ImapError::Protocol(format!("{what}: {other}")),
    }
}

async fn read_greeting(cfg: &ImapConfig, client: &mut Client<Stream>) -> Result<(), ImapError> {
    let greeting = within(cfg.connect_timeout, client.read_response())
        .await?
        .map_err(|e| {
            let detail = format!("{}: reading the greeting: {e}", cfg.host);
            // The stream reports what it could not parse as `Other`; a broken connection has
            // its own kinds.
            match e.kind() {
                io::ErrorKind::Other | io::ErrorKind::InvalidData => ImapError::NotImap(detail),
                _ => ImapError::Connect(detail),
            }
        })?
        .ok_or_else(|| {
            ImapError::Connect(format!(
                "{}: closed the connection before greeting",
                cfg.host
            ))
        })?;
    match greeting.parsed() {
        Response::Data {
            status: Status::Ok | Status::PreAuth,
            ..
        } => Ok(()),
        Response::Data {
            status: Status::Bye,
            outcome,
        } => Err(ImapError::Connect(format!(
            "{}: server refused the connection: {}",
            cfg.host,
            outcome.information.as_deref().unwrap_or("BYE")
        ))),
        other => Err(ImapError::NotImap(format!(
            "{}: unexpected greeting {other:?}",
            cfg.host
        ))),
    }
}

async fn tls_handshake(
    cfg: &ImapConfig,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, ImapError> {
    let server_name = rustls::pki_types::ServerName::try_from(cfg.host.trim().to_owned())
        .map_err(|e| ImapError::Config(format!("host {:?} is no valid TLS name: {e}", cfg.host)))?;
    let connector = TlsConnector::from(tls_config()?);
    within(cfg.connect_timeout, connector.connect(server_name, tcp))
        .await?
        .map_err(|e| ImapError::Tls(format!("{}: {e}", cfg.host)))
}

/// rustls client configuration (ring provider, webpki roots), built once. A process-wide
/// static on purpose: it is the same for every application (compiled-in roots, no setting, no
/// database), so sharing it shares no state between instances.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, ImapError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| ImapError::Config(format!("TLS setup: {e}")))
}

/// An IMAP quoted string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A mailbox name in IMAP's modified UTF-7 (RFC 3501, 5.1.3): printable ASCII stays, `&`
/// becomes `&-`, everything else is UTF-16BE in modified base64 between `&` and `-`.
fn encode_mailbox_name(name: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

    fn flush(out: &mut String, pending: &mut Vec<u16>) {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let b0 = u32::from(chunk.first().copied().unwrap_or(0));
            let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
            let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
            let n = (b0 << 16) | (b1 << 8) | b2;
            for i in 0..=chunk.len() {
                let index = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(ALPHABET[index as usize]));
            }
        }
        out.push('-');
        pending.clear();
    }

    let mut out = String::with_capacity(name.len());
    let mut pending = Vec::new();
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut out, &mut pending);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut units));
        }
    }
    flush(&mut out, &mut pending);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_names_use_modified_utf7() {
        assert_eq!(encode_mailbox_name("INBOX"), "INBOX");
        assert_eq!(
            encode_mailbox_name("INBOX/Verarbeitet"),
            "INBOX/Verarbeitet"
        );
        assert_eq!(encode_mailbox_name("Gelöscht"), "Gel&APY-scht");
        assert_eq!(encode_mailbox_name("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode_mailbox_name("A&B"), "A&-B");
        // RFC 3501's example
        assert_eq!(
            encode_mailbox_name("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(encode_mailbox_name("Ärger 😀"), "&AMQ-rger &2D3eAA-");
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST.",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
        ] {
            assert!(crate::is_loopback_host(host), "{host}");
        }
        for host in [
            "imap.example.org",
            "10.0.0.1",
            "::2",
            "localhost.example.org",
            "",
        ] {
            assert!(!crate::is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn password_is_not_in_debug_output() {
        let cfg = ImapConfig {
            host: "imap.example.org".into(),
            port: 993,
            security: Security::Tls,
            username: "inbox@koblenz.example".into(),
            password: SecretString::from("hunter2-geheim"),
            folder: "INBOX".into(),
            processed_folder: None,
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
        };
        let debug = format!("{cfg:?}");
        assert!(!debug.contains("hunter2-geheim"), "{debug}");
        assert!(debug.contains("inbox@koblenz.example"));
    }
}
