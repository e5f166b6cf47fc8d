use actix_web::{HttpResponse, web};
use verbund_ticketing::contacts::{self, ContactView, NewContact};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, record_tenant};
use crate::state::AppState;

/// Log a handled contact; an unsolved one opens a ticket in the same request.
#[utoipa::path(post, path = "/api/v1/contacts", operation_id = "create_contact", tag = "tickets", security(("bearer" = [])), request_body = NewContact, responses(
    (status = 201, body = ContactView),
    crate::openapi::Problems,
))]
pub async fn create(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    body: Json<NewContact>,
) -> ApiResult<HttpResponse> {
    record_tenant(&body.tenant);
    let view = contacts::log_contact(&state.db, &actor, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}
