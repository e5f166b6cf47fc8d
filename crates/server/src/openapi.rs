//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Verbund API", description = "Multi-tenant platform for 115 citizen service centers"),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::auth::login,
        routes::auth::logout,
        routes::auth::refresh,
        routes::me::me,
        routes::tenants::list,
        routes::tenants::create,
        routes::tenants::get,
        routes::tenants::update,
        routes::users::list,
        routes::users::create,
        routes::users::get,
        routes::users::update,
        routes::centers::list,
        routes::centers::create,
        routes::centers::get,
        routes::centers::tenants,
        routes::centers::set_tenants,
        routes::calendar::due,
        routes::contacts::create,
        routes::tickets::create,
        routes::tickets::list,
        routes::tickets::get,
        routes::tickets::update,
        routes::tickets::notes,
        routes::tickets::add_note,
        routes::tickets::call_attempt,
        routes::tickets::history,
        routes::tickets::forward,
        routes::tickets::accept,
        routes::tickets::return_ticket,
        routes::tickets::add_message,
        routes::tickets::close,
        routes::tickets::list_for_tenant,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Login, logout and the current user"),
        (name = "tenants", description = "Municipalities (Mandanten)"),
        (name = "centers", description = "Service centers and the tenants they serve"),
        (name = "users", description = "Accounts and role assignments per tenant"),
        (name = "tickets", description = "Contacts, tickets, forwarding and the service calendar"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
