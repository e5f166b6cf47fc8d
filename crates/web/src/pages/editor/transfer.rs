//! Import by upload and export by download in the editor: the same domain functions as the
//! API (`store::import_for`, `store::export_ndjson`, `export_xzufi::export_xzufi`) with the
//! actor, the same size limit (`store::MAX_IMPORT_BYTES`; a larger file is a 413 page and
//! nothing is read into the database), and the import report as a page: counts and one line
//! per rejected item. The upload is a multipart form; its CSRF field is checked before the
//! file is imported.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;
use verbund_knowledge::export_xzufi;
use verbund_knowledge::import::ImportFormat;
use verbund_knowledge::store::{self, ImportReport, MAX_IMPORT_BYTES};

use super::form::german_reason;
use super::may_edit;
use crate::WebState;
use crate::input::Query;
use crate::pages::{Chrome, domain_error, error_page, html};
use crate::session::{Session, csrf_matches, csrf_rejected, to_login};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/redaktion/{mandant}/austausch", web::get().to(page))
        .route("/redaktion/{mandant}/import", web::post().to(upload))
        .route("/redaktion/{mandant}/export", web::get().to(download));
}

pub struct ProblemLine {
    location: String,
    reason: String,
    detail: String,
}

pub struct Report {
    services: store::ImportCounts,
    org_units: store::ImportCounts,
    errors: Vec<ProblemLine>,
    warnings: Vec<ProblemLine>,
}

fn lines(problems: Vec<store::ImportProblem>) -> Vec<ProblemLine> {
    problems
        .into_iter()
        .map(|p| ProblemLine {
            location: german_location(&p.location),
            reason: german_reason(&p.reason),
            detail: p.reason,
        })
        .collect()
}

/// `line 7` → `Zeile 7`; `leistung 3` and `organisationseinheit 2` stay.
fn german_location(l: &str) -> String {
    match l.strip_prefix("line ") {
        Some(n) => format!("Zeile {n}"),
        None => {
            let mut c = l.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "editor_transfer.html")]
struct TransferPage {
    c: Chrome,
    mandant: String,
    report: Option<Report>,
    file_name: String,
    error: Option<String>,
    max_mb: usize,
}

fn render(
    req: &HttpRequest,
    s: &Session,
    mandant: &str,
    report: Option<ImportReport>,
    file_name: String,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let page = TransferPage {
        c: Chrome::new(req, Some(s), "Import und Export", "editor"),
        mandant: mandant.to_owned(),
        report: report.map(|r| Report {
            services: r.services,
            org_units: r.org_units,
            errors: lines(r.errors),
            warnings: lines(r.warnings),
        }),
        file_name,
        error,
        max_mb: MAX_IMPORT_BYTES / (1024 * 1024),
    };
    s.finish(req, html(status, &page))
}

/// `GET /redaktion/{mandant}/austausch`
async fn page(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<String>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let mandant = path.into_inner();
    if let Err(e) = may_edit(&s, &mandant) {
        return domain_error(&req, &s, &e);
    }
    render(
        &req,
        &s,
        &mandant,
        None,
        String::new(),
        None,
        StatusCode::OK,
    )
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf: String,
    format: String,
    file_name: String,
    body: Vec<u8>,
}

enum UploadError {
    TooLarge,
    Unreadable,
}

/// Reads the multipart form, the file at most `MAX_IMPORT_BYTES` long.
async fn read_upload(mut parts: Multipart) -> Result<Upload, UploadError> {
    let mut up = Upload::default();
    while let Some(field) = parts.next().await {
        let mut field = field.map_err(|_| UploadError::Unreadable)?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let limit = if name == "datei" {
            MAX_IMPORT_BYTES
        } else {
            1024
        };
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| UploadError::Unreadable)?;
            if data.len() + chunk.len() > limit {
                return Err(if name == "datei" {
                    UploadError::TooLarge
                } else {
                    UploadError::Unreadable
                });
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => up.csrf = String::from_utf8_lossy(&data).into_owned(),
            "format" => up.format = String::from_utf8_lossy(&data).into_owned(),
            "datei" => {
                up.file_name = file_name.unwrap_or_default();
                up.body = data;
            }
            _ => {}
        }
    }
    Ok(up)
}

/// `POST /redaktion/{mandant}/import` (multipart: `csrf`, `format`, `datei`).
async fn upload(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<String>,
    parts: Multipart,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let mandant = path.into_inner();
    let up = match read_upload(parts).await {
        Ok(up) => up,
        Err(UploadError::TooLarge) => {
            return s.finish(
                &req,
                error_page(
                    &req,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Some(&s),
                    "Datei zu groß",
                    &format!(
                        "Die Datei ist größer als {} MB. Nichts wurde importiert.",
                        MAX_IMPORT_BYTES / (1024 * 1024)
                    ),
                ),
            );
        }
        Err(UploadError::Unreadable) => {
            return s.finish(
                &req,
                error_page(
                    &req,
                    StatusCode::BAD_REQUEST,
                    Some(&s),
                    "Ungültige Eingabe",
                    "Das Formular konnte nicht gelesen werden. Nichts wurde importiert.",
                ),
            );
        }
    };
    if !csrf_matches(&state, &s, &up.csrf) {
        return csrf_rejected(&req);
    }
    if let Err(e) = may_edit(&s, &mandant) {
        return domain_error(&req, &s, &e);
    }
    let format = match up.format.as_str() {
        "ndjson" => Some(ImportFormat::Ndjson),
        "xzufi" => Some(ImportFormat::Xzufi),
        _ => ImportFormat::from_file_name(&up.file_name),
    };
    let again = |error: &str, status| {
        render(
            &req,
            &s,
            &mandant,
            None,
            up.file_name.clone(),
            Some(error.to_owned()),
            status,
        )
    };
    if up.body.is_empty() {
        return again(
            "Bitte wählen Sie eine Datei aus. Nichts wurde importiert.",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let Some(format) = format else {
        return again(
            "Das Format der Datei ist nicht erkennbar. Bitte wählen Sie NDJSON oder XZuFi. Nichts wurde importiert.",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    match store::import_for(&state.db, &s.actor, &mandant, format, &up.body).await {
        Ok(report) => {
            let status = if report.errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            render(
                &req,
                &s,
                &mandant,
                Some(report),
                up.file_name.clone(),
                None,
                status,
            )
        }
        Err(verbund_tenant::Error::Invalid { field, .. }) if field == "body" => again(
            "Die Datei ist keine UTF-8-Textdatei. Nichts wurde importiert.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => domain_error(&req, &s, &e),
    }
}

#[derive(serde::Deserialize)]
pub struct ExportParams {
    format: Option<String>,
}

/// `GET /redaktion/{mandant}/export?format=ndjson|xzufi`: a download.
async fn download(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<String>,
    q: Query<ExportParams>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let mandant = path.into_inner();
    if let Err(e) = may_edit(&s, &mandant) {
        return domain_error(&req, &s, &e);
    }
    let (body, mime, ext) = match q.format.as_deref().unwrap_or("ndjson") {
        "ndjson" => (
            store::export_ndjson(&state.db, &s.actor, &mandant).await,
            "application/x-ndjson",
            "ndjson",
        ),
        "xzufi" => (
            export_xzufi::export_xzufi(&state.db, &s.actor, &mandant).await,
            "application/xml; charset=utf-8",
            "xml",
        ),
        _ => {
            return domain_error(
                &req,
                &s,
                &verbund_tenant::Error::invalid("format", "ndjson oder xzufi"),
            );
        }
    };
    match body {
        Ok(body) => s.finish(
            &req,
            HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, mime))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"leistungen-{mandant}.{ext}\""),
                ))
                .body(body),
        ),
        Err(e) => domain_error(&req, &s, &e),
    }
}
