//! Full-text search for agents.

use actix_web::{HttpResponse, web};
use verbund_knowledge::search::{self, SearchParams, SearchResults};

use crate::error::ApiResult;
use crate::extract::{Auth, Query};
use crate::state::AppState;

/// Search descriptions: German stemming, synonyms, one typo on longer words, prefix matching
/// of the last word. Default tenants: those the user works for; `tenant=all` adds the
/// published descriptions of every other tenant (ranked after the own ones).
#[utoipa::path(get, path = "/api/v1/search", tag = "knowledge", security(("bearer" = [])), params(SearchParams), responses(
    (status = 200, body = SearchResults),
    crate::openapi::Problems,
))]
pub async fn search(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    query: Query<Vec<(String, String)>>,
) -> ApiResult<HttpResponse> {
    let params = SearchParams::from_pairs(query.into_inner())?;
    Ok(HttpResponse::Ok().json(search::search(&state.db, &state.search, &actor, params).await?))
}
