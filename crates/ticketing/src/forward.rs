//! Forwarding (Weiterleitung): to another tenant, which accepts or returns it, or to a
//! back-office unit of the same tenant. The due date never resets; the forwarding tenant keeps
//! read access to the state and the answer, not to the receiver's internal notes.

use sea_orm::{ActiveModelTrait, Set};
use serde::Deserialize;
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_tenant::ProblemKind;
use verbund_tenant::db::Db;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::{Actor, Error, Result};

use crate::model::{FRONT_QUEUE, ForwardState, TicketState, parse_queue};
use crate::tickets::{
    Access, TicketView, load_for_work, record_event, save, slugs_of, view, view_with_slugs,
};
use verbund_schema::ids::TicketId;
use verbund_schema::{ticket, ticket_forward};

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    /// The receiving tenant's slug; absent for a back-office unit of the same tenant.
    pub tenant: Option<String>,
    /// `backoffice:<unit>` of the receiving tenant; default `frontoffice`.
    pub queue: Option<String>,
    pub reason: String,
    /// The version the forward is based on.
    pub version: i32,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardDecision {
    pub version: i32,
    /// Required when returning.
    pub reason: Option<String>,
}

fn reason(raw: &str) -> Result<String> {
    let r = raw.trim();
    if r.is_empty() {
        Err(Error::invalid("reason", "is required"))
    } else if r.chars().count() > 2000 {
        Err(Error::invalid(
            "reason",
            "must have at most 2000 characters",
        ))
    } else {
        Ok(r.to_owned())
    }
}

#[instrument(skip_all, fields(ticket = %id))]
pub async fn forward(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    req: ForwardRequest,
) -> Result<TicketView> {
    let why = reason(&req.reason)?;
    let queue = match req.queue.as_deref() {
        None => FRONT_QUEUE.to_owned(),
        Some(q) => parse_queue(q)
            .ok_or_else(|| Error::invalid("queue", "must be frontoffice or backoffice:<unit>"))?,
    };
    let txn = begin_write(db).await?;
    let (current, scope) = load_for_work(&txn, actor, id).await?;
    if current.state == TicketState::Closed {
        return Err(Error::Conflict(
            ProblemKind::TicketClosed,
            "a closed ticket cannot be forwarded".into(),
        ));
    }
    if current.forward_state == ForwardState::Pending {
        return Err(Error::Conflict(
            ProblemKind::AlreadyForwarded,
            "the ticket waits for the receiver to accept or return it".into(),
        ));
    }
    let target = match req.tenant.as_deref() {
        Some(slug) => {
            let t = find_tenant(&txn, slug)
                .await
                .map_err(|_| Error::invalid("tenant", format!("unknown tenant {slug}")))?;
            if !t.active {
                return Err(Error::invalid(
                    "tenant",
                    format!("tenant {slug} is not active"),
                ));
            }
            t
        }
        None => crate::repo::tenant(&txn, current.tenant_id).await?,
    };
    let same_tenant = target.id == current.tenant_id;
    if same_tenant && queue == current.queue {
        return Err(Error::invalid(
            "queue",
            "the ticket is already in this queue",
        ));
    }
    let saved = forward_within(&txn, &scope, &current, &target, queue, why, req.version).await?;
    txn.commit().await?;
    let access = Access::after_change(actor, saved.tenant_id);
    view_with_slugs(db, saved, access).await
}

/// Records a forward of `current` to `target` (another tenant, or a queue of the same tenant)
/// inside the caller's transaction.
pub(crate) async fn forward_within(
    txn: &(impl sea_orm::ConnectionTrait + verbund_tenant::db::WithLocal),
    scope: &verbund_tenant::TenantScope,
    current: &ticket::Model,
    target: &verbund_schema::tenant::Model,
    queue: String,
    why: String,
    version: i32,
) -> Result<ticket::Model> {
    let same_tenant = target.id == current.tenant_id;
    ticket_forward::ActiveModel {
        id: Set(Uuid::now_v7()),
        ticket_id: Set(current.id),
        from_tenant_id: Set(current.tenant_id),
        to_tenant_id: Set(target.id),
        to_queue: Set(queue.clone()),
        reason: Set(why.clone()),
        forwarded_by: Set(scope.actor_id()),
        state: Set(if same_tenant {
            ForwardState::Accepted
        } else {
            ForwardState::Pending
        }),
        decided_by: Set(None),
        decided_at: Set(None),
        return_reason: Set(None),
        created_at: Set(now()),
    }
    .insert(txn)
    .await?;
    let mut changes = <ticket::ActiveModel as sea_orm::ActiveModelTrait>::default();
    changes.queue = Set(queue.clone());
    changes.assignee_user_id = Set(None);
    if same_tenant {
        if queue != FRONT_QUEUE {
            changes.state = Set(TicketState::WaitingBackoffice);
        }
    } else {
        changes.tenant_id = Set(target.id);
        changes.forward_state = Set(ForwardState::Pending);
    }
    let saved = save(txn, Some(scope), current, version, changes).await?;
    let slugs = slugs_of(txn, [current.tenant_id, target.id]).await?;
    record_event(
        txn,
        &saved,
        Some(scope.actor_id()),
        "forwarded",
        serde_json::json!({
            "tenant": slugs.get(&current.tenant_id), "queue": current.queue, "state": current.state,
        }),
        serde_json::json!({
            "tenant": slugs.get(&target.id), "queue": queue, "state": saved.state,
            "reason": why, "due_at": saved.due_at,
        }),
    )
    .await?;
    Ok(saved)
}

async fn pending_forward(
    db: &impl sea_orm::ConnectionTrait,
    t: &ticket::Model,
) -> Result<ticket_forward::Model> {
    if t.forward_state != ForwardState::Pending {
        return Err(Error::Conflict(
            ProblemKind::ForwardNotPending,
            "the ticket has no forward waiting for a decision".into(),
        ));
    }
    crate::repo::pending_forward(db, t, ForwardState::Pending.as_str())
        .await?
        .ok_or_else(|| {
            Error::Conflict(
                ProblemKind::ForwardNotPending,
                "the ticket has no forward waiting for a decision".into(),
            )
        })
}

/// The receiving tenant takes the forwarded ticket.
#[instrument(skip_all, fields(ticket = %id))]
pub async fn accept(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    req: ForwardDecision,
) -> Result<TicketView> {
    let txn = begin_write(db).await?;
    let (current, scope) = load_for_work(&txn, actor, id).await?;
    let fwd = pending_forward(&txn, &current).await?;
    let mut f: ticket_forward::ActiveModel = fwd.into();
    f.state = Set(ForwardState::Accepted);
    f.decided_by = Set(Some(actor.user_id()));
    f.decided_at = Set(Some(now()));
    f.update(&txn).await?;
    let mut changes = <ticket::ActiveModel as sea_orm::ActiveModelTrait>::default();
    changes.forward_state = Set(ForwardState::Accepted);
    let saved = save(&txn, Some(&scope), &current, req.version, changes).await?;
    record_event(
        &txn,
        &saved,
        Some(actor.user_id()),
        "forward_accepted",
        serde_json::json!({ "forward_state": current.forward_state }),
        serde_json::json!({ "forward_state": ForwardState::Accepted.as_str() }),
    )
    .await?;
    txn.commit().await?;
    view_with_slugs(db, saved, Access::Full).await
}

/// The receiving tenant sends the ticket back, with a reason.
#[instrument(skip_all, fields(ticket = %id))]
pub async fn return_ticket(
    db: &Db,
    actor: &Actor,
    id: TicketId,
    req: ForwardDecision,
) -> Result<TicketView> {
    let why = reason(req.reason.as_deref().unwrap_or(""))?;
    let txn = begin_write(db).await?;
    let (current, scope) = load_for_work(&txn, actor, id).await?;
    let fwd = pending_forward(&txn, &current).await?;
    let back_to = fwd.from_tenant_id;
    let mut f: ticket_forward::ActiveModel = fwd.into();
    f.state = Set(ForwardState::Returned);
    f.decided_by = Set(Some(actor.user_id()));
    f.decided_at = Set(Some(now()));
    f.return_reason = Set(Some(why.clone()));
    f.update(&txn).await?;
    let mut changes = <ticket::ActiveModel as sea_orm::ActiveModelTrait>::default();
    changes.tenant_id = Set(back_to);
    changes.forward_state = Set(ForwardState::Returned);
    changes.queue = Set(FRONT_QUEUE.to_owned());
    changes.assignee_user_id = Set(None);
    let saved = save(&txn, Some(&scope), &current, req.version, changes).await?;
    let slugs = slugs_of(
        &txn,
        [
            current.tenant_id,
            back_to,
            saved.tenant_id,
            saved.origin_tenant_id,
        ],
    )
    .await?;
    record_event(
        &txn,
        &saved,
        Some(actor.user_id()),
        "forward_returned",
        serde_json::json!({ "tenant": slugs.get(&current.tenant_id) }),
        serde_json::json!({ "tenant": slugs.get(&back_to), "reason": why }),
    )
    .await?;
    txn.commit().await?;
    let access = Access::after_change(actor, saved.tenant_id);
    Ok(view(saved, access, &slugs))
}

/// A tenant a ticket can be forwarded to.
#[derive(Clone, Debug, serde::Serialize, ToSchema)]
pub struct ForwardTenant {
    pub slug: String,
    pub name: String,
}

/// Where the actor can forward a ticket: the other active tenants, and the back-office units
/// of the holding tenant that its tickets and forwards name (`backoffice:<unit>`).
#[derive(Clone, Debug, serde::Serialize, ToSchema)]
pub struct ForwardTargets {
    pub tenants: Vec<ForwardTenant>,
    pub queues: Vec<String>,
}

/// The forward targets of a ticket the actor works (`HandleTickets` on its holder, as for the
/// forward itself).
#[instrument(skip_all, fields(ticket = %id))]
pub async fn targets(db: &Db, actor: &Actor, id: TicketId) -> Result<ForwardTargets> {
    let (current, scope) = load_for_work(db, actor, id).await?;
    let (tenants, queues) = crate::repo::forward_targets(db, &scope).await?;
    Ok(ForwardTargets {
        tenants: tenants
            .into_iter()
            .filter(|t| t.id != current.tenant_id)
            .map(|t| ForwardTenant {
                slug: t.slug,
                name: t.name,
            })
            .collect(),
        queues: queues.into_iter().filter(|q| *q != current.queue).collect(),
    })
}
