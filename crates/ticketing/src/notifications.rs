//! In-app notifications (escalations): to a user, or to a queue of a tenant.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, Set};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_tenant::db::Db;
use verbund_tenant::db::now;
use verbund_tenant::{Actor, Error, Permission, Result};

use verbund_schema::notification;

/// Tells whoever works a ticket: its assignee, or its queue when nobody is assigned. Call it in
/// the transaction of the change it reports.
pub async fn notify_ticket(
    db: &impl sea_orm::ConnectionTrait,
    t: &verbund_schema::ticket::Model,
    kind: &str,
    body: &str,
) -> Result<()> {
    use sea_orm::{ActiveModelTrait, Set};
    notification::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(t.tenant_id),
        user_id: Set(t.assignee_user_id),
        queue: Set(t.assignee_user_id.is_none().then(|| t.queue.clone())),
        ticket_id: Set(Some(t.id)),
        kind: Set(kind.to_owned()),
        body: Set(body.to_owned()),
        created_at: Set(now()),
        read_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    pub tenant: String,
    /// For a queue notification: the queue; personal ones have none.
    pub queue: Option<String>,
    pub ticket_id: Option<Uuid>,
    pub kind: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// The actor's notifications, newest first: personal ones and those of the queues it works.
pub async fn list(db: &Db, actor: &Actor, unread_only: bool) -> Result<Vec<NotificationView>> {
    // Personal ones, and those of the queues the actor works.
    let queues = actor.visibility(Permission::HandleTickets);
    let rows = crate::repo::notifications(db, actor.user_id(), &queues, unread_only).await?;
    let slugs = crate::tickets::slugs_of(db, rows.iter().map(|n| n.tenant_id)).await?;
    Ok(rows
        .into_iter()
        .map(|n| NotificationView {
            id: n.id,
            tenant: slugs.get(&n.tenant_id).cloned().unwrap_or_default(),
            queue: n.queue,
            ticket_id: n.ticket_id.map(verbund_schema::ids::TicketId::uuid),
            kind: n.kind,
            body: n.body,
            created_at: n.created_at,
            read_at: n.read_at,
        })
        .collect())
}

pub async fn mark_read(db: &Db, actor: &Actor, id: Uuid) -> Result<()> {
    let queues = actor.visibility(Permission::HandleTickets);
    let n = crate::repo::notification(db, actor.user_id(), &queues, id)
        .await?
        .ok_or(Error::NotFound("notification"))?;
    if n.read_at.is_none() {
        let mut a: notification::ActiveModel = n.into();
        a.read_at = Set(Some(now()));
        a.update(db).await?;
    }
    Ok(())
}
