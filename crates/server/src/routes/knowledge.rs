//! Service descriptions, their versions, the base text catalogue, import and export.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;
use verbund_knowledge::ImportFormat;
use verbund_knowledge::catalog::{self, BaseTextPatch, BaseTextView, NewBaseText};
use verbund_knowledge::export_xzufi::{self, ExportFormat, ExportQuery};
use verbund_knowledge::services::{
    self, CompareQuery, NewService, ServicePage, ServicePatch, ServiceQuery, ServiceView,
    VersionComparison, VersionView,
};
use verbund_knowledge::store::{self, ImportReport};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Json, Query, TenantPath};
use crate::state::AppState;

/// Create a description (draft). With `base_id` it adopts a base text of the catalogue.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/services", operation_id = "create_service", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path)), request_body = NewService, responses(
    (status = 201, body = ServiceView),
    crate::openapi::Problems,
))]
pub async fn create(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    body: Json<NewService>,
) -> ApiResult<HttpResponse> {
    let view = services::create_service(&state.db, &actor, &tenant.slug, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/tenants/{}/services/{}", view.tenant, view.id),
        ))
        .json(view))
}

/// The descriptions of a tenant: all of them for its own staff, the published ones for
/// everybody else who reads knowledge.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/services", operation_id = "list_services", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ServiceQuery), responses(
    (status = 200, body = ServicePage),
    crate::openapi::Problems,
))]
pub async fn list(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    query: Query<ServiceQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(services::list_services(&state.db, &actor, &tenant.slug, query.into_inner()).await?))
}

/// One description with the merged view of its modules.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/services/{id}", operation_id = "get_service", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path)), responses(
    (status = 200, body = ServiceView),
    crate::openapi::Problems,
))]
pub async fn get(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(services::get_service(&state.db, &actor, &tenant.slug, id.into()).await?))
}

/// Change a description. Send the `version` you read; a stale one gives 409.
#[utoipa::path(patch, path = "/api/v1/tenants/{slug}/services/{id}", operation_id = "update_service", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path)), request_body = ServicePatch, responses(
    (status = 200, body = ServiceView),
    crate::openapi::Problems,
))]
pub async fn update(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
    body: Json<ServicePatch>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        services::update_service(
            &state.db,
            &actor,
            &tenant.slug,
            id.into(),
            body.into_inner(),
        )
        .await?,
    ))
}

/// Publish: every agent in the Verbund can read and find it then.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/services/{id}/publish", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path)), responses(
    (status = 200, body = ServiceView),
    crate::openapi::Problems,
))]
pub async fn publish(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(services::publish_service(&state.db, &actor, &tenant.slug, id.into()).await?))
}

/// Archive: the description leaves search and is visible only inside the tenant.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/services/{id}/archive", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path)), responses(
    (status = 200, body = ServiceView),
    crate::openapi::Problems,
))]
pub async fn archive(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(services::archive_service(&state.db, &actor, &tenant.slug, id.into()).await?))
}

/// Confirm that the description still fits its changed base text.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/services/{id}/review-base", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path)), responses(
    (status = 200, body = ServiceView),
    crate::openapi::Problems,
))]
pub async fn review_base(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(services::review_base(&state.db, &actor, &tenant.slug, id.into()).await?))
}

/// Every saved version with author and time, newest first (inside the owning tenant).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/services/{id}/versions", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path)), responses(
    (status = 200, body = [VersionView]),
    crate::openapi::Problems,
))]
pub async fn versions(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(services::list_versions(&state.db, &actor, &tenant.slug, id.into()).await?))
}

/// The differences between two versions, field by field.
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/services/{id}/versions/compare", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ("id" = Uuid, Path), CompareQuery), responses(
    (status = 200, body = VersionComparison),
    crate::openapi::Problems,
))]
pub async fn compare(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    path: web::Path<(String, Uuid)>,
    query: Query<CompareQuery>,
) -> ApiResult<HttpResponse> {
    let (_, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        services::compare_versions(
            &state.db,
            &actor,
            &tenant.slug,
            id.into(),
            query.into_inner(),
        )
        .await?,
    ))
}

/// Import descriptions: NDJSON (`application/x-ndjson`) or XZuFi 2.2 (`application/xml`).
/// Idempotent: each item is matched by its external id, else its one LeiKa key, else its
/// title; one error per rejected item, the good ones are kept.
#[utoipa::path(post, path = "/api/v1/tenants/{slug}/import", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path)), request_body(description = "NDJSON, one description per line, or an XZuFi 2.2 document", content(
    (String = "application/x-ndjson"),
    (String = "application/xml"),
)), responses(
    (status = 200, body = ImportReport),
    crate::openapi::Problems,
))]
pub async fn import(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let format = match mime.as_str() {
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => ImportFormat::Ndjson,
        "application/xml" | "text/xml" => ImportFormat::Xzufi,
        _ => {
            return Err(ApiError::http(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send NDJSON as application/x-ndjson or XZuFi as application/xml",
            ));
        }
    };
    let report = store::import_for(&state.db, &actor, &tenant.slug, format, &body).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The tenant's descriptions: `format=ndjson` (default) in the import format; `format=xzufi`
/// as XZuFi 2.2 (published descriptions and offices, for the state portal; editors and admins
/// of the tenant).
#[utoipa::path(get, path = "/api/v1/tenants/{slug}/export", tag = "knowledge", security(("bearer" = [])), params(("slug" = String, Path), ExportQuery), responses(
    (status = 200, description = "NDJSON (format=ndjson, the default) or XZuFi 2.2 XML (format=xzufi)", content(
        (String = "application/x-ndjson"),
        (String = "application/xml"),
    )),
    crate::openapi::Problems,
))]
pub async fn export(
    state: web::Data<AppState>,
    TenantPath { actor, tenant }: TenantPath,
    query: Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    match query.format()? {
        ExportFormat::Ndjson => {
            let body = store::export_ndjson(&state.db, &actor, &tenant.slug).await?;
            Ok(HttpResponse::Ok()
                .content_type("application/x-ndjson")
                .body(body))
        }
        ExportFormat::Xzufi => {
            let body = export_xzufi::export_xzufi(&state.db, &actor, &tenant.slug).await?;
            Ok(HttpResponse::Ok()
                .content_type("application/xml; charset=utf-8")
                .body(body))
        }
    }
}

/// The catalogue of base texts (Stammtexte).
#[utoipa::path(get, path = "/api/v1/catalog/services", tag = "knowledge", security(("bearer" = [])), responses(
    (status = 200, body = [BaseTextView]),
    crate::openapi::Problems,
))]
pub async fn catalog_list(
    state: web::Data<AppState>,
    Auth(actor): Auth,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(catalog::list_base_texts(&state.db, &actor).await?))
}

/// Add a base text (operators).
#[utoipa::path(post, path = "/api/v1/catalog/services", tag = "knowledge", security(("bearer" = [])), request_body = NewBaseText, responses(
    (status = 201, body = BaseTextView),
    crate::openapi::Problems,
))]
pub async fn catalog_create(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    body: Json<NewBaseText>,
) -> ApiResult<HttpResponse> {
    let view = catalog::create_base_text(&state.db, &actor, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/catalog/services/{}", view.id),
        ))
        .json(view))
}

#[utoipa::path(get, path = "/api/v1/catalog/services/{id}", tag = "knowledge", security(("bearer" = [])), params(("id" = Uuid, Path)), responses(
    (status = 200, body = BaseTextView),
    crate::openapi::Problems,
))]
pub async fn catalog_get(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(catalog::get_base_text(&state.db, &actor, *id).await?))
}

/// Change a base text (operators). Adopting tenants see "base changed" until they confirm.
#[utoipa::path(patch, path = "/api/v1/catalog/services/{id}", tag = "knowledge", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = BaseTextPatch, responses(
    (status = 200, body = BaseTextView),
    crate::openapi::Problems,
))]
pub async fn catalog_update(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    body: Json<BaseTextPatch>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(catalog::update_base_text(&state.db, &actor, *id, body.into_inner()).await?))
}
