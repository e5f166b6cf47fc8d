//! Login and logout. The login is the API's: [`Authenticator::login`] with the same throttling
//! per account and client address, and one answer for an unknown account and a wrong password.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use rand::RngCore;
use verbund_tenant::auth::Credentials;

use super::{Chrome, html};
use crate::WebState;
use crate::input::Query;
use crate::session::{
    self, Form, LOGIN_COOKIE, SESSION_COOKIE, Session, login_token, login_token_ok, set_cookie,
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    email: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

/// `GET /`: the desk for a logged-in user, else the login page.
pub async fn root(req: HttpRequest, state: web::Data<WebState>) -> HttpResponse {
    match Session::load(&req, &state).await {
        Ok(s) => {
            // The start page of the role: the desk for agents, the reports for admins.
            let may = |p| {
                s.actor
                    .profile()
                    .tenants
                    .iter()
                    .any(|t| s.actor.may(p, t.id.into()))
            };
            let start = if !super::desk::desk_tenants(&s).is_empty() {
                "/desk"
            } else if may(verbund_tenant::Permission::ViewReports) {
                "/berichte"
            } else if may(verbund_tenant::Permission::WorkMailQueue) {
                "/post"
            } else if !super::editor::editor_tenants(&s).is_empty() {
                "/redaktion"
            } else {
                "/desk"
            };
            s.finish(
                &req,
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, start))
                    .finish(),
            )
        }
        Err(_) => render(&req, &state, StatusCode::OK, String::new(), None, None),
    }
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    grund: Option<String>,
}

/// `GET /anmelden`
pub async fn page(
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<LoginQuery>,
) -> HttpResponse {
    let notice = match q.grund.as_deref() {
        Some("abgelaufen") => Some("Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an."),
        Some("abgemeldet") => Some("Sie haben sich abgemeldet."),
        _ => None,
    };
    render(&req, &state, StatusCode::OK, String::new(), None, notice)
}

fn render(
    req: &HttpRequest,
    state: &WebState,
    status: StatusCode,
    email: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
) -> HttpResponse {
    // A fresh random value per form; the form's token is bound to it (double submit, signed).
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    let nonce: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let mut c = Chrome::new(req, None, "Anmelden", "");
    c.csrf = login_token(state, &nonce);
    let mut resp = html(
        status,
        &LoginPage {
            c,
            email,
            error,
            notice,
        },
    );
    if let Ok(v) =
        header::HeaderValue::from_str(&set_cookie(req, state, LOGIN_COOKIE, Some(&nonce)))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The one message for every failed login: it does not say whether the account exists.
pub const LOGIN_FAILED: &str =
    "Anmeldung fehlgeschlagen. Bitte prüfen Sie E-Mail-Adresse und Passwort.";

/// `POST /anmelden`
pub async fn submit(
    req: HttpRequest,
    state: web::Data<WebState>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let nonce = session::cookie(&req, LOGIN_COOKIE).unwrap_or_default();
    if nonce.is_empty() || !login_token_ok(&state, &nonce, &form.csrf) {
        return session::csrf_rejected(&req);
    }
    let clean =
        verbund_tenant::text::check(verbund_tenant::text::TextKind::SingleLine, &form.email)
            .is_ok();
    if !clean || form.email.len() > 320 || form.password.len() > 1024 {
        return render(
            &req,
            &state,
            StatusCode::UNAUTHORIZED,
            String::new(),
            Some(LOGIN_FAILED),
            None,
        );
    }
    let creds = Credentials {
        email: form.email.clone(),
        password: form.password.into(),
        client_ip: client_ip(&req, state.trust_forwarded),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    match state.auth.login(&state.db, creds).await {
        Ok(token) => {
            let mut resp = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/"))
                .finish();
            for c in [
                set_cookie(&req, &state, SESSION_COOKIE, Some(&token.access_token)),
                set_cookie(&req, &state, LOGIN_COOKIE, None),
            ] {
                if let Ok(v) = header::HeaderValue::from_str(&c) {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            resp
        }
        Err(verbund_tenant::Error::LoginLocked { .. }) => render(
            &req,
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            form.email,
            Some(
                "Zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.",
            ),
            None,
        ),
        Err(verbund_tenant::Error::Overloaded { .. }) => render(
            &req,
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            form.email,
            Some("Der Dienst ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal."),
            None,
        ),
        Err(e) if e.kind().status() == 401 => render(
            &req,
            &state,
            StatusCode::UNAUTHORIZED,
            form.email,
            Some(LOGIN_FAILED),
            None,
        ),
        Err(e) => {
            tracing::error!(error = %e, "login failed");
            render(
                &req,
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                form.email,
                Some(
                    "Die Anmeldung ist gerade nicht möglich. Bitte versuchen Sie es gleich noch einmal.",
                ),
                None,
            )
        }
    }
}

#[derive(serde::Deserialize)]
pub struct Empty {}

/// `POST /abmelden`: ends the session (its tokens stop working on every instance).
pub async fn logout(
    req: HttpRequest,
    state: web::Data<WebState>,
    form: Form<Empty>,
) -> HttpResponse {
    if let Err(e) = state.auth.logout(&state.db, &form.session.actor).await {
        return super::domain_error(&req, &form.session, &e);
    }
    let mut resp = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/anmelden?grund=abgemeldet"))
        .finish();
    if let Ok(v) = header::HeaderValue::from_str(&set_cookie(&req, &state, SESSION_COOKIE, None)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// The client address: the peer, or the proxy's `X-Forwarded-For` when trusted (as the API).
fn client_ip(req: &HttpRequest, trust_forwarded: bool) -> Option<String> {
    if trust_forwarded && let Some(raw) = req.connection_info().realip_remote_addr() {
        let ip = raw
            .parse::<std::net::IpAddr>()
            .ok()
            .or_else(|| raw.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()));
        if let Some(ip) = ip {
            return Some(ip.to_string());
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}
