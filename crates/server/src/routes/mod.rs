//! HTTP routes. Handlers parse, call one domain function with the actor, and render.

pub mod auth;
pub mod calendar;
pub mod centers;
pub mod contacts;
pub mod health;
pub mod knowledge;
pub mod mail;
pub mod me;
pub mod operations;
pub mod org_units;
pub mod search;
pub mod tenants;
pub mod tickets;
pub mod users;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig, max_inbound_bytes: usize) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .service(
            web::scope("/api/v1")
                .route("/openapi.json", web::get().to(crate::openapi::serve))
                .route("/auth/login", web::post().to(auth::login))
                .route("/auth/logout", web::post().to(auth::logout))
                .route("/auth/refresh", web::post().to(auth::refresh))
                .route("/me", web::get().to(me::me))
                // The busiest fixed paths before the patterns: actix tries routes in order, and
                // each `{…}` pattern is a regular expression to run.
                .route("/search", web::get().to(search::search))
                .route("/tickets", web::get().to(tickets::list))
                .route("/contacts", web::post().to(contacts::create))
                .service(
                    web::resource("/tenants")
                        .get(tenants::list)
                        .post(tenants::create),
                )
                .service(
                    web::resource("/tenants/{slug}")
                        .get(tenants::get)
                        .patch(tenants::update),
                )
                .service(
                    web::resource("/tenants/{slug}/mail-domains")
                        .get(tenants::list_mail_domains)
                        .post(tenants::add_mail_domain),
                )
                .route(
                    "/tenants/{slug}/mail-domains/{domain}",
                    web::delete().to(tenants::remove_mail_domain),
                )
                .service(
                    web::resource("/tenants/{slug}/users")
                        .get(users::list)
                        .post(users::create),
                )
                .service(
                    web::resource("/tenants/{slug}/users/{id}")
                        .get(users::get)
                        .patch(users::update),
                )
                .service(
                    web::resource("/tenants/{slug}/tickets")
                        .get(tickets::list_for_tenant)
                        .post(tickets::create),
                )
                .route("/tenants/{slug}/calendar/due", web::get().to(calendar::due))
                .service(
                    web::resource("/tenants/{slug}/coverages")
                        .get(operations::list_coverages)
                        .post(operations::create_coverage),
                )
                .route(
                    "/tenants/{slug}/coverages/{id}/revoke",
                    web::post().to(operations::revoke_coverage),
                )
                .route(
                    "/tenants/{slug}/reports",
                    web::get().to(operations::tenant_report),
                )
                .route(
                    "/centers/{slug}/reports",
                    web::get().to(operations::center_report),
                )
                .service(
                    web::resource("/tenants/{slug}/templates")
                        .get(operations::list_templates)
                        .post(operations::create_template),
                )
                .service(
                    web::resource("/tenants/{slug}/templates/{id}")
                        .put(operations::update_template)
                        .delete(operations::delete_template),
                )
                .route(
                    "/tenants/{slug}/access-log",
                    web::get().to(operations::access_log),
                )
                .route(
                    "/notifications",
                    web::get().to(operations::list_notifications),
                )
                .route(
                    "/notifications/{id}/read",
                    web::post().to(operations::read_notification),
                )
                .route(
                    "/tickets/{id}/anonymize",
                    web::post().to(operations::anonymize),
                )
                .service(
                    web::resource("/tickets/{id}")
                        .get(tickets::get)
                        .patch(tickets::update),
                )
                .service(
                    web::resource("/tickets/{id}/notes")
                        .get(tickets::notes)
                        .post(tickets::add_note),
                )
                .route(
                    "/tickets/{id}/call-attempts",
                    web::post().to(tickets::call_attempt),
                )
                .route("/tickets/{id}/history", web::get().to(tickets::history))
                .route("/tickets/{id}/forward", web::post().to(tickets::forward))
                .route("/tickets/{id}/accept", web::post().to(tickets::accept))
                .route(
                    "/tickets/{id}/messages",
                    web::post().to(tickets::add_message),
                )
                .route("/tickets/{id}/close", web::post().to(tickets::close))
                .route(
                    "/tickets/{id}/return",
                    web::post().to(tickets::return_ticket),
                )
                .service(
                    web::resource("/centers")
                        .get(centers::list)
                        .post(centers::create),
                )
                .service(web::resource("/centers/{slug}").get(centers::get))
                .service(
                    web::resource("/centers/{slug}/tenants")
                        .get(centers::tenants)
                        .put(centers::set_tenants),
                )
                .configure(knowledge::configure)
                .configure(|c| mail::configure(c, max_inbound_bytes)),
        );
}
