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

/// Which audit events to list: a date range in the tenant's time zone (both days included)
/// and a page.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// First day (`2026-12-24`), in the tenant's time zone.
    pub from: Option<chrono::NaiveDate>,
    /// Last day, included.
    pub to: Option<chrono::NaiveDate>,
    /// Page number from 1 (default 1).
    pub page: Option<u64>,
    /// Entries per page, 1-200 (default 50).
    pub limit: Option<u64>,
}

/// One admin action as the audit log shows it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_user_id: Option<Uuid>,
    /// The acting account's address; none for the command line and background jobs.
    pub actor_email: Option<String>,
    /// What was done, e.g. `user.create`, `tenant.update`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// What else the action recorded (e.g. the changed role); `{}` when nothing.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// One page of a tenant's audit log, newest first.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub page: u64,
    pub limit: u64,
    /// Whether a further (older) page exists.
    pub more: bool,
}

/// The audit log of a tenant's admin actions (its tenant admins, operators).
#[tracing::instrument(skip_all, fields(tenant = slug))]
pub async fn list(
    db: &crate::db::Db,
    actor: &crate::Actor,
    slug: &str,
    q: AuditQuery,
) -> Result<AuditPage> {
    use crate::Error;
    let t = crate::directory::find_tenant(db, slug).await?;
    let scope = actor.authorize(crate::Permission::ManageTenant, t.id)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1..=200"));
    }
    let page = q.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(Error::invalid("page", "must be 1..=100000"));
    }
    if let (Some(f), Some(to)) = (q.from, q.to)
        && f > to
    {
        return Err(Error::invalid("from", "must not lie after `to`"));
    }
    let tz: chrono_tz::Tz = t.time_zone.parse().unwrap_or(chrono_tz::Europe::Berlin);
    let start_of = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|n| n.and_local_timezone(tz).earliest())
            .map(|at| at.with_timezone(&chrono::Utc))
    };
    let from = q.from.and_then(start_of);
    let to = q.to.and_then(|d| d.succ_opt()).and_then(start_of);
    let mut rows =
        crate::repo::audit_events(db, &scope, from, to, (page - 1) * limit, limit + 1).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let emails = crate::repo::account_emails(
        db,
        &scope,
        rows.iter().filter_map(|r| r.actor_user_id).collect(),
    )
    .await?;
    Ok(AuditPage {
        entries: rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.created_at,
                actor_email: r.actor_user_id.and_then(|u| emails.get(&u).cloned()),
                actor_user_id: r.actor_user_id,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                // Always an object: an action recorded without detail shows `{}`.
                detail: if r.detail.is_object() {
                    r.detail
                } else {
                    serde_json::json!({})
                },
            })
            .collect(),
        page,
        limit,
        more,
    })
}
