use actix_web::{HttpResponse, web};
use verbund_tenant::Permission;
use verbund_tenant::users::{self, NewUser, UserPatch, UserView, account_scope, tenant_scope};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, TenantPath};
use crate::state::AppState;

fn parse_id(raw: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::not_found("user"))
}

/// The users of a tenant (tenant admins, operators).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/users", operation_id = "list_users", tag = "users", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = [UserView]),
    crate::openapi::Problems,
))]
pub async fn list(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
) -> ApiResult<HttpResponse> {
    let scope = tenant_scope(&state.db, &actor, &tenant.slug, Permission::ViewUsers).await?;
    Ok(HttpResponse::Ok().json(users::list_users(&state.db, &scope).await?))
}

/// Create a user in a tenant. Tenant admins grant only roles inside the tenants they administer
/// (a center role: every tenant the center serves).
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/users", operation_id = "create_user", tag = "users", security(("bearer" = [])), params(("slug" = String, Path)), request_body = NewUser, responses(
    (status = 201, body = UserView),
    crate::openapi::Problems,
))]
pub async fn create(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    body: Json<NewUser>,
) -> ApiResult<HttpResponse> {
    let scope = account_scope(&state.db, &actor, &tenant.slug).await?;
    let view = users::create_user(&state.db, &scope, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/tenants/{}/users/{}", tenant.slug, view.id),
        ))
        .json(view))
}

/// One user of a tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/users/{id}", operation_id = "get_user", tag = "users", security(("bearer" = [])), params(("slug" = String, Path), ("id" = uuid::Uuid, Path)), responses(
    (status = 200, body = UserView),
    crate::openapi::Problems,
))]
pub async fn get(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let scope = tenant_scope(&state.db, &actor, &tenant.slug, Permission::ViewUsers).await?;
    Ok(HttpResponse::Ok().json(users::get_user(&state.db, &scope, parse_id(&id)?).await?))
}

/// Change a user: name, roles within this tenant, password, or deactivate (ends sessions at once).
///
/// Tenant admins change only accounts all of whose roles lie inside the tenants they administer
/// (403 otherwise); operators change every account.
#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/users/{id}", operation_id = "update_user", tag = "users", security(("bearer" = [])), params(("slug" = String, Path), ("id" = uuid::Uuid, Path)), request_body = UserPatch, responses(
    (status = 200, body = UserView),
    crate::openapi::Problems,
))]
pub async fn update(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
    body: Json<UserPatch>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let scope = account_scope(&state.db, &actor, &tenant.slug).await?;
    Ok(HttpResponse::Ok()
        .json(users::update_user(&state.db, &scope, parse_id(&id)?, body.into_inner()).await?))
}
