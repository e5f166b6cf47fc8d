//! The browser session: the cookie, the CSRF token, and the extractors that give a page its
//! actor ([`Session`]) and a checked form body ([`Form`]).
//!
//! The cookie holds the API's access token of the session (so a logout or a deactivation
//! through the API or another instance ends the UI session too). Tokens live minutes; each
//! page request renews one that is past the first third of its life, for the same database
//! session, so an active user stays logged in until the session itself ends.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;
use verbund_tenant::Actor;

use crate::{CookieSecure, WebState};

pub const SESSION_COOKIE: &str = "vb_session";
/// A random value set with the login form: the login form's CSRF token is bound to it.
pub const LOGIN_COOKIE: &str = "vb_login";
/// The name of the CSRF field of every form.
pub const CSRF_FIELD: &str = "csrf";

/// The value of the cookie `name` in the request, if any (parsed by actix-web's cookie jar).
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether the request reached us over TLS (directly, or via a trusted proxy).
fn is_tls(req: &HttpRequest, state: &WebState) -> bool {
    match state.cookie_secure {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => {
            req.app_config().secure()
                || (state.trust_forwarded && req.connection_info().scheme() == "https")
        }
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, path `/`, Secure behind TLS. `None` as
/// the value deletes the cookie.
pub fn set_cookie(req: &HttpRequest, state: &WebState, name: &str, value: Option<&str>) -> String {
    let mut c = Cookie::build(name, value.unwrap_or(""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(is_tls(req, state))
        .finish();
    if value.is_none() {
        c.make_removal();
    }
    c.to_string()
}

fn mac(state: &WebState, purpose: &str, value: &str) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&state.csrf_key) else {
        return String::new();
    };
    m.update(purpose.as_bytes());
    m.update(b":");
    m.update(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

fn verify(state: &WebState, purpose: &str, value: &str, token: &str) -> bool {
    let Ok(raw) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else {
        return false;
    };
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&state.csrf_key) else {
        return false;
    };
    m.update(purpose.as_bytes());
    m.update(b":");
    m.update(value.as_bytes());
    // Constant-time comparison.
    m.verify_slice(&raw).is_ok()
}

/// The CSRF token of a session.
pub fn csrf_token(state: &WebState, actor: &Actor) -> String {
    mac(state, "session", &actor.session_id().to_string())
}

/// The CSRF token of the login form, bound to the login cookie's random value.
pub fn login_token(state: &WebState, nonce: &str) -> String {
    mac(state, "login", nonce)
}

pub fn login_token_ok(state: &WebState, nonce: &str, token: &str) -> bool {
    verify(state, "login", nonce, token)
}

/// The logged-in user of a page request and the session's CSRF token. Without a valid
/// session the request is answered with a redirect to the login page (with a friendly
/// "session expired" note when a cookie was there but no longer works).
pub struct Session {
    pub actor: Actor,
    pub csrf: String,
    /// A renewed token to set on the response, if the current one is getting old.
    renewed: Option<String>,
}

/// Why a request has no session.
pub enum NoSession {
    /// No cookie at all: the plain login page.
    Missing,
    /// A cookie that no longer works: expired, logged out elsewhere, deactivated.
    Expired,
    /// The database did not answer.
    Unavailable,
}

impl Session {
    /// Adds the renewed cookie (if any) to a response.
    pub fn finish(&self, req: &HttpRequest, mut resp: HttpResponse) -> HttpResponse {
        if let Some(token) = &self.renewed
            && let Some(state) = req.app_data::<web::Data<WebState>>()
            && let Ok(v) =
                header::HeaderValue::from_str(&set_cookie(req, state, SESSION_COOKIE, Some(token)))
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    }

    /// A session of a verified actor without a CSRF token (for streams that post nothing).
    pub fn for_actor(actor: Actor) -> Self {
        Self {
            actor,
            csrf: String::new(),
            renewed: None,
        }
    }

    pub async fn load(req: &HttpRequest, state: &WebState) -> Result<Self, NoSession> {
        let token = cookie(req, SESSION_COOKIE).ok_or(NoSession::Missing)?;
        let actor = match state.auth.authenticate(&state.db, &token).await {
            Ok(a) => a,
            Err(e) if e.kind().status() == 503 => return Err(NoSession::Unavailable),
            Err(_) => return Err(NoSession::Expired),
        };
        let renewed = if token_is_old(&token) {
            state.auth.refresh(&actor).ok().map(|t| t.access_token)
        } else {
            None
        };
        tracing::Span::current().record("user", tracing::field::display(actor.user_id()));
        let csrf = csrf_token(state, &actor);
        Ok(Self {
            actor,
            csrf,
            renewed,
        })
    }
}

/// Whether a (verified) token is past the first third of its lifetime.
fn token_is_old(token: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Times {
        iat: i64,
        exp: i64,
    }
    let Some(payload) = token.split('.').nth(1) else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else {
        return false;
    };
    let Ok(t) = serde_json::from_slice::<Times>(&raw) else {
        return false;
    };
    let now = chrono::Utc::now().timestamp();
    now - t.iat > (t.exp - t.iat) / 3
}

/// The response for a request without a session.
pub fn to_login(req: &HttpRequest, why: NoSession) -> HttpResponse {
    match why {
        NoSession::Unavailable => crate::pages::error_page(
            req,
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "Vorübergehend nicht erreichbar",
            "Die Datenbank antwortet gerade nicht. Bitte versuchen Sie es in einigen Sekunden erneut.",
        ),
        why => {
            let target = match why {
                NoSession::Expired => "/anmelden?grund=abgelaufen",
                _ => "/anmelden",
            };
            let mut resp = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target))
                .finish();
            if matches!(why, NoSession::Expired)
                && let Some(state) = req.app_data::<web::Data<WebState>>()
                && let Ok(v) =
                    header::HeaderValue::from_str(&set_cookie(req, state, SESSION_COOKIE, None))
            {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
    }
}

/// A page's session as an extractor: a handler that takes `s: Session` runs only for a
/// logged-in user; without a session the request is answered with [`to_login`] (the login
/// redirect, or the 503 page when the database does not answer).
impl FromRequest for Session {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Some(state) = req.app_data::<web::Data<WebState>>().cloned() else {
                return Err(actix_web::error::ErrorInternalServerError("no UI state"));
            };
            Session::load(&req, &state)
                .await
                .map_err(|why| FormError(to_login(&req, why)).into())
        })
    }
}

/// A form body of a logged-in user whose CSRF token matched the session. Extracting it
/// answers a missing session with the login redirect and a missing or wrong token with the
/// 403 page, before the handler runs.
pub struct Form<T> {
    pub session: Session,
    pub data: T,
}

/// The 403 page for a form without a valid CSRF token.
pub fn csrf_rejected(req: &HttpRequest) -> HttpResponse {
    crate::pages::error_page(
        req,
        StatusCode::FORBIDDEN,
        None,
        "Sicherheitsprüfung fehlgeschlagen",
        "Das Formular war nicht mehr gültig, deshalb wurde nichts gespeichert. \
         Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
    )
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let Some(state) = req.app_data::<web::Data<WebState>>().cloned() else {
                return Err(actix_web::error::ErrorInternalServerError("no UI state"));
            };
            let body = body.await?;
            let session = match Session::load(&req, &state).await {
                Ok(s) => s,
                Err(why) => return Err(FormError(to_login(&req, why)).into()),
            };
            let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
                return Err(FormError(crate::pages::error_page(
                    &req,
                    StatusCode::BAD_REQUEST,
                    Some(&session),
                    "Ungültige Eingabe",
                    "Das Formular konnte nicht gelesen werden. Nichts wurde gespeichert.",
                ))
                .into());
            };
            let token = pairs
                .iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            if !verify(
                &state,
                "session",
                &session.actor.session_id().to_string(),
                token,
            ) {
                return Err(FormError(csrf_rejected(&req)).into());
            }
            if let Err(field) = crate::input::check_form_pairs(&pairs) {
                return Err(crate::input::bad_input(&req, &field));
            }
            let rest: Vec<(String, String)> =
                pairs.into_iter().filter(|(k, _)| k != CSRF_FIELD).collect();
            let encoded = serde_urlencoded::to_string(&rest).unwrap_or_default();
            match serde_urlencoded::from_str::<T>(&encoded) {
                Ok(data) => Ok(Form { session, data }),
                Err(e) => Err(FormError(crate::pages::error_page(
                    &req,
                    StatusCode::BAD_REQUEST,
                    Some(&session),
                    "Ungültige Eingabe",
                    &format!(
                        "Das Formular enthält einen ungültigen Wert ({e}). Nichts wurde gespeichert."
                    ),
                ))
                .into()),
            }
        })
    }
}

/// An error whose response is a finished page (kept whole: status, headers and body).
pub struct FormError(pub HttpResponse);

impl std::fmt::Debug for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "form rejected with {}", self.0.status())
    }
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "form rejected with {}", self.0.status())
    }
}

impl From<FormError> for actix_web::Error {
    fn from(e: FormError) -> Self {
        actix_web::error::InternalError::from_response(
            format!("form rejected with {}", e.0.status()),
            e.0,
        )
        .into()
    }
}

/// Whether `token` is the CSRF token of `session`: for a body that [`Form`] does not read
/// (a multipart upload), checked by its handler before anything else is done with it.
pub fn csrf_matches(state: &WebState, session: &Session, token: &str) -> bool {
    verify(
        state,
        "session",
        &session.actor.session_id().to_string(),
        token,
    )
}
