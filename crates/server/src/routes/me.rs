use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;
use verbund_tenant::directory::ActingTenant;
use verbund_tenant::users::RoleSpec;

use crate::error::ApiResult;
use crate::extract::Auth;

#[derive(Serialize, ToSchema)]
pub struct MeResponse<'a> {
    pub id: uuid::Uuid,
    pub email: &'a str,
    pub display_name: &'a str,
    /// The tenant that owns the account.
    pub tenant: Option<&'a str>,
    pub roles: &'a [RoleSpec],
    /// Every tenant the user can act for, with the roles that reach it.
    pub tenants: &'a [ActingTenant],
}

/// The logged-in user, their roles, and the tenants they can act for.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = MeResponse),
    crate::openapi::Problems,
))]
pub async fn me(Auth(actor): Auth) -> ApiResult<HttpResponse> {
    let profile = actor.profile();
    Ok(HttpResponse::Ok().json(MeResponse {
        id: actor.user_id(),
        email: actor.email(),
        display_name: actor.display_name(),
        tenant: profile.tenant.as_deref(),
        roles: &profile.roles,
        tenants: &profile.tenants,
    }))
}
