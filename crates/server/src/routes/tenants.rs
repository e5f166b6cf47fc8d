use actix_web::{HttpResponse, web};
use verbund_tenant::directory::{self, NewTenant, TenantPatch, TenantView};
use verbund_tenant::mail_domains::{self, MailDomainView, NewMailDomain};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, TenantPath, record_tenant};
use crate::state::AppState;

/// The tenants the user may see (operators: all).
#[utoipa::path(get, path = "/api/v1/tenants", operation_id = "list_tenants", tag = "tenants", security(("bearer" = [])), responses(
    (status = 200, body = [TenantView]),
    crate::openapi::Problems,
))]
pub async fn list(state: web::Data<AppState>, Auth(actor): Auth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(directory::list_tenants(&state.db, &actor).await?))
}

/// Create a tenant (operators only).
#[utoipa::path(post, path = "/api/v1/tenants", operation_id = "create_tenant", tag = "tenants", security(("bearer" = [])), request_body = NewTenant, responses(
    (status = 201, body = TenantView),
    crate::openapi::Problems,
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
#[utoipa::path(get, path = "/api/v1/tenants/{slug}", operation_id = "get_tenant", tag = "tenants", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = TenantView),
    crate::openapi::Problems,
))]
pub async fn get(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(directory::get_tenant(&state.db, &actor, &tenant.slug).await?))
}

/// Change a tenant (tenant admins of it, operators). `ags` and `active` are for operators.
///
/// `mail_addresses` must lie in the tenant's mail domains (422) and belong to no other tenant
/// (409); `settings.mail_from` must be one of the tenant's own addresses (422).
#[utoipa::path(patch, path = "/api/v1/tenants/{slug}", operation_id = "update_tenant", tag = "tenants", security(("bearer" = [])), params(("slug" = String, Path)), request_body = TenantPatch, responses(
    (status = 200, body = TenantView),
    crate::openapi::Problems,
))]
pub async fn update(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    body: Json<TenantPatch>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(directory::update_tenant(&state.db, &actor, &tenant.slug, body.into_inner()).await?))
}

/// The mail domains of a tenant (its tenant admins, operators). The tenant's inbound addresses
/// and its sender address lie in them.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/mail-domains", tag = "tenants", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = [MailDomainView]),
    crate::openapi::Problems,
))]
pub async fn list_mail_domains(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mail_domains::list_domains(&state.db, &actor, &tenant.slug).await?))
}

/// Assign a mail domain to a tenant (operators only).
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/mail-domains", tag = "tenants", security(("bearer" = [])), params(("slug" = String, Path)), request_body = NewMailDomain, responses(
    (status = 201, body = MailDomainView),
    crate::openapi::Problems,
))]
pub async fn add_mail_domain(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    body: Json<NewMailDomain>,
) -> ApiResult<HttpResponse> {
    let scope = actor.authorize_operator()?;
    let view = mail_domains::add_domain(&state.db, &scope, &tenant.slug, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!(
                "/api/v1/tenants/{}/mail-domains/{}",
                tenant.slug, view.domain
            ),
        ))
        .json(view))
}

/// Take a mail domain from a tenant (operators only). 409 while the tenant still has addresses
/// in it.
#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/mail-domains/{domain}", tag = "tenants", security(("bearer" = [])), params(("slug" = String, Path), ("domain" = String, Path)), responses(
    (status = 204, description = "removed"),
    crate::openapi::Problems,
))]
pub async fn remove_mail_domain(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, domain) = path.into_inner();
    let scope = actor.authorize_operator()?;
    mail_domains::remove_domain(&state.db, &scope, &tenant.slug, &domain).await?;
    Ok(HttpResponse::NoContent().finish())
}
