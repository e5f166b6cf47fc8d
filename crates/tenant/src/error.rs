//! The error type of the tenant crate. Every error has one stable problem type from the
//! registry in [`crate::problem`] ([`Error::kind`]); the server renders it. Nothing here knows
//! about HTTP.
//!
//! Policy: a failure the client can act on is a domain variant with its own kind
//! (`Conflict(kind, detail)` for the 409 family). Database and internal errors keep their
//! source (`Db(DbErr)`, `Internal { context, source }`) so the log shows the whole chain; the
//! client sees only the generic problem, never the source text.

use sea_orm::DbErr;

pub use crate::problem::ProblemKind;

/// A boxed source error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The credentials or token do not identify an active session.
    #[error("not authenticated")]
    Unauthenticated,
    /// Too many failed logins for this account or client address.
    #[error("login temporarily locked")]
    LoginLocked { retry_after_secs: u64 },
    /// Too much password hashing in progress: the request was not processed (nothing checked,
    /// nothing changed); try again shortly.
    #[error("busy hashing passwords")]
    Overloaded { retry_after_secs: u64 },
    /// The actor is authenticated but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The thing does not exist (or is not visible to the actor).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field failed validation. `field` names the JSON field.
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The request conflicts with existing state; the kind says how (stale version, closed
    /// ticket, duplicate, ...), the text says it to a human.
    #[error("conflict ({0}): {1}")]
    Conflict(ProblemKind, String),
    #[error("database error")]
    Db(#[from] DbErr),
    /// A bug or an unexpected failure: `context` says what was being done, `source` why it
    /// failed. Both go to the log only.
    #[error("internal error: {context}")]
    Internal {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A conflict with the current state, of the given kind.
    pub fn conflict(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self::Conflict(kind, detail.into())
    }

    /// An internal error caused by `source`; `context` says what was being done.
    pub fn internal(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Internal {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// An internal error without an underlying error (a broken invariant).
    pub fn bug(context: impl Into<String>) -> Self {
        Self::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// The problem type of this error.
    pub fn kind(&self) -> ProblemKind {
        match self {
            Self::Unauthenticated => ProblemKind::Unauthenticated,
            Self::LoginLocked { .. } => ProblemKind::LoginLocked,
            Self::Overloaded { .. } => ProblemKind::Overloaded,
            Self::Forbidden(_) => ProblemKind::Forbidden,
            Self::NotFound(_) => ProblemKind::NotFound,
            Self::Invalid { .. } => ProblemKind::ValidationFailed,
            Self::Conflict(kind, _) => *kind,
            Self::Db(e) if is_unique_violation(e) => ProblemKind::Duplicate,
            Self::Db(e) if is_unavailable(e) => ProblemKind::DatabaseUnavailable,
            Self::Db(_) | Self::Internal { .. } => ProblemKind::Internal,
        }
    }

    /// Turns a unique-constraint violation into a `duplicate` conflict, keeping every other
    /// error.
    pub fn from_db_unique(err: DbErr, what: &str) -> Self {
        if is_unique_violation(&err) {
            Self::Conflict(ProblemKind::Duplicate, format!("{what} already exists"))
        } else {
            Self::Db(err)
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Whether the database is unreachable or unusable for now (not: the query was wrong). The
/// client can retry later; nothing was done.
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(s))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(s)) => match s.as_ref() {
            Sqlx::Io(_)
            | Sqlx::Tls(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::WorkerCrashed => true,
            Sqlx::Database(d) => {
                let sqlite = d.try_downcast_ref::<sea_orm::SqlxSqliteError>().is_some();
                d.code().is_some_and(|c| unavailable_code(sqlite, &c))
            }
            _ => false,
        },
        _ => false,
    }
}

/// SQLite result codes and PostgreSQL SQLSTATEs that mean "the database is not available".
fn unavailable_code(sqlite: bool, code: &str) -> bool {
    if sqlite {
        // Extended result codes, by their primary code: BUSY, LOCKED, IOERR, FULL, CANTOPEN.
        return code
            .parse::<i32>()
            .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14));
    }
    // Connection exceptions (08xxx), shutdown / cannot connect now (57P01-57P03), the
    // database was dropped (3D000), too many connections (53300).
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "3D000" | "53300")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_internal_error_keeps_its_source_chain() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::internal("writing the export", io);
        assert_eq!(e.to_string(), "internal error: writing the export");
        let source = e.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("disk on fire"));
        assert_eq!(e.kind(), ProblemKind::Internal);
    }

    #[test]
    fn a_closed_pool_is_database_unavailable() {
        let e = Error::Db(DbErr::ConnectionAcquire(
            sea_orm::error::ConnAcquireErr::ConnectionClosed,
        ));
        assert_eq!(e.kind(), ProblemKind::DatabaseUnavailable);
        let e = Error::Db(DbErr::Query(sea_orm::RuntimeErr::SqlxError(
            std::sync::Arc::new(sea_orm::sqlx::Error::PoolClosed),
        )));
        assert_eq!(e.kind(), ProblemKind::DatabaseUnavailable);
        assert_eq!(
            Error::Db(DbErr::Custom("bad".into())).kind(),
            ProblemKind::Internal
        );
    }

    #[test]
    fn unavailable_codes() {
        assert!(unavailable_code(false, "08006"));
        assert!(unavailable_code(false, "57P01"));
        assert!(unavailable_code(true, "5")); // SQLITE_BUSY
        assert!(unavailable_code(true, "517")); // SQLITE_BUSY_SNAPSHOT
        assert!(!unavailable_code(false, "23505")); // unique violation
        assert!(!unavailable_code(true, "2067")); // SQLITE_CONSTRAINT_UNIQUE
        assert!(!unavailable_code(false, "42P01"));
        assert!(!unavailable_code(false, "00005"));
    }
}
