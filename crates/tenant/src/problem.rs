//! The registry of problem types: every way a request can fail, with a stable code.
//!
//! Each [`ProblemKind`] has a slug that never changes once released. The server writes it as
//! the `code` member of an `application/problem+json` body and as the suffix of its `type`
//! (`urn:verbund:problem:<slug>`); the OpenAPI document lists every slug, and the README's
//! "Problem types" table is generated from [`markdown_table`] (a test keeps them equal).
//! A client tells "reload" from "not allowed" by the code alone, see [`ClientAction`].
//!
//! The status is a plain number here: this crate knows nothing about HTTP, it only records
//! which status the server answers with.

/// What a client (the UI, an integration) should do when it gets a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAction {
    /// Log in (again) and repeat.
    Authenticate,
    /// Reload the resource: someone else changed it, or it is already in the wanted state.
    Reload,
    /// The request will not succeed as it is: the actor may not, or the state forbids it.
    NotAllowed,
    /// Correct the request (a field, the body, the query) and send it again.
    FixInput,
    /// Send the same request again later (see `Retry-After` where present).
    RetryLater,
}

impl ClientAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticate => "authenticate",
            Self::Reload => "reload",
            Self::NotAllowed => "not allowed",
            Self::FixInput => "fix input",
            Self::RetryLater => "retry later",
        }
    }
}

macro_rules! registry {
    ($( $(#[$doc:meta])* $kind:ident = $slug:literal, $status:literal, $title:literal, $action:ident, $meaning:literal; )*) => {
        /// Every problem type Verbund answers with. See the module documentation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ProblemKind {
            $( $(#[$doc])* $kind, )*
        }

        impl ProblemKind {
            /// Every kind, in the order of the documentation.
            pub const ALL: &'static [ProblemKind] = &[$(ProblemKind::$kind),*];

            /// The stable code (`type` suffix and `code` member).
            pub fn slug(self) -> &'static str {
                match self { $(Self::$kind => $slug,)* }
            }

            /// The HTTP status the server answers with.
            pub fn status(self) -> u16 {
                match self { $(Self::$kind => $status,)* }
            }

            /// A short English title (the problem's `title`).
            pub fn title(self) -> &'static str {
                match self { $(Self::$kind => $title,)* }
            }

            /// What a client should do.
            pub fn action(self) -> ClientAction {
                match self { $(Self::$kind => ClientAction::$action,)* }
            }

            /// One sentence on when this problem occurs.
            pub fn meaning(self) -> &'static str {
                match self { $(Self::$kind => $meaning,)* }
            }
        }
    };
}

registry! {
    // Authentication and access.
    Unauthenticated = "unauthenticated", 401, "Authentication required", Authenticate,
        "The credentials or the token are missing, wrong, expired or revoked.";
    LoginLocked = "login-locked", 429, "Too many failed logins", RetryLater,
        "Too many failed logins for the account or the client address; see Retry-After.";
    Forbidden = "forbidden", 403, "Forbidden", NotAllowed,
        "The user is authenticated but may not do this for this tenant.";
    NotFound = "not-found", 404, "Not found", NotAllowed,
        "The resource does not exist or is not visible to the user.";
    // Input.
    ValidationFailed = "validation-failed", 422, "Validation failed", FixInput,
        "A field was refused; `field` names it and `detail` says why.";
    InvalidBody = "invalid-body", 422, "Invalid request body", FixInput,
        "The JSON body is well-formed but does not have the expected shape.";
    MalformedJson = "malformed-json", 400, "Malformed JSON", FixInput,
        "The body is not JSON.";
    InvalidQuery = "invalid-query", 400, "Invalid query parameters", FixInput,
        "The query string does not parse into the operation's parameters.";
    EmptyBody = "empty-body", 400, "Empty message", FixInput,
        "The request body holds no message.";
    BadRequest = "bad-request", 400, "Bad request", FixInput,
        "The request cannot be read for another reason.";
    BodyTooLarge = "body-too-large", 413, "Request body too large", FixInput,
        "The body is larger than the limit.";
    UnsupportedMediaType = "unsupported-media-type", 415, "Unsupported media type", FixInput,
        "The body is sent with a content type the operation does not take.";
    MethodNotAllowed = "method-not-allowed", 405, "Method not allowed", FixInput,
        "The path exists but not with this method.";
    // Conflicts with the current state (409).
    StaleVersion = "stale-version", 409, "Changed meanwhile", Reload,
        "Someone else changed the resource since the given version; reload it and apply the change again.";
    TicketClosed = "ticket-closed", 409, "Ticket closed", NotAllowed,
        "The ticket is closed: no state changes, notes, call attempts or forwards any more.";
    AlreadyForwarded = "already-forwarded", 409, "Forward pending", Reload,
        "The ticket is forwarded and waits for the receiver to accept or return it.";
    ForwardNotPending = "forward-not-pending", 409, "No pending forward", Reload,
        "The ticket has no forward waiting for a decision (it was accepted or returned meanwhile).";
    Duplicate = "duplicate", 409, "Already exists", FixInput,
        "Something with the same unique key (slug, e-mail, mail address, LeiKa key, external id) already exists.";
    AlreadyAnonymised = "already-anonymised", 409, "Already anonymised", Reload,
        "The ticket's personal data was already removed.";
    PersonalDataRemoved = "personal-data-removed", 409, "Personal data removed", NotAllowed,
        "The data this needs was removed when the ticket was anonymised.";
    AlreadyRevoked = "already-revoked", 409, "Already revoked", Reload,
        "The coverage was already revoked.";
    AlreadyAssigned = "already-assigned", 409, "Already assigned", Reload,
        "The mail already belongs to a ticket.";
    StillProcessing = "still-processing", 409, "Still processing", RetryLater,
        "The mail is still being processed; try again in a moment.";
    InvalidStateTransition = "invalid-state-transition", 409, "Not possible in this state", Reload,
        "The resource's current state does not allow this change (e.g. a ticket cannot go back to new, a published description is already published).";
    NotApplicable = "not-applicable", 409, "Not applicable", NotAllowed,
        "The action does not apply to this resource (e.g. a call attempt on an e-mail ticket).";
    InUse = "in-use", 409, "Still in use", NotAllowed,
        "The resource is still in use; remove the uses first.";
    OwnAccount = "own-account", 409, "Not on your own account", NotAllowed,
        "Users cannot deactivate their own account.";
    NoServiceHours = "no-service-hours", 409, "No service hours", NotAllowed,
        "The tenant's service calendar has no service hours, so no due date can be computed; a tenant admin must set them.";
    // The server.
    Overloaded = "overloaded", 503, "Server busy", RetryLater,
        "Too many password checks at once; nothing was done. See Retry-After.";
    DatabaseUnavailable = "database-unavailable", 503, "Database unavailable", RetryLater,
        "The database does not answer; nothing was done. See Retry-After.";
    IngestDisabled = "ingest-disabled", 503, "Ingest disabled", NotAllowed,
        "No ingest token is configured on this server.";
    NotReady = "not-ready", 503, "Not ready", RetryLater,
        "Readiness check: the database does not answer.";
    Internal = "internal", 500, "Internal error", RetryLater,
        "An unexpected error; it was logged with its cause, which is never shown to the client.";
}

impl ProblemKind {
    /// The kind with this slug.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.slug() == slug)
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.slug())
    }
}

/// The registry as a Markdown table (README "Problem types", OpenAPI description).
pub fn markdown_table() -> String {
    let mut out = String::from("| code | status | meaning | client should |\n|---|---|---|---|\n");
    for k in ProblemKind::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.slug(),
            k.status(),
            k.meaning(),
            k.action().as_str()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for k in ProblemKind::ALL {
            assert!(seen.insert(k.slug()), "duplicate slug {}", k.slug());
            assert!(
                k.slug().chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                k.slug()
            );
            assert_eq!(ProblemKind::from_slug(k.slug()), Some(*k));
            assert!((400..600).contains(&k.status()));
        }
    }

    /// The README's table is the registry's table.
    #[test]
    fn readme_lists_every_problem_type() {
        let readme = include_str!("../../../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README.md's \"Problem types\" table differs from the registry; paste:\n{}",
            markdown_table()
        );
    }
}
