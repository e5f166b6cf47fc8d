//! The agent desk: one screen for one call. Tenant switch, search as you type, a hit's
//! description with its office's opening state, "Kontakt erfassen" and "Anliegen anlegen".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use uuid::Uuid;
use verbund_knowledge::search::{self, SearchParams};
use verbund_tenant::Permission;
use verbund_ticketing::contacts::{self, NewContact};
use verbund_ticketing::model::{AnswerChannel, Channel};
use verbund_ticketing::tickets::{CallbackWindow, Citizen, NewTicket};

use super::{Chrome, domain_error, enc, html, see_other};
use crate::WebState;
use crate::format;
use crate::input::Query;
use crate::session::{Form, Session, to_login};

/// A tenant the user can answer for.
pub struct Choice {
    pub slug: String,
    pub name: String,
}

/// The tenants whose contacts the actor handles (for an agent: those the center serves).
pub fn desk_tenants(s: &Session) -> Vec<Choice> {
    s.actor
        .profile()
        .tenants
        .iter()
        .filter(|t| s.actor.may(Permission::HandleContacts, t.id.into()))
        .map(|t| Choice {
            slug: t.slug.clone(),
            name: t.name.clone(),
        })
        .collect()
}

/// The chosen tenant: the one asked for if the actor answers for it, else the first.
fn chosen(tenants: &[Choice], asked: Option<&str>) -> usize {
    asked
        .and_then(|a| tenants.iter().position(|t| t.slug == a))
        .unwrap_or(0)
}

fn no_desk(req: &HttpRequest, s: &Session) -> HttpResponse {
    s.finish(
        req,
        super::error_page(
            req,
            StatusCode::FORBIDDEN,
            Some(s),
            "Keine Berechtigung",
            "Der Desk ist für Agentinnen und Agenten eines Servicecenters. Ihrem Konto ist keine Kommune mit dieser Rolle zugeordnet.",
        ),
    )
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    c: Chrome,
    tenants: Vec<Choice>,
    current: usize,
    q: String,
    all: bool,
    hits: Option<Hits>,
    notice: Option<String>,
}

/// Search results, as the desk and the live search show them.
#[derive(Template)]
#[template(path = "hits.html")]
pub struct Hits {
    q: String,
    items: Vec<Hit>,
    error: Option<String>,
}

pub struct Hit {
    href: String,
    title: Vec<(String, bool)>,
    snippet: Vec<(String, bool)>,
    tenant: String,
    other_tenant: bool,
}

#[derive(serde::Deserialize)]
pub struct DeskQuery {
    mandant: Option<String>,
    q: Option<String>,
    alle: Option<String>,
    erfasst: Option<String>,
}

/// `GET /desk`
pub async fn page(
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<DeskQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let tenants = desk_tenants(&s);
    if tenants.is_empty() {
        return no_desk(&req, &s);
    }
    let current = chosen(&tenants, q.mandant.as_deref());
    let text = q.q.clone().unwrap_or_default();
    let all = q.alle.is_some();
    let hits = if text.trim().is_empty() {
        None
    } else {
        Some(run_search(&state, &s, &text, &tenants[current].slug, all).await)
    };
    let notice = q.erfasst.as_deref().map(|n| match n {
        "kontakt" => "Der Kontakt wurde erfasst.".to_owned(),
        _ => "Gespeichert.".to_owned(),
    });
    let title = format!("Desk – {}", tenants[current].name);
    let page = DeskPage {
        c: Chrome::new(&req, Some(&s), &title, "desk"),
        tenants,
        current,
        q: text,
        all,
        hits,
        notice,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}

async fn run_search(state: &WebState, s: &Session, text: &str, mandant: &str, all: bool) -> Hits {
    let params = SearchParams {
        q: text.to_owned(),
        tenant: vec![if all {
            "all".to_owned()
        } else {
            mandant.to_owned()
        }],
        leika: None,
        limit: Some(10),
    };
    match search::search(&state.db, &state.search, &s.actor, params).await {
        Ok(r) => Hits {
            q: text.to_owned(),
            items: r
                .items
                .into_iter()
                .map(|h| Hit {
                    href: format!("/leistungen/{}/{}?mandant={}", h.tenant, h.id, enc(mandant)),
                    title: format::marked(&h.title_html),
                    snippet: format::marked(&h.snippet),
                    other_tenant: h.tenant != mandant,
                    tenant: h.tenant,
                })
                .collect(),
            error: None,
        },
        Err(e) => Hits {
            q: text.to_owned(),
            items: Vec::new(),
            error: Some(match e {
                verbund_tenant::Error::Invalid { .. } => {
                    "Bitte geben Sie einen Suchbegriff mit höchstens 200 Zeichen ein.".to_owned()
                }
                _ => "Die Suche ist gerade nicht möglich.".to_owned(),
            }),
        },
    }
}

/// `GET /suche?q=…&mandant=…`: the hits alone, for the search as you type.
pub async fn search(
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<DeskQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let tenants = desk_tenants(&s);
    if tenants.is_empty() {
        return no_desk(&req, &s);
    }
    let current = chosen(&tenants, q.mandant.as_deref());
    let text = q.q.clone().unwrap_or_default();
    if text.trim().is_empty() {
        return s.finish(
            &req,
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(""),
        );
    }
    let hits = run_search(&state, &s, &text, &tenants[current].slug, q.alle.is_some()).await;
    s.finish(&req, html(StatusCode::OK, &hits))
}

/// One module of a description, ready to show.
pub struct ModuleView {
    label: String,
    paragraphs: Vec<String>,
    items: Vec<String>,
    links: Vec<(String, Option<String>)>,
    pairs: Vec<(String, String)>,
}

fn module_view(label: String, value: &serde_json::Value) -> ModuleView {
    use serde_json::Value;
    let mut m = ModuleView {
        label,
        paragraphs: Vec::new(),
        items: Vec::new(),
        links: Vec::new(),
        pairs: Vec::new(),
    };
    let safe_url =
        |u: &str| (u.starts_with("https://") || u.starts_with("http://")).then(|| u.to_owned());
    match value {
        Value::String(s) => {
            m.paragraphs = s
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        }
        Value::Array(list) => {
            for v in list {
                match v {
                    Value::String(s) => m.items.push(s.clone()),
                    Value::Object(o) => {
                        let url = o.get("url").and_then(Value::as_str).unwrap_or("");
                        let title = o
                            .get("title")
                            .and_then(Value::as_str)
                            .filter(|t| !t.is_empty())
                            .unwrap_or(url);
                        m.links.push((title.to_owned(), safe_url(url)));
                    }
                    other => m.items.push(other.to_string()),
                }
            }
        }
        Value::Object(o) => {
            // Costs: `amounts` (cents and a label each) and a `text`.
            if let Some(Value::Array(amounts)) = o.get("amounts") {
                for a in amounts {
                    let cents = a.get("eur_cents").and_then(Value::as_i64).unwrap_or(0);
                    let label = a.get("label").and_then(Value::as_str).unwrap_or("Gebühr");
                    m.pairs.push((
                        label.to_owned(),
                        format!("{},{:02} €", cents / 100, (cents % 100).abs()),
                    ));
                }
            }
            if let Some(Value::String(t)) = o.get("text") {
                m.paragraphs.push(t.clone());
            }
            for (k, v) in o.iter().filter(|(k, _)| *k != "amounts" && *k != "text") {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                let label = match k.as_str() {
                    "amount" => "Betrag",
                    "currency" => "Währung",
                    "note" | "description" => "Hinweis",
                    "min" => "ab",
                    "max" => "bis",
                    other => other,
                };
                m.pairs.push((label.to_owned(), text));
            }
        }
        Value::Null => {}
        other => m.paragraphs.push(other.to_string()),
    }
    m
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    c: Chrome,
    mandant: String,
    mandant_name: String,
    tenant: String,
    tenant_name: String,
    service_id: Uuid,
    title: String,
    leika: Vec<String>,
    modules: Vec<ModuleView>,
    office: Option<Office>,
}

pub struct Office {
    name: String,
    address: String,
    phone: Option<String>,
    email: Option<String>,
    state: String,
    open: bool,
    today: String,
}

/// "jetzt geöffnet bis 16:00 Uhr" / "geschlossen – öffnet Montag, 07.12.2026 um 08:00 Uhr".
pub fn opening_text(o: &verbund_knowledge::org_units::Opening) -> String {
    let tz = format::zone(&o.time_zone);
    match (o.open, o.open_until, o.next_opening) {
        (true, Some(until), _) => format!("jetzt geöffnet bis {} Uhr", format::time(until, tz)),
        (true, None, _) => "jetzt geöffnet".to_owned(),
        (false, _, Some(next)) => {
            let same_day = format::date(next, tz) == format::date(o.at, tz);
            if same_day {
                format!(
                    "geschlossen – öffnet heute um {} Uhr",
                    format::time(next, tz)
                )
            } else {
                format!(
                    "geschlossen – öffnet {}, {} um {} Uhr",
                    format::weekday(next, tz),
                    format::date(next, tz),
                    format::time(next, tz)
                )
            }
        }
        (false, _, None) => "geschlossen – keine Öffnungszeit bekannt".to_owned(),
    }
}

#[derive(serde::Deserialize)]
pub struct MandantQuery {
    mandant: Option<String>,
}

/// `GET /leistungen/{slug}/{id}`: the merged description, module by module, and the office.
pub async fn service(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    q: Query<MandantQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let (slug, raw_id) = path.into_inner();
    let Ok(id) = raw_id.parse::<verbund_schema::ids::ServiceId>() else {
        return domain_error(&req, &s, &verbund_tenant::Error::NotFound("service"));
    };
    let view = match verbund_knowledge::services::get_service(&state.db, &s.actor, &slug, id).await
    {
        Ok(v) => v,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let tenants = desk_tenants(&s);
    let current = chosen(&tenants, q.mandant.as_deref());
    let (mandant, mandant_name) = tenants
        .get(current)
        .map(|t| (t.slug.clone(), t.name.clone()))
        .unwrap_or_default();
    let tenant_name = verbund_tenant::directory::find_tenant(&state.db, &slug)
        .await
        .map(|t| t.name)
        .unwrap_or_else(|_| slug.clone());
    let office = match view.org_unit.as_ref().or(view.contact_org_unit.as_ref()) {
        Some(ou) => office(&state, &s, &slug, ou.id).await,
        None => None,
    };
    let modules = view
        .merged
        .iter()
        .map(|m| module_view(m.label.clone(), &m.value))
        .filter(|m| {
            !(m.paragraphs.is_empty()
                && m.items.is_empty()
                && m.links.is_empty()
                && m.pairs.is_empty())
        })
        .collect();
    let page = ServicePage {
        c: Chrome::new(&req, Some(&s), &view.title, "desk"),
        mandant,
        mandant_name,
        tenant: slug,
        tenant_name,
        service_id: view.id,
        title: view.title,
        leika: view.leika_keys,
        modules,
        office,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}

async fn office(state: &WebState, s: &Session, slug: &str, id: Uuid) -> Option<Office> {
    use verbund_knowledge::org_units;
    let ou = org_units::get_org_unit(&state.db, &s.actor, slug, id)
        .await
        .ok()?;
    let opening = org_units::opening(
        &state.db,
        &s.actor,
        slug,
        id,
        org_units::OpeningQuery { at: None },
    )
    .await
    .ok()?;
    let today = if opening.today.intervals.is_empty() {
        match (&opening.today.holiday, opening.today.closing_day) {
            (Some(h), _) => format!("Heute geschlossen ({h})"),
            (None, true) => "Heute Schließtag".to_owned(),
            _ => "Heute keine Öffnungszeiten".to_owned(),
        }
    } else {
        let spans: Vec<String> = opening
            .today
            .intervals
            .iter()
            .map(|i| format!("{}–{}", i.start.format("%H:%M"), i.end.format("%H:%M")))
            .collect();
        format!("Heute: {} Uhr", spans.join(", "))
    };
    let a = &ou.address;
    let address = [
        [a.street.as_deref(), a.house_number.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        [a.postal_code.as_deref(), a.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
    ]
    .into_iter()
    .filter(|p| !p.is_empty())
    .collect::<Vec<_>>()
    .join(", ");
    Some(Office {
        name: ou.name,
        address,
        phone: ou.phone,
        email: ou.email,
        state: opening_text(&opening),
        open: opening.open,
        today,
    })
}

#[derive(serde::Deserialize)]
pub struct ContactForm {
    mandant: String,
    betrifft: Option<String>,
    leistung: Option<String>,
    thema: Option<String>,
}

/// `POST /kontakte`: a contact solved at first contact, in one action.
pub async fn log_contact(
    req: HttpRequest,
    state: web::Data<WebState>,
    form: Form<ContactForm>,
) -> HttpResponse {
    let Form { session: s, data } = form;
    let asked = data
        .betrifft
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| data.mandant.clone());
    let service_id = match data.leistung.as_deref().filter(|l| !l.is_empty()) {
        None => None,
        Some(raw) => match Uuid::parse_str(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                return domain_error(
                    &req,
                    &s,
                    &verbund_tenant::Error::invalid("leistung", "ist keine gültige Kennung"),
                );
            }
        },
    };
    let input = NewContact {
        tenant: asked,
        channel: Channel::Phone,
        service_id,
        topic: data.thema.filter(|t| !t.trim().is_empty()),
        solved: true,
        duration_seconds: 0,
        ticket: None,
        on_behalf_of: None,
    };
    match contacts::log_contact(&state.db, &s.actor, input).await {
        Ok(_) => see_other(
            &s,
            &req,
            &format!("/desk?mandant={}&erfasst=kontakt", enc(&data.mandant)),
        ),
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// What the new-ticket form shows and keeps.
#[derive(Default, Clone, serde::Deserialize)]
pub struct TicketForm {
    #[serde(default)]
    mandant: String,
    #[serde(default)]
    betrifft: String,
    #[serde(default)]
    leistung: String,
    #[serde(default)]
    betreff: String,
    #[serde(default)]
    frage: String,
    #[serde(default)]
    antwortweg: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    telefon: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    anschrift: String,
    #[serde(default)]
    rueckruf_tag: String,
    #[serde(default)]
    rueckruf_von: String,
    #[serde(default)]
    rueckruf_bis: String,
}

#[derive(Template)]
#[template(path = "new_ticket.html")]
struct NewTicketPage {
    c: Chrome,
    f: TicketForm,
    tenants: Vec<Choice>,
    betrifft_name: String,
    forwarded: bool,
    due: String,
    errors: Vec<(String, String)>,
}

impl NewTicketPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(serde::Deserialize)]
pub struct NewTicketQuery {
    mandant: Option<String>,
    betrifft: Option<String>,
    leistung: Option<String>,
    betreff: Option<String>,
}

/// `GET /anliegen/neu`: the form, with the due date computed for now.
pub async fn new_ticket(
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<NewTicketQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let tenants = desk_tenants(&s);
    if tenants.is_empty() {
        return no_desk(&req, &s);
    }
    let current = chosen(&tenants, q.mandant.as_deref());
    let f = TicketForm {
        mandant: tenants[current].slug.clone(),
        betrifft: q
            .betrifft
            .clone()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| tenants[current].slug.clone()),
        leistung: q.leistung.clone().unwrap_or_default(),
        betreff: q.betreff.clone().unwrap_or_default(),
        antwortweg: "callback".into(),
        ..TicketForm::default()
    };
    render_new_ticket(&req, &state, &s, tenants, f, Vec::new(), StatusCode::OK).await
}

async fn render_new_ticket(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    tenants: Vec<Choice>,
    f: TicketForm,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> HttpResponse {
    let asked = match verbund_tenant::directory::find_tenant(&state.db, &f.betrifft).await {
        Ok(t) => t,
        Err(e) => return domain_error(req, s, &e),
    };
    let forwarded = !s.actor.may(Permission::HandleTickets, asked.id);
    let tz = format::zone(&asked.time_zone);
    let due = match verbund_ticketing::deadline::due_at(&asked, Utc::now()) {
        Ok(d) => format!("{}, {}", format::weekday(d, tz), format::date_time(d, tz)),
        Err(_) => "nicht berechenbar (keine Servicezeiten hinterlegt)".to_owned(),
    };
    let page = NewTicketPage {
        c: Chrome::new(req, Some(s), "Anliegen anlegen", "desk"),
        betrifft_name: asked.name.clone(),
        forwarded,
        tenants,
        f,
        due,
        errors,
    };
    s.finish(req, html(status, &page))
}

/// German messages for the fields of the ticket form, keyed by the form field.
fn field_of(domain_field: &str) -> &'static str {
    match domain_field {
        f if f.contains("subject") => "betreff",
        f if f.contains("question") => "frage",
        f if f.contains("phone") => "telefon",
        f if f.contains("email") => "email",
        f if f.contains("address") => "anschrift",
        f if f.contains("name") => "name",
        f if f.contains("callback") => "rueckruf_tag",
        f if f.contains("answer_channel") => "antwortweg",
        _ => "frage",
    }
}

fn german_reason(reason: &str) -> String {
    if reason.contains("required") || reason.contains("must not be empty") {
        "Bitte füllen Sie dieses Feld aus.".to_owned()
    } else if reason.contains("at most") {
        format!("Der Text ist zu lang ({reason}).")
    } else {
        format!("Bitte prüfen Sie die Eingabe ({reason}).")
    }
}

/// `POST /anliegen`: opens the ticket (in the own tenant, forwarded at once, when the asked
/// tenant is not one the center serves) through the same contact function as the API.
pub async fn create_ticket(
    req: HttpRequest,
    state: web::Data<WebState>,
    form: Form<TicketForm>,
) -> HttpResponse {
    let Form {
        session: s,
        data: f,
    } = form;
    let tenants = desk_tenants(&s);
    if tenants.is_empty() {
        return no_desk(&req, &s);
    }
    let mut errors = Vec::new();
    let channel = match f.antwortweg.as_str() {
        "callback" => AnswerChannel::Callback,
        "email" => AnswerChannel::Email,
        "letter" => AnswerChannel::Letter,
        _ => {
            errors.push((
                "antwortweg".into(),
                "Bitte wählen Sie einen Antwortweg.".into(),
            ));
            AnswerChannel::Callback
        }
    };
    let service_id = match f.leistung.trim() {
        "" => None,
        raw => Uuid::parse_str(raw).ok(),
    };
    let mut windows = Vec::new();
    if !f.rueckruf_tag.is_empty() {
        match callback_window(&state, &f).await {
            Ok(w) => windows.push(w),
            Err(m) => errors.push(("rueckruf_tag".into(), m)),
        }
    }
    if f.betreff.trim().is_empty() {
        errors.push((
            "betreff".into(),
            "Bitte geben Sie einen Betreff ein.".into(),
        ));
    }
    if f.frage.trim().is_empty() {
        errors.push(("frage".into(), "Bitte beschreiben Sie das Anliegen.".into()));
    }
    match channel {
        AnswerChannel::Callback if f.telefon.trim().is_empty() => errors.push((
            "telefon".into(),
            "Für einen Rückruf brauchen wir eine Telefonnummer.".into(),
        )),
        AnswerChannel::Email if f.email.trim().is_empty() => errors.push((
            "email".into(),
            "Für eine Antwort per E-Mail brauchen wir eine E-Mail-Adresse.".into(),
        )),
        AnswerChannel::Letter if f.anschrift.trim().is_empty() => errors.push((
            "anschrift".into(),
            "Für eine Antwort per Brief brauchen wir eine Anschrift.".into(),
        )),
        _ => {}
    }
    if !errors.is_empty() {
        return render_new_ticket(
            &req,
            &state,
            &s,
            tenants,
            f,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let asked_served = tenants.iter().any(|t| t.slug == f.betrifft);
    let input = NewContact {
        tenant: f.betrifft.clone(),
        channel: Channel::Phone,
        service_id,
        topic: None,
        solved: false,
        duration_seconds: 0,
        ticket: Some(NewTicket {
            subject: f.betreff.clone(),
            question: f.frage.clone(),
            citizen: Citizen {
                name: opt(&f.name),
                phone: opt(&f.telefon),
                email: opt(&f.email),
                address: opt(&f.anschrift),
            },
            answer_channel: channel,
            callback_windows: windows,
            service_id,
            priority: None,
            queue: None,
        }),
        on_behalf_of: (!asked_served).then(|| f.mandant.clone()),
    };
    match contacts::log_contact(&state.db, &s.actor, input).await {
        Ok(view) => match view.ticket {
            Some(t) => see_other(&s, &req, &format!("/vorgaenge/{}?neu=1", enc(&t.number))),
            None => see_other(&s, &req, "/vorgaenge"),
        },
        Err(verbund_tenant::Error::Invalid { field, reason }) => {
            let errors = vec![(field_of(&field).to_owned(), german_reason(&reason))];
            render_new_ticket(
                &req,
                &state,
                &s,
                tenants,
                f,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// The callback window of the form (a local date and two local times in the asked tenant's
/// zone) as UTC instants.
async fn callback_window(state: &WebState, f: &TicketForm) -> Result<CallbackWindow, String> {
    let tz = verbund_tenant::directory::find_tenant(&state.db, &f.betrifft)
        .await
        .map(|t| format::zone(&t.time_zone))
        .unwrap_or(chrono_tz::Europe::Berlin);
    let day = NaiveDate::parse_from_str(&f.rueckruf_tag, "%Y-%m-%d")
        .map_err(|_| "Bitte geben Sie ein Datum an.".to_owned())?;
    let time = |raw: &str| NaiveTime::parse_from_str(raw, "%H:%M").ok();
    let (Some(from), Some(to)) = (time(&f.rueckruf_von), time(&f.rueckruf_bis)) else {
        return Err(
            "Bitte geben Sie Beginn und Ende des Rückrufzeitraums an (z. B. 09:00 und 11:00)."
                .into(),
        );
    };
    let local = |t: NaiveTime| -> Option<DateTime<Utc>> {
        tz.from_local_datetime(&day.and_time(t))
            .earliest()
            .map(|d| d.with_timezone(&Utc))
    };
    let (Some(from), Some(to)) = (local(from), local(to)) else {
        return Err("Diese Uhrzeit gibt es an dem Tag nicht.".into());
    };
    if to <= from {
        return Err("Das Ende muss nach dem Beginn liegen.".into());
    }
    if to < Utc::now() - Duration::minutes(1) {
        return Err("Der Rückrufzeitraum liegt in der Vergangenheit.".into());
    }
    Ok(CallbackWindow { from, to })
}
