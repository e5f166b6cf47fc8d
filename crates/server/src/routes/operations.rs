//! Operating the service promise: coverage between centers, notifications, reports, text
//! modules, anonymisation and the personal-data access log.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use verbund_tenant::coverage::{self, CoverageView, NewCoverage};
use verbund_ticketing::notifications::{self, NotificationView};
use verbund_ticketing::privacy::{self, AccessLogEntry, AccessLogQuery, AnonymizeRequest};
use verbund_ticketing::reports::{self, Report, ReportQuery};
use verbund_ticketing::templates::{self, TemplateInput, TemplateView};
use verbund_ticketing::tickets::TicketView;

use crate::error::ApiResult;
use crate::extract::{Auth, Json, Query, TenantPath, TicketPath, ticket_response, uuid_or_404};
use crate::state::AppState;

/// Let another center act for the tenant for a period (tenant admins).
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/coverages", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path)), request_body = NewCoverage, responses(
    (status = 201, body = CoverageView),
    crate::openapi::Problems,
))]
pub async fn create_coverage(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    body: Json<NewCoverage>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(coverage::create_coverage(&state.db, &actor, &tenant.slug, body.into_inner()).await?))
}

/// The tenant's coverages, current and past.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/coverages", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = [CoverageView]),
    crate::openapi::Problems,
))]
pub async fn list_coverages(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(coverage::list_coverages(&state.db, &actor, &tenant.slug).await?))
}

/// End a coverage early.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/coverages/{id}/revoke", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path), ("id" = uuid::Uuid, Path)), responses(
    (status = 200, body = CoverageView),
    crate::openapi::Problems,
))]
pub async fn revoke_coverage(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let id = uuid_or_404(&id, "coverage")?;
    Ok(HttpResponse::Ok()
        .json(coverage::revoke_coverage(&state.db, &actor, &tenant.slug, id).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// Only unread ones.
    pub unread: Option<bool>,
}

/// The user's notifications: personal ones and those of the queues they work.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "operations", security(("bearer" = [])), params(NotificationQuery), responses(
    (status = 200, body = [NotificationView]),
    crate::openapi::Problems,
))]
pub async fn list_notifications(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    q: Query<NotificationQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(notifications::list(&state.db, &actor, q.unread.unwrap_or(false)).await?))
}

/// Mark a notification as read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "operations", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)), responses(
    (status = 204, description = "marked"),
    crate::openapi::Problems,
))]
pub async fn read_notification(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    notifications::mark_read(&state.db, &actor, uuid_or_404(&id, "notification")?).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"))
}

fn report_response(req: &HttpRequest, report: Report) -> ApiResult<HttpResponse> {
    if wants_csv(req) {
        let body = reports::to_csv(&report)?;
        Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"bericht-{}-{}-{}.csv\"",
                    report.slug, report.from, report.to
                ),
            ))
            .body(body))
    } else {
        Ok(HttpResponse::Ok().json(report))
    }
}

/// The tenant's report by day or month (JSON, or CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/reports", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path), ReportQuery), responses(
    (status = 200, description = "The report: JSON, or CSV (one row per period and a total) with `Accept: text/csv`", content(
        (Report = "application/json"),
        (String = "text/csv"),
    )),
    crate::openapi::Problems,
))]
pub async fn tenant_report(
    state: web::Data<AppState>,
    req: HttpRequest,
    TenantPath { actor, tenant }: TenantPath,
    q: Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let report = reports::tenant_report(&state.db, &actor, &tenant.slug, q.into_inner()).await?;
    report_response(&req, report)
}

/// A service center's report by day or month (JSON, or CSV with `Accept: text/csv`).
#[utoipa::path(get, path = "/api/v1/centers/{slug}/reports", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path), ReportQuery), responses(
    (status = 200, description = "The report: JSON, or CSV (one row per period and a total) with `Accept: text/csv`", content(
        (Report = "application/json"),
        (String = "text/csv"),
    )),
    crate::openapi::Problems,
))]
pub async fn center_report(
    state: web::Data<AppState>,
    req: HttpRequest,
    Auth(actor): Auth,
    slug: web::Path<String>,
    q: Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let report = reports::center_report(&state.db, &actor, &slug, q.into_inner()).await?;
    report_response(&req, report)
}

/// The tenant's text modules for answers.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/templates", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path)), responses(
    (status = 200, body = [TemplateView]),
    crate::openapi::Problems,
))]
pub async fn list_templates(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(templates::list(&state.db, &actor, &tenant.slug).await?))
}

/// Add a text module (editors, admins).
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/templates", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path)), request_body = TemplateInput, responses(
    (status = 201, body = TemplateView),
    crate::openapi::Problems,
))]
pub async fn create_template(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    body: Json<TemplateInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created()
        .json(templates::create(&state.db, &actor, &tenant.slug, body.into_inner()).await?))
}

/// Change a text module.
#[utoipa::path(put, path = "/api/v1/tenants/{slug}/templates/{id}", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path), ("id" = uuid::Uuid, Path)), request_body = TemplateInput, responses(
    (status = 200, body = TemplateView),
    crate::openapi::Problems,
))]
pub async fn update_template(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
    body: Json<TemplateInput>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    let id = uuid_or_404(&id, "text module")?;
    Ok(HttpResponse::Ok()
        .json(templates::update(&state.db, &actor, &tenant.slug, id, body.into_inner()).await?))
}

/// Delete a text module.
#[utoipa::path(delete, path = "/api/v1/tenants/{slug}/templates/{id}", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path), ("id" = uuid::Uuid, Path)), responses(
    (status = 204, description = "deleted"),
    crate::openapi::Problems,
))]
pub async fn delete_template(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    templates::delete(
        &state.db,
        &actor,
        &tenant.slug,
        uuid_or_404(&id, "text module")?,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Anonymise a ticket's personal data now, e.g. on the citizen's request (tenant admins).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/anonymize", tag = "operations", security(("bearer" = [])), params(("id" = String, Path, description = "ticket number or id")), request_body = AnonymizeRequest, responses(
    (status = 200, body = TicketView),
    crate::openapi::Problems,
))]
pub async fn anonymize(
    state: web::Data<AppState>,
    TicketPath { actor, ticket }: TicketPath,
    body: Json<AnonymizeRequest>,
) -> ApiResult<HttpResponse> {
    Ok(ticket_response(
        HttpResponse::Ok(),
        privacy::anonymize_on_request(&state.db, &actor, ticket, body.into_inner()).await?,
    ))
}

/// Who read which ticket's personal data (tenant admins).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/access-log", tag = "operations", security(("bearer" = [])), params(("slug" = String, Path), AccessLogQuery), responses(
    (status = 200, body = [AccessLogEntry]),
    crate::openapi::Problems,
))]
pub async fn access_log(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    q: Query<AccessLogQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(privacy::access_log(&state.db, &actor, &tenant.slug, q.into_inner()).await?))
}
