//! Extractors: the authenticated actor, the client address, the checked JSON body and query,
//! and the JSON/path/query configs that turn every malformed request into a problem response.
//!
//! Input hygiene: handlers take [`Json`] and [`Query`] from here, never actix's own (clippy's
//! `disallowed-types` enforces it). Both check every string of the request against the rule
//! of [`verbund_tenant::text`] before the handler sees it, and answer a violation with 422
//! `validation-failed` naming the field: a JSON pointer into the body (`/citizen/name`), or
//! the query parameter.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::{Payload, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::de::DeserializeOwned;
use verbund_tenant::Actor;
use verbund_tenant::text::{CheckedJson, TextViolation, check_query_pairs};

use crate::error::{ApiError, PROBLEM_JSON, problem_response};
use crate::state::AppState;

/// The authenticated user. Extracting it verifies the bearer token against the database and
/// records the user on the request span.
pub struct Auth(pub Actor);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no app state")))?;
            let token = token.ok_or(verbund_tenant::Error::Unauthenticated)?;
            let actor = state.auth.authenticate(&state.db, &token).await?;
            tracing::Span::current().record("user", tracing::field::display(actor.user_id()));
            Ok(Auth(actor))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

/// Parses an id from the path; anything else names nothing, so it is a 404.
pub fn uuid_or_404(raw: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::not_found(what))
}

/// Records the tenant of the request on its span.
pub fn record_tenant(slug: &str) {
    tracing::Span::current().record("tenant", slug);
}

/// The client address: the peer, or `X-Forwarded-For` when configured to trust a proxy.
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for && let Some(raw) = req.connection_info().realip_remote_addr() {
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

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(true)
        .content_type(|mime| {
            mime.type_() == mime::APPLICATION
                && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
        })
        .error_handler(|err, _req| json_error(err).into())
}

/// A JSON body whose strings passed the input rule, deserialized into `T`. Limits, content
/// type and syntax errors are handled by [`json_config`] as before.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn violation(v: TextViolation) -> ApiError {
    ApiError::Domain(v.into())
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        #[allow(clippy::disallowed_types)]
        let body = web::Json::<CheckedJson>::from_request(req, payload);
        Box::pin(async move {
            let value = body.await?.into_inner().into_result().map_err(violation)?;
            serde_json::from_value::<T>(value)
                .map(Json)
                .map_err(|e| json_error(JsonPayloadError::Deserialize(e)).into())
        })
    }
}

/// A query string whose names and values passed the input rule (all single lines),
/// deserialized into `T`.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map_err(Into::into))
    }
}

#[allow(clippy::disallowed_types)]
fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<Query<T>, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(raw).map_err(query_error)?;
    check_query_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(violation)?;
    web::Query::<T>::from_query(raw)
        .map(|q| Query(q.into_inner()))
        .map_err(query_error)
}

fn query_error(err: QueryPayloadError) -> ApiError {
    ApiError::http(
        StatusCode::BAD_REQUEST,
        "invalid-query",
        "Invalid query parameters",
        err.to_string(),
    )
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("the body has {length} bytes; the limit is {limit}"),
        ),
        JsonPayloadError::Overflow { limit } => ApiError::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("the limit is {limit} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::http(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            "Invalid request body",
            e.to_string(),
        ),
        JsonPayloadError::Deserialize(e) => ApiError::http(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "Malformed JSON",
            e.to_string(),
        ),
        other => ApiError::http(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            other.to_string(),
        ),
    }
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _req| {
        ApiError::http(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("invalid path: {err}"),
        )
        .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err: QueryPayloadError, _req| query_error(err).into())
}

/// A safety net: an error response that is not problem+json yet (404 for unknown routes, 405,
/// an oversized payload caught by actix) gets a problem body.
pub fn ensure_problem<B>(
    mut res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let request_id = request_id(res.request());
    if let Some(id) = &request_id {
        res.headers_mut().insert(REQUEST_ID, id.clone());
    }
    let is_problem = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    // The web UI's error pages are HTML and stay so; an unknown path outside the UI's
    // pages gets a problem body below.
    let is_page = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_problem || is_page {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (slug, title) = match status {
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        s if s.is_server_error() => ("internal", "Internal error"),
        _ => ("bad-request", "Bad request"),
    };
    let (req, _) = res.into_parts();
    let mut resp = problem_response(status, slug, title, None, None);
    if let Some(id) = request_id {
        resp.headers_mut().insert(REQUEST_ID, id);
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, resp).map_into_right_body(),
    ))
}

/// The tenant named by the `{slug}` segment of a tenant-scoped path, and the authenticated
/// actor. Extracting it authenticates first (no token: 401, whatever the slug), then resolves
/// the slug (unknown: 404 problem+json `not-found`) and records `tenant` on the request span.
/// Every handler of a `/tenants/{slug}/…` path takes it instead of [`Auth`].
pub struct TenantPath {
    pub actor: Actor,
    pub tenant: verbund_schema::tenant::Model,
}

impl TenantPath {
    /// The tenant's slug, as the domain functions take it.
    pub fn slug(&self) -> &str {
        &self.tenant.slug
    }
}

impl FromRequest for TenantPath {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let auth = Auth::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let slug = req.match_info().get("slug").map(str::to_owned);
        Box::pin(async move {
            let Auth(actor) = auth.await?;
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no app state")))?;
            let slug = slug.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("TenantPath on a path without {{slug}}"))
            })?;
            let tenant =
                verbund_tenant::directory::find_tenant_for(&state.db, &actor, &slug).await?;
            record_tenant(&tenant.slug);
            Ok(TenantPath { actor, tenant })
        })
    }
}

/// The ticket named by the `{id}` segment of a ticket path (a ticket number such as
/// `KO-2026-000123`, or the id), and the authenticated actor. Extracting it authenticates
/// first (no token: 401), then resolves the key (unknown: 404 problem+json `not-found`).
/// Whether the actor may see or change the ticket is the domain function's decision.
pub struct TicketPath {
    pub actor: Actor,
    pub ticket: verbund_schema::ids::TicketId,
}

impl FromRequest for TicketPath {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let auth = Auth::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let key = req.match_info().get("id").map(str::to_owned);
        Box::pin(async move {
            let Auth(actor) = auth.await?;
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no app state")))?;
            let key = key.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("TicketPath on a path without {{id}}"))
            })?;
            let ticket = verbund_ticketing::tickets::resolve(&state.db, &key).await?;
            Ok(TicketPath { actor, ticket })
        })
    }
}

/// A ticket as the answer, with its tenant recorded on the request span.
pub fn ticket_response(
    mut status: actix_web::HttpResponseBuilder,
    view: verbund_ticketing::tickets::TicketView,
) -> HttpResponse {
    record_tenant(&view.tenant);
    status.json(view)
}

/// The header that names the request on every error response: the same id is the
/// `request_id` of the request's log span, so a support call finds the logged cause.
const REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

fn request_id(req: &HttpRequest) -> Option<header::HeaderValue> {
    use actix_web::HttpMessage;
    let id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(ToString::to_string)?;
    header::HeaderValue::from_str(&id).ok()
}

/// A query type with list parameters, each given comma-separated (`state=new,in_progress`),
/// repeated (`state=new&state=in_progress`, OpenAPI `style: form, explode: true`) or both.
pub trait ListParams {
    /// The names of the list parameters; any other parameter given twice stays an error.
    const LISTS: &'static [&'static str];
}

impl ListParams for verbund_ticketing::ticket_filter::TicketQuery {
    const LISTS: &'static [&'static str] = verbund_ticketing::ticket_filter::TicketQuery::LISTS;
}

/// Like [`Query`], for a type with list parameters ([`ListParams`]): the repeated values of a
/// list parameter are joined into one comma-separated value (empty ones dropped) before `T`
/// is read, so both forms mean "any of these". The input rule is checked on every value.
pub struct ListQuery<T>(pub T);

impl<T> ListQuery<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + ListParams> FromRequest for ListQuery<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            parse_list_query::<T>(req.query_string(), T::LISTS)
                .map(ListQuery)
                .map_err(Into::into),
        )
    }
}

#[allow(clippy::disallowed_types)]
fn parse_list_query<T: DeserializeOwned>(raw: &str, lists: &[&str]) -> Result<T, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(raw)
        .map_err(query_error)?
        .into_inner();
    check_query_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(violation)?;
    let mut merged: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        if lists.contains(&key.as_str())
            && let Some((_, joined)) = merged.iter_mut().find(|(k, _)| *k == key)
        {
            if joined.trim().is_empty() {
                *joined = value;
            } else if !value.trim().is_empty() {
                joined.push(',');
                joined.push_str(&value);
            }
            continue;
        }
        merged.push((key, value));
    }
    let encoded = serde_urlencoded::to_string(&merged)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("re-encoding the query: {e}")))?;
    web::Query::<T>::from_query(&encoded)
        .map(web::Query::into_inner)
        .map_err(query_error)
}

#[cfg(test)]
mod list_query_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use verbund_ticketing::model::TicketState;
    use verbund_ticketing::ticket_filter::TicketQuery;

    use super::*;

    fn parse(raw: &str) -> Result<TicketQuery, ApiError> {
        parse_list_query::<TicketQuery>(raw, TicketQuery::LISTS)
    }

    fn states(raw: &str) -> Vec<TicketState> {
        parse(raw).unwrap().state.unwrap().0
    }

    #[test]
    fn repeated_and_comma_separated_lists_mean_the_same() {
        use TicketState::{Closed, InProgress, New};
        assert_eq!(states("state=new&state=in_progress"), vec![New, InProgress]);
        assert_eq!(states("state=new,in_progress"), vec![New, InProgress]);
        assert_eq!(
            states("state=new,in_progress&limit=5&state=closed"),
            vec![New, InProgress, Closed]
        );
        assert_eq!(states("state=&state=new&state="), vec![New]);
        assert_eq!(states("state=&state="), Vec::<TicketState>::new());
        let q = parse("tenant=stadt-trier&q=a%2Cb&tenant=kreis-trier-saarburg").unwrap();
        assert_eq!(
            q.tenant.unwrap().0,
            vec!["stadt-trier".to_owned(), "kreis-trier-saarburg".to_owned()]
        );
        assert_eq!(q.q.as_deref(), Some("a,b"));
    }

    #[test]
    fn a_repeated_single_value_or_a_bad_element_is_still_refused() {
        for raw in [
            "limit=5&limit=6",
            "q=a&q=b",
            "assignee=me&assignee=none",
            "state=new&state=wild",
            "nope=1&nope=2",
        ] {
            let err = parse(raw).map(|_| ()).unwrap_err();
            assert!(
                matches!(&err, ApiError::Http { slug, .. } if *slug == "invalid-query"),
                "{raw}: {err:?}"
            );
        }
    }
}
