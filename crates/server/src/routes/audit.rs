//! The audit log of a tenant's admin actions.

use actix_web::{HttpResponse, web};
use verbund_tenant::audit::{self, AuditPage, AuditQuery};

use crate::error::ApiResult;
use crate::extract::{Query, TenantPath};
use crate::state::AppState;

/// The tenant's audit log: who changed users, settings, mailboxes, coverages (tenant admins,
/// operators). Newest first, paged, filtered by day in the tenant's time zone.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/audit-log", operation_id = "audit_log", tag = "tenants", security(("bearer" = [])), params(("slug" = String, Path), AuditQuery), responses(
    (status = 200, body = AuditPage),
    crate::openapi::Problems,
))]
pub async fn audit_log(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    q: Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    Ok(
        HttpResponse::Ok()
            .json(audit::list(&state.db, &actor, &tenant.slug, q.into_inner()).await?),
    )
}
