//! The inbound mail that needs a human: the operators' catch-all (mail for no tenant),
//! unparseable mail kept raw, unmatched bounces and mail without a sender. Operators see all of
//! it and can hand a mail to a tenant; a tenant's responders and admins see their tenant's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verbund_schema::ids::TenantId;
use verbund_schema::inbound_mail;
use verbund_tenant::ProblemKind;
use verbund_tenant::access::OperatorScope;
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

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInbound {
    /// The tenant (slug) the mail belongs to.
    pub tenant: String,
}

async fn slug_of(
    db: &Db,
    operator: &OperatorScope,
    id: Option<TenantId>,
) -> Result<Option<String>> {
    Ok(match id {
        Some(id) => repo::operator_tenant_slug(db, operator, id).await?,
        None => None,
    })
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

/// Hands a mail without a ticket to a tenant (operators): it is processed again for that
/// tenant.
pub async fn assign(db: &Db, actor: &Actor, id: Uuid, input: AssignInbound) -> Result<InboundView> {
    let operator = actor.authorize_operator()?;
    let t = find_tenant(db, &input.tenant).await?;
    let m = repo::operator_mail(db, &operator, id)
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
    ingest::process(db, id, Some(t.id)).await?;
    let m = repo::operator_mail(db, &operator, id)
        .await?
        .ok_or(Error::NotFound("mail"))?;
    let slug = slug_of(db, &operator, m.tenant_id).await?;
    Ok(view(m, slug))
}
