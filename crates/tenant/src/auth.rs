//! Login, token verification, logout, and building the [`Actor`] from verified claims.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, Set};
use secrecy::SecretString;
use tracing::instrument;
use uuid::Uuid;
use verbund_schema::ids::TenantId;

use crate::access::{Actor, ActorProfile, Grant, GrantScope, Role, RoleRules};
use crate::audit;
use crate::db::{Db, WithLocal, begin_write, now};
use crate::directory::ActingTenant;
use crate::error::{Error, Result};
use crate::password;
use crate::throttle::{self, KeyKind, LoginPolicy, Verdict};
use crate::token::{TokenConfig, TokenKeys};
use crate::users::RoleSpec;
use verbund_schema::{service_center, session, tenant, user};

pub struct AuthConfig {
    pub token: TokenConfig,
    pub policy: LoginPolicy,
    /// How long a session lasts before the user has to log in again.
    pub session_lifetime: Duration,
    /// How long a verified actor may be served from memory; zero checks the database on every
    /// request. Changes made through this process drop the cache at once, changes made by other
    /// instances when the epoch watcher sees them.
    pub cache_ttl: Duration,
}

pub struct Authenticator {
    keys: TokenKeys,
    policy: LoginPolicy,
    session_lifetime: Duration,
    cache: Option<ActorCache>,
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
            cache: (!config.cache_ttl.is_zero()).then(|| ActorCache {
                ttl: config.cache_ttl,
                entries: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Checks the credentials and opens a session. Unknown account, inactive account and wrong
    /// password all give `Unauthenticated` after the same work (one argon2 verification).
    ///
    /// The attempt is counted before the password is checked (see [`crate::throttle`]), so
    /// parallel attempts cannot check more passwords than the lock allows; the check itself waits
    /// for a turn at the process's hashing gate (see [`crate::password`]).
    #[instrument(skip_all)]
    pub async fn login(&self, db: &Db, creds: Credentials) -> Result<IssuedToken> {
        let mut keys = vec![(KeyKind::Account, throttle::account_key(&creds.email))];
        if let Some(ip) = &creds.client_ip {
            keys.push((KeyKind::Address, throttle::address_key(ip)));
        }
        match self.policy.reserve(db, &keys).await? {
            Verdict::Locked(retry) => {
                return Err(Error::LoginLocked {
                    retry_after_secs: retry.as_secs().max(1),
                });
            }
            Verdict::Proceed(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
            Verdict::Proceed(_) => {}
        }

        let email = creds.email.trim().to_lowercase();
        let account = crate::repo::login_account(db, &email).await?;
        let stored_hash = account
            .as_ref()
            .filter(|u| u.active)
            .map(|u| u.password_hash.clone());
        let ok = match password::verify(db, creds.password, stored_hash).await {
            Ok(ok) => ok,
            Err(busy @ Error::Overloaded { .. }) => {
                // Nothing was checked: the attempt does not count.
                let txn = begin_write(db).await?;
                self.policy.give_back(&txn, &keys).await?;
                txn.commit().await?;
                return Err(busy);
            }
            Err(e) => return Err(e),
        };
        let Some(account) = account.filter(|_| ok) else {
            // Already counted by the reservation.
            tracing::info!("login failed");
            return Err(Error::Unauthenticated);
        };

        let at = now();
        let expires = at
            + chrono::Duration::from_std(self.session_lifetime)
                .map_err(|e| Error::internal("session lifetime", e))?;
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
        let addresses: Vec<(KeyKind, String)> = keys
            .iter()
            .filter(|(kind, _)| matches!(kind, KeyKind::Address))
            .cloned()
            .collect();
        self.policy.give_back(&txn, &addresses).await?;
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
    pub async fn authenticate(&self, db: &Db, token: &str) -> Result<Actor> {
        let claims = self.keys.verify(token)?;
        if let Some(actor) = self
            .cache
            .as_ref()
            .and_then(|c| c.get(generation(db), claims.sid, claims.sub))
        {
            return Ok(actor);
        }
        // Read the generation before the database, so a change committed meanwhile wins.
        let generation = generation(db);
        let at = now();
        let session = crate::repo::login_session(db, claims.sid)
            .await?
            .filter(|s| s.user_id == claims.sub && s.revoked_at.is_none() && s.expires_at > at)
            .ok_or(Error::Unauthenticated)?;
        let account = crate::repo::session_account(db, &session)
            .await?
            .filter(|u| u.active)
            .ok_or(Error::Unauthenticated)?;
        let actor = load_actor(db, session.id, account).await?;
        if let Some(cache) = &self.cache {
            cache.put(generation, session.expires_at, &actor);
        }
        Ok(actor)
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
    pub async fn logout(&self, db: &Db, actor: &Actor) -> Result<()> {
        let txn = begin_write(db).await?;
        revoke_sessions(&txn, session::Column::Id.eq(actor.session_id())).await?;
        bump_epoch(&txn).await?;
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
        invalidate_local(db);
        Ok(())
    }
}

/// Revokes every open session matching the condition.
pub(crate) async fn revoke_sessions(
    db: &impl ConnectionTrait,
    which: sea_orm::sea_query::SimpleExpr,
) -> Result<()> {
    crate::repo::revoke_sessions(db, which).await
}

/// Loads a user's role assignments and resolves the tenants each reaches: a tenant grant reaches
/// its tenant, a center grant every tenant the center serves. Inactive tenants and centers reach
/// nothing. Builds the profile shown by `GET /me` from the same rows.
pub(crate) async fn load_actor(
    db: &impl ConnectionTrait,
    session_id: Uuid,
    account: user::Model,
) -> Result<Actor> {
    let rows = crate::repo::roles_of(db, account.id).await?;
    let operator = rows
        .iter()
        .any(|r| r.role == Role::Operator && r.tenant_id.is_none() && r.center_id.is_none());
    let center_ids: BTreeSet<Uuid> = rows.iter().filter_map(|r| r.center_id).collect();
    let mut valid_until: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut centers: BTreeMap<Uuid, service_center::Model> = BTreeMap::new();
    let mut served: BTreeMap<Uuid, BTreeSet<TenantId>> = BTreeMap::new();
    let mut tenant_ids: BTreeSet<TenantId> = rows.iter().filter_map(|r| r.tenant_id).collect();
    tenant_ids.extend(account.tenant_id);
    if !center_ids.is_empty() {
        centers = crate::repo::centers_by_id(db, center_ids.iter().copied())
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let active_centers = centers.values().filter(|c| c.active).map(|c| c.id);
        for link in crate::repo::center_links(db, active_centers).await? {
            tenant_ids.insert(link.tenant_id);
            served
                .entry(link.center_id)
                .or_default()
                .insert(link.tenant_id);
        }
        // Coverage: a tenant admin lets another center act for the tenant for a while.
        let at = now();
        let active_centers: Vec<Uuid> = centers
            .values()
            .filter(|c| c.active)
            .map(|c| c.id)
            .collect();
        for cover in crate::repo::coverages_of_centers(db, active_centers, at).await? {
            if cover.starts_at <= at {
                tenant_ids.insert(cover.tenant_id);
                served
                    .entry(cover.center_id)
                    .or_default()
                    .insert(cover.tenant_id);
                valid_until = Some(
                    valid_until.map_or(cover.ends_at, |v: chrono::DateTime<chrono::Utc>| {
                        v.min(cover.ends_at)
                    }),
                );
            } else {
                valid_until = Some(
                    valid_until.map_or(cover.starts_at, |v: chrono::DateTime<chrono::Utc>| {
                        v.min(cover.starts_at)
                    }),
                );
            }
        }
    }
    let tenants: BTreeMap<TenantId, tenant::Model> = if operator || !tenant_ids.is_empty() {
        let which = (!operator).then_some(&tenant_ids);
        crate::repo::tenants_of_grants(db, which)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect()
    } else {
        BTreeMap::new()
    };
    let active = |id: &TenantId| tenants.get(id).is_some_and(|t| t.active);

    let mut grants = Vec::with_capacity(rows.len());
    let mut specs = Vec::with_capacity(rows.len());
    let mut reach_roles: BTreeMap<TenantId, BTreeSet<Role>> = BTreeMap::new();
    for row in &rows {
        let role = row.role;
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
        let reach: BTreeSet<TenantId> = reach.into_iter().filter(|t| active(t)).collect();
        for t in &reach {
            reach_roles.entry(*t).or_default().insert(role);
        }
        specs.push(RoleSpec {
            role,
            tenant: row
                .tenant_id
                .and_then(|t| tenants.get(&t))
                .map(|t| t.slug.clone()),
            center: row
                .center_id
                .and_then(|c| centers.get(&c))
                .map(|c| c.slug.clone()),
        });
        grants.push(Grant::new(role, scope, reach));
    }
    specs.sort();
    if operator {
        for t in tenants.values().filter(|t| t.active) {
            reach_roles.entry(t.id).or_default().insert(Role::Operator);
        }
    }
    let mut acting: Vec<ActingTenant> = reach_roles
        .into_iter()
        .filter_map(|(id, roles)| {
            tenants.get(&id).map(|t| ActingTenant {
                id: id.uuid(),
                slug: t.slug.clone(),
                name: t.name.clone(),
                roles: roles.into_iter().collect(),
            })
        })
        .collect();
    acting.sort_by(|a, b| a.slug.cmp(&b.slug));
    let profile = ActorProfile {
        tenant: account
            .tenant_id
            .and_then(|t| tenants.get(&t))
            .map(|t| t.slug.clone()),
        roles: specs,
        tenants: acting,
    };
    Ok(Actor::new(
        account.id,
        session_id,
        account.email,
        account.display_name,
        grants,
    )
    .with_profile(profile)
    .valid_until(valid_until)
    .with_tenants(tenants.into_values().collect()))
}

/// Drops every cached actor of this application (its generation, kept in the application's
/// [`crate::db::Local`]). Call after the commit of a change of sessions, users, roles, centers
/// or tenants (see [`bump_epoch`] for the other instances).
pub fn invalidate_local(db: &impl WithLocal) {
    db.local().generation.fetch_add(1, Ordering::AcqRel);
}

/// The access-change generation of this application.
fn generation(db: &impl WithLocal) -> u64 {
    db.local().generation.load(Ordering::Acquire)
}

/// Records in the transaction that access changed, so other instances drop their caches.
pub(crate) async fn bump_epoch(db: &impl ConnectionTrait) -> Result<()> {
    db.execute_unprepared("UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1")
        .await?;
    Ok(())
}

async fn read_epoch(db: &impl ConnectionTrait) -> Result<i64> {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT epoch FROM auth_epoch WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| Error::bug("auth_epoch row missing"))?;
    Ok(row.try_get::<i64>("", "epoch")?)
}

/// Polls the database epoch and drops this application's cached actors when another instance
/// changed access. Runs until `stop` is cancelled.
pub fn spawn_epoch_watcher(
    db: Db,
    every: Duration,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Option<i64> = None;
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stop.cancelled() => return,
            }
            match read_epoch(&db).await {
                Ok(epoch) => {
                    if last.is_some_and(|l| l != epoch) {
                        invalidate_local(&db);
                    }
                    last = Some(epoch);
                }
                Err(e) => {
                    // Without the epoch we cannot trust the cache.
                    invalidate_local(&db);
                    tracing::warn!(error = %e, "reading auth epoch failed");
                }
            }
        }
    })
}

struct Cached {
    generation: u64,
    loaded: Instant,
    session_expires: chrono::DateTime<chrono::Utc>,
    actor: Actor,
}

/// Verified actors by session id. An entry is used only while no access change happened since it
/// was loaded (generation), for at most `ttl`, and while its session lasts.
pub(crate) struct ActorCache {
    ttl: Duration,
    entries: Mutex<HashMap<Uuid, Cached>>,
}

const CACHE_MAX_ENTRIES: usize = 50_000;

impl ActorCache {
    fn get(&self, generation: u64, session_id: Uuid, user_id: Uuid) -> Option<Actor> {
        let entries = self.entries.lock().ok()?;
        let c = entries.get(&session_id)?;
        (c.generation == generation
            && c.loaded.elapsed() < self.ttl
            && c.session_expires > chrono::Utc::now()
            && c.actor
                .grants_valid_until()
                .is_none_or(|v| v > chrono::Utc::now())
            && c.actor.user_id() == user_id)
            .then(|| c.actor.clone())
    }

    fn put(&self, generation: u64, session_expires: chrono::DateTime<chrono::Utc>, actor: &Actor) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                actor.session_id(),
                Cached {
                    generation,
                    loaded: Instant::now(),
                    session_expires,
                    actor: actor.clone(),
                },
            );
        }
    }
}

/// Whether an active user (not the actor) may do `permission` for a tenant, e.g. to check an
/// assignee. Uses the same rules as every request.
pub async fn user_may(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    permission: crate::access::Permission,
    tenant_id: TenantId,
) -> Result<bool> {
    let Some(account) = crate::repo::account(db, user_id)
        .await?
        .filter(|u| u.active)
    else {
        return Ok(false);
    };
    let actor = load_actor(db, Uuid::nil(), account).await?;
    Ok(actor.may(permission, tenant_id))
}
