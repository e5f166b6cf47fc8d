#![allow(
    clippy::disallowed_methods,
    reason = "the repository: the one place that queries tables; every function takes the proof of access"
)]
//! The repository of the tenant crate: the queries of accounts, coverages and mail domains.
//!
//! Functions on one tenant's rows take its [`TenantScope`] (or an [`AccountScope`] /
//! [`OperatorScope`] where the account rule or platform administration decides) and add the
//! tenant condition themselves. Registries without an owner (tenants and centers by id, the
//! links between them, the global uniqueness of mail domains and addresses) are plain
//! functions: they answer what the rules in [`crate::access`] and [`crate::mail_domains`]
//! need to decide.
//!
//! Authentication runs before there is an actor: its functions (the account by login address,
//! the session a verified token names, the rows an actor's grants are built from, the login
//! throttle) are plainly named and used only by `auth.rs` and `throttle.rs`.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use verbund_schema::ids::TenantId;
use verbund_schema::{
    center_coverage, center_tenant, login_throttle, role_assignment, service_center, session,
    tenant, tenant_mail_address, tenant_mail_domain, user,
};

use crate::access::{AccountScope, OperatorScope, TenantScope, Visibility};
use crate::db::now;
use crate::error::Result;

// --- Registries (no owner) --------------------------------------------------------------------

/// Slugs of every tenant and every center, by id (to name the scopes of role rows).
pub(crate) async fn all_slugs(
    db: &impl ConnectionTrait,
) -> Result<(BTreeMap<TenantId, String>, BTreeMap<Uuid, String>)> {
    let tenants = tenant::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect();
    let centers = service_center::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.slug))
        .collect();
    Ok((tenants, centers))
}

/// The tenants each of the given centers serves: its standing links, and every tenant that
/// lends itself to it by a coverage in force or still to come.
pub(crate) async fn served_by(
    db: &impl ConnectionTrait,
    centers: BTreeSet<Uuid>,
) -> Result<BTreeMap<Uuid, BTreeSet<TenantId>>> {
    let mut out: BTreeMap<Uuid, BTreeSet<TenantId>> = BTreeMap::new();
    if centers.is_empty() {
        return Ok(out);
    }
    for link in center_tenant::Entity::find()
        .filter(center_tenant::Column::CenterId.is_in(centers.iter().copied()))
        .all(db)
        .await?
    {
        out.entry(link.center_id)
            .or_default()
            .insert(link.tenant_id);
    }
    for cover in center_coverage::Entity::find()
        .filter(center_coverage::Column::CenterId.is_in(centers))
        .filter(center_coverage::Column::RevokedAt.is_null())
        .filter(center_coverage::Column::EndsAt.gt(now()))
        .all(db)
        .await?
    {
        out.entry(cover.center_id)
            .or_default()
            .insert(cover.tenant_id);
    }
    Ok(out)
}

/// Whether a center serves a tenant by its standing list.
pub(crate) async fn center_serves(
    db: &impl ConnectionTrait,
    center_id: Uuid,
    tenant_id: TenantId,
) -> Result<bool> {
    Ok(center_tenant::Entity::find_by_id((center_id, tenant_id))
        .one(db)
        .await?
        .is_some())
}

/// Center slugs by id.
pub(crate) async fn center_slugs(db: &impl ConnectionTrait) -> Result<BTreeMap<Uuid, String>> {
    Ok(service_center::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.slug))
        .collect())
}

/// One center's slug.
pub(crate) async fn center_slug(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<String>> {
    Ok(service_center::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|c| c.slug))
}

/// A tenant by slug, active or not (to resolve a path before authorizing).
pub(crate) async fn tenant_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// The tenants of `vis` (`ViewTenant`), by slug.
pub(crate) async fn visible_tenants(
    db: &impl ConnectionTrait,
    vis: &Visibility,
) -> Result<Vec<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(vis.condition(tenant::Column::Id))
        .order_by_asc(tenant::Column::Slug)
        .all(db)
        .await?)
}

/// The tenants with these ids.
pub(crate) async fn tenants_by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = TenantId>,
) -> Result<Vec<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// The inbound addresses of the given tenants, sorted.
pub(crate) async fn addresses_of(
    db: &impl ConnectionTrait,
    tenant_ids: impl IntoIterator<Item = TenantId>,
) -> Result<Vec<tenant_mail_address::Model>> {
    Ok(tenant_mail_address::Entity::find()
        .filter(tenant_mail_address::Column::TenantId.is_in(tenant_ids))
        .order_by_asc(tenant_mail_address::Column::Address)
        .all(db)
        .await?)
}

/// Removes every inbound address of the tenant being created (operators) or changed
/// (`ManageTenant`), before its new list is stored.
pub(crate) async fn delete_addresses(db: &impl ConnectionTrait, tenant_id: TenantId) -> Result<()> {
    tenant_mail_address::Entity::delete_many()
        .filter(tenant_mail_address::Column::TenantId.eq(tenant_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A center by slug.
pub(crate) async fn center_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<service_center::Model>> {
    Ok(service_center::Entity::find()
        .filter(service_center::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// Every center, by slug (the caller shows each only to those who may see it).
pub(crate) async fn centers(db: &impl ConnectionTrait) -> Result<Vec<service_center::Model>> {
    Ok(service_center::Entity::find()
        .order_by_asc(service_center::Column::Slug)
        .all(db)
        .await?)
}

/// The standing links of the given centers to the tenants they serve.
pub(crate) async fn center_links(
    db: &impl ConnectionTrait,
    centers: impl IntoIterator<Item = Uuid>,
) -> Result<Vec<center_tenant::Model>> {
    Ok(center_tenant::Entity::find()
        .filter(center_tenant::Column::CenterId.is_in(centers))
        .all(db)
        .await?)
}

/// Removes a center's standing links before its new list is stored (operators).
pub(crate) async fn delete_center_links(db: &impl ConnectionTrait, center_id: Uuid) -> Result<()> {
    center_tenant::Entity::delete_many()
        .filter(center_tenant::Column::CenterId.eq(center_id))
        .exec(db)
        .await?;
    Ok(())
}

// --- Accounts ---------------------------------------------------------------------------------

/// The role rows of the given accounts (loaded through a scoped function).
pub(crate) async fn roles_of_users(
    db: &impl ConnectionTrait,
    users: &[user::Model],
) -> Result<Vec<role_assignment::Model>> {
    Ok(role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.is_in(users.iter().map(|u| u.id)))
        .all(db)
        .await?)
}

/// The role rows of one account, whose change the caller is deciding under an
/// [`AccountScope`] (the account was loaded with its tenant scope).
pub(crate) async fn roles_of(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<role_assignment::Model>> {
    Ok(role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.eq(user_id))
        .all(db)
        .await?)
}

/// Deletes role rows of an account the scope may change (the caller applied the account rule).
pub(crate) async fn delete_roles(
    db: &impl ConnectionTrait,
    _scope: &AccountScope,
    user_id: Uuid,
    ids: Vec<Uuid>,
) -> Result<()> {
    role_assignment::Entity::delete_many()
        .filter(role_assignment::Column::UserId.eq(user_id))
        .filter(role_assignment::Column::Id.is_in(ids))
        .exec(db)
        .await?;
    Ok(())
}

/// The accounts of the scope's tenant, by e-mail address.
pub(crate) async fn users(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> Result<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(scope.filter(user::Column::TenantId))
        .order_by_asc(user::Column::Email)
        .all(db)
        .await?)
}

/// One account of the scope's tenant; `lock` keeps the row locked (PostgreSQL) until the
/// caller's transaction ends.
pub(crate) async fn user(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
    lock: bool,
) -> Result<Option<user::Model>> {
    let mut select = user::Entity::find_by_id(id).filter(scope.filter(user::Column::TenantId));
    if lock && db.get_database_backend() == DatabaseBackend::Postgres {
        select = select.lock_exclusive();
    }
    Ok(select.one(db).await?)
}

// --- Coverages (`ManageCoverage`) -------------------------------------------------------------

/// The scope tenant's coverages, newest start first.
pub(crate) async fn coverages(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> Result<Vec<center_coverage::Model>> {
    Ok(center_coverage::Entity::find()
        .filter(scope.filter(center_coverage::Column::TenantId))
        .order_by_desc(center_coverage::Column::StartsAt)
        .all(db)
        .await?)
}

/// One coverage of the scope tenant.
pub(crate) async fn coverage(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> Result<Option<center_coverage::Model>> {
    Ok(center_coverage::Entity::find_by_id(id)
        .filter(scope.filter(center_coverage::Column::TenantId))
        .one(db)
        .await?)
}

// --- Mail domains and addresses ---------------------------------------------------------------

/// The domains of the given tenants, sorted.
pub(crate) async fn domains_of(
    db: &impl ConnectionTrait,
    tenant_ids: impl IntoIterator<Item = TenantId>,
) -> Result<Vec<tenant_mail_domain::Model>> {
    Ok(tenant_mail_domain::Entity::find()
        .filter(tenant_mail_domain::Column::TenantId.is_in(tenant_ids))
        .order_by_asc(tenant_mail_domain::Column::Domain)
        .all(db)
        .await?)
}

/// Every tenant's rows of these domains, locked (PostgreSQL) until the caller's transaction
/// ends: claims in one domain run one after the other.
pub(crate) async fn domain_claims(
    db: &impl ConnectionTrait,
    domains: &BTreeSet<String>,
) -> Result<Vec<tenant_mail_domain::Model>> {
    let mut select = tenant_mail_domain::Entity::find()
        .filter(tenant_mail_domain::Column::Domain.is_in(domains.iter().cloned()));
    if db.get_database_backend() == DatabaseBackend::Postgres {
        select = select.lock_exclusive();
    }
    Ok(select.all(db).await?)
}

/// The addresses of tenants other than `tenant_id` in these domains.
pub(crate) async fn addresses_of_others(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    domains: &BTreeSet<String>,
) -> Result<Vec<tenant_mail_address::Model>> {
    let mut in_domains = Condition::any();
    for d in domains {
        in_domains = in_domains.add(tenant_mail_address::Column::Address.like(format!("%@{d}")));
    }
    Ok(tenant_mail_address::Entity::find()
        .filter(tenant_mail_address::Column::TenantId.ne(tenant_id))
        .filter(in_domains)
        .all(db)
        .await?)
}

/// The scope tenant's mail domains (`ManageTenant`).
pub(crate) async fn domains(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> Result<Vec<tenant_mail_domain::Model>> {
    Ok(tenant_mail_domain::Entity::find()
        .filter(scope.filter(tenant_mail_domain::Column::TenantId))
        .order_by_asc(tenant_mail_domain::Column::Domain)
        .all(db)
        .await?)
}

/// A tenant's row of one domain, locked (PostgreSQL) until the caller's transaction ends
/// (operators).
pub(crate) async fn domain_locked(
    db: &impl ConnectionTrait,
    _operator: &OperatorScope,
    tenant_id: TenantId,
    domain: &str,
) -> Result<Option<tenant_mail_domain::Model>> {
    let mut select = tenant_mail_domain::Entity::find()
        .filter(tenant_mail_domain::Column::TenantId.eq(tenant_id))
        .filter(tenant_mail_domain::Column::Domain.eq(domain));
    if db.get_database_backend() == DatabaseBackend::Postgres {
        select = select.lock_exclusive();
    }
    Ok(select.one(db).await?)
}

/// A tenant's addresses in one domain (operators).
pub(crate) async fn addresses_in_domain(
    db: &impl ConnectionTrait,
    _operator: &OperatorScope,
    tenant_id: TenantId,
    domain: &str,
) -> Result<Vec<String>> {
    Ok(tenant_mail_address::Entity::find()
        .filter(tenant_mail_address::Column::TenantId.eq(tenant_id))
        .filter(tenant_mail_address::Column::Address.like(format!("%@{domain}")))
        .select_only()
        .column(tenant_mail_address::Column::Address)
        .into_tuple()
        .all(db)
        .await?)
}

/// Takes a domain from a tenant (operators).
pub(crate) async fn delete_domain(
    db: &impl ConnectionTrait,
    _operator: &OperatorScope,
    tenant_id: TenantId,
    domain: &str,
) -> Result<()> {
    tenant_mail_domain::Entity::delete_many()
        .filter(tenant_mail_domain::Column::TenantId.eq(tenant_id))
        .filter(tenant_mail_domain::Column::Domain.eq(domain))
        .exec(db)
        .await?;
    Ok(())
}

// --- Authentication (before there is an actor) ------------------------------------------------

/// The account with this (lower-case) login address, active or not.
pub(crate) async fn login_account(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?)
}

/// The session a verified token names.
pub(crate) async fn login_session(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<session::Model>> {
    Ok(session::Entity::find_by_id(id).one(db).await?)
}

/// The account of a session (as loaded through [`login_session`]).
pub(crate) async fn session_account(
    db: &impl ConnectionTrait,
    s: &session::Model,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(s.user_id).one(db).await?)
}

/// One account by id, to build its grants (`auth::user_may`: may an assignee act?).
pub(crate) async fn account(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// Revokes every open session matching the condition (logout; a changed account).
pub(crate) async fn revoke_sessions(db: &impl ConnectionTrait, which: SimpleExpr) -> Result<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now()))
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// The centers with these ids.
pub(crate) async fn centers_by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<Vec<service_center::Model>> {
    Ok(service_center::Entity::find()
        .filter(service_center::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// The coverages of these centers that end after `at` and are not revoked.
pub(crate) async fn coverages_of_centers(
    db: &impl ConnectionTrait,
    centers: Vec<Uuid>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<center_coverage::Model>> {
    Ok(center_coverage::Entity::find()
        .filter(center_coverage::Column::CenterId.is_in(centers))
        .filter(center_coverage::Column::RevokedAt.is_null())
        .filter(center_coverage::Column::EndsAt.gt(at))
        .all(db)
        .await?)
}

/// The tenants an actor's grants name (`None`: an operator's, every tenant).
pub(crate) async fn tenants_of_grants(
    db: &impl ConnectionTrait,
    ids: Option<&BTreeSet<TenantId>>,
) -> Result<Vec<tenant::Model>> {
    let mut query = tenant::Entity::find();
    if let Some(ids) = ids {
        query = query.filter(tenant::Column::Id.is_in(ids.iter().copied()));
    }
    Ok(query.all(db).await?)
}

/// A login-throttle row, locked (PostgreSQL) until the caller's transaction ends.
pub(crate) async fn throttle_row_locked(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<login_throttle::Model>> {
    let mut select = login_throttle::Entity::find_by_id(key.to_owned());
    if db.get_database_backend() == DatabaseBackend::Postgres {
        select = select.lock_exclusive();
    }
    Ok(select.one(db).await?)
}

/// Gives one counted attempt back on a key, and lifts a lock below `lock_after` failures.
pub(crate) async fn throttle_give_back(
    db: &impl ConnectionTrait,
    key: &str,
    lock_after: i32,
) -> Result<()> {
    login_throttle::Entity::update_many()
        .col_expr(
            login_throttle::Column::Failures,
            Expr::col(login_throttle::Column::Failures).sub(1),
        )
        .filter(login_throttle::Column::Key.eq(key))
        .filter(login_throttle::Column::Failures.gt(0))
        .exec(db)
        .await?;
    login_throttle::Entity::update_many()
        .col_expr(
            login_throttle::Column::LockedUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(login_throttle::Column::Key.eq(key))
        .filter(login_throttle::Column::Failures.lt(lock_after))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets the failures of a key.
pub(crate) async fn throttle_clear(db: &impl ConnectionTrait, key: &str) -> Result<()> {
    login_throttle::Entity::delete_by_id(key.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

// --- Set-up (demo data) -----------------------------------------------------------------------

/// How many tenants, centers and users there are (the demo seed runs only on an empty
/// database).
pub(crate) async fn setup_counts(db: &impl ConnectionTrait) -> Result<u64> {
    Ok(tenant::Entity::find().count(db).await?
        + service_center::Entity::find().count(db).await?
        + user::Entity::find().count(db).await?)
}

#[cfg(test)]
mod tests;

// --- Audit trail (`ManageTenant`) ----------------------------------------------------------------

/// The scope tenant's audit events in `[from, to)`, newest first, `limit` from `offset`.
pub(crate) async fn audit_events(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    offset: u64,
    limit: u64,
) -> Result<Vec<verbund_schema::audit_event::Model>> {
    use verbund_schema::audit_event;
    let mut select =
        audit_event::Entity::find().filter(scope.filter(audit_event::Column::TenantId));
    if let Some(f) = from {
        select = select.filter(audit_event::Column::CreatedAt.gte(f));
    }
    if let Some(t) = to {
        select = select.filter(audit_event::Column::CreatedAt.lt(t));
    }
    Ok(select
        .order_by_desc(audit_event::Column::CreatedAt)
        .order_by_desc(audit_event::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?)
}

/// The e-mail addresses of the accounts that acted in a tenant's audit events (operators
/// included: an admin sees who changed the tenant).
pub(crate) async fn account_emails(
    db: &impl ConnectionTrait,
    _scope: &TenantScope,
    ids: BTreeSet<Uuid>,
) -> Result<BTreeMap<Uuid, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect())
}
