use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verbund_tenant::auth::{Credentials, IssuedToken};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, client_ip};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires (at most 3600).
    pub expires_in: u64,
}

impl From<IssuedToken> for TokenResponse {
    fn from(t: IssuedToken) -> Self {
        Self {
            access_token: t.access_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
        }
    }
}

/// Log in with e-mail and password.
///
/// Unknown accounts and wrong passwords get the same answer. Repeated failures slow down and
/// then lock logins per account and per client address.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenResponse),
    crate::openapi::Problems,
))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if body.email.len() > 320 || body.password.len() > 1024 {
        return Err(verbund_tenant::Error::Unauthenticated.into());
    }
    let creds = Credentials {
        email: body.email,
        password: body.password.into(),
        client_ip: client_ip(&req, state.settings.trust_forwarded_for),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let token = state.auth.login(&state.db, creds).await?;
    tracing::Span::current().record("user", tracing::field::display(token.user_id));
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse::from(token)))
}

/// End the current session. Its tokens stop working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "logged out"),
    crate::openapi::Problems,
))]
pub async fn logout(state: web::Data<AppState>, Auth(actor): Auth) -> ApiResult<HttpResponse> {
    state.auth.logout(&state.db, &actor).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Get a fresh access token for the current session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = TokenResponse),
    crate::openapi::Problems,
))]
pub async fn refresh(state: web::Data<AppState>, Auth(actor): Auth) -> ApiResult<HttpResponse> {
    let token = state.auth.refresh(&actor)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse::from(token)))
}
