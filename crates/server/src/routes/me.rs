use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;
use verbund_tenant::directory::{ActingTenant, acting_tenants};
use verbund_tenant::users::{RoleSpec, me as load_me};

use crate::error::ApiResult;
use crate::extract::Auth;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub id: uuid::Uuid,
    pub email: String,
    pub display_name: String,
    /// The tenant that owns the account.
    pub tenant: Option<String>,
    pub roles: Vec<RoleSpec>,
    /// Every tenant the user can act for, with the roles that reach it.
    pub tenants: Vec<ActingTenant>,
}

/// The logged-in user, their roles, and the tenants they can act for.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = MeResponse),
    (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn me(state: web::Data<AppState>, Auth(actor): Auth) -> ApiResult<HttpResponse> {
    let user = load_me(&state.db, &actor).await?;
    let tenants = acting_tenants(&state.db, &actor).await?;
    Ok(HttpResponse::Ok().json(MeResponse {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        tenant: user.tenant,
        roles: user.roles,
        tenants,
    }))
}
