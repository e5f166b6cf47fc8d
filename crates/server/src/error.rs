//! Every error leaves the server as `application/problem+json` (RFC 9457) with a stable `type`.
//!
//! Policy: every domain error has one kind from the registry (`verbund_tenant::problem`),
//! which gives the status, the `type`/`code` and the title. Database and internal errors become
//! a 500 whose cause chain is logged and never shown; a database that does not answer is a 503
//! `database-unavailable` with `Retry-After`. Unique-constraint violations that the domain did
//! not catch become 409 `duplicate`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;
use verbund_tenant::ProblemKind;

pub const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_PREFIX: &str = "urn:verbund:problem:";

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:verbund:problem:forbidden`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The problem's stable code (the suffix of `type`), one of the registry's codes: see the
    /// table in the API description.
    pub code: String,
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
            ApiError::Domain(e) => {
                let kind = e.kind();
                let (detail, field) = match e {
                    E::Unauthenticated => ("missing, invalid or expired credentials".into(), None),
                    E::LoginLocked { .. } => (
                        "logins are locked for a while; try again later".into(),
                        None,
                    ),
                    E::Overloaded { .. } => (
                        "too many password checks at once; try again shortly".into(),
                        None,
                    ),
                    E::Forbidden(why) => ((*why).to_owned(), None),
                    E::NotFound(what) => (format!("{what} not found"), None),
                    E::Invalid { field, reason } => {
                        (format!("{field} {reason}"), Some(field.clone()))
                    }
                    E::Conflict(_, what) => (what.clone(), None),
                    // Never the database's or the source's text: only what the kind says.
                    E::Db(_) | E::Internal { .. } => (
                        match kind {
                            ProblemKind::Duplicate => "the record already exists",
                            ProblemKind::DatabaseUnavailable => {
                                "the database does not answer; nothing was changed, try again \
                                 shortly"
                            }
                            _ => INTERNAL_DETAIL,
                        }
                        .into(),
                        None,
                    ),
                };
                let status = StatusCode::from_u16(kind.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, kind.slug(), kind.title(), Some(detail), field)
            }
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

const INTERNAL_DETAIL: &str = "the request could not be completed; the error was logged";

/// How long a client should wait before retrying when the database does not answer.
const DATABASE_RETRY_AFTER_SECS: u64 = 5;

fn internal() -> (
    StatusCode,
    &'static str,
    &'static str,
    Option<String>,
    Option<String>,
) {
    let k = ProblemKind::Internal;
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        k.slug(),
        k.title(),
        Some(INTERNAL_DETAIL.into()),
        None,
    )
}

/// Builds a problem response. `slug` is one of the registry's codes ([`ProblemKind`]).
pub fn problem_response(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: Option<String>,
    field: Option<String>,
) -> HttpResponse {
    debug_assert!(
        ProblemKind::from_slug(slug).is_some(),
        "problem code {slug} is not in the registry (verbund_tenant::problem)"
    );
    let body = Problem {
        kind: format!("{TYPE_PREFIX}{slug}"),
        code: slug.to_owned(),
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
            // The whole cause chain goes to the log, none of it to the client.
            let cause = match self {
                ApiError::Domain(verbund_tenant::Error::Db(e)) => chain(e),
                ApiError::Internal(e) => format!("{e:#}"),
                other => chain(other),
            };
            tracing::error!(error.code = slug, error.chain = %cause, "request failed");
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
            ApiError::Domain(e) if e.kind() == ProblemKind::DatabaseUnavailable => {
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(DATABASE_RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    async fn render(err: ApiError) -> (HttpResponse, String, String) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let resp = tracing::subscriber::with_default(subscriber, || err.error_response());
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let (resp, body) = resp.into_parts();
        let body = actix_web::body::to_bytes(body).await.unwrap();
        (
            resp.set_body(()).map_into_boxed_body(),
            String::from_utf8(body.to_vec()).unwrap(),
            log,
        )
    }

    #[actix_web::test]
    async fn an_internal_error_logs_its_source_chain_and_shows_none_of_it() {
        let source = std::io::Error::other("disk /srv/secret-path is on fire");
        let err = verbund_tenant::Error::internal("writing the CSV report", source);
        let (resp, body, log) = render(ApiError::from(err)).await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["type"], "urn:verbund:problem:internal");
        assert_eq!(json["code"], "internal");
        assert!(!body.contains("secret-path"), "{body}");
        assert!(!body.contains("CSV"), "{body}");
        assert!(log.contains("writing the CSV report"), "{log}");
        assert!(log.contains("disk /srv/secret-path is on fire"), "{log}");
    }

    #[actix_web::test]
    async fn a_database_that_does_not_answer_is_503_with_retry_after() {
        let db = sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "connection refused by 10.0.0.7:5432".into(),
        ));
        let (resp, body, log) = render(ApiError::from(verbund_tenant::Error::Db(db))).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            resp.headers().get(header::RETRY_AFTER).unwrap(),
            &HeaderValue::from(DATABASE_RETRY_AFTER_SECS)
        );
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["code"], "database-unavailable");
        assert!(!body.contains("10.0.0.7"), "{body}");
        assert!(log.contains("10.0.0.7"), "{log}");
    }

    #[test]
    fn every_domain_conflict_kind_keeps_its_code() {
        for kind in ProblemKind::ALL {
            let err = ApiError::from(verbund_tenant::Error::conflict(*kind, "why"));
            let (status, slug, title, detail, _) = err.parts();
            assert_eq!(status.as_u16(), kind.status());
            assert_eq!(slug, kind.slug());
            assert_eq!(title, kind.title());
            assert_eq!(detail.as_deref(), Some("why"));
        }
    }
}
