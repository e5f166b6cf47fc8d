//! Who may read which knowledge: the one place that states the rule.
//!
//! - Drafts and archived descriptions are visible only inside the owning tenant (the actor
//!   has `ReadKnowledge` on it).
//! - Published descriptions of every tenant are readable by every authenticated user who has
//!   `ReadKnowledge` on at least one tenant, so any center can answer for any participant.
//! - Changes need `EditKnowledge` (descriptions) or `ManageOrgUnits` (offices) on the owning
//!   tenant.

use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::entities::service;
use crate::status::ServiceStatus;

/// True if the actor may read knowledge of at least one tenant (any agent, responder,
/// editor, admin or operator).
pub fn reads_any(actor: &Actor) -> bool {
    let vis = actor.visibility(Permission::ReadKnowledge);
    vis.is_all() || vis.tenants().is_some_and(|t| !t.is_empty())
}

/// `Forbidden` unless the actor reads knowledge somewhere.
pub fn require_reader(actor: &Actor) -> Result<()> {
    if reads_any(actor) {
        Ok(())
    } else {
        Err(Error::Forbidden("reading knowledge is not permitted"))
    }
}

/// The published-or-own-tenant condition for description queries: AND it into every query
/// that reads `knowledge_services`.
pub fn readable_services(actor: &Actor) -> Condition {
    let vis = actor.visibility(Permission::ReadKnowledge);
    if vis.is_all() {
        return Condition::all();
    }
    let mut any = Condition::any().add(vis.condition(service::Column::TenantId));
    if reads_any(actor) {
        any = any.add(service::Column::Status.eq(ServiceStatus::Published.as_str()));
    }
    any
}

/// The same rule for one loaded row.
pub fn can_read_service(actor: &Actor, tenant_id: Uuid, status: &str) -> bool {
    actor.may(Permission::ReadKnowledge, tenant_id)
        || (status == ServiceStatus::Published.as_str() && reads_any(actor))
}

/// Whether drafts of `tenant_id` are visible to the actor.
pub fn sees_drafts_of(actor: &Actor, tenant_id: Uuid) -> bool {
    actor.may(Permission::ReadKnowledge, tenant_id)
}

/// Org units (offices, addresses, opening hours) are public information: every reader of
/// knowledge may see those of every tenant.
pub fn can_read_org_units(actor: &Actor, tenant_id: Uuid) -> bool {
    actor.may(Permission::ReadKnowledge, tenant_id) || reads_any(actor)
}
