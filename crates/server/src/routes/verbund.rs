//! The Verbund level (operators and coordinators): the cross-tenant forwarding traffic per
//! pair of tenants, and the forwarded tickets at risk now. JSON, or CSV with `Accept: text/csv`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use verbund_ticketing::verbund::{self, ForwardedAtRisk, VerbundQuery, VerbundReport};

use crate::error::ApiResult;
use crate::extract::{Auth, Query};
use crate::state::AppState;

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"))
}

fn csv(body: String, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}

/// Forwards between tenants per pair (from, to) in a period: sent and received, accepted,
/// returned, still waiting and not accepted in time, the median time to acceptance (service
/// hours of the receiver) and the share answered in time. No citizen data. Operators and
/// coordinators only.
#[utoipa::path(get, path = "/api/v1/verbund/forwards", tag = "operations", security(("bearer" = [])), params(VerbundQuery), responses(
    (status = 200, description = "The report: JSON, or CSV (one row per pair) with `Accept: text/csv`", content(
        (VerbundReport = "application/json"),
        (String = "text/csv"),
    )),
    crate::openapi::Problems,
))]
pub async fn forwards(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(actor): Auth,
    q: Query<VerbundQuery>,
) -> ApiResult<HttpResponse> {
    let report = verbund::report(&state.db, &actor, q.into_inner()).await?;
    if wants_csv(&req) {
        let name = format!("weiterleitungen-{}-{}.csv", report.from, report.to);
        Ok(csv(verbund::report_csv(&report)?, &name))
    } else {
        Ok(HttpResponse::Ok().json(report))
    }
}

/// The forwarded tickets at risk or overdue now, soonest due first: number, tenants, due date
/// and state, no citizen data. Operators and coordinators only.
#[utoipa::path(get, path = "/api/v1/verbund/forwards/at-risk", tag = "operations", security(("bearer" = [])), responses(
    (status = 200, description = "The list: JSON, or CSV with `Accept: text/csv`", content(
        ([ForwardedAtRisk] = "application/json"),
        (String = "text/csv"),
    )),
    crate::openapi::Problems,
))]
pub async fn forwards_at_risk(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(actor): Auth,
) -> ApiResult<HttpResponse> {
    let rows = verbund::at_risk(&state.db, &actor).await?;
    if wants_csv(&req) {
        Ok(csv(
            verbund::at_risk_csv(&rows)?,
            "weiterleitungen-gefaehrdet.csv",
        ))
    } else {
        Ok(HttpResponse::Ok().json(rows))
    }
}
