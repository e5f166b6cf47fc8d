//! Who may read which knowledge: the one place that states the rule.
//!
//! - Drafts and archived descriptions are visible only inside the owning tenant: to users
//!   with a `ReadKnowledge` role granted on that tenant itself (editors, admins, responders,
//!   agents of the tenant), to agents of a center for the tenant that owns their account, and
//!   to operators. An agent of a shared center does not see the drafts of the other tenants
//!   the center serves, nor those of a tenant it covers for.
//! - Published descriptions of every tenant are readable by every authenticated user who has
//!   `ReadKnowledge` on at least one tenant, so any center can answer for any participant.
//! - Changes need `EditKnowledge` (descriptions) or `ManageOrgUnits` (offices) on the owning
//!   tenant.

use std::collections::BTreeSet;

use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;
use verbund_tenant::access::GrantScope;
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::status::ServiceStatus;
use verbund_schema::service;

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

/// Whose drafts (and archived descriptions) an actor sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DraftTenants {
    /// Every tenant's (operators).
    All,
    /// Only these tenants'.
    Of(BTreeSet<Uuid>),
}

impl DraftTenants {
    pub fn contains(&self, tenant_id: Uuid) -> bool {
        match self {
            Self::All => true,
            Self::Of(set) => set.contains(&tenant_id),
        }
    }
}

/// The tenants the actor belongs to for knowledge: a `ReadKnowledge` role granted on the
/// tenant itself, or on a center for the tenant that owns the account.
pub fn draft_tenants(actor: &Actor) -> DraftTenants {
    let profile = actor.profile();
    let home: Option<Uuid> = profile.tenant.as_deref().and_then(|slug| {
        profile
            .tenants
            .iter()
            .find(|t| t.slug == slug)
            .map(|t| t.id)
    });
    let mut out = BTreeSet::new();
    for grant in actor
        .grants()
        .iter()
        .filter(|g| g.role.grants(Permission::ReadKnowledge))
    {
        match grant.scope {
            GrantScope::Verbund => return DraftTenants::All,
            GrantScope::Tenant(t) => {
                if grant.reaches(t) {
                    out.insert(t);
                }
            }
            GrantScope::Center(_) => {
                if let Some(h) = home.filter(|h| grant.reaches(*h)) {
                    out.insert(h);
                }
            }
        }
    }
    DraftTenants::Of(out)
}

/// The published-or-own-tenant condition for description queries: AND it into every query
/// that reads `knowledge_services`.
pub fn readable_services(actor: &Actor) -> Condition {
    let own = match draft_tenants(actor) {
        DraftTenants::All => return Condition::all(),
        DraftTenants::Of(set) => set,
    };
    // An empty set matches nothing.
    let mut any = Condition::any().add(service::Column::TenantId.is_in(own));
    if reads_any(actor) {
        any = any.add(service::Column::Status.eq(ServiceStatus::Published.as_str()));
    }
    any
}

/// The same rule for one loaded row.
pub fn can_read_service(actor: &Actor, tenant_id: Uuid, status: &str) -> bool {
    sees_drafts_of(actor, tenant_id)
        || (status == ServiceStatus::Published.as_str() && reads_any(actor))
}

/// Whether drafts (and archived descriptions) of `tenant_id` are visible to the actor.
pub fn sees_drafts_of(actor: &Actor, tenant_id: Uuid) -> bool {
    draft_tenants(actor).contains(tenant_id)
}

/// Org units (offices, addresses, opening hours) are public information: every reader of
/// knowledge may see those of every tenant.
pub fn can_read_org_units(actor: &Actor, tenant_id: Uuid) -> bool {
    actor.may(Permission::ReadKnowledge, tenant_id) || reads_any(actor)
}
