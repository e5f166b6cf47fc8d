//! Offices (Organisationseinheiten) in the editor: the list, a new office, and editing one
//! with address and contact, opening hours per weekday, closing days and special days, plus
//! the descriptions it offers and whether it is open now. Every write is
//! `org_units::create_org_unit` / `update_org_unit` with the actor (`ManageOrgUnits`: the
//! tenant's editors and admins, as in the API).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, NaiveTime};
use uuid::Uuid;
use verbund_knowledge::org_units::{
    self, NewOrgUnit, OfferedService, OpeningQuery, OrgUnitPatch, OrgUnitView,
};
use verbund_tenant::calendar::{Interval, SpecialDay, WeeklyHours};

use super::form::{FieldError, Pair, german_reason};
use super::{may_edit, status_label};
use crate::WebState;
use crate::format;
use crate::pages::{Chrome, domain_error, enc, html, see_other};
use crate::session::{Form, Session, to_login};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/redaktion/{mandant}/stellen", web::get().to(list))
        .route("/redaktion/{mandant}/stellen", web::post().to(create))
        .route("/redaktion/{mandant}/stellen/neu", web::get().to(new_form))
        .route("/redaktion/{mandant}/stellen/{id}", web::get().to(edit))
        .route("/redaktion/{mandant}/stellen/{id}", web::post().to(save));
}

/// The weekdays: form field, German name, and the `WeeklyHours` slot.
const DAYS: [(&str, &str); 7] = [
    ("mo", "Montag"),
    ("di", "Dienstag"),
    ("mi", "Mittwoch"),
    ("do", "Donnerstag"),
    ("fr", "Freitag"),
    ("sa", "Samstag"),
    ("so", "Sonntag"),
];

fn day_slot<'a>(h: &'a mut WeeklyHours, day: &str) -> Option<&'a mut Vec<Interval>> {
    Some(match day {
        "mo" => &mut h.mon,
        "di" => &mut h.tue,
        "mi" => &mut h.wed,
        "do" => &mut h.thu,
        "fr" => &mut h.fri,
        "sa" => &mut h.sat,
        "so" => &mut h.sun,
        _ => return None,
    })
}

/// The domain's day name (`opening_hours.mon`) → the form's.
fn day_of_api(api: &str) -> Option<&'static str> {
    Some(match api {
        "mon" => "mo",
        "tue" => "di",
        "wed" => "mi",
        "thu" => "do",
        "fri" => "fr",
        "sat" => "sa",
        "sun" => "so",
        _ => return None,
    })
}

/// `08:00–12:00, 14:00–18:00`; empty for none.
pub fn intervals_text(list: &[Interval]) -> String {
    list.iter()
        .map(|i| format!("{}–{}", i.start.format("%H:%M"), i.end.format("%H:%M")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads `08:00-12:00, 14:00–18:00` (also `8-12`, `;` between); `None` if unreadable.
pub fn parse_intervals(text: &str) -> Option<Vec<Interval>> {
    let time = |t: &str| {
        let t = t.trim().trim_end_matches("Uhr").trim();
        NaiveTime::parse_from_str(t, "%H:%M")
            .ok()
            .or_else(|| NaiveTime::parse_from_str(&format!("{t}:00"), "%H:%M").ok())
    };
    let mut out = Vec::new();
    for part in text
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (a, b) = part.split_once(['-', '–'])?;
        out.push(Interval {
            start: time(a)?,
            end: time(b)?,
        });
    }
    Some(out)
}

/// `24.12.2026` or `2026-12-24`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%d.%m.%Y")
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y-%m-%d"))
        .ok()
}

/// What the office form shows.
#[derive(Clone, Default)]
pub struct OfficeState {
    version: String,
    name: String,
    strasse: String,
    hausnummer: String,
    plz: String,
    ort: String,
    telefon: String,
    email: String,
    /// Per weekday (in [`DAYS`] order) the hours as text.
    tage: Vec<String>,
    schliesstage: String,
    /// Special days: date and hours; `hinweise` beside them.
    sondertage: Vec<Pair>,
    hinweise: Vec<String>,
}

impl OfficeState {
    fn empty() -> Self {
        let mut s = Self {
            tage: vec![String::new(); 7],
            ..Self::default()
        };
        s.pad();
        s
    }

    fn from_view(o: &OrgUnitView) -> Self {
        let mut h = o.opening_hours.clone();
        let tage = DAYS
            .iter()
            .map(|(d, _)| {
                day_slot(&mut h, d)
                    .map(|l| intervals_text(l))
                    .unwrap_or_default()
            })
            .collect();
        let mut s = Self {
            version: o.version.to_string(),
            name: o.name.clone(),
            strasse: o.address.street.clone().unwrap_or_default(),
            hausnummer: o.address.house_number.clone().unwrap_or_default(),
            plz: o.address.postal_code.clone().unwrap_or_default(),
            ort: o.address.city.clone().unwrap_or_default(),
            telefon: o.phone.clone().unwrap_or_default(),
            email: o.email.clone().unwrap_or_default(),
            tage,
            schliesstage: o
                .closing_days
                .iter()
                .map(|d| d.format("%d.%m.%Y").to_string())
                .collect::<Vec<_>>()
                .join("\n"),
            sondertage: o
                .special_days
                .iter()
                .map(|d| Pair {
                    a: d.date.format("%d.%m.%Y").to_string(),
                    b: intervals_text(&d.intervals),
                })
                .collect(),
            hinweise: o
                .special_days
                .iter()
                .map(|d| d.note.clone().unwrap_or_default())
                .collect(),
        };
        s.pad();
        s
    }

    fn pad(&mut self) {
        if self
            .sondertage
            .last()
            .is_none_or(|p| !p.a.trim().is_empty() || !p.b.trim().is_empty())
        {
            self.sondertage.push(Pair::default());
            self.hinweise.push(String::new());
        }
        self.hinweise.resize(self.sondertage.len(), String::new());
    }

    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut s = Self {
            tage: vec![String::new(); 7],
            ..Self::default()
        };
        let mut dates = Vec::new();
        let mut hours = Vec::new();
        for (k, v) in pairs {
            let v = v.clone();
            match k.as_str() {
                "version" => s.version = v,
                "name" => s.name = v,
                "strasse" => s.strasse = v,
                "hausnummer" => s.hausnummer = v,
                "plz" => s.plz = v,
                "ort" => s.ort = v,
                "telefon" => s.telefon = v,
                "email" => s.email = v,
                "schliesstage" => s.schliesstage = v,
                "sondertag_datum" => dates.push(v),
                "sondertag_zeiten" => hours.push(v),
                "sondertag_hinweis" => s.hinweise.push(v),
                other => {
                    if let Some(i) = DAYS.iter().position(|(d, _)| *d == other) {
                        s.tage[i] = v;
                    }
                }
            }
        }
        let n = dates.len().max(hours.len()).max(s.hinweise.len());
        dates.resize(n, String::new());
        hours.resize(n, String::new());
        s.hinweise.resize(n, String::new());
        s.sondertage = dates
            .into_iter()
            .zip(hours)
            .map(|(a, b)| Pair { a, b })
            .collect();
        s
    }

    /// `zeile=sondertage` adds a row, `entfernen=sondertage:<n>` removes one.
    fn apply_row_button(&mut self, pairs: &[(String, String)]) -> bool {
        for (k, v) in pairs {
            if k == "zeile" {
                self.sondertage.push(Pair::default());
                self.hinweise.push(String::new());
                return true;
            }
            if k == "entfernen" {
                if let Some(n) = v
                    .strip_prefix("sondertage:")
                    .and_then(|n| n.parse::<usize>().ok())
                    && n < self.sondertage.len()
                {
                    self.sondertage.remove(n);
                    self.hinweise.remove(n);
                }
                return true;
            }
        }
        false
    }

    fn opt(v: &str) -> Option<String> {
        Some(v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// The office as the domain takes it, and the form row of each special day sent.
    fn to_new(&self) -> Result<(NewOrgUnit, Vec<usize>), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut hours = WeeklyHours::closed();
        for (i, (d, name)) in DAYS.iter().enumerate() {
            match parse_intervals(&self.tage[i]) {
                Some(list) => {
                    if let Some(slot) = day_slot(&mut hours, d) {
                        *slot = list;
                    }
                }
                None => errors.push(FieldError {
                    id: format!("tag-{d}"),
                    message: format!(
                        "{name}: Bitte geben Sie die Zeiten als „08:00–12:00, 14:00–18:00“ an (leer: geschlossen)."
                    ),
                }),
            }
        }
        let mut closing = Vec::new();
        for line in self
            .schliesstage
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            match parse_date(line) {
                Some(d) => closing.push(d),
                None => {
                    errors.push(FieldError {
                        id: "schliesstage".into(),
                        message: format!(
                            "Schließtage: „{line}“ ist kein Datum. Bitte eines je Zeile, zum Beispiel 24.12.2026."
                        ),
                    });
                    break;
                }
            }
        }
        let mut special = Vec::new();
        let mut rows = Vec::new();
        for (row, p) in self.sondertage.iter().enumerate() {
            let note = self.hinweise.get(row).map(String::as_str).unwrap_or("");
            if p.a.trim().is_empty() && p.b.trim().is_empty() && note.trim().is_empty() {
                continue;
            }
            let Some(date) = parse_date(&p.a) else {
                errors.push(FieldError {
                    id: format!("sondertag-datum-{row}"),
                    message: format!(
                        "Sondertag {}: Bitte geben Sie ein Datum an, zum Beispiel 24.12.2026.",
                        row + 1
                    ),
                });
                continue;
            };
            let Some(intervals) = parse_intervals(&p.b) else {
                errors.push(FieldError {
                    id: format!("sondertag-zeiten-{row}"),
                    message: format!(
                        "Sondertag {}: Bitte geben Sie die Zeiten als „08:00–12:00“ an (leer: geschlossen).",
                        row + 1
                    ),
                });
                continue;
            };
            special.push(SpecialDay {
                date,
                intervals,
                note: Self::opt(note),
            });
            rows.push(row);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((
            NewOrgUnit {
                name: self.name.trim().to_owned(),
                external_id: None,
                street: Self::opt(&self.strasse),
                house_number: Self::opt(&self.hausnummer),
                postal_code: Self::opt(&self.plz),
                city: Self::opt(&self.ort),
                phone: Self::opt(&self.telefon),
                email: Self::opt(&self.email),
                opening_hours: Some(hours),
                closing_days: closing,
                special_days: special,
                geo: None,
            },
            rows,
        ))
    }
}

/// The input of a domain field path of an office.
fn office_error(field: &str, reason: &str, rows: &[usize]) -> FieldError {
    let special_row = || {
        field
            .strip_prefix("special_days[")
            .and_then(|r| r[..r.find(']')?].parse::<usize>().ok())
            .and_then(|i| rows.get(i).copied())
    };
    let (id, label) = match field {
        "name" => ("name".to_owned(), "Name".to_owned()),
        "street" => ("strasse".to_owned(), "Straße".to_owned()),
        "house_number" => ("hausnummer".to_owned(), "Hausnummer".to_owned()),
        "postal_code" => ("plz".to_owned(), "Postleitzahl".to_owned()),
        "city" => ("ort".to_owned(), "Ort".to_owned()),
        "phone" => ("telefon".to_owned(), "Telefon".to_owned()),
        "email" => ("email".to_owned(), "E-Mail".to_owned()),
        f if f.starts_with("closing_days") => ("schliesstage".to_owned(), "Schließtage".to_owned()),
        f if f.starts_with("opening_hours.") => {
            let api = f.trim_start_matches("opening_hours.");
            let api = api.split(['[', '.']).next().unwrap_or(api);
            match day_of_api(api).and_then(|d| DAYS.iter().find(|(x, _)| *x == d)) {
                Some((d, name)) => (format!("tag-{d}"), (*name).to_owned()),
                None => ("tag-mo".to_owned(), "Öffnungszeiten".to_owned()),
            }
        }
        f if f.starts_with("special_days") => match special_row() {
            Some(r) if f.ends_with(".note") => (
                format!("sondertag-hinweis-{r}"),
                format!("Sondertag {}: Hinweis", r + 1),
            ),
            Some(r) if f.ends_with(".intervals") => (
                format!("sondertag-zeiten-{r}"),
                format!("Sondertag {}: Zeiten", r + 1),
            ),
            Some(r) => (
                format!("sondertag-datum-{r}"),
                format!("Sondertag {}: Datum", r + 1),
            ),
            None => ("sondertag-datum-0".to_owned(), "Sondertage".to_owned()),
        },
        other => ("name".to_owned(), other.to_owned()),
    };
    FieldError {
        id,
        message: format!("{label} {}.", german_reason(reason)),
    }
}

pub struct OfficeLine {
    id: Uuid,
    name: String,
    address: String,
    phone: String,
    services: usize,
}

#[derive(Template)]
#[template(path = "editor_offices.html")]
struct ListPage {
    c: Chrome,
    mandant: String,
    items: Vec<OfficeLine>,
}

fn address_line(o: &OrgUnitView) -> String {
    let a = &o.address;
    let street = [a.street.as_deref(), a.house_number.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let city = [a.postal_code.as_deref(), a.city.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    [street, city]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn list(
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
    let items = match org_units::list_org_units(&state.db, &s.actor, &mandant).await {
        Ok(items) => items,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let items = items
        .iter()
        .map(|o| OfficeLine {
            id: o.id,
            name: o.name.clone(),
            address: address_line(o),
            phone: o.phone.clone().unwrap_or_default(),
            services: o.services.len(),
        })
        .collect();
    let page = ListPage {
        c: Chrome::new(&req, Some(&s), "Stellen", "editor"),
        mandant,
        items,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}

pub struct DayField {
    key: &'static str,
    name: &'static str,
    value: String,
}

pub struct Offered {
    id: Uuid,
    title: String,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "editor_office.html")]
struct OfficePage {
    c: Chrome,
    mandant: String,
    /// `None` for a new office.
    id: Option<Uuid>,
    heading: String,
    f: OfficeState,
    days: Vec<DayField>,
    offered: Vec<Offered>,
    opening: Option<String>,
    notice: Option<&'static str>,
    errors: Vec<FieldError>,
}

impl OfficePage {
    fn err(&self, id: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.message.as_str())
    }

    /// Address and contact inputs: name, label, value, input type, autocomplete.
    #[allow(clippy::type_complexity)]
    fn contact_fields(
        &self,
    ) -> Vec<(&'static str, &'static str, &str, &'static str, &'static str)> {
        let f = &self.f;
        vec![
            ("name", "Name", f.name.as_str(), "text", "off"),
            ("strasse", "Straße", f.strasse.as_str(), "text", "off"),
            (
                "hausnummer",
                "Hausnummer",
                f.hausnummer.as_str(),
                "text",
                "off",
            ),
            ("plz", "Postleitzahl", f.plz.as_str(), "text", "off"),
            ("ort", "Ort", f.ort.as_str(), "text", "off"),
            ("telefon", "Telefon", f.telefon.as_str(), "tel", "off"),
            ("email", "E-Mail", f.email.as_str(), "email", "off"),
        ]
    }

    /// The special-day rows with their notes.
    fn special_rows(&self) -> Vec<(&Pair, &str)> {
        self.f
            .sondertage
            .iter()
            .enumerate()
            .map(|(i, p)| (p, self.f.hinweise.get(i).map(String::as_str).unwrap_or("")))
            .collect()
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    req: &HttpRequest,
    s: &Session,
    mandant: &str,
    office: Option<&OrgUnitView>,
    opening: Option<String>,
    f: OfficeState,
    notice: Option<&'static str>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> HttpResponse {
    let days = DAYS
        .iter()
        .enumerate()
        .map(|(i, (key, name))| DayField {
            key,
            name,
            value: f.tage.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let heading = office
        .map(|o| format!("Stelle: {}", o.name))
        .unwrap_or_else(|| "Neue Stelle".to_owned());
    let page = OfficePage {
        c: Chrome::new(req, Some(s), &heading, "editor"),
        mandant: mandant.to_owned(),
        id: office.map(|o| o.id),
        heading,
        days,
        offered: office
            .map(|o| {
                o.services
                    .iter()
                    .map(|x: &OfferedService| Offered {
                        id: x.id,
                        title: x.title.clone(),
                        status: status_label(x.status),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        opening,
        f,
        notice,
        errors,
    };
    s.finish(req, html(status, &page))
}

async fn new_form(
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
        None,
        OfficeState::empty(),
        None,
        Vec::new(),
        StatusCode::OK,
    )
}

async fn create(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<String>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let Form { session: s, data } = form;
    let mandant = path.into_inner();
    if let Err(e) = may_edit(&s, &mandant) {
        return domain_error(&req, &s, &e);
    }
    let mut f = OfficeState::from_pairs(&data);
    let again = |f: OfficeState, notice, errors, status| {
        render(&req, &s, &mandant, None, None, f, notice, errors, status)
    };
    if f.apply_row_button(&data) {
        f.pad();
        return again(
            f,
            Some("Noch nicht gespeichert: Bitte speichern Sie die Stelle."),
            Vec::new(),
            StatusCode::OK,
        );
    }
    let (input, rows) = match f.to_new() {
        Ok(x) => x,
        Err(errors) => {
            f.pad();
            return again(f, None, errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    match org_units::create_org_unit(&state.db, &s.actor, &mandant, input).await {
        Ok(o) => see_other(
            &s,
            &req,
            &format!("/redaktion/{}/stellen/{}?ok=1", enc(&mandant), o.id),
        ),
        Err(verbund_tenant::Error::Invalid { field, reason }) => {
            f.pad();
            again(
                f,
                None,
                vec![office_error(&field, &reason, &rows)],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

#[derive(serde::Deserialize)]
pub struct EditQuery {
    ok: Option<String>,
}

/// The office and its state now ("jetzt geöffnet bis …" / "öffnet … um …").
async fn load(
    state: &WebState,
    s: &Session,
    mandant: &str,
    id: &str,
) -> Result<(OrgUnitView, Option<String>), verbund_tenant::Error> {
    let id: Uuid = id
        .parse()
        .map_err(|_| verbund_tenant::Error::NotFound("org unit"))?;
    let mut o = org_units::get_org_unit(&state.db, &s.actor, mandant, id).await?;
    // What the office offers: the descriptions naming it, and those an import linked.
    let mut offered = org_units::services_naming(&state.db, &s.actor, mandant, id).await?;
    for linked in std::mem::take(&mut o.services) {
        if !offered.iter().any(|x| x.id == linked.id) {
            offered.push(linked);
        }
    }
    o.services = offered;
    let tz = chrono_tz::Europe::Berlin;
    let opening = org_units::opening(&state.db, &s.actor, mandant, id, OpeningQuery { at: None })
        .await
        .ok()
        .map(|op| match (op.open, op.open_until, op.next_opening) {
            (true, Some(until), _) => format!("Jetzt geöffnet bis {}", format::time(until, tz)),
            (_, _, Some(next)) => {
                format!("Jetzt geschlossen; öffnet {}", format::date_time(next, tz))
            }
            _ => "Jetzt geschlossen".to_owned(),
        });
    Ok((o, opening))
}

async fn edit(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    q: crate::input::Query<EditQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let (mandant, id) = path.into_inner();
    if let Err(e) = may_edit(&s, &mandant) {
        return domain_error(&req, &s, &e);
    }
    let (o, opening) = match load(&state, &s, &mandant, &id).await {
        Ok(x) => x,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let f = OfficeState::from_view(&o);
    render(
        &req,
        &s,
        &mandant,
        Some(&o),
        opening,
        f,
        q.ok.as_deref().map(|_| "Gespeichert."),
        Vec::new(),
        StatusCode::OK,
    )
}

async fn save(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> HttpResponse {
    let Form { session: s, data } = form;
    let (mandant, id) = path.into_inner();
    if let Err(e) = may_edit(&s, &mandant) {
        return domain_error(&req, &s, &e);
    }
    let (o, opening) = match load(&state, &s, &mandant, &id).await {
        Ok(x) => x,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let mut f = OfficeState::from_pairs(&data);
    let again = |f: OfficeState, notice, errors, status| {
        render(
            &req,
            &s,
            &mandant,
            Some(&o),
            opening.clone(),
            f,
            notice,
            errors,
            status,
        )
    };
    if f.apply_row_button(&data) {
        f.pad();
        return again(
            f,
            Some("Noch nicht gespeichert: Bitte speichern Sie die Stelle."),
            Vec::new(),
            StatusCode::OK,
        );
    }
    let Ok(version) = f.version.parse::<i32>() else {
        return domain_error(
            &req,
            &s,
            &verbund_tenant::Error::invalid("version", "fehlt"),
        );
    };
    let (n, rows) = match f.to_new() {
        Ok(x) => x,
        Err(errors) => {
            f.pad();
            return again(f, None, errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let patch = OrgUnitPatch {
        version,
        name: Some(n.name),
        street: Some(n.street),
        house_number: Some(n.house_number),
        postal_code: Some(n.postal_code),
        city: Some(n.city),
        phone: Some(n.phone),
        email: Some(n.email),
        opening_hours: n.opening_hours,
        closing_days: Some(n.closing_days),
        special_days: Some(n.special_days),
        geo: None,
    };
    match org_units::update_org_unit(&state.db, &s.actor, &mandant, o.id, patch).await {
        Ok(o) => see_other(
            &s,
            &req,
            &format!("/redaktion/{}/stellen/{}?ok=1", enc(&mandant), o.id),
        ),
        Err(verbund_tenant::Error::Invalid { field, reason }) => {
            f.pad();
            again(
                f,
                None,
                vec![office_error(&field, &reason, &rows)],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_dates_are_read_in_german_forms() {
        let l = parse_intervals("08:00–12:00, 14-18 Uhr").unwrap();
        assert_eq!(intervals_text(&l), "08:00–12:00, 14:00–18:00");
        assert_eq!(parse_intervals("").unwrap().len(), 0);
        assert!(parse_intervals("morgens").is_none());
        assert_eq!(
            parse_date("24.12.2026"),
            NaiveDate::from_ymd_opt(2026, 12, 24)
        );
        assert_eq!(
            parse_date("2026-12-24"),
            NaiveDate::from_ymd_opt(2026, 12, 24)
        );
        assert!(parse_date("31.02.2026").is_none());
    }
}
