//! Checks on the people a ticket refers to.

use sea_orm::ConnectionTrait;
use uuid::Uuid;
use verbund_tenant::{Error, Permission, Result};

/// An assignee must be an active user who may work the tenant's tickets.
pub(crate) async fn check_assignee(
    db: &impl ConnectionTrait,
    user: Uuid,
    tenant_id: verbund_schema::ids::TenantId,
) -> Result<()> {
    if verbund_tenant::auth::user_may(db, user, Permission::HandleTickets, tenant_id).await? {
        Ok(())
    } else {
        Err(Error::invalid(
            "assignee_id",
            "must be an active user who works this tenant's tickets",
        ))
    }
}
