//! Administration (tenant admins and operators): the tenant settings page.
//!
//! Like every page it calls the API's domain functions with the actor (`get_tenant`,
//! `update_tenant`): a tenant outside the user's reach is a 404 page, a tenant the user sees
//! without the admin role a 403 page, and nothing changes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use verbund_tenant::Permission;
use verbund_tenant::directory::{self, TenantPatch, TenantView};

use super::{Chrome, domain_error, html, see_other};
use crate::WebState;
use crate::input::Query;
use crate::session::{Form, Session, to_login};

/// The tenant of the path, if the user may administer it: 404 for a tenant outside the
/// user's tenants (an operator reaches every tenant), 403 without the admin role.
async fn managed_tenant(
    state: &WebState,
    s: &Session,
    slug: &str,
) -> Result<TenantView, verbund_tenant::Error> {
    if s.actor.tenant(slug).is_none() && !s.actor.is_operator() {
        return Err(verbund_tenant::Error::NotFound("tenant"));
    }
    let t = directory::get_tenant(&state.db, &s.actor, slug).await?;
    s.actor.authorize(Permission::ManageTenant, t.id)?;
    Ok(t)
}

/// The form's fields, as typed.
#[derive(serde::Deserialize, Default, Clone)]
pub struct SettingsForm {
    #[serde(default)]
    gefaehrdet_stunden: String,
    #[serde(default)]
    anonymisieren_tage: String,
    #[serde(default)]
    schliesstage: String,
}

#[derive(serde::Deserialize, Default)]
pub struct SavedParam {
    #[serde(default)]
    gespeichert: String,
}

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    c: Chrome,
    tabs: Vec<super::verwaltung::Tab>,
    tenant_name: String,
    action: String,
    f: SettingsForm,
    errors: Vec<(String, String)>,
    saved: bool,
}

impl SettingsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

fn form_of(t: &TenantView) -> SettingsForm {
    SettingsForm {
        gefaehrdet_stunden: t.settings.at_risk_hours.to_string(),
        anonymisieren_tage: t.settings.anonymize_after_days.to_string(),
        schliesstage: t
            .settings
            .closing_days
            .iter()
            .map(|d| d.format("%d.%m.%Y").to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn page_of(
    req: &HttpRequest,
    s: &Session,
    t: &TenantView,
    f: SettingsForm,
    errors: Vec<(String, String)>,
    saved: bool,
) -> SettingsPage {
    SettingsPage {
        c: Chrome::new(req, Some(s), "Einstellungen", "admin"),
        tabs: super::verwaltung::settings_tabs(&t.slug),
        tenant_name: t.name.clone(),
        action: format!("/verwaltung/{}/einstellungen", super::enc(&t.slug)),
        f,
        errors,
        saved,
    }
}

/// `GET /verwaltung/{slug}/einstellungen`
pub async fn settings(
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<SavedParam>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let page = page_of(&req, &s, &t, form_of(&t), Vec::new(), q.gespeichert == "1");
    s.finish(&req, html(StatusCode::OK, &page))
}

/// A whole number in `min..=max`, or the German message for the field.
fn number(raw: &str, min: u32, max: u32, what: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "Bitte geben Sie für {what} eine ganze Zahl von {min} bis {max} ein."
        )),
    }
}

/// One date per line, as `24.12.2026` or `2026-12-24`.
fn dates(raw: &str) -> Result<Vec<chrono::NaiveDate>, String> {
    let mut out = Vec::new();
    for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let d = chrono::NaiveDate::parse_from_str(line, "%d.%m.%Y")
            .or_else(|_| chrono::NaiveDate::parse_from_str(line, "%Y-%m-%d"))
            .map_err(|_| {
                format!("„{line}“ ist kein Datum. Bitte ein Datum je Zeile, etwa 24.12.2026.")
            })?;
        out.push(d);
    }
    if out.len() > 366 {
        return Err("Bitte höchstens 366 Schließtage eintragen.".into());
    }
    Ok(out)
}

/// `POST /verwaltung/{slug}/einstellungen`
pub async fn save_settings(
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    form: Form<SettingsForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let t = match managed_tenant(&state, &s, &slug).await {
        Ok(t) => t,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let mut errors = Vec::new();
    let at_risk = number(&f.gefaehrdet_stunden, 1, 100, "die Stunden")
        .map_err(|m| errors.push(("gefaehrdet_stunden".to_owned(), m)))
        .ok();
    let anonymize = number(&f.anonymisieren_tage, 1, 3650, "die Tage")
        .map_err(|m| errors.push(("anonymisieren_tage".to_owned(), m)))
        .ok();
    let closing = dates(&f.schliesstage)
        .map_err(|m| errors.push(("schliesstage".to_owned(), m)))
        .ok();
    let (Some(at_risk), Some(anonymize), Some(closing)) = (at_risk, anonymize, closing) else {
        let page = page_of(&req, &s, &t, f, errors, false);
        return s.finish(&req, html(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let patch = TenantPatch {
        settings: Some(serde_json::json!({
            "at_risk_hours": at_risk,
            "anonymize_after_days": anonymize,
            "closing_days": closing,
        })),
        ..TenantPatch::default()
    };
    match directory::update_tenant(&state.db, &s.actor, &t.slug, patch).await {
        Ok(_) => see_other(
            &s,
            &req,
            &format!(
                "{}?gespeichert=1",
                page_of(&req, &s, &t, f, vec![], false).action
            ),
        ),
        Err(verbund_tenant::Error::Invalid { reason, .. }) => {
            let errors = vec![(
                "gefaehrdet_stunden".to_owned(),
                format!("Nicht gespeichert: {reason}"),
            )];
            let page = page_of(&req, &s, &t, f, errors, false);
            s.finish(&req, html(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}
