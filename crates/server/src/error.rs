//! Every error leaves the server as `application/problem+json` (RFC 9457) with a stable `type`.
//!
//! Policy: domain errors map to 4xx by variant; database and internal errors become a 500 whose
//! cause chain is logged and never shown. Unique-constraint violations that the domain did not
//! catch become 409.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_PREFIX: &str = "urn:verbund:problem:";

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:verbund:problem:forbidden`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For validation problems: the field that was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] verbund_tenant::Error),
    /// A client error detected in the HTTP layer (bad JSON, content type, size, path).
    #[error("{detail}")]
    Http {
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn http(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self::Http {
            status,
            slug,
            title,
            detail: detail.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::http(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{what} not found"),
        )
    }

    fn parts(
        &self,
    ) -> (
        StatusCode,
        &'static str,
        &'static str,
        Option<String>,
        Option<String>,
    ) {
        use verbund_tenant::Error as E;
        match self {
            ApiError::Domain(e) => match e {
                E::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Authentication required",
                    Some("missing, invalid or expired credentials".into()),
                    None,
                ),
                E::LoginLocked { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "login-locked",
                    "Too many failed logins",
                    Some("logins are locked for a while; try again later".into()),
                    None,
                ),
                E::Overloaded { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "Server busy",
                    Some("too many password checks at once; try again shortly".into()),
                    None,
                ),
                E::Forbidden(why) => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Forbidden",
                    Some((*why).to_owned()),
                    None,
                ),
                E::NotFound(what) => (
                    StatusCode::NOT_FOUND,
                    "not-found",
                    "Not found",
                    Some(format!("{what} not found")),
                    None,
                ),
                E::Invalid { field, reason } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation-failed",
                    "Validation failed",
                    Some(format!("{field} {reason}")),
                    Some(field.clone()),
                ),
                E::Conflict(what) => (
                    StatusCode::CONFLICT,
                    "conflict",
                    "Conflict",
                    Some(what.clone()),
                    None,
                ),
                E::Db(db)
                    if matches!(
                        db.sql_err(),
                        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                    ) =>
                {
                    (
                        StatusCode::CONFLICT,
                        "conflict",
                        "Conflict",
                        Some("the record already exists".into()),
                        None,
                    )
                }
                E::Db(_) | E::Internal(_) => internal(),
            },
            ApiError::Http {
                status,
                slug,
                title,
                detail,
            } => (*status, slug, title, Some(detail.clone()), None),
            ApiError::Internal(_) => internal(),
        }
    }
}

fn internal() -> (
    StatusCode,
    &'static str,
    &'static str,
    Option<String>,
    Option<String>,
) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        Some("the request could not be completed; the error was logged".into()),
        None,
    )
}

/// Builds a problem response.
pub fn problem_response(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: Option<String>,
    field: Option<String>,
) -> HttpResponse {
    let body = Problem {
        kind: format!("{TYPE_PREFIX}{slug}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        field,
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
        .body(serde_json::to_string(&body).unwrap_or_default())
}

/// Writes the whole cause chain, for logs only.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, slug, title, detail, field) = self.parts();
        if status.is_server_error() {
            let cause = match self {
                ApiError::Domain(verbund_tenant::Error::Db(e)) => chain(e),
                ApiError::Internal(e) => format!("{e:#}"),
                other => chain(other),
            };
            tracing::error!(error = %cause, "request failed");
        }
        let mut resp = problem_response(status, slug, title, detail, field);
        match self {
            ApiError::Domain(verbund_tenant::Error::Unauthenticated) => {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"verbund\""),
                );
            }
            ApiError::Domain(
                verbund_tenant::Error::LoginLocked { retry_after_secs }
                | verbund_tenant::Error::Overloaded { retry_after_secs },
            ) => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
