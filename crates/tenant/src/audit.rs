//! The audit trail: who changed what, written in the same transaction as the change.

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use crate::db::now;
use crate::error::Result;
use verbund_schema::audit_event;

pub async fn record(
    db: &impl ConnectionTrait,
    tenant_id: Option<verbund_schema::ids::TenantId>,
    actor_user_id: Option<Uuid>,
    action: &str,
    target_type: &str,
    target_id: &str,
    detail: serde_json::Value,
) -> Result<()> {
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        actor_user_id: Set(actor_user_id),
        action: Set(action.to_owned()),
        target_type: Set(target_type.to_owned()),
        target_id: Set(target_id.to_owned()),
        detail: Set(detail),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}
