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
use crate::session::{Form, Session};

/// The tenant of the path, if the user may administer it: 404 for a tenant outside the
/// user's tenants (an operator reaches every tenant), 403 without the admin role.
pub(super) async fn managed_tenant(
    state: &WebState,
    s: &Session,
    slug: &str,
) -> Result<TenantView, verbund_tenant::Error> {
    if s.actor.tenant(slug).is_none() && !s.actor.is_operator() {
        return Err(verbund_tenant::Error::NotFound("tenant"));
    }
    let t = directory::get_tenant(&state.db, &s.actor, slug).await?;
    s.actor.authorize(Permission::ManageTenant, t.id.into())?;
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
    /// Service hours per weekday (`mon` … `sun`), as `08:00-18:00` or `08:00-12:00, 13:00-18:00`;
    /// empty: closed.
    /// `1` when the form carries the service hours (a form without them leaves them as
    /// they are).
    #[serde(default)]
    stunden: String,
    #[serde(default)]
    stunden_mon: String,
    #[serde(default)]
    stunden_tue: String,
    #[serde(default)]
    stunden_wed: String,
    #[serde(default)]
    stunden_thu: String,
    #[serde(default)]
    stunden_fri: String,
    #[serde(default)]
    stunden_sat: String,
    #[serde(default)]
    stunden_sun: String,
}

/// The weekdays: key in the settings, German name.
const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Montag"),
    ("tue", "Dienstag"),
    ("wed", "Mittwoch"),
    ("thu", "Donnerstag"),
    ("fri", "Freitag"),
    ("sat", "Samstag"),
    ("sun", "Sonntag"),
];

impl SettingsForm {
    fn hours(&self, day: &str) -> &str {
        match day {
            "mon" => &self.stunden_mon,
            "tue" => &self.stunden_tue,
            "wed" => &self.stunden_wed,
            "thu" => &self.stunden_thu,
            "fri" => &self.stunden_fri,
            "sat" => &self.stunden_sat,
            _ => &self.stunden_sun,
        }
    }
}

/// One weekday row of the form.
pub struct DayRow {
    pub key: &'static str,
    pub name: &'static str,
    pub value: String,
}

fn show_intervals(list: &[verbund_tenant::calendar::Interval]) -> String {
    list.iter()
        .map(|i| format!("{}-{}", i.start.format("%H:%M"), i.end.format("%H:%M")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `08:00-12:00, 13:00-18:00` → the intervals as the settings store them, or the German
/// message for the field.
fn parse_hours(raw: &str, day: &str) -> Result<serde_json::Value, String> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            format!(
                "„{part}“ ist keine Zeitspanne. Bitte für {day} etwa 08:00-18:00 eingeben, mehrere durch Komma getrennt, leer für geschlossen."
            )
        };
        let (a, b) = part.split_once(['-', '–']).ok_or_else(bad)?;
        let t = |x: &str| chrono::NaiveTime::parse_from_str(x.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (t(a)?, t(b)?);
        if end <= start {
            return Err(format!(
                "Bei „{part}“ muss das Ende nach dem Anfang liegen."
            ));
        }
        out.push(serde_json::json!({
            "start": start.format("%H:%M").to_string(),
            "end": end.format("%H:%M").to_string(),
        }));
    }
    if out.len() > 6 {
        return Err(format!(
            "Bitte höchstens 6 Zeitspannen für {day} eintragen."
        ));
    }
    Ok(serde_json::Value::Array(out))
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
    days: Vec<DayRow>,
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
        stunden: "1".to_owned(),
        stunden_mon: show_intervals(&t.settings.service_hours.mon),
        stunden_tue: show_intervals(&t.settings.service_hours.tue),
        stunden_wed: show_intervals(&t.settings.service_hours.wed),
        stunden_thu: show_intervals(&t.settings.service_hours.thu),
        stunden_fri: show_intervals(&t.settings.service_hours.fri),
        stunden_sat: show_intervals(&t.settings.service_hours.sat),
        stunden_sun: show_intervals(&t.settings.service_hours.sun),
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
        days: WEEKDAYS
            .iter()
            .map(|(key, name)| DayRow {
                key,
                name,
                value: f.hours(key).to_owned(),
            })
            .collect(),
        f,
        errors,
        saved,
    }
}

/// `GET /verwaltung/{slug}/einstellungen`
pub async fn settings(
    s: Session,
    req: HttpRequest,
    state: web::Data<WebState>,
    slug: web::Path<String>,
    q: Query<SavedParam>,
) -> HttpResponse {
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
    let mut hours = serde_json::Map::new();
    let with_hours = f.stunden == "1";
    for (key, name) in WEEKDAYS.iter().filter(|_| with_hours) {
        match parse_hours(f.hours(key), name) {
            Ok(v) => {
                hours.insert((*key).to_owned(), v);
            }
            Err(m) => errors.push((format!("stunden_{key}"), m)),
        }
    }
    if errors.is_empty()
        && with_hours
        && hours
            .values()
            .all(|v| v.as_array().is_some_and(|a| a.is_empty()))
    {
        errors.push((
            "stunden_mon".to_owned(),
            "Die Servicezeiten dürfen nicht an allen Tagen leer sein.".to_owned(),
        ));
    }
    let (Some(at_risk), Some(anonymize), Some(closing), true) =
        (at_risk, anonymize, closing, errors.is_empty())
    else {
        let page = page_of(&req, &s, &t, f, errors, false);
        return s.finish(&req, html(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let mut settings = serde_json::json!({
        "at_risk_hours": at_risk,
        "anonymize_after_days": anonymize,
        "closing_days": closing,
    });
    if with_hours && let Some(map) = settings.as_object_mut() {
        map.insert("service_hours".to_owned(), serde_json::Value::Object(hours));
    }
    let patch = TenantPatch {
        settings: Some(settings),
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
