//! The error type of the tenant crate. The server maps each variant to one stable
//! problem type; nothing here knows about HTTP.

use sea_orm::DbErr;

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
    /// The request conflicts with existing state (duplicate slug, e-mail, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error")]
    Db(#[from] DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Turns a unique-constraint violation into `Conflict`, keeping every other error.
    pub fn from_db_unique(err: DbErr, what: &str) -> Self {
        if matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
            Self::Conflict(format!("{what} already exists"))
        } else {
            Self::Db(err)
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
