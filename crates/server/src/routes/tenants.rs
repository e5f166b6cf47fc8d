use actix_web::{HttpResponse, web};
use verbund_tenant::directory::{self, NewTenant, TenantPatch, TenantView};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, record_tenant};
use crate::state::AppState;

/// The tenants the user may see (operators: all).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = [])), responses(
    (status = 200, body = [TenantView]),
    (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn list(state: web::Data<AppState>, Auth(actor): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(directory::list_tenants(&state.db, &actor).await?))
}

/// Create a tenant (operators only).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = [])), request_body = NewTenant, responses(
    (status = 201, body = TenantView),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 409, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn create(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    body: Json<NewTenant>,
) -> ApiResult<HttpResponse> {
    let scope = actor.authorize_operator()?;
    let view = directory::create_tenant(&state.db, &scope, body.into_inner()).await?;
    record_tenant(&view.slug);
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/tenants/{}", view.slug)))
        .json(view))
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}", tag = "tenants", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = TenantView),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn get(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    slug: web::Path<String>,
) -> ApiResult<HttpResponse> {
    record_tenant(&slug);
    Ok(HttpResponse::Ok().json(directory::get_tenant(&state.db, &actor, &slug).await?))
}

/// Change a tenant (tenant admins of it, operators). `ags` and `active` are for operators.
#[utoipa::path(patch, path = "/api/v1/tenants/{slug}", tag = "tenants", security(("bearer" = [])), params(("slug" = String, Path)), request_body = TenantPatch, responses(
    (status = 200, body = TenantView),
    (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn update(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    slug: web::Path<String>,
    body: Json<TenantPatch>,
) -> ApiResult<HttpResponse> {
    record_tenant(&slug);
    Ok(HttpResponse::Ok()
        .json(directory::update_tenant(&state.db, &actor, &slug, body.into_inner()).await?))
}
