//! One module per area: login, desk (search, description, contact, new ticket), queue,
//! ticket detail. Each handler parses, calls the domain function with the actor, renders.

pub mod admin;
pub mod desk;
pub mod editor;
pub mod login;
pub mod mail;
pub mod queue;
pub mod reports;
pub mod ticket;
pub mod uiticket;
pub mod verwaltung;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::WebState;
use crate::session::Session;

/// What every page's frame needs: title, user, CSRF token, assets, the active area.
pub struct Chrome {
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
    pub css: String,
    pub js: String,
    pub active: &'static str,
    /// The main navigation's items for the user's roles.
    pub nav: verwaltung::Nav,
}

impl Chrome {
    pub fn new(
        req: &HttpRequest,
        session: Option<&Session>,
        title: &str,
        active: &'static str,
    ) -> Self {
        let (css, js) = req
            .app_data::<web::Data<WebState>>()
            .map(|s| (s.assets.css(), s.assets.js()))
            .unwrap_or_default();
        Self {
            title: title.to_owned(),
            user: session.map(|s| s.actor.display_name().to_owned()),
            csrf: session.map(|s| s.csrf.clone()).unwrap_or_default(),
            css,
            js,
            active,
            nav: session.map(verwaltung::Nav::of).unwrap_or_default(),
        }
    }
}

/// Renders a template as an HTML page with `status`.
pub fn html(status: StatusCode, t: &impl Template) -> HttpResponse {
    match t.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            HttpResponse::InternalServerError()
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .body("<!doctype html><html lang=\"de\"><title>Fehler</title><p>Interner Fehler.</p></html>")
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: Chrome,
    status: u16,
    heading: &'a str,
    text: &'a str,
}

/// A German error page.
pub fn error_page(
    req: &HttpRequest,
    status: StatusCode,
    session: Option<&Session>,
    heading: &str,
    text: &str,
) -> HttpResponse {
    let page = ErrorPage {
        c: Chrome::new(req, session, heading, ""),
        status: status.as_u16(),
        heading,
        text,
    };
    html(status, &page)
}

/// The page for a domain error: the same statuses the API gives (404 for what the user may
/// not see, 403 for what they see but may not do), in German, with no internals.
pub fn domain_error(
    req: &HttpRequest,
    session: &Session,
    e: &verbund_tenant::Error,
) -> HttpResponse {
    use verbund_tenant::Error as E;
    let (status, heading, text): (StatusCode, &str, String) = match e {
        E::NotFound(_) => (
            StatusCode::NOT_FOUND,
            "Nicht gefunden",
            "Das Gesuchte gibt es nicht, oder Sie dürfen es nicht sehen.".into(),
        ),
        E::Forbidden(_) => (
            StatusCode::FORBIDDEN,
            "Keine Berechtigung",
            "Für diese Aktion fehlt Ihnen die nötige Rolle. Nichts wurde geändert.".into(),
        ),
        E::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "Bitte melden Sie sich an",
            "Ihre Sitzung ist abgelaufen.".into(),
        ),
        E::Invalid { field, reason } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ungültige Eingabe",
            format!("Das Feld „{field}“ ist ungültig: {reason}. Nichts wurde gespeichert."),
        ),
        E::Conflict(kind, _) => (
            StatusCode::CONFLICT,
            "Nicht möglich",
            conflict_text(*kind).into(),
        ),
        E::LoginLocked { .. } | E::Overloaded { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Bitte warten",
            "Zu viele Anfragen. Bitte versuchen Sie es gleich noch einmal.".into(),
        ),
        other if other.kind().status() == 503 => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Vorübergehend nicht erreichbar",
            "Die Datenbank antwortet gerade nicht. Bitte versuchen Sie es gleich noch einmal."
                .into(),
        ),
        other => {
            tracing::error!(error = %other, code = other.kind().slug(), "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Interner Fehler",
                "Etwas ist schiefgegangen. Der Fehler wurde protokolliert.".into(),
            )
        }
    };
    session.finish(req, error_page(req, status, Some(session), heading, &text))
}

/// A German sentence per conflict kind.
pub fn conflict_text(kind: verbund_tenant::problem::ProblemKind) -> &'static str {
    match kind.slug() {
        "stale-version" => "Der Vorgang wurde inzwischen geändert. Bitte laden Sie ihn neu.",
        "ticket-closed" => "Der Vorgang ist abgeschlossen und kann nicht mehr geändert werden.",
        "already-forwarded" => "Der Vorgang ist bereits weitergeleitet.",
        "forward-not-pending" => "Es gibt keine offene Weiterleitung zu diesem Vorgang.",
        "invalid-state-transition" => "Dieser Statuswechsel ist nicht möglich.",
        "personal-data-removed" => "Die persönlichen Daten wurden bereits gelöscht.",
        _ => "Die Aktion ist im jetzigen Zustand nicht möglich.",
    }
}

/// A redirect after a successful POST (303: the browser follows with GET).
pub fn see_other(session: &Session, req: &HttpRequest, to: &str) -> HttpResponse {
    session.finish(
        req,
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .finish(),
    )
}

/// Percent-encodes a query value.
pub fn enc(v: &str) -> String {
    serde_urlencoded::to_string([("v", v)])
        .map(|s| s[2..].to_owned())
        .unwrap_or_default()
}
