//! User accounts and their role assignments, managed per tenant.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, Set};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_schema::ids::TenantId;

use crate::access::{
    AccountScope, Actor, Assignment, GrantScope, Permission, Role, RoleRules, TenantScope,
};
use crate::audit;
use crate::auth::revoke_sessions;
use crate::db::Db;
use crate::db::{begin_write, now};
use crate::directory::{find_center, find_tenant};
use crate::domain::{DisplayName, EmailAddress, NewPassword};
use crate::error::{Error, Result};
use crate::password;
use crate::problem::ProblemKind;
use verbund_schema::{role_assignment, session, user};

/// One role assignment as the API shows and accepts it: exactly one of `tenant` or `center` for
/// scoped roles, neither for `operator`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// The tenant that owns the account.
    pub tenant: Option<String>,
    pub active: bool,
    pub roles: Vec<RoleSpec>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    /// At least 12 characters.
    pub password: String,
    /// Roles; a role without `tenant`/`center` is scoped to the tenant of the path.
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    /// Replaces the user's roles within this tenant: its tenant roles and roles on centers
    /// serving it (roles elsewhere stay; an operator replaces every role).
    pub roles: Option<Vec<RoleSpec>>,
    /// `false` deactivates the account and ends its sessions at once.
    pub active: Option<bool>,
    /// Sets a new password and ends the account's sessions.
    pub password: Option<String>,
}

/// Names for the ids that role assignments point to.
struct Names {
    tenants: BTreeMap<TenantId, String>,
    centers: BTreeMap<Uuid, String>,
}

async fn names(db: &impl ConnectionTrait) -> Result<Names> {
    let (tenants, centers) = crate::repo::all_slugs(db).await?;
    Ok(Names { tenants, centers })
}

fn role_spec(names: &Names, row: &role_assignment::Model) -> Option<RoleSpec> {
    Some(RoleSpec {
        role: row.role,
        tenant: row.tenant_id.and_then(|t| names.tenants.get(&t).cloned()),
        center: row.center_id.and_then(|c| names.centers.get(&c).cloned()),
    })
}

async fn views(db: &impl ConnectionTrait, users: Vec<user::Model>) -> Result<Vec<UserView>> {
    let names = names(db).await?;
    let assignments = crate::repo::roles_of_users(db, &users).await?;
    Ok(users
        .into_iter()
        .map(|u| {
            let mut roles: Vec<RoleSpec> = assignments
                .iter()
                .filter(|a| a.user_id == u.id)
                .filter_map(|a| role_spec(&names, a))
                .collect();
            roles.sort();
            UserView {
                id: u.id,
                email: u.email,
                display_name: u.display_name,
                tenant: u.tenant_id.and_then(|t| names.tenants.get(&t).cloned()),
                active: u.active,
                roles,
                created_at: u.created_at,
                updated_at: u.updated_at,
            }
        })
        .collect())
}

/// A role assignment resolved to ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Resolved {
    role: Role,
    scope: GrantScope,
}

async fn resolve_roles(
    db: &impl ConnectionTrait,
    specs: &[RoleSpec],
    default_tenant: Option<TenantId>,
) -> Result<Vec<Resolved>> {
    if specs.len() > 100 {
        return Err(Error::invalid("roles", "at most 100 role assignments"));
    }
    let mut out = Vec::new();
    for spec in specs {
        let scope = match (spec.role, &spec.tenant, &spec.center) {
            (Role::Operator | Role::Coordinator, None, None) => GrantScope::Verbund,
            (_, Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "roles",
                    "give either tenant or center, not both",
                ));
            }
            (_, Some(t), None) => GrantScope::Tenant(
                find_tenant(db, t)
                    .await
                    .map_err(|_| Error::invalid("roles", format!("unknown tenant {t}")))?
                    .id,
            ),
            (_, None, Some(c)) => GrantScope::Center(
                find_center(db, c)
                    .await
                    .map_err(|_| Error::invalid("roles", format!("unknown service center {c}")))?
                    .id,
            ),
            (_, None, None) => match default_tenant {
                Some(t) => GrantScope::Tenant(t),
                None => return Err(Error::invalid("roles", "a tenant or center is required")),
            },
        };
        if !spec.role.allows_scope(&scope) {
            return Err(Error::invalid(
                "roles",
                format!(
                    "role {} cannot be granted on that scope",
                    spec.role.as_str()
                ),
            ));
        }
        let r = Resolved {
            role: spec.role,
            scope,
        };
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// The tenants each of the given centers serves for the account rule: its standing list
/// (inactive tenants included) and every tenant that lends itself to the center by a coverage
/// that is in force or still to come.
async fn served_by(
    db: &impl ConnectionTrait,
    centers: impl IntoIterator<Item = Uuid>,
) -> Result<BTreeMap<Uuid, BTreeSet<TenantId>>> {
    crate::repo::served_by(db, centers.into_iter().collect()).await
}

fn assignment(scope: GrantScope, served: &BTreeMap<Uuid, BTreeSet<TenantId>>) -> Assignment {
    match scope {
        GrantScope::Verbund => Assignment::verbund(),
        GrantScope::Tenant(t) => Assignment::tenant(t),
        GrantScope::Center(c) => Assignment::center(c, served.get(&c).cloned().unwrap_or_default()),
    }
}

/// Where a stored role row applies. A row that is not understood (both tenant and center, a
/// role on a scope it cannot have) counts as the whole Verbund: only operators touch it. (An
/// unknown role does not load: the column is typed and CHECKed.)
fn row_scope(row: &role_assignment::Model) -> GrantScope {
    let scope = match (row.tenant_id, row.center_id) {
        (Some(t), None) => GrantScope::Tenant(t),
        (None, Some(c)) => GrantScope::Center(c),
        _ => GrantScope::Verbund,
    };
    if row.role.allows_scope(&scope) {
        scope
    } else {
        GrantScope::Verbund
    }
}

/// The account's role rows, each with where it lies for the account rule.
async fn held_roles(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<(role_assignment::Model, Assignment)>> {
    let rows = crate::repo::roles_of(db, user_id).await?;
    let served = served_by(
        db,
        rows.iter().filter_map(|r| match row_scope(r) {
            GrantScope::Center(c) => Some(c),
            _ => None,
        }),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let a = assignment(row_scope(&r), &served);
            (r, a)
        })
        .collect())
}

/// The account rule for an existing account: see [`AccountScope`].
async fn check_changeable(
    db: &impl ConnectionTrait,
    scope: &AccountScope,
    user_id: Uuid,
) -> Result<Vec<(role_assignment::Model, Assignment)>> {
    let held = held_roles(db, user_id).await?;
    let assignments: Vec<Assignment> = held.iter().map(|(_, a)| a.clone()).collect();
    scope.may_change(&assignments)?;
    Ok(held)
}

/// The account rule for roles to be granted: see [`AccountScope`].
async fn check_grantable(
    db: &impl ConnectionTrait,
    scope: &AccountScope,
    roles: &[Resolved],
) -> Result<()> {
    let served = served_by(
        db,
        roles.iter().filter_map(|r| match r.scope {
            GrantScope::Center(c) => Some(c),
            _ => None,
        }),
    )
    .await?;
    let assignments: Vec<Assignment> = roles.iter().map(|r| assignment(r.scope, &served)).collect();
    scope.may_grant(&assignments)
}

async fn insert_roles(db: &impl ConnectionTrait, user_id: Uuid, roles: &[Resolved]) -> Result<()> {
    let at = now();
    for r in roles {
        let (tenant_id, center_id) = match r.scope {
            GrantScope::Verbund => (None, None),
            GrantScope::Tenant(t) => (Some(t), None),
            GrantScope::Center(c) => (None, Some(c)),
        };
        role_assignment::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            role: Set(r.role),
            tenant_id: Set(tenant_id),
            center_id: Set(center_id),
            created_at: Set(at),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// The users of a tenant (scope: `ViewUsers`).
#[instrument(skip_all, fields(tenant = %scope.tenant_id()))]
pub async fn list_users(db: &Db, scope: &TenantScope) -> Result<Vec<UserView>> {
    let rows = crate::repo::users(db, scope).await?;
    views(db, rows).await
}

async fn find_user_in(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> Result<user::Model> {
    crate::repo::user(db, scope, id, false)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// Like [`find_user_in`], inside a write transaction: on PostgreSQL the row stays locked until
/// the commit, so the account's roles cannot change between the account rule and the write (a
/// concurrent change of the account waits; on SQLite the write transaction already excludes it).
async fn lock_user_in(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> Result<user::Model> {
    crate::repo::user(db, scope, id, true)
        .await?
        .ok_or(Error::NotFound("user"))
}

#[instrument(skip_all, fields(tenant = %scope.tenant_id(), user = %id))]
pub async fn get_user(db: &Db, scope: &TenantScope, id: Uuid) -> Result<UserView> {
    let u = find_user_in(db, scope, id).await?;
    views(db, vec![u])
        .await?
        .pop()
        .ok_or(Error::NotFound("user"))
}

/// Creates an account owned by the scope's tenant, with roles the account rule lets the actor
/// grant (see [`AccountScope`]).
#[instrument(skip_all, fields(tenant = %account_scope.tenant().tenant_id()))]
pub async fn create_user(
    db: &Db,
    account_scope: &AccountScope,
    input: NewUser,
) -> Result<UserView> {
    let scope = account_scope.tenant();
    let email = EmailAddress::parse("email", &input.email)?;
    let name = DisplayName::parse("display_name", &input.display_name)?;
    let pw = NewPassword::parse(&input.password)?;
    let roles = resolve_roles(db, &input.roles, Some(scope.tenant_id())).await?;
    check_grantable(db, account_scope, &roles).await?;
    let hash = password::hash(db, pw.secret().clone()).await?;

    let txn = begin_write(db).await?;
    // Again inside the transaction: what a center serves may have changed meanwhile.
    check_grantable(&txn, account_scope, &roles).await?;
    let model = insert_user(&txn, &email, &name, hash, Some(scope.tenant_id()), &roles).await?;
    audit::record(
        &txn,
        Some(scope.tenant_id()),
        Some(scope.actor_id()),
        "user.create",
        "user",
        &model.id.to_string(),
        serde_json::json!({ "email": model.email, "roles": input.roles }),
    )
    .await?;
    let view = views(&txn, vec![model])
        .await?
        .pop()
        .ok_or(Error::NotFound("user"))?;
    txn.commit().await?;
    Ok(view)
}

async fn insert_user(
    db: &impl ConnectionTrait,
    email: &EmailAddress,
    name: &DisplayName,
    hash: String,
    tenant_id: Option<TenantId>,
    roles: &[Resolved],
) -> Result<user::Model> {
    let at = now();
    let model = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        display_name: Set(name.as_str().to_owned()),
        password_hash: Set(hash),
        tenant_id: Set(tenant_id),
        active: Set(true),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await
    .map_err(|e| Error::from_db_unique(e, "a user with this e-mail"))?;
    insert_roles(db, model.id, roles).await?;
    Ok(model)
}

/// Changes an account of the scope's tenant: name, roles, activity, password. The account rule
/// (see [`AccountScope`]) decides whether the actor may change this account at all and which
/// roles it may grant; it is checked before any work and again, on the locked account, inside
/// the write transaction.
#[instrument(skip_all, fields(tenant = %account_scope.tenant().tenant_id(), user = %id))]
pub async fn update_user(
    db: &Db,
    account_scope: &AccountScope,
    id: Uuid,
    patch: UserPatch,
) -> Result<UserView> {
    let scope = account_scope.tenant();
    // Unknown or foreign accounts are 404 before anything else, then the account rule: no
    // hashing for an account the actor may not touch.
    find_user_in(db, scope, id).await?;
    check_changeable(db, account_scope, id).await?;
    let name = patch
        .display_name
        .as_deref()
        .map(|n| DisplayName::parse("display_name", n))
        .transpose()?;
    let pw = patch
        .password
        .as_deref()
        .map(NewPassword::parse)
        .transpose()?;
    let roles = match &patch.roles {
        Some(specs) => {
            let r = resolve_roles(db, specs, Some(scope.tenant_id())).await?;
            check_grantable(db, account_scope, &r).await?;
            Some(r)
        }
        None => None,
    };
    if patch.active == Some(false) && id == scope.actor_id() {
        return Err(Error::Conflict(
            ProblemKind::OwnAccount,
            "you cannot deactivate your own account".into(),
        ));
    }
    let hash = match pw {
        Some(p) => Some(password::hash(db, p.secret().clone()).await?),
        None => None,
    };

    let txn = begin_write(db).await?;
    let current = lock_user_in(&txn, scope, id).await?;
    let held = check_changeable(&txn, account_scope, id).await?;
    if let Some(r) = &roles {
        check_grantable(&txn, account_scope, r).await?;
    }
    let before = views(&txn, vec![current.clone()]).await?.pop();
    let mut active: user::ActiveModel = current.into();
    if let Some(n) = name {
        active.display_name = Set(n.into_inner());
    }
    if let Some(a) = patch.active {
        active.active = Set(a);
    }
    let password_changed = hash.is_some();
    if let Some(h) = hash {
        active.password_hash = Set(h);
    }
    active.updated_at = Set(now());
    let model = active.update(&txn).await?;
    if let Some(r) = &roles {
        replace_roles(&txn, account_scope, id, &held, r).await?;
    }
    if patch.active == Some(false) || password_changed {
        revoke_sessions(&txn, session::Column::UserId.eq(id)).await?;
    }
    let after = views(&txn, vec![model])
        .await?
        .pop()
        .ok_or(Error::NotFound("user"))?;
    audit::record(
        &txn,
        Some(scope.tenant_id()),
        Some(scope.actor_id()),
        "user.update",
        "user",
        &id.to_string(),
        serde_json::json!({
            "before": before.as_ref().map(|b| serde_json::json!({"display_name": b.display_name, "active": b.active, "roles": b.roles})),
            "after": {"display_name": after.display_name, "active": after.active, "roles": after.roles},
            "password_changed": password_changed,
        }),
    )
    .await?;
    crate::auth::bump_epoch(&txn).await?;
    txn.commit().await?;
    crate::auth::invalidate_local(db);
    Ok(after)
}

/// Replaces the roles a patch speaks for. Operators replace every role. Anyone else replaces the
/// roles that concern the path's tenant (its tenant roles and the roles on centers serving it);
/// roles elsewhere stay, and a given role the account already holds is not stored twice.
async fn replace_roles(
    db: &impl ConnectionTrait,
    scope: &AccountScope,
    user_id: Uuid,
    held: &[(role_assignment::Model, Assignment)],
    roles: &[Resolved],
) -> Result<()> {
    let tenant_id = scope.tenant().tenant_id();
    let concerns_tenant = |a: &Assignment| match a.scope() {
        GrantScope::Tenant(t) => t == tenant_id,
        GrantScope::Center(_) => a.lies_in(tenant_id),
        GrantScope::Verbund => false,
    };
    let (replaced, kept): (Vec<_>, Vec<_>) = held
        .iter()
        .partition(|(_, a)| scope.is_operator() || concerns_tenant(a));
    if !replaced.is_empty() {
        let ids = replaced.iter().map(|(r, _)| r.id).collect();
        crate::repo::delete_roles(db, scope, user_id, ids).await?;
    }
    let kept_roles: Vec<(Role, GrantScope)> =
        kept.iter().map(|(r, a)| (r.role, a.scope())).collect();
    let new: Vec<Resolved> = roles
        .iter()
        .filter(|r| !kept_roles.contains(&(r.role, r.scope)))
        .copied()
        .collect();
    insert_roles(db, user_id, &new).await
}

/// Creates an account without an acting user: for `verbund user add` on the server's own
/// machine (whoever can run it already holds the database) and for demo data.
pub async fn create_user_unchecked(
    db: &Db,
    email: &str,
    display_name: &str,
    password_hash: String,
    home_tenant: Option<&str>,
    roles: &[RoleSpec],
) -> Result<UserView> {
    let email = EmailAddress::parse("email", email)?;
    let name = DisplayName::parse("display_name", display_name)?;
    let txn = begin_write(db).await?;
    let tenant_id = match home_tenant {
        Some(slug) => Some(find_tenant(&txn, slug).await?.id),
        None => None,
    };
    let resolved = resolve_roles(&txn, roles, tenant_id).await?;
    let model = insert_user(&txn, &email, &name, password_hash, tenant_id, &resolved).await?;
    audit::record(
        &txn,
        tenant_id,
        None,
        "user.create",
        "user",
        &model.id.to_string(),
        serde_json::json!({ "email": model.email, "roles": roles, "via": "cli" }),
    )
    .await?;
    let view = views(&txn, vec![model])
        .await?
        .pop()
        .ok_or(Error::NotFound("user"))?;
    txn.commit().await?;
    Ok(view)
}

/// Resolves the tenant of a path and authorizes the actor for it in one step.
pub async fn tenant_scope(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
    permission: Permission,
) -> Result<TenantScope> {
    let t = find_tenant(db, slug).await?;
    actor.authorize(permission, t.id)
}

/// Resolves the tenant of a path and authorizes the actor to manage its accounts, with the
/// account rule attached (see [`AccountScope`]).
pub async fn account_scope(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
) -> Result<AccountScope> {
    let t = find_tenant(db, slug).await?;
    actor.authorize_accounts(t.id)
}
