//! The inbound mail that needs a human: the operators' catch-all (mail for no tenant),
//! unparseable mail kept raw, unmatched bounces and mail without a sender. Operators see all of
//! it and can hand a mail to a tenant; a tenant's responders and admins see their tenant's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verbund_schema::inbound_mail;
use verbund_tenant::ProblemKind;
use verbund_tenant::db::Db;
use verbund_tenant::directory::find_tenant;
use verbund_tenant::{Actor, Error, Result};

use crate::ingest::{self, Outcome};
use crate::repo;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct InboundView {
    pub id: Uuid,
    pub tenant: Option<String>,
    /// `mta` or `imap`.
    pub source: String,
    pub state: String,
    pub outcome: Option<Outcome>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub error: Option<String>,
    pub auto_reason: Option<String>,
    pub ticket_id: Option<Uuid>,
    pub size: i64,
    pub received_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboundQuery {
    /// A tenant's mail; without it, operators see the catch-all (mail for no tenant).
    pub tenant: Option<String>,
    /// new_ticket, reply, reply_flagged, bounce, bounce_unmatched, catchall, unparseable, review
    pub outcome: Option<String>,
    /// 1-200, default 50.
    pub limit: Option<u64>,
}

/// Where a mail without a ticket goes: exactly one of `tenant` and `ticket`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInbound {
    /// The tenant (slug) the mail belongs to: it is processed again for that tenant (a new
    /// ticket when it has a sender to answer to).
    #[serde(default)]
    pub tenant: Option<String>,
    /// An open ticket (number or id) the mail belongs to: it joins that ticket's
    /// conversation, flagged when its sender is not the ticket's citizen.
    #[serde(default)]
    pub ticket: Option<String>,
}

fn view(m: inbound_mail::Model, tenant: Option<String>) -> InboundView {
    InboundView {
        id: m.id,
        tenant,
        source: m.source,
        state: m.state,
        outcome: m.outcome,
        from: m.from_address,
        subject: m.subject,
        error: m.error,
        auto_reason: m.auto_reason,
        ticket_id: m.ticket_id.map(verbund_schema::ids::TicketId::uuid),
        size: m.size,
        received_at: m.received_at,
    }
}

/// Lists inbound mail, newest first.
pub async fn list(db: &Db, actor: &Actor, q: InboundQuery) -> Result<Vec<InboundView>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1..=200"));
    }
    let tenant = match q.tenant.as_deref() {
        Some(slug) => Some(find_tenant(db, slug).await?),
        None => None,
    };
    let access = repo::QueueAccess::of(actor);
    if !access.may_read(tenant.as_ref().map(|t| t.id)) {
        return Err(Error::Forbidden("not permitted to read this mail queue"));
    }
    let outcome = match q.outcome.as_deref() {
        Some(o) => {
            Some(Outcome::parse(o).ok_or_else(|| Error::invalid("outcome", "unknown outcome"))?)
        }
        None => None,
    };
    let rows = repo::queue_list(
        db,
        &access,
        tenant.as_ref().map(|t| t.id),
        outcome.map(Outcome::as_str),
        limit,
    )
    .await?;
    let slug = tenant.map(|t| t.slug);
    Ok(rows
        .into_iter()
        .map(|r| InboundView {
            id: r.0,
            tenant: slug.clone(),
            source: r.2,
            state: r.3,
            outcome: r.4,
            from: r.5,
            subject: r.6,
            error: r.7,
            auto_reason: r.8,
            ticket_id: r.9,
            size: r.10,
            received_at: r.11,
        })
        .collect())
}

/// The raw message as it arrived.
pub async fn raw(db: &Db, actor: &Actor, id: Uuid) -> Result<Vec<u8>> {
    let m = repo::queue_mail(db, &repo::QueueAccess::of(actor), id)
        .await?
        .ok_or(Error::NotFound("mail"))?;
    m.raw.ok_or_else(|| {
        Error::Conflict(
            ProblemKind::PersonalDataRemoved,
            "the raw message was removed (anonymised)".into(),
        )
    })
}

/// Hands a mail without a ticket to a tenant or onto one of its open tickets ("zuordnen").
///
/// Who may (the rules of the mail queue and of tickets, nothing of its own):
/// - the mail must be one the actor reads in the inbound queue ([`repo::QueueAccess`]: the
///   tenant's responders and admins; the catch-all only operators), else it is not found;
/// - to a tenant: operators any; others only a tenant whose mail queue they work
///   (`WorkMailQueue`, the tenant's responders);
/// - onto a ticket: one the actor works (`HandleTickets` on the tenant holding it), open and
///   not anonymised (see `verbund_ticketing::tickets::ticket_to_assign_mail`). Only mail that
///   could be read (not unparseable) and is not a delivery report can join a ticket.
pub async fn assign(db: &Db, actor: &Actor, id: Uuid, input: AssignInbound) -> Result<InboundView> {
    let (tenant, ticket) = match (input.tenant, input.ticket) {
        (Some(t), None) if !t.trim().is_empty() => (Some(t), None),
        (None, Some(k)) if !k.trim().is_empty() => (None, Some(k)),
        _ => {
            return Err(Error::invalid(
                "tenant",
                "give exactly one of tenant and ticket",
            ));
        }
    };
    let access = repo::QueueAccess::of(actor);
    let target = match &tenant {
        Some(slug) => {
            let t = find_tenant(db, slug).await?;
            if actor.authorize_operator().is_err() {
                actor.authorize(verbund_tenant::Permission::WorkMailQueue, t.id)?;
            }
            Some(t)
        }
        None => None,
    };
    let m = repo::queue_mail(db, &access, id)
        .await?
        .ok_or(Error::NotFound("mail"))?;
    if m.ticket_id.is_some() {
        return Err(Error::Conflict(
            ProblemKind::AlreadyAssigned,
            "the mail already belongs to a ticket".into(),
        ));
    }
    if m.state == ingest::STORED {
        return Err(Error::Conflict(
            ProblemKind::StillProcessing,
            "the mail is still being processed".into(),
        ));
    }
    if m.outcome == Some(Outcome::Bounce) {
        return Err(Error::Conflict(
            ProblemKind::NotApplicable,
            "a matched bounce cannot be assigned".into(),
        ));
    }
    match (target, ticket) {
        (Some(t), _) => {
            ingest::process(db, id, Some(t.id)).await?;
        }
        (None, Some(key)) => {
            if matches!(
                m.outcome,
                Some(Outcome::Unparseable | Outcome::BounceUnmatched)
            ) {
                return Err(Error::Conflict(
                    ProblemKind::NotApplicable,
                    "an unreadable mail or a delivery report cannot join a ticket".into(),
                ));
            }
            let (ticket_id, holder) =
                verbund_ticketing::tickets::ticket_to_assign_mail(db, actor, &key).await?;
            // The mail moves to the ticket's tenant: only where the actor reads the mail too.
            if !access.may_read(Some(holder)) {
                return Err(Error::Forbidden(
                    "the ticket's tenant is not one whose mail you work",
                ));
            }
            ingest::process_onto_ticket(db, id, ticket_id).await?;
        }
        (None, None) => return Err(Error::bug("assign without a target")),
    }
    let m = repo::queue_mail(db, &repo::QueueAccess::of(actor), id)
        .await?
        .ok_or(Error::NotFound("mail"))?;
    let slug = match m.tenant_id {
        Some(t) => repo::queue_tenant_slug(db, &access, t).await?,
        None => None,
    };
    Ok(view(m, slug))
}
