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
        routes::tenants::list_mail_domains,
        routes::tenants::add_mail_domain,
        routes::tenants::remove_mail_domain,
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
        routes::knowledge::create,
        routes::knowledge::list,
        routes::knowledge::get,
        routes::knowledge::update,
        routes::knowledge::publish,
        routes::knowledge::archive,
        routes::knowledge::review_base,
        routes::knowledge::versions,
        routes::knowledge::compare,
        routes::knowledge::import,
        routes::knowledge::export,
        routes::knowledge::catalog_list,
        routes::knowledge::catalog_create,
        routes::knowledge::catalog_get,
        routes::knowledge::catalog_update,
        routes::org_units::create,
        routes::org_units::list,
        routes::org_units::get,
        routes::org_units::update,
        routes::org_units::opening,
        routes::search::search,
        routes::operations::create_coverage,
        routes::operations::list_coverages,
        routes::operations::revoke_coverage,
        routes::operations::list_notifications,
        routes::operations::read_notification,
        routes::operations::tenant_report,
        routes::operations::center_report,
        routes::operations::list_templates,
        routes::operations::create_template,
        routes::operations::update_template,
        routes::operations::delete_template,
        routes::operations::anonymize,
        routes::operations::access_log,
        routes::mail::inbound_raw,
        routes::mail::inbound_list,
        routes::mail::inbound_raw_get,
        routes::mail::inbound_assign,
        routes::mail::outbox_list,
        routes::mail::outbox_retry,
        routes::mail::mailbox_list,
        routes::mail::mailbox_create,
        routes::mail::mailbox_update,
        routes::mail::mailbox_delete,
        routes::mail::ticket_mails,
        routes::mail::attachment,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Login, logout and the current user"),
        (name = "tenants", description = "Municipalities (Mandanten)"),
        (name = "centers", description = "Service centers and the tenants they serve"),
        (name = "users", description = "Accounts and role assignments per tenant"),
        (name = "tickets", description = "Contacts, tickets, forwarding and the service calendar"),
        (name = "operations", description = "Coverage, notifications, reports, text modules, data protection"),
        (name = "knowledge", description = "Service descriptions, base texts, org units, search, import"),
        (name = "mail", description = "E-mail channel: MTA ingest, mail queues, outbox, IMAP mailboxes"),
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
