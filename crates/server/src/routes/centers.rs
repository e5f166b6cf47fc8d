use actix_web::{HttpResponse, web};
use verbund_tenant::directory::{self, CenterTenants, CenterView, NewCenter, TenantRef};

use crate::error::ApiResult;
use crate::extract::{Auth, Json};
use crate::state::AppState;

/// The service centers the user may see.
#[utoipa::path(get, path = "/api/v1/centers", operation_id = "list_centers", tag = "centers", security(("bearer" = [])), responses(
    (status = 200, body = [CenterView]),
    crate::openapi::Problems,
))]
pub async fn list(state: web::Data<AppState>, Auth(actor): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(directory::list_centers(&state.db, &actor).await?))
}

/// Create a service center with the tenants it serves (operators only).
#[utoipa::path(post, path = "/api/v1/centers", operation_id = "create_center", tag = "centers", security(("bearer" = [])), request_body = NewCenter, responses(
    (status = 201, body = CenterView),
    crate::openapi::Problems,
))]
pub async fn create(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    body: Json<NewCenter>,
) -> ApiResult<HttpResponse> {
    let scope = actor.authorize_operator()?;
    let view = directory::create_center(&state.db, &scope, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/centers/{}", view.slug)))
        .json(view))
}

/// One service center.
#[utoipa::path(get, path = "/api/v1/centers/{slug}", operation_id = "get_center", tag = "centers", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = CenterView),
    crate::openapi::Problems,
))]
pub async fn get(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(directory::get_center(&state.db, &actor, &slug).await?))
}

/// The tenants a service center serves.
#[utoipa::path(get, path = "/api/v1/centers/{slug}/tenants", operation_id = "list_center_tenants", tag = "centers", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = [TenantRef]),
    crate::openapi::Problems,
))]
pub async fn tenants(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let center = directory::get_center(&state.db, &actor, &slug).await?;
    Ok(HttpResponse::Ok().json(center.tenants))
}

/// Replace the tenants a service center serves (operators only).
#[utoipa::path(put, path = "/api/v1/centers/{slug}/tenants", operation_id = "set_center_tenants", tag = "centers", security(("bearer" = [])), params(("slug" = String, Path)), request_body = CenterTenants, responses(
    (status = 200, body = CenterView),
    crate::openapi::Problems,
))]
pub async fn set_tenants(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    slug: web::Path<String>,
    body: Json<CenterTenants>,
) -> ApiResult<HttpResponse> {
    let scope = actor.authorize_operator()?;
    Ok(HttpResponse::Ok()
        .json(directory::set_center_tenants(&state.db, &scope, &slug, body.into_inner()).await?))
}
