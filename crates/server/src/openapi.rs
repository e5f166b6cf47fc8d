//! The OpenAPI document, generated from the handlers' annotations. The operations come from
//! [`routes::operations`], the list the router is built from.
//!
//! Each handler's annotation references the problem responses as one set, [`Problems`].
//! The statuses that follow from the shape of an operation — 401 for a secured one, 400 / 413 /
//! 415 / 422 for one that reads a JSON body, 400 / 422 for query parameters, 404 for path
//! parameters —
//! are added by [`CommonResponses`], so no handler can forget them. The document must stay valid
//! (openapi-spec-validator in `./scripts/test`) and true: schemathesis checks the live server
//! against it there, and `tests/e2e/server.rs` checks its structure.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::PROBLEM_JSON;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Verbund API", description = "Multi-tenant platform for 115 citizen service centers"),
    components(schemas(crate::error::Problem)),
    modifiers(&Operations, &SecuritySchemes, &CommonResponses, &ProblemTypes),
    tags(
        (name = "auth", description = "Login, logout and the current user"),
        (name = "tenants", description = "Municipalities (Mandanten)"),
        (name = "centers", description = "Service centers and the tenants they serve"),
        (name = "users", description = "Accounts and role assignments per tenant"),
        (name = "tickets", description = "Contacts, tickets, forwarding and the service calendar"),
        (name = "operations", description = "Coverage, notifications, reports, text modules, data protection"),
        (name = "knowledge", description = "Service descriptions, base texts, org units, search, import"),
        (name = "mail", description = "E-mail channel: MTA ingest, mail queues, outbox, IMAP mailboxes"),
        (name = "health", description = "Liveness, readiness and this document"),
    )
)]
pub struct ApiDoc;

/// The operations, from the same list the router is built from ([`routes::operations`]).
struct Operations;

impl Modify for Operations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(routes::document());
    }
}

/// The two ways to authenticate: a user's access token (`POST /api/v1/auth/login`), and the
/// static token of the MTA pipe (`VERBUND_INGEST_TOKEN`) for `POST /api/v1/inbound/raw`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from POST /api/v1/auth/login."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "ingest",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The ingest token of the MTA pipe (VERBUND_INGEST_TOKEN); without a \
                         configured token the endpoint answers 503.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the error statuses that follow from an operation's shape (see the module doc), and
/// names every response that has no description.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ];
            for op in operations.into_iter().flatten() {
                add_common_responses(op);
            }
        }
    }
}

fn add_common_responses(op: &mut Operation) {
    let schemes = security_schemes(op);
    let mut statuses: Vec<StatusCode> = Vec::new();
    if !schemes.is_empty() {
        // A missing, malformed, expired or revoked token.
        statuses.push(StatusCode::UNAUTHORIZED);
    }
    if schemes.iter().any(|s| s == "ingest") {
        statuses.push(StatusCode::SERVICE_UNAVAILABLE);
    }
    if let Some(body) = &op.request_body {
        // Every body is read against a size limit and a content type.
        statuses.extend([
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ]);
        if body.content.keys().any(|c| c == "application/json") {
            // Malformed JSON is a 400, well-formed JSON of the wrong shape a 422.
            statuses.extend([StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY]);
        }
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    if params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query))
    {
        // A query string that does not parse into the declared parameters is a 400; a value
        // that parses but is refused (out of range, not a single line of text) a 422.
        statuses.extend([StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY]);
    }
    if params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path))
    {
        // A path segment that names nothing.
        statuses.push(StatusCode::NOT_FOUND);
    }
    let responses = &mut op.responses.responses;
    for status in statuses {
        responses
            .entry(status.as_u16().to_string())
            .or_insert_with(|| RefOr::T(problem(status)));
    }
    for (code, response) in responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            response.description = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Response")
                .to_owned();
        }
    }
}

/// The names of the security schemes an operation accepts.
fn security_schemes(op: &Operation) -> Vec<String> {
    op.security
        .iter()
        .flatten()
        .filter_map(|req| serde_json::to_value(req).ok())
        .filter_map(|v| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
        .flatten()
        .collect()
}

/// A problem+json response.
fn problem(status: StatusCode) -> Response {
    ResponseBuilder::new()
        .description(status.canonical_reason().unwrap_or("Error"))
        .content(
            PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

/// The document, built once.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| ApiDoc::openapi().to_json().unwrap_or_default());

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health", operation_id = "openapi", responses(
    (status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object),
))]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ))
        .body(DOCUMENT.as_str())
}

/// The problem responses of the API, referenced once per operation:
/// `responses((status = 200, body = …), crate::openapi::Problems)`. Every one is an RFC 9457
/// body ([`Problem`](crate::error::Problem)) whose `type` names the failure. A status added
/// here is documented for every operation. The statuses that depend on an operation's shape
/// (413/415 for a body) are added by [`CommonResponses`].
#[derive(utoipa::IntoResponses)]
pub enum Problems {
    /// The request does not parse: malformed JSON, a query string or value of the wrong type.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(crate::error::Problem),
    /// No valid credentials: a missing, malformed, expired or revoked token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(crate::error::Problem),
    /// The acting user may not do this for this tenant.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(crate::error::Problem),
    /// The path names nothing the user may see.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(crate::error::Problem),
    /// A conflict with the current state: a stale `version`, a duplicate, a closed ticket.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(crate::error::Problem),
    /// Well-formed input that is refused; `detail` names the field.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(crate::error::Problem),
    /// Too many attempts; try again later.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(crate::error::Problem),
    /// An internal error; the cause is logged, never shown.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(crate::error::Problem),
    /// A dependency (database, configuration) is not available.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(crate::error::Problem),
}

/// Documents the registry of problem types (`verbund_tenant::problem`): the `Problem` schema's
/// `code` is an enum of every code, and the API description carries the table of what each
/// means and what a client should do.
struct ProblemTypes;

impl Modify for ProblemTypes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        use verbund_tenant::problem::{ProblemKind, markdown_table};
        let description = openapi.info.description.get_or_insert_with(String::new);
        description.push_str(
            "\n\n## Problem types\n\nEvery error is `application/problem+json` (RFC 9457). \
             Its `code` (also the suffix of `type`, `urn:verbund:problem:<code>`) is stable; \
             `detail` is for humans and may change. Internal errors never show their cause; \
             it is logged.\n\n",
        );
        description.push_str(&markdown_table());
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") {
            problem.properties.insert(
                "code".into(),
                RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .description(Some(
                            "The problem's stable code; the API description lists what each \
                             means.",
                        ))
                        .enum_values(Some(ProblemKind::ALL.iter().map(|k| k.slug())))
                        .build(),
                )),
            );
        }
    }
}
