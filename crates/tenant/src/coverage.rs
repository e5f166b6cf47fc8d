//! Coverage between centers: a tenant admin lets another center act for the tenant for a
//! period (Koblenz takes Mainz's calls for an afternoon). It is recorded, and it ends by itself.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{Actor, Permission};
use crate::audit;
use crate::db::Db;
use crate::db::{begin_write, now};
use crate::directory::{find_center, find_tenant};
use crate::error::{Error, Result};
use crate::problem::ProblemKind;
use verbund_schema::center_coverage;

/// The longest coverage that can be granted at once.
pub const MAX_COVERAGE_DAYS: i64 = 31;

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCoverage {
    /// The center that may act for the tenant.
    pub center: String,
    /// Start (default: now).
    pub from: Option<DateTime<Utc>>,
    /// End; at most 31 days after the start.
    pub until: DateTime<Utc>,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CoverageView {
    pub id: Uuid,
    pub tenant: String,
    pub center: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub reason: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether the coverage holds right now.
    pub active: bool,
}

fn view(c: center_coverage::Model, tenant: &str, center: &str) -> CoverageView {
    let at = now();
    CoverageView {
        active: c.revoked_at.is_none() && c.starts_at <= at && at < c.ends_at,
        id: c.id,
        tenant: tenant.to_owned(),
        center: center.to_owned(),
        from: c.starts_at,
        until: c.ends_at,
        reason: c.reason,
        created_by: c.created_by,
        created_at: c.created_at,
        revoked_at: c.revoked_at,
    }
}

#[instrument(skip_all, fields(tenant = slug))]
pub async fn create_coverage(
    db: &Db,
    actor: &Actor,
    slug: &str,
    input: NewCoverage,
) -> Result<CoverageView> {
    let tenant = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageCoverage, tenant.id)?;
    let center = find_center(db, &input.center).await.map_err(|_| {
        Error::invalid("center", format!("unknown service center {}", input.center))
    })?;
    if !center.active {
        return Err(Error::invalid("center", "the service center is not active"));
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid("reason", "must have 1-500 characters"));
    }
    let at = now();
    let from = input.from.unwrap_or(at);
    crate::text::check_instant("from", from)?;
    crate::text::check_instant("until", input.until)?;
    if input.until <= from {
        return Err(Error::invalid("until", "must be after the start"));
    }
    if input.until <= at {
        return Err(Error::invalid("until", "must be in the future"));
    }
    if input.until - from > Duration::days(MAX_COVERAGE_DAYS) {
        return Err(Error::invalid(
            "until",
            format!("at most {MAX_COVERAGE_DAYS} days after the start"),
        ));
    }
    let txn = begin_write(db).await?;
    let serves = crate::repo::center_serves(&txn, center.id, tenant.id).await?;
    if serves {
        return Err(Error::invalid(
            "center",
            "the center already serves this tenant",
        ));
    }
    let model = center_coverage::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant.id),
        center_id: Set(center.id),
        starts_at: Set(from),
        ends_at: Set(input.until),
        reason: Set(reason.to_owned()),
        created_by: Set(scope.actor_id()),
        created_at: Set(at),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        Some(tenant.id),
        Some(scope.actor_id()),
        "coverage.create",
        "center_coverage",
        &model.id.to_string(),
        serde_json::json!({ "center": center.slug, "from": model.starts_at, "until": model.ends_at, "reason": model.reason }),
    )
    .await?;
    crate::auth::bump_epoch(&txn).await?;
    txn.commit().await?;
    crate::auth::invalidate_local(db);
    Ok(view(model, &tenant.slug, &center.slug))
}

pub async fn list_coverages(db: &Db, actor: &Actor, slug: &str) -> Result<Vec<CoverageView>> {
    let tenant = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageCoverage, tenant.id)?;
    let centers = crate::repo::center_slugs(db).await?;
    Ok(crate::repo::coverages(db, &scope)
        .await?
        .into_iter()
        .map(|c| {
            let center = centers.get(&c.center_id).cloned().unwrap_or_default();
            view(c, &tenant.slug, &center)
        })
        .collect())
}

/// Ends a coverage early.
pub async fn revoke_coverage(db: &Db, actor: &Actor, slug: &str, id: Uuid) -> Result<CoverageView> {
    let tenant = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageCoverage, tenant.id)?;
    let txn = begin_write(db).await?;
    let current = crate::repo::coverage(&txn, &scope, id)
        .await?
        .ok_or(Error::NotFound("coverage"))?;
    if current.revoked_at.is_some() {
        return Err(Error::Conflict(
            ProblemKind::AlreadyRevoked,
            "the coverage was already revoked".into(),
        ));
    }
    let mut active: center_coverage::ActiveModel = current.into();
    active.revoked_at = Set(Some(now()));
    let model = active.update(&txn).await?;
    audit::record(
        &txn,
        Some(tenant.id),
        Some(scope.actor_id()),
        "coverage.revoke",
        "center_coverage",
        &id.to_string(),
        serde_json::Value::Null,
    )
    .await?;
    crate::auth::bump_epoch(&txn).await?;
    txn.commit().await?;
    crate::auth::invalidate_local(db);
    let center = crate::repo::center_slug(db, model.center_id)
        .await?
        .unwrap_or_default();
    Ok(view(model, &tenant.slug, &center))
}
