//! Base texts (Stammtexte) in the editor: the catalogue with "Stammtext übernehmen" (a new
//! description of the tenant that adopts a base text, `services::create_service` with
//! `base_id`), and the review of a changed base text: the base text's modules as they are now
//! beside what the description sets locally, and the confirmation
//! (`services::review_base`, posted to the edit page's `stammtext` action).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;
use verbund_knowledge::catalog::{self, BaseTextView};
use verbund_knowledge::model::ModuleField;
use verbund_knowledge::services::{self, NewService};

use super::{DiffRow, may_edit, parse_id, side_by_side, value_text};
use crate::WebState;
use crate::pages::{Chrome, domain_error, enc, html, see_other};
use crate::session::{Form, Session, to_login};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/redaktion/{mandant}/stammtexte", web::get().to(catalogue))
        .route(
            "/redaktion/{mandant}/stammtexte/{base}",
            web::post().to(adopt),
        )
        .route(
            "/redaktion/{mandant}/{id}/stammtext-pruefen",
            web::get().to(review),
        );
}

pub struct BaseLine {
    b: BaseTextView,
    level: &'static str,
    kurztext: String,
}

#[derive(Template)]
#[template(path = "editor_catalog.html")]
struct CataloguePage {
    c: Chrome,
    mandant: String,
    items: Vec<BaseLine>,
}

fn level_label(l: catalog::BaseLevel) -> &'static str {
    match l {
        catalog::BaseLevel::Bund => "Bundesredaktion",
        catalog::BaseLevel::Land => "Landesredaktion",
    }
}

/// `GET /redaktion/{mandant}/stammtexte`
async fn catalogue(
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
    let items = match catalog::list_base_texts(&state.db, &s.actor).await {
        Ok(items) => items,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let items = items
        .into_iter()
        .map(|b| BaseLine {
            level: level_label(b.level),
            kurztext: b.modules.kurztext.clone().unwrap_or_default(),
            b,
        })
        .collect();
    let page = CataloguePage {
        c: Chrome::new(&req, Some(&s), "Stammtexte", "editor"),
        mandant,
        items,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}

/// `POST /redaktion/{mandant}/stammtexte/{base}`: a new draft that adopts the base text.
async fn adopt(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let s = form.session;
    let (mandant, base) = path.into_inner();
    if let Err(e) = may_edit(&s, &mandant) {
        return domain_error(&req, &s, &e);
    }
    let Ok(base) = base.parse::<Uuid>() else {
        return domain_error(&req, &s, &verbund_tenant::Error::NotFound("base text"));
    };
    let created = services::create_service(
        &state.db,
        &s.actor,
        &mandant,
        NewService {
            base_id: Some(base),
            ..NewService::default()
        },
    )
    .await;
    match created {
        Ok(sv) => see_other(
            &s,
            &req,
            &format!("/redaktion/{}/{}?ok=1", enc(&mandant), sv.id),
        ),
        // An id that is no base text of the catalogue: not there.
        Err(verbund_tenant::Error::Invalid { field, .. }) if field == "base_id" => {
            domain_error(&req, &s, &verbund_tenant::Error::NotFound("base text"))
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

pub struct ReviewModule {
    label: String,
    /// The description sets its own text for this module (agents see that one, not the
    /// base text's).
    local: bool,
    rows: Vec<DiffRow>,
}

#[derive(Template)]
#[template(path = "editor_base_review.html")]
struct ReviewPage {
    c: Chrome,
    mandant: String,
    id: Uuid,
    title: String,
    base_title: String,
    revision: i32,
    reviewed: Option<i32>,
    changed: bool,
    modules: Vec<ReviewModule>,
}

/// `GET /redaktion/{mandant}/{id}/stammtext-pruefen`: what changed in the base text since
/// the revision last confirmed (`services::base_changes`), field by field, old beside new.
async fn review(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
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
        let sv = services::get_service(&state.db, &s.actor, &mandant, id).await?;
        let changes = services::base_changes(&state.db, &s.actor, &mandant, id).await?;
        Ok::<_, verbund_tenant::Error>((sv, changes))
    }
    .await;
    let (sv, ch) = match loaded {
        Ok(x) => x,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let modules = ch
        .changes
        .iter()
        .map(|f| ReviewModule {
            label: f.label.clone(),
            local: f
                .field
                .strip_prefix("modules.")
                .and_then(ModuleField::from_field_name)
                .is_some_and(|m| !value_text(&catalog::module_json(&sv.modules, m)).is_empty()),
            rows: side_by_side(&value_text(&f.before), &value_text(&f.after)),
        })
        .collect();
    let page = ReviewPage {
        c: Chrome::new(&req, Some(&s), "Stammtext prüfen", "editor"),
        mandant,
        id: sv.id,
        title: sv.title.clone(),
        base_title: ch.base.title.clone(),
        revision: ch.base.revision,
        reviewed: ch.reviewed_revision,
        changed: sv.base_changed,
        modules,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}
