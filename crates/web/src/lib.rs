//! The German web UI of Verbund, served by the same binary and the same actix app as the API.
//!
//! A page handler does what an API handler does: parse, call the same domain function with
//! the actor, render. It never writes its own query or its own permission check; what the
//! domain answers (`NotFound`, `Forbidden`, `Invalid`, `Conflict`) becomes a German page.
//!
//! Invariants:
//! - the session is the API's session: the login goes through the same
//!   [`Authenticator::login`] (same throttling, same answer for unknown user and wrong
//!   password); the cookie holds the access token (HttpOnly, SameSite=Strict, Secure behind
//!   TLS) and is refreshed while the session lives;
//! - every state-changing request carries a CSRF token bound to the session (HMAC of the
//!   session id with the signing secret); a missing or wrong token is a 403 page and nothing
//!   changes ([`session::Form`] checks it before the handler runs);
//! - every UI response carries the security headers of [`security_headers`]; assets are
//!   embedded and served under a content-hash path with a one-year cache lifetime;
//! - all text is escaped by askama; HTML from search snippets is split into text and marks,
//!   never passed through.

pub mod assets;
pub mod format;
pub mod input;
pub mod pages;
pub mod session;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use verbund_knowledge::search::SearchIndex;
use verbund_tenant::auth::Authenticator;
use verbund_tenant::db::Db;

/// When the session cookie gets the `Secure` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CookieSecure {
    /// When the request came over TLS: the connection itself, or `X-Forwarded-Proto: https`
    /// from a proxy that is trusted (`trust_forwarded_for`).
    #[default]
    Auto,
    Always,
    Never,
}

/// What the UI needs from the application; built once, shared by every worker.
pub struct WebState {
    pub db: Db,
    pub auth: Arc<Authenticator>,
    pub search: SearchIndex,
    pub cookie_secure: CookieSecure,
    pub trust_forwarded: bool,
    csrf_key: Vec<u8>,
    pub assets: assets::Assets,
}

impl WebState {
    /// `secret` is the signing secret of the application (shared by all its instances): the
    /// CSRF tokens are derived from it, so a token issued by one instance is valid on another.
    pub fn new(
        db: Db,
        auth: Arc<Authenticator>,
        search: SearchIndex,
        secret: &SecretString,
        cookie_secure: CookieSecure,
        trust_forwarded: bool,
    ) -> Self {
        let mut csrf_key = b"verbund-ui-csrf:".to_vec();
        csrf_key.extend_from_slice(secret.expose_secret().as_bytes());
        Self {
            db,
            auth,
            search,
            cookie_secure,
            trust_forwarded,
            csrf_key,
            assets: assets::Assets::new(),
        }
    }
}

/// The headers of every UI response: no inline script or style, no framing, no sniffing,
/// no referrer to other sites, and pages are not cached.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// Mounts the UI at `/`. Register it after the API: its default service answers unknown
/// paths with the German 404 page (and leaves unknown `/api/…` paths to the API's problem
/// responses).
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<WebState>) {
    cfg.service(
        web::scope("")
            .app_data(state)
            .app_data(web::FormConfig::default().limit(256 * 1024))
            .wrap(security_headers())
            .route("/", web::get().to(pages::login::root))
            .route("/anmelden", web::get().to(pages::login::page))
            .route("/anmelden", web::post().to(pages::login::submit))
            .route("/abmelden", web::post().to(pages::login::logout))
            .route("/assets/{name}", web::get().to(assets::serve))
            .route("/desk", web::get().to(pages::desk::page))
            .route("/suche", web::get().to(pages::desk::search))
            .route(
                "/leistungen/{slug}/{id}",
                web::get().to(pages::desk::service),
            )
            .route("/kontakte", web::post().to(pages::desk::log_contact))
            .route("/anliegen/neu", web::get().to(pages::desk::new_ticket))
            .route("/anliegen", web::post().to(pages::desk::create_ticket))
            .route("/berichte", web::get().to(pages::reports::page))
            .route("/post", web::get().to(pages::mail::desk))
            .route("/redaktion", web::get().to(pages::editor::list))
            .configure(pages::editor::configure)
            .route(
                "/redaktion/{mandant}/{id}",
                web::get().to(pages::editor::edit),
            )
            .route(
                "/redaktion/{mandant}/{id}/vergleich",
                web::get().to(pages::editor::compare),
            )
            .route(
                "/redaktion/{mandant}/{id}/{aktion}",
                web::post().to(pages::editor::action),
            )
            .route(
                "/post/eingang/{id}/zuordnen",
                web::post().to(pages::mail::assign),
            )
            .route(
                "/post/ausgang/{mandant}/{id}/erneut",
                web::post().to(pages::mail::retry),
            )
            .route("/vorgaenge/{id}/post", web::get().to(pages::mail::thread))
            .route(
                "/vorgaenge/{id}/post/antwort",
                web::post().to(pages::mail::reply),
            )
            .route(
                "/vorgaenge/{id}/anhaenge/{attachment}",
                web::get().to(pages::mail::attachment),
            )
            .route("/vorgaenge", web::get().to(pages::queue::page))
            .route("/vorgaenge/live", web::get().to(pages::queue::live))
            .route("/vorgaenge/{id}", web::get().to(pages::ticket::page))
            .route(
                "/vorgaenge/{id}/{action}",
                web::post().to(pages::ticket::action),
            )
            .route(
                "/verwaltung/{slug}/einstellungen",
                web::get().to(pages::admin::settings),
            )
            .route(
                "/verwaltung/{slug}/einstellungen",
                web::post().to(pages::admin::save_settings),
            )
            .configure(pages::verwaltung::routes)
            .configure(pages::uiticket::routes)
            .default_service(web::to(not_found)),
    );
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    if req.path() == "/api" || req.path().starts_with("/api/") {
        // The API's error handler turns this into its problem+json 404.
        return HttpResponse::NotFound().finish();
    }
    pages::error_page(
        &req,
        actix_web::http::StatusCode::NOT_FOUND,
        None,
        "Seite nicht gefunden",
        "Diese Seite gibt es nicht, oder Sie dürfen sie nicht sehen.",
    )
}
