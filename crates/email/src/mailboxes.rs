//! IMAP mailboxes per tenant: configuration for tenant admins, and the poller that every
//! instance runs. A mailbox is polled by one instance at a time (a lease in the database); a
//! message is marked on the server only after it was stored here.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::entities::tenant;
use verbund_tenant::{Actor, Error, Permission, Result};
use verbund_ticketing::entities::mailbox;

use crate::imap::{self, ImapConfig, Security};
use crate::ingest::{self, Source};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailboxSecurity {
    Tls,
    StartTls,
    /// Only for a server on this machine (loopback).
    Plain,
}

impl MailboxSecurity {
    fn as_str(self) -> &'static str {
        match self {
            MailboxSecurity::Tls => "tls",
            MailboxSecurity::StartTls => "start_tls",
            MailboxSecurity::Plain => "plain",
        }
    }

    fn parse(raw: &str) -> Self {
        match raw {
            "plain" => MailboxSecurity::Plain,
            "start_tls" => MailboxSecurity::StartTls,
            _ => MailboxSecurity::Tls,
        }
    }
}

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
    pub last_error: Option<String>,
}

fn view(m: mailbox::Model, slug: &str) -> MailboxView {
    MailboxView {
        id: m.id,
        tenant: slug.to_owned(),
        name: m.name,
        host: m.host,
        port: u16::try_from(m.port).unwrap_or(0),
        security: MailboxSecurity::parse(&m.security),
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

fn check_interval(raw: Option<u32>) -> Result<i32> {
    let v = raw.unwrap_or(60);
    if !(1..=86_400).contains(&v) {
        return Err(Error::invalid("interval_seconds", "must be 1..=86400"));
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

async fn tenant_for(db: &DatabaseConnection, actor: &Actor, slug: &str) -> Result<tenant::Model> {
    let t = find_tenant(db, slug).await?;
    actor.authorize(Permission::ManageTenant, t.id)?;
    Ok(t)
}

pub async fn list(db: &DatabaseConnection, actor: &Actor, slug: &str) -> Result<Vec<MailboxView>> {
    let t = tenant_for(db, actor, slug).await?;
    Ok(mailbox::Entity::find()
        .filter(mailbox::Column::TenantId.eq(t.id))
        .order_by_asc(mailbox::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|m| view(m, &t.slug))
        .collect())
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    input: MailboxInput,
) -> Result<MailboxView> {
    let t = tenant_for(db, actor, slug).await?;
    let at = now();
    let model = mailbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(t.id),
        name: Set(line("name", &input.name, 200)?),
        host: Set(check_host(&input.host, input.security)?),
        port: Set(check_port(input.port)?),
        security: Set(input.security.as_str().to_owned()),
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
    let saved = model.insert(&txn).await?;
    txn.commit().await?;
    Ok(view(saved, &t.slug))
}

async fn load(db: &DatabaseConnection, t: &tenant::Model, id: Uuid) -> Result<mailbox::Model> {
    mailbox::Entity::find_by_id(id)
        .filter(mailbox::Column::TenantId.eq(t.id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("mailbox"))
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    id: Uuid,
    patch: MailboxPatch,
) -> Result<MailboxView> {
    let t = tenant_for(db, actor, slug).await?;
    let current = load(db, &t, id).await?;
    let security = patch
        .security
        .unwrap_or_else(|| MailboxSecurity::parse(&current.security));
    let host = check_host(patch.host.as_deref().unwrap_or(&current.host), security)?;
    let mut m: mailbox::ActiveModel = current.clone().into();
    m.host = Set(host);
    m.security = Set(security.as_str().to_owned());
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
    let saved = m.update(&txn).await?;
    txn.commit().await?;
    Ok(view(saved, &t.slug))
}

pub async fn delete(db: &DatabaseConnection, actor: &Actor, slug: &str, id: Uuid) -> Result<()> {
    let t = tenant_for(db, actor, slug).await?;
    let current = load(db, &t, id).await?;
    let txn = begin_write(db).await?;
    mailbox::Entity::delete_by_id(current.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

fn imap_config(m: &mailbox::Model) -> ImapConfig {
    ImapConfig {
        host: m.host.clone(),
        port: u16::try_from(m.port).unwrap_or(993),
        security: match MailboxSecurity::parse(&m.security) {
            MailboxSecurity::Tls => Security::Tls,
            MailboxSecurity::StartTls => Security::StartTls,
            MailboxSecurity::Plain => Security::Plain,
        },
        username: m.username.clone(),
        password: SecretString::from(m.secret.clone()),
        folder: m.folder.clone(),
        processed_folder: m.processed_folder.clone(),
        timeout: Duration::from_secs(30),
    }
}

/// Takes the lease of a mailbox for this instance; false when another instance holds it.
async fn lease(db: &DatabaseConnection, id: Uuid, instance: &str) -> Result<bool> {
    let at = now();
    let res = mailbox::Entity::update_many()
        .col_expr(mailbox::Column::LockedBy, Expr::value(instance))
        .col_expr(
            mailbox::Column::LockedUntil,
            Expr::value(at + chrono::Duration::minutes(10)),
        )
        .filter(mailbox::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(mailbox::Column::LockedUntil.is_null())
                .add(mailbox::Column::LockedUntil.lt(at)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// What one poll of one mailbox did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Polled {
    pub stored: usize,
    pub processed: usize,
    pub error: Option<String>,
    pub idle: bool,
}

/// Polls one mailbox now (it must be leased): stores every new message, marks it on the
/// server, then processes what was stored.
pub async fn poll_mailbox(db: &DatabaseConnection, m: &mailbox::Model) -> Polled {
    let cfg = imap_config(m);
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
        Err(e) => out.error = Some(e.to_string()),
    }
    // Process whatever is stored for this mailbox and still pending.
    match ingest::process_pending_of(db, m.id).await {
        Ok(n) => out.processed = n,
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

/// One round over all enabled mailboxes that are due: lease, poll, record, release.
pub async fn run_due(db: &DatabaseConnection, instance: &str) -> Result<usize> {
    let at = now();
    let due: Vec<mailbox::Model> = mailbox::Entity::find()
        .filter(mailbox::Column::Enabled.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter(|m| {
            m.locked_until.is_none_or(|u| u < at)
                && m.last_polled_at.is_none_or(|p| {
                    p + chrono::Duration::seconds(i64::from(m.interval_seconds)) <= at
                })
        })
        .collect();
    let mut polled = 0;
    for m in due {
        if !lease(db, m.id, instance).await? {
            continue;
        }
        let result = poll_mailbox(db, &m).await;
        if let Some(e) = &result.error {
            tracing::warn!(mailbox = %m.id, error = %e, "mailbox poll failed");
        }
        mailbox::ActiveModel {
            id: Set(m.id),
            locked_by: Set(None),
            locked_until: Set(None),
            last_polled_at: Set(Some(now())),
            last_error: Set(result.error.clone()),
            ..Default::default()
        }
        .update(db)
        .await?;
        if result.idle && m.interval_seconds > 5 {
            watch_idle(db.clone(), m.clone());
        }
        polled += 1;
    }
    Ok(polled)
}

/// Waits on IDLE for up to the mailbox's interval; a change makes the mailbox due at once.
fn watch_idle(db: DatabaseConnection, m: mailbox::Model) {
    tokio::spawn(async move {
        let wait = Duration::from_secs(u64::try_from(m.interval_seconds).unwrap_or(60));
        if let Ok(true) = imap::wait_for_change(&imap_config(&m), wait).await {
            let _ = mailbox::Entity::update_many()
                .col_expr(
                    mailbox::Column::LastPolledAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(mailbox::Column::Id.eq(m.id))
                .exec(&db)
                .await;
        }
    });
}

/// Polls due mailboxes every `tick` until the process ends.
pub fn spawn(db: DatabaseConnection, instance: String, tick: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = run_due(&db, &instance).await {
                tracing::warn!(error = %e, "mailbox round failed");
            }
        }
    });
}
