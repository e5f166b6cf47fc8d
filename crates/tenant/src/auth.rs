//! Login, token verification, logout, and building the [`Actor`] from verified claims.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use secrecy::SecretString;
use tracing::instrument;
use uuid::Uuid;

use crate::access::{Actor, Grant, GrantScope, Role};
use crate::audit;
use crate::db::{begin_write, now};
use crate::entities::{center_tenant, role_assignment, service_center, session, tenant, user};
use crate::error::{Error, Result};
use crate::password;
use crate::throttle::{self, KeyKind, LoginPolicy, Verdict};
use crate::token::{TokenConfig, TokenKeys};

pub struct AuthConfig {
    pub token: TokenConfig,
    pub policy: LoginPolicy,
    /// How long a session lasts before the user has to log in again.
    pub session_lifetime: Duration,
}

pub struct Authenticator {
    keys: TokenKeys,
    policy: LoginPolicy,
    session_lifetime: Duration,
}

pub struct Credentials {
    pub email: String,
    pub password: SecretString,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
    pub session_id: Uuid,
    pub user_id: Uuid,
}

impl Authenticator {
    pub fn new(config: AuthConfig) -> Result<Self> {
        Ok(Self {
            keys: TokenKeys::new(config.token)?,
            policy: config.policy,
            session_lifetime: config.session_lifetime,
        })
    }

    /// Checks the credentials and opens a session. Unknown account, inactive account and wrong
    /// password all give `Unauthenticated` after the same work (one argon2 verification).
    #[instrument(skip_all)]
    pub async fn login(&self, db: &DatabaseConnection, creds: Credentials) -> Result<IssuedToken> {
        let mut keys = vec![(KeyKind::Account, throttle::account_key(&creds.email))];
        if let Some(ip) = &creds.client_ip {
            keys.push((KeyKind::Address, throttle::address_key(ip)));
        }
        match self.policy.check(db, &keys).await? {
            Verdict::Locked(retry) => {
                return Err(Error::LoginLocked {
                    retry_after_secs: retry.as_secs().max(1),
                });
            }
            Verdict::Proceed(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
            Verdict::Proceed(_) => {}
        }

        let email = creds.email.trim().to_lowercase();
        let account = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .one(db)
            .await?;
        let stored_hash = account
            .as_ref()
            .filter(|u| u.active)
            .map(|u| u.password_hash.clone());
        let ok = password::verify(creds.password, stored_hash).await;
        let Some(account) = account.filter(|_| ok) else {
            self.policy.record_failure(db, &keys).await?;
            tracing::info!("login failed");
            return Err(Error::Unauthenticated);
        };

        let at = now();
        let expires = at
            + chrono::Duration::from_std(self.session_lifetime)
                .map_err(|e| Error::Internal(e.to_string()))?;
        let session_id = Uuid::now_v7();
        let txn = begin_write(db).await?;
        session::ActiveModel {
            id: Set(session_id),
            user_id: Set(account.id),
            created_at: Set(at),
            expires_at: Set(expires),
            revoked_at: Set(None),
            client_ip: Set(creds.client_ip.clone()),
            user_agent: Set(creds.user_agent.map(|ua| ua.chars().take(255).collect())),
        }
        .insert(&txn)
        .await?;
        self.policy.clear(&txn, &keys[0].1).await?;
        audit::record(
            &txn,
            account.tenant_id,
            Some(account.id),
            "auth.login",
            "session",
            &session_id.to_string(),
            serde_json::json!({ "client_ip": creds.client_ip }),
        )
        .await?;
        txn.commit().await?;
        tracing::info!(user = %account.id, "login succeeded");
        Ok(IssuedToken {
            access_token: self.keys.issue(account.id, session_id)?,
            expires_in: self.keys.ttl().as_secs(),
            session_id,
            user_id: account.id,
        })
    }

    /// Verifies a bearer token and builds the actor from the stored session, user and roles.
    pub async fn authenticate(&self, db: &DatabaseConnection, token: &str) -> Result<Actor> {
        let claims = self.keys.verify(token)?;
        let at = now();
        let session = session::Entity::find_by_id(claims.sid)
            .one(db)
            .await?
            .filter(|s| s.user_id == claims.sub && s.revoked_at.is_none() && s.expires_at > at)
            .ok_or(Error::Unauthenticated)?;
        let account = user::Entity::find_by_id(session.user_id)
            .one(db)
            .await?
            .filter(|u| u.active)
            .ok_or(Error::Unauthenticated)?;
        let grants = load_grants(db, account.id).await?;
        Ok(Actor::new(
            account.id,
            session.id,
            account.email,
            account.display_name,
            grants,
        ))
    }

    /// Issues a fresh access token for the actor's session while the session lasts.
    pub fn refresh(&self, actor: &Actor) -> Result<IssuedToken> {
        Ok(IssuedToken {
            access_token: self.keys.issue(actor.user_id(), actor.session_id())?,
            expires_in: self.keys.ttl().as_secs(),
            session_id: actor.session_id(),
            user_id: actor.user_id(),
        })
    }

    /// Ends the actor's session: its tokens stop working at once.
    pub async fn logout(&self, db: &DatabaseConnection, actor: &Actor) -> Result<()> {
        let txn = begin_write(db).await?;
        revoke_sessions(&txn, session::Column::Id.eq(actor.session_id())).await?;
        audit::record(
            &txn,
            None,
            Some(actor.user_id()),
            "auth.logout",
            "session",
            &actor.session_id().to_string(),
            serde_json::Value::Null,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Revokes every open session matching the condition.
pub(crate) async fn revoke_sessions(
    db: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
) -> Result<()> {
    session::Entity::update_many()
        .col_expr(
            session::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now()),
        )
        .filter(which)
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Loads a user's role assignments and resolves the tenants each reaches: a tenant grant reaches
/// its tenant, a center grant every tenant the center serves. Inactive tenants and centers are
/// left out.
pub(crate) async fn load_grants(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<Grant>> {
    let rows = role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let center_ids: BTreeSet<Uuid> = rows.iter().filter_map(|r| r.center_id).collect();
    let mut served: BTreeMap<Uuid, BTreeSet<Uuid>> = BTreeMap::new();
    let mut tenant_ids: BTreeSet<Uuid> = rows.iter().filter_map(|r| r.tenant_id).collect();
    if !center_ids.is_empty() {
        let active_centers: BTreeSet<Uuid> = service_center::Entity::find()
            .filter(service_center::Column::Id.is_in(center_ids.iter().copied()))
            .filter(service_center::Column::Active.eq(true))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        for link in center_tenant::Entity::find()
            .filter(center_tenant::Column::CenterId.is_in(active_centers.iter().copied()))
            .all(db)
            .await?
        {
            tenant_ids.insert(link.tenant_id);
            served
                .entry(link.center_id)
                .or_default()
                .insert(link.tenant_id);
        }
    }
    let active_tenants: BTreeSet<Uuid> = if tenant_ids.is_empty() {
        BTreeSet::new()
    } else {
        tenant::Entity::find()
            .filter(tenant::Column::Id.is_in(tenant_ids.iter().copied()))
            .filter(tenant::Column::Active.eq(true))
            .all(db)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect()
    };
    let mut grants = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(role) = Role::parse(&row.role) else {
            tracing::warn!(role = %row.role, "ignoring unknown role in database");
            continue;
        };
        let (scope, reach) = match (row.tenant_id, row.center_id) {
            (None, None) => (GrantScope::Verbund, BTreeSet::new()),
            (Some(t), None) => (GrantScope::Tenant(t), BTreeSet::from([t])),
            (None, Some(c)) => (
                GrantScope::Center(c),
                served.get(&c).cloned().unwrap_or_default(),
            ),
            (Some(_), Some(_)) => continue,
        };
        if !role.allows_scope(&scope) {
            continue;
        }
        let reach = reach.intersection(&active_tenants).copied().collect();
        grants.push(Grant::new(role, scope, reach));
    }
    Ok(grants)
}
