use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use sea_orm::ConnectionTrait;

use crate::error::problem_response;
use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "alive")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "the database does not answer", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ping = state.db.execute_unprepared("SELECT 1").await;
    match ping {
        Ok(_) => {
            HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "database": "ok" }))
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            problem_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                "Not ready",
                Some("the database does not answer".into()),
                None,
            )
        }
    }
}
