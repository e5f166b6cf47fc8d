//! IMAP mailboxes per tenant: configuration for tenant admins, and the poller that every
//! instance runs. A mailbox is polled by one instance at a time (a lease in the database); a
//! message is marked on the server only after it was stored here. Polls run side by side,
//! with a limit per tenant and short connect timeouts, so that dead servers of one tenant do
//! not delay the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::Set;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_schema::ids::TenantId;
use verbund_schema::mailbox;
use verbund_schema::tenant;
use verbund_tenant::db::Db;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::{Actor, Error, Permission, Result, TenantScope};

use crate::imap::{self, ImapConfig, Security};
use crate::ingest::{self, Source};
use crate::repo;

pub use verbund_schema::types::MailboxSecurity;

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxInput {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub security: MailboxSecurity,
    pub username: String,
    /// The password; never shown again.
    #[schema(value_type = String, format = Password)]
    pub secret: SecretString,
    /// Default `INBOX`.
    pub folder: Option<String>,
    /// Move stored messages there instead of flagging them as seen.
    pub processed_folder: Option<String>,
    /// Seconds between polls (10-86400, default 60); IDLE wakes it earlier where offered.
    pub interval_seconds: Option<u32>,
    pub enabled: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxPatch {
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<MailboxSecurity>,
    pub username: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    pub secret: Option<SecretString>,
    pub folder: Option<String>,
    pub processed_folder: Option<String>,
    /// Seconds between polls (10-86400).
    pub interval_seconds: Option<u32>,
    pub enabled: Option<bool>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MailboxView {
    pub id: Uuid,
    pub tenant: String,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub security: MailboxSecurity,
    pub username: String,
    pub folder: String,
    pub processed_folder: Option<String>,
    pub interval_seconds: u32,
    pub enabled: bool,
    pub last_polled_at: Option<DateTime<Utc>>,
    /// Why the last poll failed, as a fixed class ("connection refused", "timeout", "TLS
    /// handshake failed", "not an IMAP server", "authentication failed", ...); never what
    /// the server answered.
    pub last_error: Option<String>,
}

fn view(m: mailbox::Model, slug: &str) -> MailboxView {
    MailboxView {
        id: m.id,
        tenant: slug.to_owned(),
        name: m.name,
        host: m.host,
        port: u16::try_from(m.port).unwrap_or(0),
        security: m.security,
        username: m.username,
        folder: m.folder,
        processed_folder: m.processed_folder,
        interval_seconds: u32::try_from(m.interval_seconds).unwrap_or(60),
        enabled: m.enabled,
        last_polled_at: m.last_polled_at,
        last_error: m.last_error,
    }
}

fn line(field: &str, raw: &str, max: usize) -> Result<String> {
    let v = raw.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("must be one line of 1-{max} characters"),
        ));
    }
    Ok(v.to_owned())
}

fn check_host(host: &str, security: MailboxSecurity) -> Result<String> {
    let host = line("host", host, 253)?;
    if host.contains(char::is_whitespace) || host.contains('/') {
        return Err(Error::invalid("host", "is not a host name"));
    }
    if security == MailboxSecurity::Plain && !crate::is_loopback_host(&host) {
        return Err(Error::invalid(
            "security",
            "plain IMAP is only allowed to a server on this machine; use tls or start_tls",
        ));
    }
    Ok(host)
}

/// The documented bounds of a mailbox's poll interval, in seconds.
pub const INTERVAL_SECONDS: std::ops::RangeInclusive<u32> = 10..=86_400;

fn check_interval(raw: Option<u32>) -> Result<i32> {
    let v = raw.unwrap_or(60);
    if !INTERVAL_SECONDS.contains(&v) {
        return Err(Error::invalid(
            "interval_seconds",
            format!(
                "must be {}..={}",
                INTERVAL_SECONDS.start(),
                INTERVAL_SECONDS.end()
            ),
        ));
    }
    Ok(i32::try_from(v).unwrap_or(60))
}

fn check_port(port: u16) -> Result<i32> {
    if port == 0 {
        return Err(Error::invalid("port", "must be 1..=65535"));
    }
    Ok(i32::from(port))
}

fn check_secret(s: &SecretString) -> Result<String> {
    use secrecy::ExposeSecret;
    let v = s.expose_secret();
    if v.is_empty() || v.len() > 1000 {
        return Err(Error::invalid("secret", "must have 1-1000 characters"));
    }
    Ok(v.to_owned())
}

async fn tenant_for(db: &Db, actor: &Actor, slug: &str) -> Result<(tenant::Model, TenantScope)> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageTenant, t.id)?;
    Ok((t, scope))
}

pub async fn list(db: &Db, actor: &Actor, slug: &str) -> Result<Vec<MailboxView>> {
    let (t, scope) = tenant_for(db, actor, slug).await?;
    Ok(repo::mailboxes(db, &scope)
        .await?
        .into_iter()
        .map(|m| view(m, &t.slug))
        .collect())
}

pub async fn create(
    db: &Db,
    actor: &Actor,
    slug: &str,
    input: MailboxInput,
) -> Result<MailboxView> {
    let (t, scope) = tenant_for(db, actor, slug).await?;
    let at = now();
    let model = mailbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(t.id),
        name: Set(line("name", &input.name, 200)?),
        host: Set(check_host(&input.host, input.security)?),
        port: Set(check_port(input.port)?),
        security: Set(input.security),
        username: Set(line("username", &input.username, 254)?),
        secret: Set(check_secret(&input.secret)?),
        folder: Set(line(
            "folder",
            input.folder.as_deref().unwrap_or("INBOX"),
            200,
        )?),
        processed_folder: Set(match input.processed_folder.as_deref() {
            Some(f) => Some(line("processed_folder", f, 200)?),
            None => None,
        }),
        interval_seconds: Set(check_interval(input.interval_seconds)?),
        enabled: Set(input.enabled.unwrap_or(true)),
        locked_by: Set(None),
        locked_until: Set(None),
        last_polled_at: Set(None),
        last_error: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let txn = begin_write(db).await?;
    let saved = repo::insert_mailbox(&txn, &scope, model).await?;
    txn.commit().await?;
    Ok(view(saved, &t.slug))
}

async fn load(db: &Db, scope: &TenantScope, id: Uuid) -> Result<mailbox::Model> {
    repo::mailbox(db, scope, id)
        .await?
        .ok_or(Error::NotFound("mailbox"))
}

pub async fn update(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: Uuid,
    patch: MailboxPatch,
) -> Result<MailboxView> {
    let (t, scope) = tenant_for(db, actor, slug).await?;
    let current = load(db, &scope, id).await?;
    let security = patch.security.unwrap_or(current.security);
    let host = check_host(patch.host.as_deref().unwrap_or(&current.host), security)?;
    let mut m: mailbox::ActiveModel = current.clone().into();
    m.host = Set(host);
    m.security = Set(security);
    if let Some(n) = &patch.name {
        m.name = Set(line("name", n, 200)?);
    }
    if let Some(p) = patch.port {
        m.port = Set(check_port(p)?);
    }
    if let Some(u) = &patch.username {
        m.username = Set(line("username", u, 254)?);
    }
    if let Some(s) = &patch.secret {
        m.secret = Set(check_secret(s)?);
    }
    if let Some(f) = &patch.folder {
        m.folder = Set(line("folder", f, 200)?);
    }
    if let Some(f) = &patch.processed_folder {
        m.processed_folder = Set(if f.trim().is_empty() {
            None
        } else {
            Some(line("processed_folder", f, 200)?)
        });
    }
    if patch.interval_seconds.is_some() {
        m.interval_seconds = Set(check_interval(patch.interval_seconds)?);
    }
    if let Some(e) = patch.enabled {
        m.enabled = Set(e);
    }
    m.updated_at = Set(now());
    m.last_error = Set(None);
    let txn = begin_write(db).await?;
    let saved = repo::update_mailbox(&txn, &scope, m).await?;
    txn.commit().await?;
    Ok(view(saved, &t.slug))
}

pub async fn delete(db: &Db, actor: &Actor, slug: &str, id: Uuid) -> Result<()> {
    let (_, scope) = tenant_for(db, actor, slug).await?;
    let current = load(db, &scope, id).await?;
    let txn = begin_write(db).await?;
    repo::delete_mailbox(&txn, &scope, current.id).await?;
    txn.commit().await?;
    Ok(())
}

/// How this instance polls mailboxes.
#[derive(Clone, Debug)]
pub struct PollSettings {
    /// Pause between looks for due mailboxes.
    pub tick: Duration,
    /// Mailboxes this instance polls at the same time.
    pub concurrency: usize,
    /// Mailboxes of one tenant this instance polls at the same time, so that one tenant's
    /// slow or dead servers cannot hold every poller.
    pub per_tenant: usize,
    /// Bound for reaching a server (lookup, connect, TLS, greeting).
    pub connect_timeout: Duration,
    /// Bound for every IMAP command after that.
    pub command_timeout: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(5),
            concurrency: 16,
            per_tenant: 2,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(30),
        }
    }
}

fn imap_config(m: &mailbox::Model, settings: &PollSettings) -> ImapConfig {
    ImapConfig {
        host: m.host.clone(),
        port: u16::try_from(m.port).unwrap_or(993),
        security: match m.security {
            MailboxSecurity::Tls => Security::Tls,
            MailboxSecurity::StartTls => Security::StartTls,
            MailboxSecurity::Plain => Security::Plain,
        },
        username: m.username.clone(),
        password: SecretString::from(m.secret.clone()),
        folder: m.folder.clone(),
        processed_folder: m.processed_folder.clone(),
        timeout: settings.command_timeout,
        connect_timeout: settings.connect_timeout,
    }
}

/// How long a lease lasts: longer than any poll can take.
const LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// Takes the lease of a mailbox for this instance; false when another instance holds it.
async fn lease(db: &Db, id: Uuid, instance: &str) -> Result<bool> {
    let at = now();
    repo::system_lease_mailbox(db, id, instance, at, at + LEASE).await
}

/// What one poll of one mailbox did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Polled {
    pub stored: usize,
    pub processed: usize,
    /// What went wrong, as stored in `last_error` and shown to admins: a fixed class of
    /// failure, never what the remote side sent (see [`imap::ImapError::summary`]).
    pub error: Option<String>,
    pub idle: bool,
}

/// Polls one mailbox now (it must be leased): stores every new message, marks it on the
/// server, then processes what was stored.
pub async fn poll_mailbox(db: &Db, m: &mailbox::Model, settings: &PollSettings) -> Polled {
    let cfg = imap_config(m, settings);
    let source = Source::Imap {
        mailbox_id: m.id,
        tenant_id: m.tenant_id,
    };
    let report = imap::poll_once(&cfg, |raw: Vec<u8>| async move {
        ingest::store_raw(db, &raw, source).await.map(|_| ())
    })
    .await;
    let mut out = Polled::default();
    match report {
        Ok(r) => {
            out.stored = r.stored;
            out.idle = r.idle_supported;
        }
        Err(e) => {
            tracing::warn!(mailbox = %m.id, error = %e, "mailbox poll failed");
            out.error = Some(e.summary());
        }
    }
    // Process whatever is stored for this mailbox and still pending.
    match ingest::process_pending_of(db, m.id).await {
        Ok(n) => out.processed = n,
        Err(e) => {
            tracing::warn!(mailbox = %m.id, error = %e, "processing stored mail failed");
            out.error = Some("processing the stored mail failed".into());
        }
    }
    out
}

/// The poller of one instance: looks for due mailboxes every tick and polls each in its own
/// task, at most [`PollSettings::concurrency`] at once and [`PollSettings::per_tenant`] per
/// tenant. A look never waits for a poll, so a mailbox whose server hangs delays no other
/// mailbox; at worst it takes one of its own tenant's slots until the timeouts end it.
///
/// The IMAP IDLE watchers the polls start belong to the poller, not to the runtime: they end
/// when the application's `stop` token is cancelled, the poller's worker waits for them before
/// it ends (so its line in the exit report covers them), and they are aborted with the poller
/// if the worker is aborted after the grace period.
pub struct Poller {
    db: Db,
    instance: String,
    settings: PollSettings,
    slots: Arc<Semaphore>,
    tenant_slots: std::sync::Mutex<HashMap<TenantId, Arc<Semaphore>>>,
    stop: CancellationToken,
    watchers: std::sync::Mutex<JoinSet<()>>,
}

impl Poller {
    pub fn new(
        db: Db,
        instance: String,
        settings: PollSettings,
        stop: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            instance,
            slots: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
            tenant_slots: std::sync::Mutex::new(HashMap::new()),
            stop,
            watchers: std::sync::Mutex::new(JoinSet::new()),
        })
    }

    fn tenant_slot(&self, tenant: TenantId) -> Option<OwnedSemaphorePermit> {
        let per_tenant = self.settings.per_tenant.max(1);
        let sem = self
            .tenant_slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(tenant)
            .or_insert_with(|| Arc::new(Semaphore::new(per_tenant)))
            .clone();
        sem.try_acquire_owned().ok()
    }

    /// One look: leases the due mailboxes this instance has room for and starts their polls
    /// (the longest-waiting first) in `running`. Returns how many it started.
    pub async fn run_due(self: &Arc<Self>, running: &mut JoinSet<()>) -> Result<usize> {
        let at = now();
        let mut due: Vec<mailbox::Model> = repo::system_unleased_mailboxes(&self.db, at)
            .await?
            .into_iter()
            .filter(|m| {
                m.last_polled_at.is_none_or(|p| {
                    p + chrono::Duration::seconds(i64::from(m.interval_seconds)) <= at
                })
            })
            .collect();
        due.sort_by_key(|m| m.last_polled_at);
        let mut started = 0;
        for m in due {
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                break;
            };
            // A tenant whose polls all still run waits for the next look.
            let Some(tenant_slot) = self.tenant_slot(m.tenant_id) else {
                continue;
            };
            if !lease(&self.db, m.id, &self.instance).await? {
                continue;
            }
            let this = Arc::clone(self);
            running.spawn(async move {
                let _slots = (slot, tenant_slot);
                if let Err(e) = this.poll_leased(&m).await {
                    tracing::warn!(mailbox = %m.id, error = %e, "recording a mailbox poll failed");
                }
            });
            started += 1;
        }
        Ok(started)
    }

    /// Polls a leased mailbox, records the result and releases the lease.
    async fn poll_leased(&self, m: &mailbox::Model) -> Result<()> {
        let result = poll_mailbox(&self.db, m, &self.settings).await;
        repo::system_polled_mailbox(&self.db, m.id, &self.instance, result.error.clone()).await?;
        if result.idle && m.interval_seconds > 5 {
            self.watch_idle(m.clone());
        }
        Ok(())
    }

    /// Waits on IDLE for up to the mailbox's interval, or until the application stops; a
    /// change makes the mailbox due at once. The watcher is one of the poller's own tasks.
    fn watch_idle(&self, m: mailbox::Model) {
        let db = self.db.clone();
        let cfg = imap_config(&m, &self.settings);
        let stop = self.stop.clone();
        let mut watchers = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        // Forget the watchers that have ended.
        while watchers.try_join_next().is_some() {}
        watchers.spawn(async move {
            let wait = Duration::from_secs(u64::try_from(m.interval_seconds).unwrap_or(60));
            tokio::select! {
                () = stop.cancelled() => {}
                changed = imap::wait_for_change(&cfg, wait) => {
                    if let Ok(true) = changed {
                        let _ = repo::system_mailbox_due_now(&db, m.id).await;
                    }
                }
            }
        });
    }

    /// Waits for every IDLE watcher (they end once `stop` is cancelled); returns how many
    /// there were.
    async fn join_watchers(&self) -> usize {
        let mut watchers =
            std::mem::take(&mut *self.watchers.lock().unwrap_or_else(|e| e.into_inner()));
        let mut ended = 0;
        while watchers.join_next().await.is_some() {
            ended += 1;
        }
        ended
    }
}

/// Polls due mailboxes every tick until `stop` is cancelled; then waits for the polls it has
/// started (each ends within its timeouts) and for their IDLE watchers (which end at once) and
/// returns. If the task is aborted instead, its polls and watchers are aborted with it.
pub fn spawn(
    db: Db,
    instance: String,
    settings: PollSettings,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let tick = settings.tick;
    let poller = Poller::new(db, instance, settings, stop.clone());
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut running: JoinSet<()> = JoinSet::new();
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stop.cancelled() => break,
            }
            while running.try_join_next().is_some() {}
            if let Err(e) = poller.run_due(&mut running).await {
                tracing::warn!(error = %e, "mailbox round failed");
            }
        }
        while running.join_next().await.is_some() {}
        let watchers = poller.join_watchers().await;
        tracing::info!(watchers, "mailbox poller stopped with its IDLE watchers");
    })
}

/// The answer of "Verbindung testen": whether the stored settings reach the server, log in
/// and open the folder, and if not, why, in German.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConnectionCheck {
    pub ok: bool,
    /// A German sentence for the admin: success, or the class of the failure (never what the
    /// server sent).
    pub message: String,
    /// The failure class as stored in `last_error` ("authentication failed", "timeout", …).
    pub error: Option<String>,
}

/// The German sentence for a failed check.
fn german_failure(e: &imap::ImapError) -> String {
    use imap::ImapError as E;
    match e {
        E::Config(_) => "Die Einstellungen sind ungültig (etwa unverschlüsselt zu einem entfernten Server).".into(),
        E::HostNotFound(_) => "Der Server wurde nicht gefunden. Bitte prüfen Sie den Servernamen.".into(),
        E::Refused(_) => "Der Server lehnt die Verbindung ab. Bitte prüfen Sie Server und Port.".into(),
        E::Connect(_) => "Die Verbindung zum Server ist fehlgeschlagen.".into(),
        E::Tls(_) => "Die verschlüsselte Verbindung (TLS) kam nicht zustande. Bitte prüfen Sie Port und Verschlüsselung.".into(),
        E::NotImap(_) => "Unter dieser Adresse antwortet kein IMAP-Server.".into(),
        E::Auth(_) => "Die Anmeldung wurde abgelehnt. Bitte prüfen Sie Benutzername und Passwort.".into(),
        E::Protocol(_) => "Der Server hat einen Befehl abgelehnt; gibt es den Ordner?".into(),
        E::Timeout => "Der Server hat nicht rechtzeitig geantwortet.".into(),
    }
}

/// Tests a mailbox's stored settings now (tenant admins): connects, logs in and opens the
/// folder read-only, within `settings`' time limits. Changes nothing, neither on the server
/// nor in the database.
pub async fn test_connection(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: Uuid,
    settings: &PollSettings,
) -> Result<ConnectionCheck> {
    let (_, scope) = tenant_for(db, actor, slug).await?;
    let m = load(db, &scope, id).await?;
    let cfg = imap_config(&m, settings);
    Ok(match imap::check(&cfg).await {
        Ok(()) => ConnectionCheck {
            ok: true,
            message: format!(
                "Verbindung erfolgreich: Anmeldung als {} auf {}:{} und Ordner {} geöffnet.",
                m.username, m.host, m.port, m.folder
            ),
            error: None,
        },
        Err(e) => {
            tracing::info!(mailbox = %m.id, error = %e, "mailbox connection test failed");
            ConnectionCheck {
                ok: false,
                message: german_failure(&e),
                error: Some(e.summary()),
            }
        }
    })
}
