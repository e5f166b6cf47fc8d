//! HTTP routes. Handlers parse, call one domain function with the actor, and render.

pub mod auth;
pub mod centers;
pub mod health;
pub mod me;
pub mod tenants;
pub mod users;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .service(
            web::scope("/api/v1")
                .route("/openapi.json", web::get().to(crate::openapi::serve))
                .route("/auth/login", web::post().to(auth::login))
                .route("/auth/logout", web::post().to(auth::logout))
                .route("/auth/refresh", web::post().to(auth::refresh))
                .route("/me", web::get().to(me::me))
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
                    web::resource("/centers")
                        .get(centers::list)
                        .post(centers::create),
                )
                .service(web::resource("/centers/{slug}").get(centers::get))
                .service(
                    web::resource("/centers/{slug}/tenants")
                        .get(centers::tenants)
                        .put(centers::set_tenants),
                ),
        );
}
