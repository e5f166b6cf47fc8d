//! The delivery worker: claims due rows of the outbox through the database (so several
//! instances never send the same mail at once), sends them with lettre over SMTP, and records
//! the result. A mail is marked sent only after the server accepted it; a crash in between
//! sends it again once its claim has run out (at least once, never lost).

use std::collections::HashMap;
use std::time::Duration;
use verbund_tenant::db::Db;

use futures_util::StreamExt;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::Set;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;
use verbund_schema::ids::TenantId;
use verbund_schema::outbox_mail;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::settings::TenantSettings;
use verbund_tenant::{Error, Result};
use verbund_ticketing::mail::OutboxState;
use verbund_ticketing::tickets::record_event;

use crate::repo;

/// How to reach the SMTP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// No TLS: only for a relay on this machine (loopback).
    Plain,
    StartTls,
    Tls,
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub timeout: Duration,
    /// Parallel SMTP connections.
    pub connections: u32,
    /// First retry after this long; doubled per attempt, at most an hour.
    pub retry_base: Duration,
}

/// How mail leaves: lettre's pooled transport for TLS relays; for a plain relay on loopback
/// our own small pool of connections with `TCP_NODELAY` (lettre writes the message body and
/// the final dot separately, which Nagle's algorithm and delayed ACKs stall by 40 ms each).
pub enum Sender {
    Pooled(AsyncSmtpTransport<Tokio1Executor>),
    Direct {
        cfg: SmtpConfig,
        idle: tokio::sync::Mutex<Vec<AsyncSmtpConnection>>,
    },
}

impl Sender {
    pub fn new(cfg: &SmtpConfig) -> Result<Self> {
        if cfg.security == SmtpSecurity::Plain {
            if !crate::is_loopback_host(&cfg.host) {
                return Err(Error::invalid(
                    "smtp.security",
                    "plain SMTP is only allowed to a loopback relay; use starttls or tls",
                ));
            }
            return Ok(Sender::Direct {
                cfg: cfg.clone(),
                idle: tokio::sync::Mutex::new(Vec::new()),
            });
        }
        Ok(Sender::Pooled(transport(cfg)?))
    }

    async fn connect(cfg: &SmtpConfig) -> std::result::Result<AsyncSmtpConnection, SmtpError> {
        let tcp = tokio::time::timeout(
            cfg.timeout,
            tokio::net::TcpStream::connect((cfg.host.as_str(), cfg.port)),
        )
        .await
        .map_err(|_| SmtpError::Transient("connection timed out".into()))?
        .map_err(|e| SmtpError::Transient(format!("connection failed: {e}")))?;
        tcp.set_nodelay(true)
            .map_err(|e| SmtpError::Transient(e.to_string()))?;
        let mut conn =
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &ClientId::default())
                .await
                .map_err(SmtpError::from_lettre)?;
        if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
            conn.auth(
                &[Mechanism::Plain, Mechanism::Login],
                &Credentials::new(user.clone(), pass.expose_secret().to_owned()),
            )
            .await
            .map_err(SmtpError::from_lettre)?;
        }
        Ok(conn)
    }

    /// Sends one message; `Err` says whether trying again may help.
    pub async fn send(&self, msg: Message) -> std::result::Result<(), SmtpError> {
        match self {
            Sender::Pooled(t) => t
                .send(msg)
                .await
                .map(|_| ())
                .map_err(SmtpError::from_lettre),
            Sender::Direct { cfg, idle } => {
                let reused = idle.lock().await.pop();
                let fresh = reused.is_none();
                let mut conn = match reused {
                    Some(c) => c,
                    None => Self::connect(cfg).await?,
                };
                let bytes = msg.formatted();
                match conn.send(msg.envelope(), &bytes).await {
                    Ok(_) => {
                        idle.lock().await.push(conn);
                        Ok(())
                    }
                    Err(e) if e.is_permanent() => {
                        idle.lock().await.push(conn);
                        Err(SmtpError::Permanent(e.to_string()))
                    }
                    Err(e) if fresh => Err(SmtpError::Transient(e.to_string())),
                    Err(_) => {
                        // An idle connection the server closed meanwhile: once more, fresh.
                        let mut conn = Self::connect(cfg).await?;
                        conn.send(msg.envelope(), &bytes)
                            .await
                            .map_err(SmtpError::from_lettre)?;
                        idle.lock().await.push(conn);
                        Ok(())
                    }
                }
            }
        }
    }
}

/// Why a mail did not go out.
#[derive(Debug)]
pub enum SmtpError {
    Transient(String),
    Permanent(String),
}

impl SmtpError {
    fn from_lettre(e: lettre::transport::smtp::Error) -> Self {
        if e.is_permanent() {
            SmtpError::Permanent(e.to_string())
        } else {
            SmtpError::Transient(e.to_string())
        }
    }
}

/// lettre's pooled transport for a TLS or STARTTLS relay ([`Sender::new`] sends plain SMTP,
/// loopback only, through its own pool).
fn transport(cfg: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = match cfg.security {
        SmtpSecurity::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
            .map_err(|e| Error::invalid("smtp.host", e.to_string()))?,
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)
            .map_err(|e| Error::invalid("smtp.host", e.to_string()))?,
    };
    let mut builder = builder
        .port(cfg.port)
        .timeout(Some(cfg.timeout))
        .pool_config(PoolConfig::new().max_size(std::cmp::max(cfg.connections, 1)));
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            pass.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}

#[derive(Clone, Debug)]
struct AutoSubmitted(String);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(s: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(Clone, Debug)]
struct AutoResponseSuppress;

impl Header for AutoResponseSuppress {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress")
    }

    fn parse(_: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "All".to_owned())
    }
}

/// The message as it goes on the wire.
pub fn build_message(m: &outbox_mail::Model) -> std::result::Result<Message, String> {
    let from_addr = m
        .from_address
        .parse()
        .map_err(|e| format!("invalid sender {}: {e}", m.from_address))?;
    let to_addr = m
        .to_address
        .parse()
        .map_err(|e| format!("invalid recipient {}: {e}", m.to_address))?;
    let mut b = Message::builder()
        .from(Mailbox::new(m.from_name.clone(), from_addr))
        .to(Mailbox::new(None, to_addr))
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}>", m.message_id)))
        .date_now();
    if let Some(irt) = &m.in_reply_to {
        b = b.in_reply_to(format!("<{irt}>"));
    }
    if let Some(refs) = &m.references {
        b = b.references(refs.clone());
    }
    if m.auto_submitted {
        b = b
            .header(AutoSubmitted("auto-replied".into()))
            .header(AutoResponseSuppress);
    }
    b.header(ContentType::TEXT_PLAIN)
        .body(m.body.clone())
        .map_err(|e| e.to_string())
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Claims up to `batch` due mails for this worker; returns them.
async fn claim(db: &Db, batch: u64) -> Result<Vec<outbox_mail::Model>> {
    repo::system_claim_outbox(db, batch, now()).await
}

enum Sent {
    Ok,
    Transient(String),
    Permanent(String),
}

/// Claims a batch and delivers it. Returns what happened.
pub async fn run_once(db: &Db, smtp: &Sender, cfg: &SmtpConfig, batch: u64) -> Result<Pass> {
    let claimed = claim(db, batch).await?;
    if claimed.is_empty() {
        return Ok(Pass::default());
    }
    let results: Vec<(outbox_mail::Model, Sent)> = futures_util::stream::iter(claimed)
        .map(|m| async move {
            let outcome = match build_message(&m) {
                Err(e) => Sent::Permanent(e),
                Ok(msg) => match smtp.send(msg).await {
                    Ok(()) => Sent::Ok,
                    Err(SmtpError::Permanent(e)) => Sent::Permanent(e),
                    Err(SmtpError::Transient(e)) => Sent::Transient(e),
                },
            };
            (m, outcome)
        })
        .buffer_unordered(std::cmp::max(cfg.connections, 1) as usize)
        .collect()
        .await;
    let mut tenants: HashMap<TenantId, u32> = HashMap::new();
    let mut pass = Pass::default();
    // Record the successes first, in one statement: the server has them.
    let sent_ids: Vec<Uuid> = results
        .iter()
        .filter(|(_, s)| matches!(s, Sent::Ok))
        .map(|(m, _)| m.id)
        .collect();
    if !sent_ids.is_empty() {
        repo::system_outbox_sent(db, sent_ids.clone()).await?;
        pass.sent = sent_ids.len();
    }
    for (m, outcome) in results {
        let (error, permanent) = match outcome {
            Sent::Ok => continue,
            Sent::Transient(e) => (e, false),
            Sent::Permanent(e) => (e, true),
        };
        let max = match tenants.get(&m.tenant_id) {
            Some(n) => *n,
            None => {
                let n = repo::system_tenant(db, m.tenant_id).await?.map_or(8, |t| {
                    TenantSettings::from_json(&t.settings).outbox_max_attempts
                });
                tenants.insert(m.tenant_id, n);
                n
            }
        };
        let attempts = m.attempts + 1;
        let give_up = permanent || attempts >= i32::try_from(max).unwrap_or(8);
        let error: String = error.chars().take(2000).collect();
        if give_up {
            fail(db, &m, attempts, &error).await?;
            pass.failed += 1;
        } else {
            let exp = std::cmp::min(u32::try_from(attempts - 1).unwrap_or(0), 12);
            let wait = cfg
                .retry_base
                .saturating_mul(2u32.saturating_pow(exp))
                .min(Duration::from_secs(3600));
            let at = now();
            let changes = outbox_mail::ActiveModel {
                state: Set(OutboxState::Queued),
                attempts: Set(attempts),
                next_attempt_at: Set(
                    at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
                ),
                claim_token: Set(None),
                claimed_until: Set(None),
                last_error: Set(Some(error)),
                updated_at: Set(at),
                ..Default::default()
            };
            repo::system_update_claimed_outbox(db, &m, changes).await?;
            pass.retried += 1;
        }
    }
    Ok(pass)
}

/// Gives up on a mail: state `failed`, and the ticket shows it (history and notification),
/// in one transaction.
async fn fail(db: &Db, m: &outbox_mail::Model, attempts: i32, error: &str) -> Result<()> {
    let txn = begin_write(db).await?;
    let at = now();
    let changes = outbox_mail::ActiveModel {
        state: Set(OutboxState::Failed),
        attempts: Set(attempts),
        claim_token: Set(None),
        claimed_until: Set(None),
        last_error: Set(Some(error.to_owned())),
        updated_at: Set(at),
        ..Default::default()
    };
    if repo::system_update_claimed_outbox(&txn, m, changes).await? == 0 {
        // The claim was dropped meanwhile (the ticket was anonymised): nothing to record.
        txn.rollback().await?;
        return Ok(());
    }
    if let Some(tid) = m.ticket_id
        && let Some(t) = repo::system_ticket(&txn, tid).await?
    {
        record_event(
            &txn,
            &t,
            None,
            "mail_failed",
            serde_json::json!({ "mail_id": m.id, "state": m.state }),
            serde_json::json!({ "mail_id": m.id, "attempts": attempts, "error": error }),
        )
        .await?;
        verbund_ticketing::notifications::notify_ticket(
            &txn,
            &t,
            "mail_failed",
            &format!(
                "Die E-Mail zu {} konnte nicht zugestellt werden: {error}",
                t.number
            ),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Runs the worker until `stop` is cancelled: a pass whenever mail was queued on this
/// instance, and at least every `poll`. A pass that has begun is finished first.
pub fn spawn(
    db: Db,
    cfg: SmtpConfig,
    poll: Duration,
    stop: tokio_util::sync::CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let smtp = Sender::new(&cfg)?;
    Ok(tokio::spawn(async move {
        while !stop.is_cancelled() {
            match run_once(&db, &smtp, &cfg, 100).await {
                Ok(p) if p.sent + p.retried + p.failed > 0 => {
                    tracing::info!(
                        sent = p.sent,
                        retried = p.retried,
                        failed = p.failed,
                        "outbox"
                    );
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox delivery failed"),
            }
            tokio::select! {
                () = stop.cancelled() => {}
                () = verbund_ticketing::mail::delivery_woken(&db) => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }))
}
