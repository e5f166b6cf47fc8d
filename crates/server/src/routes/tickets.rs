use actix_web::{HttpResponse, web};
use verbund_ticketing::forward::{self, ForwardDecision, ForwardRequest};
use verbund_ticketing::tickets::{
    self, EventView, NewCallAttempt, NewNote, NewTicket, NoteView, TicketPage, TicketPatch,
    TicketQuery, TicketView,
};

use verbund_ticketing::ticket_filter::CommaList;

use crate::error::ApiResult;
use crate::extract::{Auth, Json, ListQuery, TenantPath, TicketPath, ticket_response};
use crate::state::AppState;

/// Open a ticket for a tenant directly (e.g. from a letter).
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/tickets", operation_id = "create_ticket", tag = "tickets", security(("bearer" = [])), params(("slug" = String, Path)), request_body = NewTicket, responses(
    (status = 201, body = TicketView),
    crate::openapi::Problems,
))]
pub async fn create(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    body: Json<NewTicket>,
) -> ApiResult<HttpResponse> {
    let view = tickets::create_ticket(&state.db, &actor, &tenant.slug, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/tickets/{}", view.id)))
        .json(view))
}

/// The ticket queue: the user's tenants' tickets and those forwarded to or from them.
#[utoipa::path(get, path = "/api/v1/tickets", operation_id = "list_tickets", tag = "tickets", security(("bearer" = [])), params(TicketQuery), responses(
    (status = 200, body = TicketPage),
    crate::openapi::Problems,
))]
pub async fn list(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    query: ListQuery<TicketQuery>,
) -> ApiResult<HttpResponse> {
    Ok(
        HttpResponse::Ok()
            .json(tickets::list_tickets(&state.db, &actor, query.into_inner()).await?),
    )
}

/// One ticket.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", operation_id = "get_ticket", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), responses(
    (status = 200, body = TicketView),
    crate::openapi::Problems,
))]
pub async fn get(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
) -> ApiResult<HttpResponse> {
    Ok(ticket_response(
        HttpResponse::Ok(),
        tickets::get_ticket(&state.db, &actor, ticket).await?,
    ))
}

/// Change a ticket. Send the `version` you read; a stale one gives 409.
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", operation_id = "update_ticket", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), request_body = TicketPatch, responses(
    (status = 200, body = TicketView),
    crate::openapi::Problems,
))]
pub async fn update(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
    body: Json<TicketPatch>,
) -> ApiResult<HttpResponse> {
    Ok(ticket_response(
        HttpResponse::Ok(),
        tickets::update_ticket(&state.db, &actor, ticket, body.into_inner()).await?,
    ))
}

/// The notes the user may read: messages to the citizen, and the own tenants' internal notes.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/notes", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), responses(
    (status = 200, body = [NoteView]),
    crate::openapi::Problems,
))]
pub async fn notes(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tickets::list_notes(&state.db, &actor, ticket).await?))
}

/// Add an internal note or a message to the citizen.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/notes", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), request_body = NewNote, responses(
    (status = 201, body = NoteView),
    crate::openapi::Problems,
))]
pub async fn add_note(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
    body: Json<NewNote>,
) -> ApiResult<HttpResponse> {
    let note = tickets::add_note(&state.db, &actor, ticket, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(note))
}

/// Log a callback attempt: reached, not reached, mailbox.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/call-attempts", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), request_body = NewCallAttempt, responses(
    (status = 201, body = TicketView),
    crate::openapi::Problems,
))]
pub async fn call_attempt(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
    body: Json<NewCallAttempt>,
) -> ApiResult<HttpResponse> {
    Ok(ticket_response(
        HttpResponse::Created(),
        tickets::record_call(&state.db, &actor, ticket, body.into_inner()).await?,
    ))
}

/// The whole history of a ticket.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/history", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), responses(
    (status = 200, body = [EventView]),
    crate::openapi::Problems,
))]
pub async fn history(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tickets::history(&state.db, &actor, ticket).await?))
}

/// Forward a ticket to another tenant or to a back-office unit; the due date stays.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/forward", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), request_body = ForwardRequest, responses(
    (status = 200, body = TicketView),
    crate::openapi::Problems,
))]
pub async fn forward(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
    body: Json<ForwardRequest>,
) -> ApiResult<HttpResponse> {
    Ok(ticket_response(
        HttpResponse::Ok(),
        forward::forward(&state.db, &actor, ticket, body.into_inner()).await?,
    ))
}

/// Accept a ticket forwarded to the user's tenant.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/accept", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), request_body = ForwardDecision, responses(
    (status = 200, body = TicketView),
    crate::openapi::Problems,
))]
pub async fn accept(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
    body: Json<ForwardDecision>,
) -> ApiResult<HttpResponse> {
    Ok(ticket_response(
        HttpResponse::Ok(),
        forward::accept(&state.db, &actor, ticket, body.into_inner()).await?,
    ))
}

/// Return a forwarded ticket to the tenant it came from, with a reason.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/return", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), request_body = ForwardDecision, responses(
    (status = 200, body = TicketView),
    crate::openapi::Problems,
))]
pub async fn return_ticket(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
    body: Json<ForwardDecision>,
) -> ApiResult<HttpResponse> {
    Ok(ticket_response(
        HttpResponse::Ok(),
        forward::return_ticket(&state.db, &actor, ticket, body.into_inner()).await?,
    ))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// The answer to the citizen.
    pub body: String,
}

/// Answer the citizen: a message on the ticket, which marks it answered.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number or id")), request_body = NewMessage, responses(
    (status = 201, body = NoteView),
    crate::openapi::Problems,
))]
pub async fn add_message(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
    body: Json<NewMessage>,
) -> ApiResult<HttpResponse> {
    let note = NewNote {
        kind: verbund_ticketing::model::NoteKind::Message,
        body: body.into_inner().body,
    };
    let view = tickets::add_note(&state.db, &actor, ticket, note).await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    pub version: i32,
}

/// Close a ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/close", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number or id")), request_body = CloseRequest, responses(
    (status = 200, body = TicketView),
    crate::openapi::Problems,
))]
pub async fn close(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
    body: Json<CloseRequest>,
) -> ApiResult<HttpResponse> {
    let patch = TicketPatch {
        version: body.version,
        state: Some(verbund_ticketing::model::TicketState::Closed),
        assignee_id: None,
        priority: None,
        subject: None,
        answer_channel: None,
    };
    Ok(ticket_response(
        HttpResponse::Ok(),
        tickets::update_ticket(&state.db, &actor, ticket, patch).await?,
    ))
}

/// The tickets of one tenant (same filters as `/api/v1/tickets`).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/tickets", operation_id = "list_tenant_tickets", tag = "tickets", security(("bearer" = [])), params(("slug" = String, Path), TicketQuery), responses(
    (status = 200, body = TicketPage),
    crate::openapi::Problems,
))]
pub async fn list_for_tenant(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    query: ListQuery<TicketQuery>,
) -> ApiResult<HttpResponse> {
    actor.authorize(verbund_tenant::Permission::ViewTickets, tenant.id)?;
    let mut q = query.into_inner();
    q.tenant = Some(CommaList(vec![tenant.slug]));
    Ok(HttpResponse::Ok().json(tickets::list_tickets(&state.db, &actor, q).await?))
}

/// Where the ticket can be forwarded: the other active tenants by name and the back-office
/// units of its tenant (those that work the ticket).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/forward-targets", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), responses(
    (status = 200, body = forward::ForwardTargets),
    crate::openapi::Problems,
))]
pub async fn forward_targets(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
) -> ApiResult<HttpResponse> {
    let targets = forward::targets(&state.db, &actor, ticket).await?;
    Ok(HttpResponse::Ok().json(targets))
}

/// Who changed the ticket last, and when (after a `stale-version` conflict: "changed meanwhile
/// by …"); 204 for a ticket without history.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/last-change", tag = "tickets", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number (KO-2026-000123) or id")), responses(
    (status = 200, body = tickets::LastChange),
    (status = 204, description = "the ticket has no history"),
    crate::openapi::Problems,
))]
pub async fn last_change(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
) -> ApiResult<HttpResponse> {
    Ok(
        match tickets::last_change(&state.db, &actor, ticket).await? {
            Some(c) => HttpResponse::Ok().json(c),
            None => HttpResponse::NoContent().finish(),
        },
    )
}
