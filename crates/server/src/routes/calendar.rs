use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use verbund_tenant::Permission;

use crate::error::ApiResult;
use crate::extract::{Query, TenantPath};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    /// The arrival time (RFC 3339, years 1970-9999); default: now.
    pub from: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct DueResponse {
    pub from: DateTime<Utc>,
    /// One working day later, counted in the tenant's service hours.
    pub due_at: DateTime<Utc>,
    /// The same instant in the tenant's time zone.
    pub due_at_local: String,
}

/// When a question arriving at `from` must be answered: one working day in service hours.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/calendar/due", tag = "tickets", security(("bearer" = [])), params(("slug" = String, Path), DueQuery), responses(
    (status = 200, body = DueResponse),
    crate::openapi::Problems,
))]
pub async fn due(
    TenantPath { actor, tenant }: TenantPath,
    query: Query<DueQuery>,
) -> ApiResult<HttpResponse> {
    actor.authorize(Permission::ViewTenant, tenant.id)?;
    let from = query.from.unwrap_or_else(Utc::now);
    verbund_tenant::text::check_instant("from", from)?;
    let due_at = verbund_ticketing::deadline::due_at(&tenant, from)?;
    let tz: chrono_tz::Tz = tenant
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::Berlin);
    Ok(HttpResponse::Ok().json(DueResponse {
        from,
        due_at,
        due_at_local: due_at.with_timezone(&tz).to_rfc3339(),
    }))
}
