//! Org units (offices) and their opening hours.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use uuid::Uuid;
use verbund_knowledge::org_units::{
    self, NewOrgUnit, Opening, OpeningQuery, OrgUnitPatch, OrgUnitView,
};

use crate::error::ApiResult;
use crate::extract::{Json, Query, TenantPath};
use crate::state::AppState;

/// Create an org unit (tenant admins and editors).
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/org-units", operation_id = "create_org_unit", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path)), request_body = NewOrgUnit, responses(
    (status = 201, body = OrgUnitView),
    crate::openapi::Problems,
))]
pub async fn create(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    body: Json<NewOrgUnit>,
) -> ApiResult<HttpResponse> {
    let view =
        org_units::create_org_unit(&state.db, &actor, &tenant.slug, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/tenants/{}/org-units/{}", view.tenant, view.id),
        ))
        .json(view))
}

/// The org units of a tenant (public information for every agent).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/org-units", operation_id = "list_org_units", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = [OrgUnitView]),
    crate::openapi::Problems,
))]
pub async fn list(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(org_units::list_org_units(&state.db, &actor, &tenant.slug).await?))
}

#[utoipa::path(get, path = "/api/v1/tenants/{slug}/org-units/{id}", operation_id = "get_org_unit", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path)), responses(
    (status = 200, body = OrgUnitView),
    crate::openapi::Problems,
))]
pub async fn get(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(
        HttpResponse::Ok()
            .json(org_units::get_org_unit(&state.db, &actor, &tenant.slug, id).await?),
    )
}

/// Change an org unit. Send the `version` you read; a stale one gives 409.
#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/org-units/{id}", operation_id = "update_org_unit", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path)), request_body = OrgUnitPatch, responses(
    (status = 200, body = OrgUnitView),
    crate::openapi::Problems,
))]
pub async fn update(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
    body: Json<OrgUnitPatch>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        org_units::update_org_unit(&state.db, &actor, &tenant.slug, id, body.into_inner()).await?,
    ))
}

/// Open now? The next opening, and today's hours, in the tenant's time zone with the
/// public holidays of its state.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/org-units/{id}/opening", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path), OpeningQuery), responses(
    (status = 200, body = Opening),
    crate::openapi::Problems,
))]
pub async fn opening(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
    query: Query<OpeningQuery>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(org_units::opening(&state.db, &actor, &tenant.slug, id, query.into_inner()).await?))
}
