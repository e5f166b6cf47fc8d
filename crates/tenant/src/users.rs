//! User accounts and their role assignments, managed per tenant.

use std::collections::BTreeMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{Actor, GrantScope, Permission, Role, TenantScope};
use crate::audit;
use crate::auth::revoke_sessions;
use crate::db::{begin_write, now};
use crate::directory::{find_center, find_tenant};
use crate::domain::{DisplayName, EmailAddress, NewPassword};
use crate::entities::{role_assignment, service_center, session, tenant, user};
use crate::error::{Error, Result};
use crate::password;

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
    /// Replaces the user's roles within this tenant (roles elsewhere stay).
    pub roles: Option<Vec<RoleSpec>>,
    /// `false` deactivates the account and ends its sessions at once.
    pub active: Option<bool>,
    /// Sets a new password and ends the account's sessions.
    pub password: Option<String>,
}

/// Names for the ids that role assignments point to.
struct Names {
    tenants: BTreeMap<Uuid, String>,
    centers: BTreeMap<Uuid, String>,
}

async fn names(db: &impl ConnectionTrait) -> Result<Names> {
    Ok(Names {
        tenants: tenant::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.slug))
            .collect(),
        centers: service_center::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.slug))
            .collect(),
    })
}

fn role_spec(names: &Names, row: &role_assignment::Model) -> Option<RoleSpec> {
    Some(RoleSpec {
        role: Role::parse(&row.role)?,
        tenant: row.tenant_id.and_then(|t| names.tenants.get(&t).cloned()),
        center: row.center_id.and_then(|c| names.centers.get(&c).cloned()),
    })
}

async fn views(db: &impl ConnectionTrait, users: Vec<user::Model>) -> Result<Vec<UserView>> {
    let names = names(db).await?;
    let assignments = role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.is_in(users.iter().map(|u| u.id)))
        .all(db)
        .await?;
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
    default_tenant: Option<Uuid>,
) -> Result<Vec<Resolved>> {
    if specs.len() > 100 {
        return Err(Error::invalid("roles", "at most 100 role assignments"));
    }
    let mut out = Vec::new();
    for spec in specs {
        let scope = match (spec.role, &spec.tenant, &spec.center) {
            (Role::Operator, None, None) => GrantScope::Verbund,
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

/// Non-operators may only grant roles scoped to the tenant they manage.
fn check_grantable(scope: &TenantScope, roles: &[Resolved]) -> Result<()> {
    if scope.is_operator() {
        return Ok(());
    }
    if roles
        .iter()
        .all(|r| r.scope == GrantScope::Tenant(scope.tenant_id()))
    {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "tenant admins grant roles only within their own tenant",
        ))
    }
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
            role: Set(r.role.as_str().to_owned()),
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
pub async fn list_users(db: &DatabaseConnection, scope: &TenantScope) -> Result<Vec<UserView>> {
    let rows = user::Entity::find()
        .filter(scope.filter(user::Column::TenantId))
        .order_by_asc(user::Column::Email)
        .all(db)
        .await?;
    views(db, rows).await
}

async fn find_user_in(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> Result<user::Model> {
    user::Entity::find_by_id(id)
        .filter(scope.filter(user::Column::TenantId))
        .one(db)
        .await?
        .ok_or(Error::NotFound("user"))
}

#[instrument(skip_all, fields(tenant = %scope.tenant_id(), user = %id))]
pub async fn get_user(db: &DatabaseConnection, scope: &TenantScope, id: Uuid) -> Result<UserView> {
    let u = find_user_in(db, scope, id).await?;
    views(db, vec![u])
        .await?
        .pop()
        .ok_or(Error::NotFound("user"))
}

/// Creates an account owned by the scope's tenant (scope: `ManageUsers`).
#[instrument(skip_all, fields(tenant = %scope.tenant_id()))]
pub async fn create_user(
    db: &DatabaseConnection,
    scope: &TenantScope,
    input: NewUser,
) -> Result<UserView> {
    let email = EmailAddress::parse("email", &input.email)?;
    let name = DisplayName::parse("display_name", &input.display_name)?;
    let pw = NewPassword::parse(&input.password)?;
    let roles = resolve_roles(db, &input.roles, Some(scope.tenant_id())).await?;
    check_grantable(scope, &roles)?;
    let hash = password::hash(pw.secret().clone()).await?;

    let txn = begin_write(db).await?;
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
    tenant_id: Option<Uuid>,
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

/// Changes an account of the scope's tenant (scope: `ManageUsers`).
#[instrument(skip_all, fields(tenant = %scope.tenant_id(), user = %id))]
pub async fn update_user(
    db: &DatabaseConnection,
    scope: &TenantScope,
    id: Uuid,
    patch: UserPatch,
) -> Result<UserView> {
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
            check_grantable(scope, &r)?;
            Some(r)
        }
        None => None,
    };
    if patch.active == Some(false) && id == scope.actor_id() {
        return Err(Error::Conflict(
            "you cannot deactivate your own account".into(),
        ));
    }
    let hash = match pw {
        Some(p) => Some(password::hash(p.secret().clone()).await?),
        None => None,
    };

    let txn = begin_write(db).await?;
    let current = find_user_in(&txn, scope, id).await?;
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
        // Replace what this scope manages: everything for operators, this tenant's roles otherwise.
        let mut delete =
            role_assignment::Entity::delete_many().filter(role_assignment::Column::UserId.eq(id));
        if !scope.is_operator() {
            delete = delete.filter(role_assignment::Column::TenantId.eq(scope.tenant_id()));
        }
        delete.exec(&txn).await?;
        insert_roles(&txn, id, r).await?;
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
    crate::auth::invalidate_local();
    Ok(after)
}

/// Creates an account without an acting user: for `verbund user add` on the server's own
/// machine (whoever can run it already holds the database) and for demo data.
pub async fn create_user_unchecked(
    db: &DatabaseConnection,
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
