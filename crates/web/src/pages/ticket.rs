//! Ticket detail: fields, the history timeline, messages to the citizen and internal notes
//! apart, and the actions (answer, note, call attempt, forward to a tenant or back office
//! picked from the domain's targets, accept, return, close, anonymise after a confirmation).
//! A stale version names the person who changed the ticket meanwhile and keeps the typed
//! text.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use verbund_tenant::ProblemKind;
use verbund_ticketing::forward::{self, ForwardDecision, ForwardRequest};
use verbund_ticketing::model::{CallOutcome, NoteKind, TicketState};
use verbund_ticketing::tickets::{self, NewCallAttempt, NewNote, TicketPatch, TicketView};

use super::queue::{forward_label, state_label};
use super::{Chrome, domain_error, enc, html, see_other};
use crate::WebState;
use crate::format;
use crate::input::Query;
use crate::session::{Form, Session, to_login};

pub struct Entry {
    when: String,
    text: String,
    tenant: String,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    c: Chrome,
    t: TicketView,
    state: &'static str,
    forward: &'static str,
    due: String,
    countdown: String,
    created: String,
    messages: Vec<Entry>,
    notes: Vec<Entry>,
    history: Vec<Entry>,
    /// The holder may accept or return a pending forward.
    may_decide: bool,
    closed: bool,
    notice: Option<&'static str>,
    stale: Option<String>,
    typed: Typed,
    errors: Vec<(String, String)>,
    /// The holder tenant's text modules: id and name.
    modules: Vec<(String, String)>,
    /// The reply area shows `typed.text` (kept text, or a filled-in text module).
    keep_text: bool,
    /// Where the ticket can be forwarded (the domain's `forward::targets`).
    targets: Option<verbund_ticketing::forward::ForwardTargets>,
    /// The user administers the holding tenant: the anonymise link is shown (the domain
    /// decides when it is used).
    may_anonymize: bool,
    /// When the personal data was removed (the history's `anonymized` entry).
    anonymized: Option<String>,
}

impl TicketPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// What the user typed, kept across a failed or stale submit.
#[derive(Default, serde::Deserialize)]
pub struct Typed {
    #[serde(default)]
    text: String,
    #[serde(default)]
    grund: String,
    #[serde(default)]
    ziel: String,
    #[serde(default)]
    ergebnis: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    baustein: String,
    /// Set by the anonymise confirmation page.
    #[serde(default)]
    bestaetigt: String,
}

#[derive(serde::Deserialize)]
pub struct DetailQuery {
    neu: Option<String>,
    ok: Option<String>,
    /// A text module to fill into the reply.
    baustein: Option<String>,
}

/// `GET /vorgaenge/{id}`
pub async fn page(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<String>,
    q: Query<DetailQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let notice = if q.neu.is_some() {
        Some("Das Anliegen wurde angelegt.")
    } else {
        q.ok.as_deref().map(|ok| match ok {
            "anonymisiert" => {
                "Der Vorgang wurde anonymisiert. Die persönlichen Daten sind entfernt."
            }
            _ => "Gespeichert.",
        })
    };
    let typed = Typed {
        baustein: q.baustein.clone().unwrap_or_default(),
        ..Typed::default()
    };
    render(
        &req,
        &state,
        &s,
        &path,
        notice,
        None,
        typed,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn render(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    key: &str,
    notice: Option<&'static str>,
    stale: Option<String>,
    typed: Typed,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> HttpResponse {
    let loaded = async {
        let id = tickets::resolve(&state.db, key).await?;
        let t = tickets::get_ticket(&state.db, &s.actor, id).await?;
        let notes = tickets::list_notes(&state.db, &s.actor, id).await?;
        let history = tickets::history(&state.db, &s.actor, id).await?;
        Ok::<_, verbund_tenant::Error>((t, notes, history, id))
    }
    .await;
    let (t, notes, history, id) = match loaded {
        Ok(x) => x,
        Err(e) => return domain_error(req, s, &e),
    };
    let history_raw: Vec<(String, chrono::DateTime<Utc>)> = history
        .iter()
        .map(|e| (e.kind.clone(), e.created_at))
        .collect();
    // Times in the zone of the tenant that holds the ticket.
    let tz = verbund_tenant::directory::find_tenant(&state.db, &t.tenant)
        .await
        .map(|x| format::zone(&x.time_zone))
        .unwrap_or(chrono_tz::Europe::Berlin);
    let entry = |when, text: String, tenant: String| Entry {
        when: format::date_time(when, tz),
        text,
        tenant,
    };
    let mut messages = Vec::new();
    let mut internal = Vec::new();
    for n in notes {
        match n.kind {
            NoteKind::Message => messages.push(entry(n.created_at, n.body, n.tenant)),
            NoteKind::Internal => internal.push(entry(n.created_at, n.body, n.tenant)),
        }
    }
    let history = history
        .into_iter()
        .map(|e| {
            let text = event_text(&e.kind);
            entry(e.created_at, text, e.tenant)
        })
        .collect();
    // The holder's text modules (none if the user may not use them there).
    let templates = verbund_ticketing::templates::list(&state.db, &s.actor, &t.tenant)
        .await
        .unwrap_or_default();
    let mut typed = typed;
    let mut keep_text = stale.is_some() || !errors.is_empty();
    if !typed.baustein.is_empty()
        && let Some(m) = templates
            .iter()
            .find(|m| m.id.to_string() == typed.baustein)
    {
        typed.text = fill_module(state, &t, tz, &m.body).await;
        keep_text = true;
    }
    let modules = templates
        .into_iter()
        .map(|m| (m.id.to_string(), m.name))
        .collect();
    let may_decide = t.forward_state == verbund_ticketing::model::ForwardState::Pending
        && t.access == "full"
        && t.tenant != t.origin_tenant;
    let anonymized = history_raw_anonymized(&history_raw, tz);
    // The targets only where the user may forward (the domain answers 403/404 otherwise).
    let targets = if t.access == "full" && t.state != TicketState::Closed {
        forward::targets(&state.db, &s.actor, id).await.ok()
    } else {
        None
    };
    let may_anonymize = anonymized.is_none() && super::uiticket::may_anonymize(s, &t);
    let page = TicketPage {
        c: Chrome::new(req, Some(s), &format!("Vorgang {}", t.number), "queue"),
        targets,
        may_anonymize,
        anonymized,
        state: state_label(t.state),
        forward: forward_label(&t),
        due: format::date_time(t.due_at, tz),
        countdown: format::countdown(t.due_at, Utc::now()),
        created: format::date_time(t.created_at, tz),
        closed: t.state == TicketState::Closed,
        messages,
        notes: internal,
        history,
        may_decide,
        notice,
        stale,
        typed,
        errors,
        modules,
        keep_text,
        t,
    };
    s.finish(req, html(status, &page))
}

/// When the ticket was anonymised, from its history.
fn history_raw_anonymized(
    history: &[(String, chrono::DateTime<Utc>)],
    tz: chrono_tz::Tz,
) -> Option<String> {
    history
        .iter()
        .rev()
        .find(|(kind, _)| kind == "anonymized")
        .map(|(_, at)| format::date_time(*at, tz))
}

/// A text module's body with the placeholders filled in for ticket `t`.
pub(crate) async fn fill_module(
    state: &WebState,
    t: &TicketView,
    tz: chrono_tz::Tz,
    body: &str,
) -> String {
    let behoerde = verbund_tenant::directory::find_tenant(&state.db, &t.tenant)
        .await
        .map(|x| x.name)
        .unwrap_or_default();
    let name = t
        .citizen
        .as_ref()
        .and_then(|c| c.name.clone())
        .unwrap_or_default();
    let frist = format::date_time(t.due_at, tz);
    verbund_ticketing::mail::render(
        body,
        &[
            ("nummer", &t.number),
            ("betreff", &t.subject),
            ("frist", &frist),
            ("behoerde", &behoerde),
            ("name", &name),
        ],
    )
}

fn event_text(kind: &str) -> String {
    match kind {
        "created" => "Angelegt".into(),
        "updated" | "changed" => "Geändert".into(),
        "message_sent" => "Antwort an die Bürgerin / den Bürger".into(),
        "mail_queued" => "E-Mail zum Versand gegeben".into(),
        "mail_retried" => "E-Mail erneut gesendet".into(),
        "forwarded" => "Weitergeleitet".into(),
        "forward_accepted" | "accepted" => "Weiterleitung angenommen".into(),
        "forward_returned" | "returned" => "Zurückgegeben".into(),
        "note_added" | "note" => "Interne Notiz".into(),
        "message_added" | "message" | "answered" => "Antwort an die Bürgerin / den Bürger".into(),
        "call_attempt" => "Rückrufversuch".into(),
        "closed" => "Abgeschlossen".into(),
        "escalated" => "Eskaliert".into(),
        "anonymized" => "Anonymisiert (persönliche Daten entfernt)".into(),
        "mail_received" => "E-Mail eingegangen".into(),
        "mail_bounced" => "E-Mail unzustellbar".into(),
        other => other.replace('_', " "),
    }
}

/// `POST /vorgaenge/{id}/{action}`
pub async fn action(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<Typed>,
) -> HttpResponse {
    let Form { session: s, data } = form;
    let (key, action) = path.into_inner();
    let id = match tickets::resolve(&state.db, &key).await {
        Ok(id) => id,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let version = data.version.parse::<i32>().ok();
    let need_version = || version.ok_or_else(|| verbund_tenant::Error::invalid("version", "fehlt"));
    let text = data.text.trim().to_owned();
    let result: Result<(), verbund_tenant::Error> = match action.as_str() {
        "antwort" | "notiz" => {
            if text.is_empty() {
                return render(
                    &req,
                    &state,
                    &s,
                    &key,
                    None,
                    None,
                    Typed { ..data },
                    vec![(action.clone(), "Bitte geben Sie einen Text ein.".into())],
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            let kind = if action == "antwort" {
                NoteKind::Message
            } else {
                NoteKind::Internal
            };
            // An answer is based on what the agent saw: a ticket changed meanwhile is stale.
            // (An internal note is not an answer; it never conflicts.)
            let seen = if kind == NoteKind::Message {
                version
            } else {
                None
            };
            match check_version(&state, &s, id, seen).await {
                Err(e) => Err(e),
                Ok(()) => tickets::add_note(&state.db, &s.actor, id, NewNote { kind, body: text })
                    .await
                    .map(|_| ()),
            }
        }
        "anruf" => {
            let outcome = match data.ergebnis.as_str() {
                "reached" => CallOutcome::Reached,
                "not_reached" => CallOutcome::NotReached,
                "mailbox" => CallOutcome::Mailbox,
                _ => {
                    return render(
                        &req,
                        &state,
                        &s,
                        &key,
                        None,
                        None,
                        data,
                        vec![("ergebnis".into(), "Bitte wählen Sie das Ergebnis.".into())],
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
            };
            tickets::record_call(
                &state.db,
                &s.actor,
                id,
                NewCallAttempt {
                    outcome,
                    note: Some(text).filter(|t| !t.is_empty()),
                },
            )
            .await
            .map(|_| ())
        }
        "weiterleiten" => match need_version() {
            Err(e) => Err(e),
            Ok(version) => {
                let ziel = data.ziel.trim();
                let (tenant, queue) = match ziel.strip_prefix("backoffice:") {
                    Some(_) => (None, Some(ziel.to_owned())),
                    None => (Some(ziel.to_owned()).filter(|z| !z.is_empty()), None),
                };
                forward::forward(
                    &state.db,
                    &s.actor,
                    id,
                    ForwardRequest {
                        tenant,
                        queue,
                        reason: data.grund.clone(),
                        version,
                    },
                )
                .await
                .map(|_| ())
            }
        },
        "annehmen" => match need_version() {
            Err(e) => Err(e),
            Ok(version) => forward::accept(
                &state.db,
                &s.actor,
                id,
                ForwardDecision {
                    version,
                    reason: None,
                },
            )
            .await
            .map(|_| ()),
        },
        "zurueckgeben" => match need_version() {
            Err(e) => Err(e),
            Ok(version) => forward::return_ticket(
                &state.db,
                &s.actor,
                id,
                ForwardDecision {
                    version,
                    reason: Some(data.grund.clone()),
                },
            )
            .await
            .map(|_| ()),
        },
        "schliessen" => match need_version() {
            Err(e) => Err(e),
            Ok(version) => tickets::update_ticket(
                &state.db,
                &s.actor,
                id,
                TicketPatch {
                    version,
                    state: Some(TicketState::Closed),
                    assignee_id: None,
                    priority: None,
                    subject: None,
                    answer_channel: None,
                },
            )
            .await
            .map(|_| ()),
        },
        "anonymisieren" => {
            // Only from the confirmation page (`bestaetigt`); a bare post goes there first.
            if data.bestaetigt != "ja" {
                return see_other(&s, &req, &format!("/vorgaenge/{}/anonymisieren", enc(&key)));
            }
            match verbund_ticketing::privacy::anonymize_on_request(
                &state.db,
                &s.actor,
                id,
                verbund_ticketing::privacy::AnonymizeRequest {
                    reason: data.grund.clone(),
                },
            )
            .await
            {
                Ok(_) => {
                    return see_other(
                        &s,
                        &req,
                        &format!("/vorgaenge/{}?ok=anonymisiert", enc(&key)),
                    );
                }
                Err(verbund_tenant::Error::Invalid { .. }) => {
                    return super::uiticket::confirm_page(
                        &req,
                        &state,
                        &s,
                        &key,
                        &data.grund,
                        Some("Bitte geben Sie einen Grund an (höchstens 500 Zeichen)."),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
                Err(e) => Err(e),
            }
        }
        _ => Err(verbund_tenant::Error::NotFound("action")),
    };
    match result {
        Ok(()) => see_other(&s, &req, &format!("/vorgaenge/{}?ok=1", enc(&key))),
        Err(verbund_tenant::Error::Conflict(ProblemKind::StaleVersion, _)) => {
            let who = last_change(&state, &s, id).await;
            render(
                &req,
                &state,
                &s,
                &key,
                None,
                Some(who),
                data,
                Vec::new(),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(verbund_tenant::Error::Invalid { field, reason }) => {
            let f = match field.as_str() {
                "reason" if action == "weiterleiten" => "weiter-grund",
                "reason" => "grund",
                "tenant" | "queue" => "ziel",
                "body" => action.as_str(),
                other => other,
            }
            .to_owned();
            render(
                &req,
                &state,
                &s,
                &key,
                None,
                None,
                data,
                vec![(f, format!("Bitte prüfen Sie die Eingabe ({reason})."))],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// A stale-version conflict when the ticket's version is not `seen` (when given).
pub(crate) async fn check_version(
    state: &WebState,
    s: &Session,
    id: verbund_schema::ids::TicketId,
    seen: Option<i32>,
) -> Result<(), verbund_tenant::Error> {
    let Some(seen) = seen else { return Ok(()) };
    let t = tickets::get_ticket(&state.db, &s.actor, id).await?;
    if t.version != seen {
        return Err(verbund_tenant::Error::Conflict(
            ProblemKind::StaleVersion,
            "changed meanwhile".into(),
        ));
    }
    Ok(())
}

/// "inzwischen von … geändert": who made the last change (the domain's `last_change`: the
/// person's name where the user works the ticket).
async fn last_change(state: &WebState, s: &Session, id: verbund_schema::ids::TicketId) -> String {
    let tz = chrono_tz::Europe::Berlin;
    match tickets::last_change(&state.db, &s.actor, id).await {
        Ok(Some(c)) => {
            let who = if c.by_you {
                "Ihnen (in einem anderen Fenster)".to_owned()
            } else {
                match c.by {
                    Some(name) => name,
                    None => format!("einer Person aus {}", c.tenant),
                }
            };
            format!(
                "Dieser Vorgang wurde inzwischen von {who} geändert ({}: {}). Unten sehen Sie den neuen Stand; Ihr Text ist erhalten. Bitte prüfen Sie ihn und senden Sie erneut.",
                format::date_time(c.at, tz),
                event_text(&c.kind)
            )
        }
        _ => "Dieser Vorgang wurde inzwischen geändert.".to_owned(),
    }
}
