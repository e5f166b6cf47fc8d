//! The editor's pages: descriptions listed with status filters, editing module by module
//! over the FIM modules (lists for Unterlagen and Formulare), draft / publish / archive,
//! confirming a changed base text ("Stammtext geändert"), and versions compared side by
//! side with the changed lines marked. Every action is the knowledge crate's domain
//! function with the actor.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;
use verbund_knowledge::services::{
    self, CompareQuery, ServicePatch, ServiceQuery, ServiceSummary, ServiceView, VersionView,
};
use verbund_schema::types::ServiceStatus;
use verbund_tenant::Permission;

use super::desk::Choice;
use super::{Chrome, domain_error, enc, html, see_other};
use crate::WebState;
use crate::format;
use crate::input::Query;
use crate::session::{Form, Session, to_login};

/// The tenants whose descriptions the actor edits.
pub fn editor_tenants(s: &Session) -> Vec<Choice> {
    s.actor
        .profile()
        .tenants
        .iter()
        .filter(|t| s.actor.may(Permission::EditKnowledge, t.id.into()))
        .map(|t| Choice {
            slug: t.slug.clone(),
            name: t.name.clone(),
        })
        .collect()
}

pub fn status_label(s: ServiceStatus) -> &'static str {
    match s {
        ServiceStatus::Draft => "Entwurf",
        ServiceStatus::Published => "veröffentlicht",
        ServiceStatus::Archived => "archiviert",
    }
}

#[derive(Template)]
#[template(path = "editor_list.html")]
struct ListPage {
    c: Chrome,
    tenants: Vec<Choice>,
    mandant: String,
    status: String,
    items: Vec<(ServiceSummary, &'static str, String)>,
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    mandant: Option<String>,
    status: Option<String>,
}

fn forbidden(req: &HttpRequest, s: &Session) -> HttpResponse {
    s.finish(
        req,
        super::error_page(
            req,
            StatusCode::FORBIDDEN,
            Some(s),
            "Keine Berechtigung",
            "Leistungsbeschreibungen bearbeitet die Redaktion einer Kommune.",
        ),
    )
}

/// `GET /redaktion`
pub async fn list(
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<ListQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let tenants = editor_tenants(&s);
    let mandant = match q.mandant.as_deref() {
        Some(m) if tenants.iter().any(|t| t.slug == m) => m.to_owned(),
        _ => match tenants.first() {
            Some(t) => t.slug.clone(),
            None => return forbidden(&req, &s),
        },
    };
    let status = q.status.clone().unwrap_or_default();
    let page = services::list_services(
        &state.db,
        &s.actor,
        &mandant,
        ServiceQuery {
            status: Some(status.clone()).filter(|x| !x.is_empty()),
            leika: None,
            limit: Some(500),
            offset: None,
        },
    )
    .await;
    let page = match page {
        Ok(p) => p,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let tz = chrono_tz::Europe::Berlin;
    let items = page
        .items
        .into_iter()
        .map(|i| {
            let label = status_label(i.status);
            let when = format::date_time(i.updated_at, tz);
            (i, label, when)
        })
        .collect();
    let page = ListPage {
        c: Chrome::new(&req, Some(&s), "Redaktion", "editor"),
        tenants,
        mandant,
        status,
        items,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}

mod base;
pub mod form;
mod offices;
mod transfer;

use form::{EditState, FieldError, RowMap, TextModule};

/// Registers the editor's further pages (base texts, offices, import and export). Call it
/// before the `/redaktion/{mandant}/{id}` routes, whose `{id}` would take their names.
pub fn configure(cfg: &mut web::ServiceConfig) {
    base::configure(cfg);
    offices::configure(cfg);
    transfer::configure(cfg);
}

pub struct VersionLine {
    version: i32,
    kind: String,
    status: &'static str,
    author: String,
    when: String,
}

/// An office to choose as the responsible one.
pub struct OfficeChoice {
    id: String,
    name: String,
}

#[derive(Template)]
#[template(path = "editor_edit.html")]
struct EditPage {
    c: Chrome,
    mandant: String,
    sv: ServiceView,
    status: &'static str,
    f: EditState,
    texts: Vec<TextModule>,
    offices: Vec<OfficeChoice>,
    versions: Vec<VersionLine>,
    notice: Option<&'static str>,
    errors: Vec<FieldError>,
    /// Per module (field name) the adopted base text's value that agents see while the
    /// description has none of its own.
    base_hints: Vec<(&'static str, String)>,
}

impl EditPage {
    /// The base text's value of module `name`, if it shows through.
    fn base_text(&self, name: &str) -> Option<&str> {
        self.base_hints
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `aria-describedby` of text module `name`: its base-text hint and its error.
    fn described(&self, name: &str) -> String {
        let id = format!("m-{name}");
        let mut out = Vec::new();
        if self.base_text(name).is_some() {
            out.push(format!("{id}-stamm"));
        }
        if self.err(&id).is_some() {
            out.push(format!("{id}-fehler"));
        }
        out.join(" ")
    }

    /// The error of the input `id`, if any.
    fn err(&self, id: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.message.as_str())
    }
}

#[derive(serde::Deserialize)]
pub struct EditQuery {
    ok: Option<String>,
}

fn parse_id(id: &str) -> Result<verbund_schema::ids::ServiceId, verbund_tenant::Error> {
    id.parse()
        .map_err(|_| verbund_tenant::Error::NotFound("service"))
}

/// `GET /redaktion/{mandant}/{id}`
pub async fn edit(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    q: Query<EditQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let (mandant, id) = path.into_inner();
    let notice = q.ok.as_deref().map(|_| "Gespeichert.");
    render_edit(
        &req,
        &state,
        &s,
        &mandant,
        &id,
        notice,
        None,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// Not an editor of `mandant`: a tenant outside the user's reach is not there (404, as the
/// API's tenant paths answer), one inside it is forbidden (403).
pub(crate) fn may_edit(s: &Session, mandant: &str) -> Result<(), verbund_tenant::Error> {
    if editor_tenants(s).iter().any(|t| t.slug == mandant) {
        return Ok(());
    }
    Err(
        if s.actor.profile().tenants.iter().any(|t| t.slug == mandant) {
            verbund_tenant::Error::Forbidden("editors only")
        } else {
            verbund_tenant::Error::NotFound("service")
        },
    )
}

#[allow(clippy::too_many_arguments)]
async fn render_edit(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    mandant: &str,
    id: &str,
    notice: Option<&'static str>,
    typed: Option<EditState>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    if let Err(e) = may_edit(s, mandant) {
        return domain_error(req, s, &e);
    }
    let loaded = async {
        let id = parse_id(id)?;
        let sv = services::get_service(&state.db, &s.actor, mandant, id).await?;
        let versions = services::list_versions(&state.db, &s.actor, mandant, id).await?;
        let offices =
            verbund_knowledge::org_units::list_org_units(&state.db, &s.actor, mandant).await?;
        Ok::<_, verbund_tenant::Error>((sv, versions, offices))
    }
    .await;
    let (sv, versions, offices) = match loaded {
        Ok(x) => x,
        Err(e) => return domain_error(req, s, &e),
    };
    let tz = chrono_tz::Europe::Berlin;
    let versions = versions
        .into_iter()
        .map(|v: VersionView| VersionLine {
            version: v.version,
            kind: v.kind,
            status: status_label(v.status),
            author: v.author_name.unwrap_or_else(|| "–".into()),
            when: format::date_time(v.created_at, tz),
        })
        .collect();
    let f = typed.unwrap_or_else(|| EditState::from_view(&sv));
    let base_hints = sv
        .merged
        .iter()
        .filter(|m| m.source == verbund_knowledge::catalog::ModuleSource::Base)
        .map(|m| (m.field.field_name(), value_text(&m.value)))
        .collect();
    let page = EditPage {
        c: Chrome::new(req, Some(s), &format!("Bearbeiten: {}", sv.title), "editor"),
        mandant: mandant.to_owned(),
        status: status_label(sv.status),
        texts: f.text_modules(),
        offices: offices
            .into_iter()
            .map(|o| OfficeChoice {
                id: o.id.to_string(),
                name: o.name,
            })
            .collect(),
        f,
        sv,
        versions,
        notice,
        errors,
        base_hints,
    };
    s.finish(req, html(status, &page))
}

/// `POST /redaktion/{mandant}/{id}/{aktion}`: speichern (as a draft change; or a row button
/// of a list, which only shows the form again), veroeffentlichen, archivieren, stammtext
/// (confirm the changed base text).
pub async fn action(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String, String)>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let Form { session: s, data } = form;
    let (mandant, id_text, aktion) = path.into_inner();
    if let Err(e) = may_edit(&s, &mandant) {
        return domain_error(&req, &s, &e);
    }
    let id = match parse_id(&id_text) {
        Ok(id) => id,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let mut typed = EditState::from_pairs(&data);
    let mut rows = RowMap::default();
    let result = match aktion.as_str() {
        "speichern" => {
            // Existence and access first: a row button on another tenant's description is
            // a 404 like every other action.
            let current = match services::get_service(&state.db, &s.actor, &mandant, id).await {
                Ok(c) => c,
                Err(e) => return domain_error(&req, &s, &e),
            };
            if typed.apply_row_button(&data) {
                typed.pad();
                return render_edit(
                    &req,
                    &state,
                    &s,
                    &mandant,
                    &id_text,
                    Some("Noch nicht gespeichert: Bitte speichern Sie die Beschreibung."),
                    Some(typed),
                    Vec::new(),
                    StatusCode::OK,
                )
                .await;
            }
            let version = match typed.version.parse::<i32>() {
                Ok(v) => v,
                Err(_) => {
                    return domain_error(
                        &req,
                        &s,
                        &verbund_tenant::Error::invalid("version", "fehlt"),
                    );
                }
            };
            let org_unit_id = match typed.stelle.trim() {
                "" => None,
                v => match v.parse::<Uuid>() {
                    Ok(u) => Some(u),
                    Err(_) => {
                        return domain_error(
                            &req,
                            &s,
                            &verbund_tenant::Error::NotFound("org unit"),
                        );
                    }
                },
            };
            // Start from the stored modules so the ones this form does not show stay.
            let modules = match typed.modules(&current.modules) {
                Ok((m, map)) => {
                    rows = map;
                    m
                }
                Err(errors) => {
                    typed.pad();
                    return render_edit(
                        &req,
                        &state,
                        &s,
                        &mandant,
                        &id_text,
                        None,
                        Some(typed),
                        errors,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
            };
            services::update_service(
                &state.db,
                &s.actor,
                &mandant,
                id,
                ServicePatch {
                    version,
                    title: Some(typed.titel.trim().to_owned()),
                    leika_keys: None,
                    leika: None,
                    external_id: None,
                    synonyms: Some(typed.synonyms()),
                    modules: Some(modules),
                    org_unit_id: Some(org_unit_id),
                    contact_org_unit_id: None,
                },
            )
            .await
            .map(|_| ())
        }
        "veroeffentlichen" => services::publish_service(&state.db, &s.actor, &mandant, id)
            .await
            .map(|_| ()),
        "archivieren" => services::archive_service(&state.db, &s.actor, &mandant, id)
            .await
            .map(|_| ()),
        "stammtext" => services::review_base(&state.db, &s.actor, &mandant, id)
            .await
            .map(|_| ()),
        _ => Err(verbund_tenant::Error::NotFound("action")),
    };
    match result {
        Ok(()) => see_other(&s, &req, &format!("/redaktion/{}/{id}?ok=1", enc(&mandant))),
        Err(verbund_tenant::Error::Invalid { field, reason }) if aktion == "speichern" => {
            typed.pad();
            render_edit(
                &req,
                &state,
                &s,
                &mandant,
                &id_text,
                None,
                Some(typed),
                vec![form::field_error(&field, &reason, &rows)],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// One row of a side-by-side comparison: the old and the new line, each marked when changed.
pub struct DiffRow {
    before: Option<String>,
    after: Option<String>,
    changed: bool,
}

pub struct DiffField {
    label: String,
    rows: Vec<DiffRow>,
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                serde_json::Value::Object(o) => {
                    let t = o.get("title").and_then(|x| x.as_str()).unwrap_or("");
                    let u = o.get("url").and_then(|x| x.as_str()).unwrap_or("");
                    if t.is_empty() {
                        u.to_owned()
                    } else {
                        format!("{t} | {u}")
                    }
                }
                other => value_text(other),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// A line diff of two texts as side-by-side rows (unchanged lines on both sides, removed
/// lines left, inserted lines right).
pub fn side_by_side(before: &str, after: &str) -> Vec<DiffRow> {
    use similar::{ChangeTag, TextDiff};
    // Every line ends with a newline, so a last line is not "changed" by one added below it.
    let end = |t: &str| {
        if t.is_empty() || t.ends_with('\n') {
            t.to_owned()
        } else {
            format!("{t}\n")
        }
    };
    let (before, after) = (end(before), end(after));
    let diff = TextDiff::from_lines(&before, &after);
    let mut rows: Vec<DiffRow> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    let mut inserted: Vec<String> = Vec::new();
    let flush = |rows: &mut Vec<DiffRow>, removed: &mut Vec<String>, inserted: &mut Vec<String>| {
        let n = removed.len().max(inserted.len());
        let mut r = std::mem::take(removed).into_iter();
        let mut i = std::mem::take(inserted).into_iter();
        for _ in 0..n {
            rows.push(DiffRow {
                before: r.next(),
                after: i.next(),
                changed: true,
            });
        }
    };
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n').to_owned();
        match change.tag() {
            ChangeTag::Equal => {
                flush(&mut rows, &mut removed, &mut inserted);
                rows.push(DiffRow {
                    before: Some(line.clone()),
                    after: Some(line),
                    changed: false,
                });
            }
            ChangeTag::Delete => removed.push(line),
            ChangeTag::Insert => inserted.push(line),
        }
    }
    flush(&mut rows, &mut removed, &mut inserted);
    rows
}

#[derive(Template)]
#[template(path = "editor_compare.html")]
struct ComparePage {
    c: Chrome,
    mandant: String,
    id: Uuid,
    from: i32,
    to: i32,
    fields: Vec<DiffField>,
}

#[derive(serde::Deserialize)]
pub struct CompareParams {
    von: Option<i32>,
    bis: Option<i32>,
}

/// `GET /redaktion/{mandant}/{id}/vergleich?von=&bis=`
pub async fn compare(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    q: Query<CompareParams>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let (mandant, id) = path.into_inner();
    if let Err(e) = may_edit(&s, &mandant) {
        return domain_error(&req, &s, &e);
    }
    let loaded = async {
        let id = parse_id(&id)?;
        let to = match q.bis {
            Some(v) => v,
            None => {
                services::get_service(&state.db, &s.actor, &mandant, id)
                    .await?
                    .version
            }
        };
        let from = q.von.unwrap_or(to - 1);
        let c = services::compare_versions(
            &state.db,
            &s.actor,
            &mandant,
            id,
            CompareQuery { from, to },
        )
        .await?;
        Ok::<_, verbund_tenant::Error>((id, c))
    }
    .await;
    let (id, c) = match loaded {
        Ok(x) => x,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let fields = c
        .changes
        .iter()
        .map(|f| DiffField {
            label: f.label.clone(),
            rows: side_by_side(&value_text(&f.before), &value_text(&f.after)),
        })
        .collect();
    let page = ComparePage {
        c: Chrome::new(&req, Some(&s), "Versionen vergleichen", "editor"),
        mandant,
        id: id.uuid(),
        from: c.from,
        to: c.to,
        fields,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_diff_pairs_removed_and_inserted_lines() {
        let rows = side_by_side("a\nb\nc", "a\nB\nc\nd");
        let view: Vec<_> = rows
            .iter()
            .map(|r| (r.before.as_deref(), r.after.as_deref(), r.changed))
            .collect();
        assert_eq!(
            view,
            vec![
                (Some("a"), Some("a"), false),
                (Some("b"), Some("B"), true),
                (Some("c"), Some("c"), false),
                (None, Some("d"), true),
            ]
        );
    }
}
