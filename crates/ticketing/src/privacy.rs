//! Data protection: the citizen's personal data on a ticket is anonymised a number of days
//! after closing (tenant setting `anonymize_after_days`, default 30) or on request, keeping the
//! numbers that statistics need; and every read of a ticket's personal data is logged.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, Set};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verbund_tenant::ProblemKind;
use verbund_tenant::access::SystemScope;
use verbund_tenant::db::Db;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::settings::TenantSettings;
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::model::TicketState;
use crate::tickets::{Access, TicketView, record_event, view_with_slugs};
use verbund_schema::ids::TicketId;
use verbund_schema::{personal_data_access, ticket, ticket_event};

pub const REDACTED: &str = "[anonymisiert]";

/// History keys whose values are structure, not personal data: states, queues, tenants,
/// deadlines, ids and counters, all set by Verbund itself (nothing a remote party wrote, such
/// as a bounce's status line, is structural). Every other key of a history payload (mail addresses, reasons,
/// subjects, diagnostics, error texts, and any key added later) is treated as personal: it is
/// replaced on anonymisation and left out for a forwarding tenant unless
/// [`FORWARDER_KEYS`] lets it through. A new key is therefore private until it is listed here.
const STRUCTURAL_KEYS: &[&str] = &[
    "number",
    "state",
    "queue",
    "due_at",
    "answer_channel",
    "tenant",
    "forward_state",
    "mail_id",
    "bounce_id",
    "note_id",
    "kind",
    "flagged",
    "outcome",
    "failed_call_attempts",
    "needs_other_channel",
    "assignee_id",
    "priority",
    "attempts",
    "at_risk",
    "overdue",
];

/// Keys a forwarding tenant sees besides the structural ones: the subject (its ticket view
/// shows it too) and the reasons of forwards and returns, which are the trail between the
/// tenants. Addresses, diagnostics and error texts of mail stay with the tenant holding the
/// ticket.
const FORWARDER_KEYS: &[&str] = &["subject", "reason"];

fn is_structural(key: &str) -> bool {
    STRUCTURAL_KEYS.contains(&key)
}

/// A history payload with every non-structural value replaced (anonymisation).
pub(crate) fn redact_payload(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Null => serde_json::Value::Null,
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let kept = if is_structural(k) && !v.is_object() && !v.is_array() {
                        v.clone()
                    } else if v.is_null() {
                        serde_json::Value::Null
                    } else {
                        REDACTED.into()
                    };
                    (k.clone(), kept)
                })
                .collect(),
        ),
        _ => REDACTED.into(),
    }
}

/// A history payload as a forwarding tenant sees it: structural keys, the subject and the
/// forward reasons; everything else is left out.
pub(crate) fn forwarder_payload(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(k, v)| {
                    (is_structural(k) || FORWARDER_KEYS.contains(&k.as_str()))
                        && !v.is_object()
                        && !v.is_array()
                })
                .collect(),
        ),
        _ => serde_json::Value::Null,
    }
}

/// Removes the personal data of one ticket, in the caller's transaction: everything the
/// citizen said or that names them, wherever a copy of it went.
///
/// - the ticket: subject, question, name, phone, e-mail, postal address, callback windows;
/// - contacts that opened it: their topic;
/// - notes, call attempt notes, forward and return reasons;
/// - every history payload (all but the structural keys, see [`STRUCTURAL_KEYS`]);
/// - notifications about it (their text names the subject, addresses, diagnostics);
/// - inbound mail of the ticket and the bounces of its outbound mail: raw message, sender,
///   subject, text, quoted text, Message-ID, error; their attachments are deleted;
/// - the outbox: recipient, subject, body, the citizen's Message-IDs it answers, the last
///   error (a server's answer often repeats the recipient). Mail not sent yet is given up
///   (`failed`), since there is nobody left to send it to, and a delivery worker holding it
///   cannot write back (its claim is dropped).
///
/// Kept: numbers, tenants, states, queues, times, counts, ids, the content hash of inbound
/// mail (so the same message delivered again is recognised and not turned into a new ticket)
/// and the access log.
pub(crate) async fn anonymize_in(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    actor: Option<Uuid>,
    why: &str,
) -> Result<ticket::Model> {
    let mut active: ticket::ActiveModel = t.clone().into();
    active.subject = Set(REDACTED.to_owned());
    active.citizen_name = Set(None);
    active.citizen_phone = Set(None);
    active.citizen_email = Set(None);
    active.citizen_address = Set(None);
    active.callback_windows = Set(serde_json::json!([]));
    active.question = Set(REDACTED.to_owned());
    active.anonymized_at = Set(Some(t.anonymized_at.unwrap_or_else(now)));
    active.version = Set(t.version + 1);
    let saved = active.update(db).await?;

    crate::repo::redact_rows_of(db, t, REDACTED).await?;

    // Every history payload: only the structural keys stay.
    for event in crate::repo::events_of(db, t).await? {
        let before = redact_payload(&event.before);
        let after = redact_payload(&event.after);
        if before != event.before || after != event.after {
            let mut e: ticket_event::ActiveModel = event.into();
            e.before = Set(before);
            e.after = Set(after);
            e.update(db).await?;
        }
    }
    record_event(
        db,
        &saved,
        actor,
        "anonymized",
        serde_json::Value::Null,
        serde_json::json!({ "reason": why }),
    )
    .await?;
    Ok(saved)
}

/// Anonymises closed tickets whose tenant's waiting time has passed, and completes tickets
/// anonymised by an earlier version that left the subject and mail addresses behind (their
/// subject is not yet [`REDACTED`]). Safe on several instances: each ticket is claimed by a
/// conditional update inside its transaction, which the other instance then finds done.
/// `system` is the retention job's proof, made by the application's worker ([`SystemScope`]).
pub async fn run_due_anonymization(
    db: &Db,
    system: &SystemScope,
    at: DateTime<Utc>,
) -> Result<usize> {
    let mut done = 0;
    for t in crate::repo::system_tenants(db, system).await? {
        let days = TenantSettings::from_json(&t.settings).anonymize_after_days;
        let cutoff = at - chrono::Duration::days(i64::from(days));
        let due = Condition::all()
            .add(ticket::Column::State.eq(TicketState::Closed.as_str()))
            .add(ticket::Column::ClosedAt.lte(cutoff))
            .add(ticket::Column::AnonymizedAt.is_null());
        let due = crate::repo::system_ticket_ids(db, system, t.id, due).await?;
        for id in due {
            let txn = begin_write(db).await?;
            let claimed = crate::repo::system_claim_ticket(
                &txn,
                system,
                id,
                ticket::Column::AnonymizedAt,
                Some(now()).into(),
                Condition::all().add(ticket::Column::AnonymizedAt.is_null()),
            )
            .await?;
            match claimed {
                Some(current) => {
                    anonymize_in(&txn, &current, None, "retention").await?;
                    txn.commit().await?;
                    done += 1;
                }
                _ => txn.rollback().await?,
            }
        }
        let incomplete = Condition::all()
            .add(ticket::Column::AnonymizedAt.is_not_null())
            .add(ticket::Column::Subject.ne(REDACTED));
        let incomplete = crate::repo::system_ticket_ids(db, system, t.id, incomplete).await?;
        for id in incomplete {
            let txn = begin_write(db).await?;
            let claimed = crate::repo::system_claim_ticket(
                &txn,
                system,
                id,
                ticket::Column::Subject,
                REDACTED.into(),
                Condition::all().add(ticket::Column::Subject.ne(REDACTED)),
            )
            .await?;
            match claimed {
                Some(current) => {
                    anonymize_in(&txn, &current, None, "completed").await?;
                    txn.commit().await?;
                    done += 1;
                }
                _ => txn.rollback().await?,
            }
        }
    }
    Ok(done)
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnonymizeRequest {
    /// Why, e.g. "Löschersuchen vom 28.11.2026". It stays in the history: do not name the
    /// citizen here.
    pub reason: String,
}

/// Anonymises a ticket on request (tenant admins of the tenant holding it).
#[instrument(skip_all, fields(ticket = %id))]
pub async fn anonymize_on_request(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    req: AnonymizeRequest,
) -> Result<TicketView> {
    let why = req.reason.trim();
    if why.is_empty() || why.chars().count() > 500 {
        return Err(Error::invalid("reason", "must have 1-500 characters"));
    }
    let txn = begin_write(db).await?;
    let (t, _) = crate::tickets::load_visible(&txn, actor, id).await?;
    actor.authorize(Permission::ManageTenant, t.tenant_id)?;
    if t.anonymized_at.is_some() {
        return Err(Error::Conflict(
            ProblemKind::AlreadyAnonymised,
            "the ticket is already anonymised".into(),
        ));
    }
    let saved = anonymize_in(&txn, &t, Some(actor.user_id()), why).await?;
    txn.commit().await?;
    view_with_slugs(db, saved, Access::Full).await
}

/// Records that a user read a ticket's personal data.
pub(crate) async fn log_access(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    user: Uuid,
    action: &str,
) -> Result<()> {
    personal_data_access::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(t.tenant_id),
        ticket_id: Set(t.id),
        user_id: Set(user),
        action: Set(action.to_owned()),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccessLogQuery {
    /// Ticket number or id.
    pub ticket: Option<String>,
    pub user: Option<Uuid>,
    /// 1-1000, default 100.
    pub limit: Option<u64>,
    /// First day (`2026-12-24`) in the tenant's time zone.
    pub from: Option<chrono::NaiveDate>,
    /// Last day, included.
    pub to: Option<chrono::NaiveDate>,
    /// Page number from 1 (default 1), `limit` entries a page.
    pub page: Option<u64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AccessLogEntry {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub ticket_number: Option<String>,
    pub user_id: Uuid,
    pub user_email: Option<String>,
    pub action: String,
    pub at: DateTime<Utc>,
}

/// Who read which ticket's personal data (tenant admins).
pub async fn access_log(
    db: &Db,
    actor: &Actor,
    slug: &str,
    q: AccessLogQuery,
) -> Result<Vec<AccessLogEntry>> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageTenant, t.id)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1..=1000"));
    }
    let mut ticket = None;
    if let Some(key) = q.ticket.as_deref() {
        // A number that names no ticket answers like one of another tenant's tickets: with
        // an empty log, so the answer tells nothing about which numbers exist.
        match crate::tickets::resolve(db, key).await {
            Ok(id) => ticket = Some(id),
            Err(Error::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    }
    let page = q.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(Error::invalid("page", "must be 1..=100000"));
    }
    if let (Some(f), Some(to)) = (q.from, q.to)
        && f > to
    {
        return Err(Error::invalid("from", "must not lie after `to`"));
    }
    let tz: chrono_tz::Tz = t.time_zone.parse().unwrap_or(chrono_tz::Europe::Berlin);
    let start_of = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|n| n.and_local_timezone(tz).earliest())
            .map(|at| at.with_timezone(&Utc))
    };
    let window = (
        q.from.and_then(start_of),
        q.to.and_then(|d| d.succ_opt()).and_then(start_of),
    );
    let rows = crate::repo::access_log(
        db,
        &scope,
        ticket,
        q.user,
        window,
        (page - 1) * limit,
        limit,
    )
    .await?;
    let (tickets, users) = crate::repo::access_log_names(db, &rows).await?;
    let tickets: std::collections::HashMap<TicketId, String> = tickets.into_iter().collect();
    let users: std::collections::HashMap<Uuid, String> = users.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|r| AccessLogEntry {
            id: r.id,
            ticket_number: tickets.get(&r.ticket_id).cloned(),
            ticket_id: r.ticket_id.uuid(),
            user_email: users.get(&r.user_id).cloned(),
            user_id: r.user_id,
            action: r.action,
            at: r.created_at,
        })
        .collect())
}
