//! Mail that belongs to tickets: the durable outbox (receipts, replies, escalation notices are
//! written in the same transaction as the change that causes them), the message ids that
//! thread a conversation, and the mail view of a ticket.
//!
//! Delivery itself (SMTP through lettre) is the e-mail crate's job; it claims rows from here.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verbund_schema::ids::TicketId;
use verbund_schema::tenant;
use verbund_tenant::ProblemKind;
use verbund_tenant::db::Db;
use verbund_tenant::db::{WithLocal, begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::settings::TenantSettings;
use verbund_tenant::{Actor, Error, Permission, Result, TenantScope};

use crate::tickets::{Access, load_visible, record_event};
use verbund_schema::{mail_attachment, outbox_mail, ticket};

pub use verbund_schema::types::{MailKind, OutboxState};

/// The wake-up of this application's delivery worker, kept in the application's
/// [`verbund_tenant::db::Local`]. Another instance finds the mail by polling the outbox.
#[derive(Default)]
struct Wake(Notify);

/// Tells this application's delivery worker that mail was committed to the outbox.
pub fn wake_delivery(db: &impl WithLocal) {
    db.local().get::<Wake>().0.notify_one();
}

/// Resolves when [`wake_delivery`] was called for this application.
pub async fn delivery_woken(db: &impl WithLocal) {
    let wake = db.local().get::<Wake>();
    wake.0.notified().await;
}

/// The sender of a tenant's mail: the configured address, else its first inbound address.
pub async fn sender_of(
    db: &impl ConnectionTrait,
    t: &tenant::Model,
) -> Result<(String, Option<String>)> {
    let settings = TenantSettings::from_json(&t.settings);
    let name = settings.mail_from_name.or_else(|| Some(t.name.clone()));
    if let Some(from) = settings.mail_from {
        return Ok((from, name));
    }
    let first = crate::repo::first_mail_address(db, t).await?;
    match first {
        Some(a) => Ok((a.address, name)),
        None => Err(Error::invalid(
            "mail_addresses",
            "the tenant has no e-mail address to send from",
        )),
    }
}

/// Replaces `{key}` placeholders.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// A new outbound mail.
pub struct NewMail {
    pub ticket_id: Option<TicketId>,
    pub kind: MailKind,
    /// Overrides the tenant's sender address (a receipt goes out from the address written to).
    pub from: Option<String>,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub created_by: Option<Uuid>,
}

fn domain_of(address: &str) -> &str {
    address
        .rsplit_once('@')
        .map_or("verbund.invalid", |(_, d)| d)
}

/// Writes a mail into the outbox. Call it inside the transaction of the change it belongs to,
/// then [`wake_delivery`] after the commit.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    t: &tenant::Model,
    mail: NewMail,
) -> Result<outbox_mail::Model> {
    let (from, from_name) = match mail.from {
        Some(from) => {
            let settings = TenantSettings::from_json(&t.settings);
            (
                from,
                settings.mail_from_name.or_else(|| Some(t.name.clone())),
            )
        }
        None => sender_of(db, t).await?,
    };
    let id = Uuid::now_v7();
    let message_id = format!("{}@{}", id.simple(), domain_of(&from));
    let at = now();
    let refs = mail
        .references
        .iter()
        .map(|r| format!("<{r}>"))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(outbox_mail::ActiveModel {
        id: Set(id),
        tenant_id: Set(t.id),
        ticket_id: Set(mail.ticket_id),
        kind: Set(mail.kind),
        from_address: Set(from),
        from_name: Set(from_name),
        to_address: Set(mail.to),
        subject: Set(mail.subject),
        body: Set(mail.body),
        message_id: Set(message_id),
        in_reply_to: Set(mail.in_reply_to),
        references: Set((!refs.is_empty()).then_some(refs)),
        auto_submitted: Set(mail.kind != MailKind::Reply),
        state: Set(OutboxState::Queued),
        attempts: Set(0),
        next_attempt_at: Set(at),
        claim_token: Set(None),
        claimed_until: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        created_by: Set(mail.created_by),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?)
}

/// The message ids of a ticket's conversation, oldest first (inbound and outbound), at most
/// the last 20; and the newest inbound one, to answer to.
pub async fn thread_of(
    db: &impl ConnectionTrait,
    ticket_id: TicketId,
) -> Result<(Option<String>, Vec<String>)> {
    let mut ids: Vec<(DateTime<Utc>, String, bool)> = crate::repo::inbound_mails_of(db, ticket_id)
        .await?
        .into_iter()
        .filter_map(|m| m.message_id.map(|id| (m.received_at, id, true)))
        .collect();
    ids.extend(
        crate::repo::outbound_mails_of(db, ticket_id, MailKind::Escalation.as_str())
            .await?
            .into_iter()
            .map(|m| (m.created_at, m.message_id, false)),
    );
    ids.sort();
    let last_inbound = ids
        .iter()
        .rev()
        .find(|(_, _, inbound)| *inbound)
        .map(|(_, id, _)| id.clone());
    let refs: Vec<String> = ids.into_iter().map(|(_, id, _)| id).collect();
    let skip = refs.len().saturating_sub(20);
    Ok((last_inbound, refs.into_iter().skip(skip).collect()))
}

/// Queues the citizen's copy of a message written on an e-mail ticket.
pub(crate) async fn queue_reply(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    body: &str,
    actor: Uuid,
) -> Result<Option<outbox_mail::Model>> {
    let Some(to) = t.citizen_email.clone() else {
        return Ok(None);
    };
    let holder = crate::repo::tenant(db, t.tenant_id).await?;
    let settings = TenantSettings::from_json(&holder.settings);
    let vars = [
        ("behoerde", holder.name.as_str()),
        ("nummer", t.number.as_str()),
    ];
    let (in_reply_to, references) = thread_of(db, t.id).await?;
    let subject = format!(
        "AW: {} [{}]",
        crate::mail::strip_number(&t.subject, &t.number),
        t.number
    );
    let body = format!(
        "{}\n\n{}",
        body.trim_end(),
        render(&settings.reply_signature, &vars)
    );
    let mail = enqueue(
        db,
        &holder,
        NewMail {
            ticket_id: Some(t.id),
            kind: MailKind::Reply,
            from: None,
            to,
            subject,
            body,
            in_reply_to,
            references,
            created_by: Some(actor),
        },
    )
    .await?;
    Ok(Some(mail))
}

/// The subject without a `[NUMBER]` tag that is already in it.
pub fn strip_number(subject: &str, number: &str) -> String {
    subject
        .replace(&format!("[{number}]"), "")
        .trim()
        .to_owned()
}

/// An outbound mail as admins and ticket workers see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OutboxView {
    pub id: Uuid,
    pub tenant: String,
    pub ticket_id: Option<Uuid>,
    pub kind: MailKind,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub state: OutboxState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub fn outbox_view(m: outbox_mail::Model, slug: &str) -> OutboxView {
    OutboxView {
        id: m.id,
        tenant: slug.to_owned(),
        ticket_id: m.ticket_id.map(TicketId::uuid),
        kind: m.kind,
        from: m.from_address,
        to: m.to_address,
        subject: m.subject,
        body: m.body,
        message_id: m.message_id,
        state: m.state,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at,
        last_error: m.last_error,
        sent_at: m.sent_at,
        created_at: m.created_at,
    }
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// queued, sending, sent, failed or bounced
    pub state: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<u64>,
    /// Show mails created before this one (its id), for the next page.
    pub before: Option<Uuid>,
}

/// The outbox rule is [`Permission::WorkOutbox`] (responders and admins of the tenant).
fn authorize_outbox(actor: &Actor, t: &tenant::Model) -> Result<TenantScope> {
    actor.authorize(Permission::WorkOutbox, t.id)
}

/// A tenant's outbox, newest first (its responders and admins, operators).
pub async fn list_outbox(
    db: &Db,
    actor: &Actor,
    slug: &str,
    q: OutboxQuery,
) -> Result<Vec<OutboxView>> {
    let t = find_tenant(db, slug).await?;
    let scope = authorize_outbox(actor, &t)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1..=200"));
    }
    let state = match q.state.as_deref() {
        Some(s) => Some(OutboxState::parse(s).ok_or_else(|| {
            Error::invalid("state", "must be queued, sending, sent, failed or bounced")
        })?),
        None => None,
    };
    let state = state.map(|s| s.as_str());
    Ok(crate::repo::outbox_page(db, &scope, state, q.before, limit)
        .await?
        .into_iter()
        .map(|m| outbox_view(m, &t.slug))
        .collect())
}

/// Puts a failed (or bounced) mail back into the queue.
pub async fn retry(db: &Db, actor: &Actor, slug: &str, id: Uuid) -> Result<OutboxView> {
    let t = find_tenant(db, slug).await?;
    let scope = authorize_outbox(actor, &t)?;
    let txn = begin_write(db).await?;
    let m = crate::repo::outbox_mail(&txn, &scope, id)
        .await?
        .ok_or(Error::NotFound("mail"))?;
    let ticket = crate::repo::ticket_of_mail(&txn, &m).await?;
    if ticket.as_ref().is_some_and(|t| t.anonymized_at.is_some()) {
        return Err(Error::Conflict(
            ProblemKind::PersonalDataRemoved,
            "the mail's ticket was anonymised; there is nobody to send it to".into(),
        ));
    }
    if m.state != OutboxState::Failed && m.state != OutboxState::Bounced {
        return Err(Error::Conflict(
            ProblemKind::InvalidStateTransition,
            format!(
                "only failed or bounced mail can be retried; this one is {}",
                m.state
            ),
        ));
    }
    let at = now();
    let updated = outbox_mail::ActiveModel {
        id: Set(m.id),
        state: Set(OutboxState::Queued),
        attempts: Set(0),
        next_attempt_at: Set(at),
        claim_token: Set(None),
        claimed_until: Set(None),
        updated_at: Set(at),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    if let Some(tk) = ticket {
        record_event(
            &txn,
            &tk,
            Some(actor.user_id()),
            "mail_retried",
            serde_json::json!({ "mail_id": m.id, "state": m.state }),
            serde_json::json!({ "mail_id": m.id, "state": OutboxState::Queued.as_str() }),
        )
        .await?;
    }
    txn.commit().await?;
    wake_delivery(db);
    Ok(outbox_view(updated, &t.slug))
}

/// One mail of a ticket's conversation.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TicketMailView {
    pub id: Uuid,
    /// `in` from the citizen, `out` to the citizen.
    pub direction: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
    pub subject: Option<String>,
    /// What is new in this mail.
    pub text: Option<String>,
    /// Quoted earlier replies, collapsed by the UI.
    pub quoted: Option<String>,
    /// Inbound: written by someone other than the ticket's citizen.
    pub sender_mismatch: bool,
    /// Outbound: queued, sending, sent, failed or bounced.
    pub state: Option<OutboxState>,
    pub kind: Option<MailKind>,
    pub last_error: Option<String>,
    pub attachments: Vec<AttachmentView>,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: Uuid,
    pub filename: Option<String>,
    pub content_type: String,
    pub size: i64,
    pub inline: bool,
    /// Larger than the tenant's limit: only kept inside the raw mail.
    pub omitted: bool,
}

/// The mail conversation of a ticket (full access only: it holds the citizen's data).
pub async fn ticket_mails(db: &Db, actor: &Actor, id: TicketId) -> Result<Vec<TicketMailView>> {
    let (t, access) = load_visible(db, actor, id).await?;
    if access != Access::Full {
        return Err(Error::Forbidden(
            "the mails of a forwarded ticket stay with the tenant holding it",
        ));
    }
    let inbound = crate::repo::inbound_mails_of(db, t.id).await?;
    let attachments = crate::repo::attachments_of(db, &t).await?;
    let mut out: Vec<TicketMailView> = inbound
        .into_iter()
        .map(|m| TicketMailView {
            id: m.id,
            direction: "in",
            from: m.from_address,
            to: None,
            subject: m.subject,
            text: m.body_text,
            quoted: m.quoted_text,
            sender_mismatch: m.sender_mismatch,
            state: None,
            kind: None,
            last_error: None,
            attachments: attachments
                .iter()
                .filter(|a| a.1 == m.id)
                .map(|a| AttachmentView {
                    id: a.0,
                    filename: a.2.clone(),
                    content_type: a.3.clone(),
                    size: a.4,
                    inline: a.5,
                    omitted: a.6,
                })
                .collect(),
            at: m.received_at,
        })
        .collect();
    out.extend(
        crate::repo::outbound_mails_of(db, t.id, MailKind::Escalation.as_str())
            .await?
            .into_iter()
            .map(|m| TicketMailView {
                id: m.id,
                direction: "out",
                from: Some(m.from_address),
                to: Some(m.to_address),
                subject: Some(m.subject),
                text: Some(m.body),
                quoted: None,
                sender_mismatch: false,
                state: Some(m.state),
                kind: Some(m.kind),
                last_error: m.last_error,
                attachments: Vec::new(),
                at: m.created_at,
            }),
    );
    out.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// One attachment's bytes (full access to its ticket).
pub async fn attachment(
    db: &Db,
    actor: &Actor,
    ticket_id: TicketId,
    attachment_id: Uuid,
) -> Result<mail_attachment::Model> {
    let (t, access) = load_visible(db, actor, ticket_id).await?;
    if access != Access::Full {
        return Err(Error::Forbidden(
            "the mails of a forwarded ticket stay with the tenant holding it",
        ));
    }
    crate::repo::attachment_of(db, &t, attachment_id)
        .await?
        .ok_or(Error::NotFound("attachment"))
}
