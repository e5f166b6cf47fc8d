//! The e-mail channel over HTTP: the MTA pipe, the mail queues that need a human, the
//! tenant's outbox and IMAP mailboxes, and the mails of a ticket.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};
use verbund_email::ingest::{self, Ingested, Source};
use verbund_email::mailboxes::{self, MailboxInput, MailboxPatch, MailboxView};
use verbund_email::queue::{self, AssignInbound, InboundQuery, InboundView};
use verbund_ticketing::mail::{self, OutboxQuery, OutboxView, TicketMailView};
use verbund_ticketing::tickets;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json, Query, TenantPath, TicketPath, uuid_or_404};
use crate::state::AppState;

fn unauthenticated() -> ApiError {
    ApiError::http(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Authentication required",
        "a valid ingest token is required",
    )
}

/// Compares the bearer token with the configured ingest token in constant time (over the
/// digests).
fn check_ingest_token(state: &AppState, req: &HttpRequest) -> ApiResult<()> {
    use secrecy::ExposeSecret;
    let Some(expected) = &state.settings.ingest_token else {
        return Err(ApiError::http(
            StatusCode::SERVICE_UNAVAILABLE,
            "ingest-disabled",
            "Ingest disabled",
            "no ingest token is configured (VERBUND_INGEST_TOKEN)",
        ));
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthenticated)?;
    let a = Sha256::digest(given.trim().as_bytes());
    let b = Sha256::digest(expected.expose_secret().as_bytes());
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    if diff == 0 && !expected.expose_secret().is_empty() {
        Ok(())
    } else {
        Err(unauthenticated())
    }
}

/// Raw inbound mail from the MTA (`message/rfc822`). The message is stored before the answer;
/// 201 when it was new, 200 when the same message was delivered before.
#[utoipa::path(post, path = "/api/v1/inbound/raw", tag = "mail", security(("ingest" = [])), request_body(content = String, content_type = "message/rfc822"), responses(
    (status = 201, body = Ingested),
    (status = 200, body = Ingested, description = "the same message was stored before"),
    crate::openapi::Problems,
))]
pub async fn inbound_raw(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    check_ingest_token(&state, &req)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if content_type != "message/rfc822" {
        return Err(ApiError::http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the mail as message/rfc822",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::http(
            StatusCode::BAD_REQUEST,
            "empty-body",
            "Empty message",
            "the request body holds no message",
        ));
    }
    let result = ingest::ingest(&state.db, &body, Source::Mta).await?;
    let status = if result.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(HttpResponse::build(status).json(result))
}

/// Inbound mail that needs a human: the catch-all (operators, without `tenant`) or a tenant's
/// mail (its responders and admins).
#[utoipa::path(get, path = "/api/v1/inbound", tag = "mail", security(("bearer" = [])), params(InboundQuery), responses(
    (status = 200, body = [InboundView]),
    crate::openapi::Problems,
))]
pub async fn inbound_list(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    q: Query<InboundQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(queue::list(&state.db, &actor, q.into_inner()).await?))
}

/// The raw message as it arrived.
#[utoipa::path(get, path = "/api/v1/inbound/{id}/raw", tag = "mail", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), responses(
    (status = 200, content_type = "message/rfc822", body = String),
    crate::openapi::Problems,
    (status = 409, description = "the raw message was removed (anonymised)", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn inbound_raw_get(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = uuid_or_404(&id, "mail")?;
    let raw = queue::raw(&state.db, &actor, id).await?;
    Ok(HttpResponse::Ok()
        .content_type("message/rfc822")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"mail.eml\"",
        ))
        .body(raw))
}

/// Hand a mail without a ticket to a tenant (operators); it is processed for that tenant.
#[utoipa::path(post, path = "/api/v1/inbound/{id}/assign", tag = "mail", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), request_body = AssignInbound, responses(
    (status = 200, body = InboundView),
    crate::openapi::Problems,
))]
pub async fn inbound_assign(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<String>,
    body: Json<AssignInbound>,
) -> ApiResult<HttpResponse> {
    let id = uuid_or_404(&id, "mail")?;
    Ok(HttpResponse::Ok().json(queue::assign(&state.db, &actor, id, body.into_inner()).await?))
}

/// A tenant's outbox, newest first (its responders and admins).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/outbox", tag = "mail", security(("bearer" = [])), params(("slug" = String, Path), OutboxQuery), responses(
    (status = 200, body = [OutboxView]),
    crate::openapi::Problems,
))]
pub async fn outbox_list(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    q: Query<OutboxQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(mail::list_outbox(&state.db, &actor, &tenant.slug, q.into_inner()).await?))
}

/// Send a failed or bounced mail again.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/outbox/{id}/retry", tag = "mail", security(("bearer" = [])), params(("slug" = String, Path), ("id" = uuid::Uuid, Path)), responses(
    (status = 200, body = OutboxView),
    crate::openapi::Problems,
))]
pub async fn outbox_retry(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let id = uuid_or_404(&id, "mail")?;
    Ok(HttpResponse::Ok().json(mail::retry(&state.db, &actor, &tenant.slug, id).await?))
}

/// The tenant's IMAP mailboxes (tenant admins). Secrets are never shown.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/mailboxes", tag = "mail", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = [MailboxView]),
    crate::openapi::Problems,
))]
pub async fn mailbox_list(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mailboxes::list(&state.db, &actor, &tenant.slug).await?))
}

/// Add an IMAP mailbox to poll.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/mailboxes", tag = "mail", security(("bearer" = [])), params(("slug" = String, Path)), request_body = MailboxInput, responses(
    (status = 201, body = MailboxView),
    crate::openapi::Problems,
))]
pub async fn mailbox_create(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    body: Json<MailboxInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(mailboxes::create(&state.db, &actor, &tenant.slug, body.into_inner()).await?))
}

/// Change a mailbox.
#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/mailboxes/{id}", tag = "mail", security(("bearer" = [])), params(("slug" = String, Path), ("id" = uuid::Uuid, Path)), request_body = MailboxPatch, responses(
    (status = 200, body = MailboxView),
    crate::openapi::Problems,
))]
pub async fn mailbox_update(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
    body: Json<MailboxPatch>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let id = uuid_or_404(&id, "mailbox")?;
    Ok(HttpResponse::Ok()
        .json(mailboxes::update(&state.db, &actor, &tenant.slug, id, body.into_inner()).await?))
}

/// Remove a mailbox.
#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/mailboxes/{id}", tag = "mail", security(("bearer" = [])), params(("slug" = String, Path), ("id" = uuid::Uuid, Path)), responses(
    (status = 204),
    crate::openapi::Problems,
))]
pub async fn mailbox_delete(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let id = uuid_or_404(&id, "mailbox")?;
    mailboxes::delete(&state.db, &actor, &tenant.slug, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The mail conversation of a ticket: the citizen's mails (new text, quoted part, flags,
/// attachments) and ours with their delivery state.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/mails", tag = "mail", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number or id")), responses(
    (status = 200, body = [TicketMailView]),
    crate::openapi::Problems,
))]
pub async fn ticket_mails(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(mail::ticket_mails(&state.db, &actor, ticket).await?))
}

/// One attachment of a ticket's mail.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/attachments/{attachment}", tag = "mail", security(("bearer" = [])), params(("id" = String, Path), ("attachment" = uuid::Uuid, Path)), responses(
    (status = 200, content_type = "application/octet-stream", body = Vec<u8>),
    crate::openapi::Problems,
))]
pub async fn attachment(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (key, aid) = path.into_inner();
    let id = tickets::resolve(&state.db, &key).await?;
    let aid = uuid_or_404(&aid, "attachment")?;
    let a = mail::attachment(&state.db, &actor, id, aid).await?;
    let name = a
        .filename
        .as_deref()
        .unwrap_or("anhang")
        .replace(['"', '\\', '\r', '\n'], "_");
    // Served as a download, never rendered inline: the content comes from outside.
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(a.data.unwrap_or_default()))
}

/// Test a mailbox's stored settings now: connect, log in, open the folder read-only (tenant
/// admins). Changes nothing; the answer says whether it worked and, if not, why in German.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/mailboxes/{id}/test", tag = "mail", security(("bearer" = [])), params(("slug" = String, Path), ("id" = uuid::Uuid, Path)), responses(
    (status = 200, body = mailboxes::ConnectionCheck),
    crate::openapi::Problems,
))]
pub async fn mailbox_test(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let id = uuid_or_404(&id, "mailbox")?;
    let settings = mailboxes::PollSettings {
        connect_timeout: std::time::Duration::from_secs(
            state.settings.mailbox_connect_timeout_seconds.max(1),
        ),
        command_timeout: std::time::Duration::from_secs(
            state.settings.mailbox_timeout_seconds.max(1),
        ),
        ..mailboxes::PollSettings::default()
    };
    Ok(HttpResponse::Ok()
        .json(mailboxes::test_connection(&state.db, &actor, &tenant.slug, id, &settings).await?))
}
