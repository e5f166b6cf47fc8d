//! Escalation, across tenants.
//!
//! **Deadlines.** Tickets within the holding tenant's at-risk window of service hours before
//! `due_at` are marked at risk, tickets past it overdue. The tenant holding the ticket is told,
//! and so is the tenant that took the call (`origin_tenant_id`) while another tenant holds it:
//! the agent who forwarded it (else its front-office queue), and whoever else the told tenant's
//! settings `escalation_at_risk` / `escalation_overdue` name (assignee, queue, admins,
//! escalation address). The text says who holds the ticket now.
//!
//! **Unaccepted forwards.** A forward to another tenant that waits longer than the receiver's
//! `forward_accept_hours` service hours is escalated once: the receiver's admins and the
//! forwarding tenant are told, and where the receiver's `forward_unaccepted` is `return`, the
//! ticket goes back to the forwarding tenant ("nicht rechtzeitig angenommen"), its deadline
//! unchanged; the history has every step.
//!
//! **Notices, once.** A mark writes one `escalation_notices` row per told tenant, ticket and
//! level (for `unaccepted`: per forward); the unique key refuses a second one, whichever
//! instance tries. A notice is sent when its `send_after` has come: at once while the told
//! tenant is open, else at its next opening (setting `escalation_quiet_hours`). Sending claims
//! the row (`sent_at`) and writes the in-app notifications and the mails (outbox) in the same
//! transaction. A notice whose ticket was answered or closed meanwhile is dropped unsent.
//!
//! Every instance runs the job. Each mark is claimed with a conditional update
//! (`… WHERE at_risk = false`) or the notice's unique key, so whichever instance wins writes
//! the history row and the notices, in the same transaction, and nothing is escalated twice.

use std::collections::HashMap;
use verbund_tenant::db::Db;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;
use verbund_schema::ids::{TenantId, TicketId};
use verbund_schema::{escalation_notice, tenant};
use verbund_tenant::access::SystemScope;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::settings::{
    EscalationTarget, ForwardUnaccepted, TenantSettings, UNACCEPTED_RETURN_REASON,
};
use verbund_tenant::{Error, ProblemKind, Result, Role};

use crate::deadline::calendar_of;
use crate::model::{FRONT_QUEUE, ForwardState, TicketState};
use crate::tickets::record_event;
use verbund_schema::{notification, ticket, ticket_forward};

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub at_risk: usize,
    pub overdue: usize,
    /// Forwards escalated as not accepted in time.
    pub unaccepted: usize,
    /// Of those, returned to the forwarding tenant.
    pub returned: usize,
    /// Notices sent (or dropped because the ticket was answered meanwhile).
    pub notices: usize,
}

/// The level of an escalation notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    AtRisk,
    Overdue,
    Unaccepted,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::AtRisk => "at_risk",
            Level::Overdue => "overdue",
            Level::Unaccepted => "unaccepted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Level::AtRisk, Level::Overdue, Level::Unaccepted]
            .into_iter()
            .find(|l| l.as_str() == raw)
    }
}

/// Whom a notice is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The tenant holding the ticket.
    Holder,
    /// The tenant that took the call, or forwarded the ticket.
    Origin,
    /// The tenant that did not accept a forward in time.
    Receiver,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Holder => "holder",
            Audience::Origin => "origin",
            Audience::Receiver => "receiver",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Audience::Holder, Audience::Origin, Audience::Receiver]
            .into_iter()
            .find(|a| a.as_str() == raw)
    }
}

/// The occasion of the deadline levels (one notice per ticket, level and tenant).
pub const DEADLINE: &str = "deadline";

/// Looks at every open ticket and every waiting forward once, marks what is due, and sends
/// the notices whose time has come.
/// `system` is the escalation job's proof, made by the application's worker ([`SystemScope`]).
pub async fn run_once(db: &Db, system: &SystemScope, at: DateTime<Utc>) -> Result<Pass> {
    let tenants: HashMap<TenantId, tenant::Model> = crate::repo::system_tenants(db, system)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut pass = Pass::default();
    mark_deadlines(db, system, &tenants, at, &mut pass).await?;
    mark_unaccepted(db, system, &tenants, at, &mut pass).await?;
    pass.notices = send_due(db, system, &tenants, at).await?;
    Ok(pass)
}

async fn mark_deadlines(
    db: &Db,
    system: &SystemScope,
    tenants: &HashMap<TenantId, tenant::Model>,
    at: DateTime<Utc>,
    pass: &mut Pass,
) -> Result<()> {
    let open = [
        TicketState::New.as_str(),
        TicketState::InProgress.as_str(),
        TicketState::WaitingBackoffice.as_str(),
    ];
    // Candidates: not yet overdue, due within two weeks (the at-risk window is counted in
    // service hours, which can span weekends and holidays).
    let until = at + chrono::Duration::days(14);
    let candidates = crate::repo::system_open_tickets_due(db, system, &open, until).await?;
    for t in candidates {
        let Some(tenant) = tenants.get(&t.tenant_id) else {
            continue;
        };
        let level = if t.due_at <= at {
            Level::Overdue
        } else if !t.at_risk {
            let settings = TenantSettings::from_json(&tenant.settings);
            let left = calendar_of(tenant).service_time_between(at, t.due_at);
            if left <= chrono::Duration::hours(i64::from(settings.at_risk_hours)) {
                Level::AtRisk
            } else {
                continue;
            }
        } else {
            continue;
        };
        if claim_deadline(db, system, &t, tenants, level, at).await? {
            match level {
                Level::AtRisk => pass.at_risk += 1,
                _ => pass.overdue += 1,
            }
        }
    }
    Ok(())
}

async fn claim_deadline(
    db: &Db,
    system: &SystemScope,
    t: &ticket::Model,
    tenants: &HashMap<TenantId, tenant::Model>,
    level: Level,
    at: DateTime<Utc>,
) -> Result<bool> {
    let txn = begin_write(db).await?;
    let column = match level {
        Level::AtRisk => ticket::Column::AtRisk,
        _ => ticket::Column::Overdue,
    };
    let kind = level.as_str();
    // An overdue ticket is at risk as well.
    let claimed =
        crate::repo::system_flag_ticket(&txn, system, t, column, level == Level::Overdue).await?;
    if !claimed {
        txn.rollback().await?;
        return Ok(false);
    }
    record_event(
        &txn,
        t,
        None,
        kind,
        serde_json::json!({ kind: false }),
        serde_json::json!({ kind: true, "due_at": t.due_at }),
    )
    .await?;
    if let Some(holder) = tenants.get(&t.tenant_id) {
        queue_notice(
            &txn,
            system,
            holder,
            t.id,
            level,
            Audience::Holder,
            DEADLINE,
            at,
        )
        .await?;
    }
    if t.origin_tenant_id != t.tenant_id
        && let Some(origin) = tenants.get(&t.origin_tenant_id)
    {
        queue_notice(
            &txn,
            system,
            origin,
            t.id,
            level,
            Audience::Origin,
            DEADLINE,
            at,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// Writes a notice for `told`, to be sent now or at its next opening; false if there is one
/// for this tenant, ticket, level and occasion already.
#[allow(clippy::too_many_arguments)]
async fn queue_notice(
    db: &impl ConnectionTrait,
    system: &SystemScope,
    told: &tenant::Model,
    ticket_id: TicketId,
    level: Level,
    audience: Audience,
    occasion: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let settings = TenantSettings::from_json(&told.settings);
    let send_after = if settings.escalation_quiet_hours {
        calendar_of(told).next_opening(at).unwrap_or(at)
    } else {
        at
    };
    crate::repo::system_add_notice(
        db,
        system,
        escalation_notice::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(told.id),
            ticket_id: Set(ticket_id),
            level: Set(level.as_str().to_owned()),
            audience: Set(audience.as_str().to_owned()),
            occasion: Set(occasion.to_owned()),
            created_at: Set(now()),
            send_after: Set(send_after),
            sent_at: Set(None),
        },
    )
    .await
}

async fn mark_unaccepted(
    db: &Db,
    system: &SystemScope,
    tenants: &HashMap<TenantId, tenant::Model>,
    at: DateTime<Utc>,
    pass: &mut Pass,
) -> Result<()> {
    let waiting =
        crate::repo::system_pending_forwards(db, system, ForwardState::Pending.as_str()).await?;
    for f in waiting {
        let (Some(receiver), Some(from)) =
            (tenants.get(&f.to_tenant_id), tenants.get(&f.from_tenant_id))
        else {
            continue;
        };
        let settings = TenantSettings::from_json(&receiver.settings);
        let hours = chrono::Duration::hours(i64::from(settings.forward_accept_hours));
        let Some(accept_by) = calendar_of(receiver).add_service_time(f.created_at, hours) else {
            continue;
        };
        if at < accept_by {
            continue;
        }
        match claim_unaccepted(db, system, &f, receiver, from, &settings, at).await {
            Ok(Some(returned)) => {
                pass.unaccepted += 1;
                if returned {
                    pass.returned += 1;
                }
            }
            Ok(None) => {}
            // A user changed the ticket in the same moment: the next pass looks again.
            Err(Error::Conflict(ProblemKind::StaleVersion, _)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Escalates one forward not accepted in time; Some(returned) if this instance did it.
async fn claim_unaccepted(
    db: &Db,
    system: &SystemScope,
    f: &ticket_forward::Model,
    receiver: &tenant::Model,
    from: &tenant::Model,
    settings: &TenantSettings,
    at: DateTime<Utc>,
) -> Result<Option<bool>> {
    let txn = begin_write(db).await?;
    let occasion = f.id.to_string();
    let Some(t) = crate::repo::system_ticket(&txn, system, f.ticket_id).await? else {
        txn.rollback().await?;
        return Ok(None);
    };
    let level = Level::Unaccepted;
    if !queue_notice(
        &txn,
        system,
        receiver,
        t.id,
        level,
        Audience::Receiver,
        &occasion,
        at,
    )
    .await?
    {
        txn.rollback().await?;
        return Ok(None);
    }
    queue_notice(
        &txn,
        system,
        from,
        t.id,
        level,
        Audience::Origin,
        &occasion,
        at,
    )
    .await?;
    record_event(
        &txn,
        &t,
        None,
        "forward_unaccepted",
        serde_json::json!({ "forward_state": ForwardState::Pending.as_str() }),
        serde_json::json!({
            "tenant": receiver.slug, "from": from.slug, "forwarded_at": f.created_at,
            "accept_hours": settings.forward_accept_hours, "due_at": t.due_at,
        }),
    )
    .await?;
    let mut returned = false;
    if settings.forward_unaccepted == ForwardUnaccepted::Return
        && t.forward_state == ForwardState::Pending
        && t.tenant_id == f.to_tenant_id
        && t.state != TicketState::Closed
        && crate::repo::system_return_forward(
            &txn,
            system,
            f.id,
            ForwardState::Pending.as_str(),
            ForwardState::Returned.as_str(),
            UNACCEPTED_RETURN_REASON,
            now(),
        )
        .await?
    {
        let mut changes = <ticket::ActiveModel as ActiveModelTrait>::default();
        changes.tenant_id = Set(f.from_tenant_id);
        changes.forward_state = Set(ForwardState::Returned);
        changes.queue = Set(FRONT_QUEUE.to_owned());
        changes.assignee_user_id = Set(None);
        changes.version = Set(t.version + 1);
        changes.updated_at = Set(now());
        let saved = crate::repo::system_save_ticket(&txn, system, &t, t.version, changes).await?;
        record_event(
            &txn,
            &saved,
            None,
            "forward_returned",
            serde_json::json!({ "tenant": receiver.slug }),
            serde_json::json!({
                "tenant": from.slug, "reason": UNACCEPTED_RETURN_REASON, "automatic": true,
                "due_at": saved.due_at,
            }),
        )
        .await?;
        returned = true;
    }
    txn.commit().await?;
    Ok(Some(returned))
}

/// Sends the notices whose time has come; how many this instance claimed.
async fn send_due(
    db: &Db,
    system: &SystemScope,
    tenants: &HashMap<TenantId, tenant::Model>,
    at: DateTime<Utc>,
) -> Result<usize> {
    let due = crate::repo::system_due_notices(db, system, at, 500).await?;
    let mut sent = 0;
    for n in due {
        let txn = begin_write(db).await?;
        if !crate::repo::system_claim_notice(&txn, system, n.id, at).await? {
            txn.rollback().await?;
            continue;
        }
        let mailed = match crate::repo::system_ticket(&txn, system, n.ticket_id).await? {
            Some(t) => deliver(&txn, system, tenants, &n, &t).await?,
            None => false,
        };
        txn.commit().await?;
        if mailed {
            crate::mail::wake_delivery(db);
        }
        sent += 1;
    }
    Ok(sent)
}

/// Who is told, resolved: in-app (a user or a queue of the told tenant) and mail addresses.
#[derive(Default)]
struct Recipients {
    in_app: Vec<(Option<Uuid>, Option<String>)>,
    mail: Vec<String>,
}

impl Recipients {
    fn app(&mut self, r: (Option<Uuid>, Option<String>)) {
        if !self.in_app.contains(&r) {
            self.in_app.push(r);
        }
    }
    fn mail(&mut self, address: String) {
        if !self.mail.contains(&address) {
            self.mail.push(address);
        }
    }
}

/// Writes the notifications and mails of one claimed notice; true if a mail was queued.
async fn deliver(
    db: &impl ConnectionTrait,
    system: &SystemScope,
    tenants: &HashMap<TenantId, tenant::Model>,
    n: &escalation_notice::Model,
    t: &ticket::Model,
) -> Result<bool> {
    let (Some(told), Some(level), Some(audience)) = (
        tenants.get(&n.tenant_id),
        Level::parse(&n.level),
        Audience::parse(&n.audience),
    ) else {
        return Ok(false);
    };
    let done = match level {
        Level::Unaccepted => t.state == TicketState::Closed,
        _ => matches!(t.state, TicketState::Answered | TicketState::Closed),
    };
    if done {
        return Ok(false);
    }
    let settings = TenantSettings::from_json(&told.settings);
    let forward = match level {
        Level::Unaccepted => match n.occasion.parse::<Uuid>() {
            Ok(id) => crate::repo::system_forward(db, system, id).await?,
            Err(_) => None,
        },
        _ => None,
    };
    // The person and the queue "assignee" and "queue" stand for, for the told tenant.
    let (person, queue) = match audience {
        Audience::Holder => (t.assignee_user_id, t.queue.clone()),
        Audience::Origin => {
            let by = match &forward {
                Some(f) => Some(f.forwarded_by),
                None => crate::repo::system_forwarder(db, system, t.id, told.id).await?,
            };
            let queue = if t.tenant_id == told.id {
                t.queue.clone()
            } else {
                FRONT_QUEUE.to_owned()
            };
            (by, queue)
        }
        Audience::Receiver => (None, FRONT_QUEUE.to_owned()),
    };
    let targets: Vec<EscalationTarget> = match (level, audience) {
        (Level::Unaccepted, Audience::Receiver) => {
            vec![
                EscalationTarget::Admins,
                EscalationTarget::EscalationAddress,
            ]
        }
        (Level::Unaccepted, _) => {
            vec![
                EscalationTarget::Assignee,
                EscalationTarget::EscalationAddress,
            ]
        }
        (Level::AtRisk, _) => settings.escalation_at_risk.clone(),
        (Level::Overdue, _) => settings.escalation_overdue.clone(),
    };
    let mut to = Recipients::default();
    for target in targets {
        match target {
            EscalationTarget::Assignee => {
                let user = match person {
                    Some(id) => crate::repo::system_user(db, system, id)
                        .await?
                        .filter(|u| u.active),
                    None => None,
                };
                match user {
                    Some(u) => {
                        to.app((Some(u.id), None));
                        to.mail(u.email);
                    }
                    None => to.app((None, Some(queue.clone()))),
                }
            }
            EscalationTarget::Queue => to.app((None, Some(queue.clone()))),
            EscalationTarget::Admins => {
                for admin in
                    crate::repo::system_active_role_holders(db, system, told.id, Role::TenantAdmin)
                        .await?
                {
                    to.app((Some(admin), None));
                }
            }
            EscalationTarget::EscalationAddress => {
                if let Some(address) = settings.escalation_mail_to.clone() {
                    to.mail(address);
                }
            }
        }
    }
    let (kind, subject, body) = text(tenants, told, t, level, audience, forward.as_ref());
    let created = now();
    for (user_id, queue) in to.in_app {
        notification::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(told.id),
            user_id: Set(user_id),
            queue: Set(queue),
            ticket_id: Set(Some(t.id)),
            kind: Set(kind.to_owned()),
            body: Set(body.clone()),
            created_at: Set(created),
            read_at: Set(None),
        }
        .insert(db)
        .await?;
    }
    if to.mail.is_empty() || crate::mail::sender_of(db, told).await.is_err() {
        return Ok(false);
    }
    for address in to.mail {
        crate::mail::enqueue(
            db,
            told,
            crate::mail::NewMail {
                ticket_id: Some(t.id),
                kind: crate::mail::MailKind::Escalation,
                from: None,
                to: address,
                subject: subject.replace(['\r', '\n'], " "),
                body: format!("{body}\n\nDiese Nachricht wurde automatisch erstellt."),
                in_reply_to: None,
                references: Vec::new(),
                created_by: None,
            },
        )
        .await?;
    }
    Ok(true)
}

/// Kind, mail subject and text of a notice (German, formal).
fn text(
    tenants: &HashMap<TenantId, tenant::Model>,
    told: &tenant::Model,
    t: &ticket::Model,
    level: Level,
    audience: Audience,
    forward: Option<&ticket_forward::Model>,
) -> (&'static str, String, String) {
    let name = |id: TenantId| {
        tenants
            .get(&id)
            .map_or_else(|| "einem anderen Mandanten".to_owned(), |x| x.name.clone())
    };
    let due = local(t.due_at, told);
    let (n, s) = (&t.number, &t.subject);
    // Who holds the ticket now.
    let holder = if t.tenant_id == told.id {
        format!("Es liegt bei Ihnen (Warteschlange {}).", t.queue)
    } else {
        let state = match t.forward_state {
            ForwardState::Pending => "; die Weiterleitung ist noch nicht angenommen",
            ForwardState::Accepted => "; die Weiterleitung ist angenommen",
            _ => "",
        };
        format!(
            "Es liegt derzeit bei {} (Warteschlange {}){state}.",
            name(t.tenant_id),
            t.queue
        )
    };
    match (level, audience) {
        (Level::AtRisk, Audience::Origin) => (
            "forwarded_at_risk",
            format!("Weitergeleitet, bald fällig: {s} [{n}]"),
            format!(
                "Das von Ihnen weitergeleitete Anliegen {n} „{s}“ ist bald fällig (fällig am {due}). {holder}"
            ),
        ),
        (Level::Overdue, Audience::Origin) => (
            "forwarded_overdue",
            format!("Weitergeleitet, überfällig: {s} [{n}]"),
            format!(
                "Das von Ihnen weitergeleitete Anliegen {n} „{s}“ ist überfällig (fällig war {due}). {holder}"
            ),
        ),
        (Level::AtRisk, _) => (
            "ticket_at_risk",
            format!("Bald fällig: {s} [{n}]"),
            format!("Anliegen {n} „{s}“ ist bald fällig (fällig am {due})."),
        ),
        (Level::Overdue, _) => (
            "ticket_overdue",
            format!("Überfällig: {s} [{n}]"),
            format!("Anliegen {n} „{s}“ ist überfällig (fällig war {due})."),
        ),
        (Level::Unaccepted, audience) => {
            let hours = forward
                .and_then(|f| tenants.get(&f.to_tenant_id))
                .map_or(0, |r| {
                    TenantSettings::from_json(&r.settings).forward_accept_hours
                });
            let returned = forward.is_some_and(|f| {
                f.state == ForwardState::Returned
                    && f.decided_by.is_none()
                    && f.return_reason.as_deref() == Some(UNACCEPTED_RETURN_REASON)
            });
            let (from, to) = forward.map_or_else(
                || (name(t.origin_tenant_id), name(t.tenant_id)),
                |f| (name(f.from_tenant_id), name(f.to_tenant_id)),
            );
            let body = if audience == Audience::Receiver {
                let next = if returned {
                    format!(
                        " Das Anliegen wurde deshalb automatisch an {from} zurückgegeben (Grund: {UNACCEPTED_RETURN_REASON})."
                    )
                } else {
                    " Bitte nehmen Sie es an oder geben Sie es mit Begründung zurück.".to_owned()
                };
                format!(
                    "Die Weiterleitung des Anliegens {n} „{s}“ von {from} wurde nicht innerhalb von {hours} Servicestunden angenommen (fällig am {due}).{next}"
                )
            } else {
                let next = if returned {
                    format!(
                        " Es wurde automatisch an Sie zurückgegeben (Grund: {UNACCEPTED_RETURN_REASON}). {holder}"
                    )
                } else {
                    format!(" {holder}")
                };
                format!(
                    "Ihre Weiterleitung des Anliegens {n} „{s}“ an {to} wurde nicht innerhalb von {hours} Servicestunden angenommen (fällig am {due}).{next}"
                )
            };
            (
                "forward_unaccepted",
                format!("Weiterleitung nicht angenommen: {s} [{n}]"),
                body,
            )
        }
    }
}

fn local(at: DateTime<Utc>, tenant: &tenant::Model) -> String {
    let tz: chrono_tz::Tz = tenant
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::Berlin);
    at.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}
