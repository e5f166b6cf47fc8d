//! The mail desk for responders: the inbound mail that needs a human (with "zuordnen": onto
//! an open ticket by its number, or for operators to a tenant), the tenant's outbox with its
//! delivery state and "erneut senden" (responders and admins of the tenant), and a
//! ticket's mail conversation (quotes collapsed, signature visible, sender mismatch flagged,
//! attachments as downloads) with a reply from a text module.
//!
//! Mail bodies are shown as text only: askama escapes them; nothing from a mail is ever
//! passed through as HTML. Attachments are served as `attachment` downloads with
//! `nosniff` and a sandboxing CSP, never rendered inline.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::http::{StatusCode, header::ExtendedValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;
use verbund_email::queue::{self, AssignInbound, InboundQuery};
use verbund_schema::types::{InboundOutcome, OutboxState};
use verbund_tenant::{Permission, ProblemKind};
use verbund_ticketing::mail::{self as tmail, OutboxQuery};
use verbund_ticketing::model::NoteKind;
use verbund_ticketing::tickets::{self, NewNote, TicketView};

use super::desk::Choice;
use super::{Chrome, domain_error, enc, html, see_other};
use crate::WebState;
use crate::format;
use crate::input::Query;
use crate::session::{Form, Session, to_login};

/// The tenants whose mail the actor works (responders) or manages (admins).
pub fn mail_tenants(s: &Session) -> Vec<Choice> {
    s.actor
        .profile()
        .tenants
        .iter()
        .filter(|t| {
            s.actor.may(Permission::WorkMailQueue, t.id.into())
                || s.actor.may(Permission::ManageTenant, t.id.into())
        })
        .map(|t| Choice {
            slug: t.slug.clone(),
            name: t.name.clone(),
        })
        .collect()
}

fn outcome_label(o: Option<InboundOutcome>) -> &'static str {
    match o {
        Some(InboundOutcome::NewTicket) => "Neuer Vorgang",
        Some(InboundOutcome::Reply) => "Antwort im Vorgang",
        Some(InboundOutcome::ReplyFlagged) => "Antwort von anderem Absender",
        Some(InboundOutcome::Bounce) => "Unzustellbar (zugeordnet)",
        Some(InboundOutcome::BounceUnmatched) => "Unzustellbar, nicht zugeordnet",
        Some(InboundOutcome::Catchall) => "Keiner Kommune zugeordnet",
        Some(InboundOutcome::Unparseable) => "Nicht lesbar",
        Some(InboundOutcome::Review) => "Zur Prüfung",
        None => "In Verarbeitung",
    }
}

/// The delivery state of an outbound mail: an icon (hidden from screen readers) and a text.
fn state_label(s: OutboxState) -> (&'static str, &'static str) {
    match s {
        OutboxState::Queued => ("…", "in Warteschlange"),
        OutboxState::Sending => ("…", "wird gesendet"),
        OutboxState::Sent => ("✓", "gesendet"),
        OutboxState::Failed => ("✗", "fehlgeschlagen"),
        OutboxState::Bounced => ("↩", "unzustellbar zurückgekommen"),
    }
}

fn retryable(s: OutboxState) -> bool {
    matches!(s, OutboxState::Failed | OutboxState::Bounced)
}

pub struct InRow {
    id: Uuid,
    from: String,
    subject: String,
    outcome: &'static str,
    received: String,
    ticket: Option<Uuid>,
    error: Option<String>,
    assignable: bool,
    /// Can join an open ticket ("zuordnen" with a ticket number).
    joinable: bool,
}

pub struct OutRow {
    id: Uuid,
    to: String,
    subject: String,
    icon: &'static str,
    state: &'static str,
    retry: bool,
    attempts: i32,
    error: Option<String>,
    created: String,
    ticket: Option<Uuid>,
}

#[derive(Template)]
#[template(path = "mail.html")]
struct MailDeskPage {
    c: Chrome,
    tenants: Vec<Choice>,
    mandant: String,
    operator: bool,
    inbound: Vec<InRow>,
    /// `None` when the user may not see the outbox (only tenant admins and operators).
    outbox: Option<Vec<OutRow>>,
    /// Tenants a catch-all mail can be handed to (operators).
    all_tenants: Vec<Choice>,
    notice: Option<&'static str>,
    /// A refused "zuordnen": the mail's id and why.
    assign_error: Option<(Uuid, String)>,
    /// The ticket number typed for that mail, kept.
    typed_ticket: String,
}

impl MailDeskPage {
    fn assign_error_of(&self, id: &Uuid) -> Option<&str> {
        self.assign_error
            .as_ref()
            .filter(|(m, _)| m == id)
            .map(|(_, e)| e.as_str())
    }
}

#[derive(serde::Deserialize)]
pub struct DeskQuery {
    mandant: Option<String>,
    ok: Option<String>,
}

/// `GET /post`
pub async fn desk(
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<DeskQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let notice = q.ok.as_deref().map(|ok| match ok {
        "zugeordnet" => "Die E-Mail wurde zugeordnet.",
        "erneut" => "Die E-Mail ist wieder in der Warteschlange und wird gleich gesendet.",
        _ => "Erledigt.",
    });
    render_desk(
        &req,
        &state,
        &s,
        q.mandant.clone(),
        notice,
        None,
        String::new(),
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn render_desk(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    mandant: Option<String>,
    notice: Option<&'static str>,
    assign_error: Option<(Uuid, String)>,
    typed_ticket: String,
    status: StatusCode,
) -> HttpResponse {
    let (req, s) = (req, s);
    let tenants = mail_tenants(s);
    let operator = s.actor.authorize_operator().is_ok();
    if tenants.is_empty() && !operator {
        return s.finish(
            req,
            super::error_page(
                req,
                StatusCode::FORBIDDEN,
                Some(s),
                "Keine Berechtigung",
                "Die Post bearbeiten E-Mail-Bearbeiterinnen und -Bearbeiter einer Kommune.",
            ),
        );
    }
    // Operators without a tenant chosen see the catch-all (mail for no tenant).
    let mandant = match mandant.as_deref() {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ if operator => String::new(),
        _ => tenants.first().map(|t| t.slug.clone()).unwrap_or_default(),
    };
    let tenant = Some(mandant.clone()).filter(|m| !m.is_empty());
    let tz = match &tenant {
        Some(slug) => match verbund_tenant::directory::find_tenant(&state.db, slug).await {
            Ok(t) => format::zone(&t.time_zone),
            Err(e) => return domain_error(req, s, &e),
        },
        None => chrono_tz::Europe::Berlin,
    };
    let inbound = match queue::list(
        &state.db,
        &s.actor,
        InboundQuery {
            tenant: tenant.clone(),
            outcome: None,
            limit: Some(50),
        },
    )
    .await
    {
        Ok(x) => x,
        Err(e) => return domain_error(req, s, &e),
    };
    let inbound = inbound
        .into_iter()
        .map(|m| InRow {
            // What the domain can assign: mail without a ticket that could be read and is
            // not a delivery report (onto a ticket), or any for an operator (to a tenant).
            assignable: m.ticket_id.is_none()
                && (matches!(
                    m.outcome,
                    Some(InboundOutcome::Review | InboundOutcome::Catchall)
                ) || (operator
                    && m.outcome.is_some()
                    && m.outcome != Some(InboundOutcome::Bounce))),
            joinable: m.ticket_id.is_none()
                && matches!(
                    m.outcome,
                    Some(InboundOutcome::Review | InboundOutcome::Catchall)
                ),
            id: m.id,
            from: m.from.unwrap_or_else(|| "(ohne Absender)".into()),
            subject: m.subject.unwrap_or_else(|| "(ohne Betreff)".into()),
            outcome: outcome_label(m.outcome),
            received: format::date_time(m.received_at, tz),
            ticket: m.ticket_id,
            // The reason for a review in German (the stored one is technical).
            error: match m.outcome {
                Some(InboundOutcome::Review) => Some(
                    "Keine gültige Absenderadresse: Niemand kann darauf antworten. Ordnen Sie die E-Mail einem Vorgang zu."
                        .into(),
                ),
                _ => m.error,
            },
        })
        .collect();
    let outbox = match &tenant {
        Some(slug) => tmail::list_outbox(
            &state.db,
            &s.actor,
            slug,
            OutboxQuery {
                state: None,
                limit: Some(50),
                before: None,
            },
        )
        .await
        .ok()
        .map(|rows| {
            rows.into_iter()
                .map(|m| {
                    let (icon, label) = state_label(m.state);
                    OutRow {
                        id: m.id,
                        to: m.to,
                        subject: m.subject,
                        icon,
                        state: label,
                        retry: retryable(m.state),
                        attempts: m.attempts,
                        error: m.last_error,
                        created: format::date_time(m.created_at, tz),
                        ticket: m.ticket_id,
                    }
                })
                .collect()
        }),
        None => None,
    };
    let all_tenants = if operator {
        verbund_tenant::directory::list_tenants(&state.db, &s.actor)
            .await
            .map(|ts| {
                ts.into_iter()
                    .map(|t| Choice {
                        slug: t.slug,
                        name: t.name,
                    })
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let page = MailDeskPage {
        c: Chrome::new(req, Some(s), "Post", "mail"),
        tenants,
        mandant,
        operator,
        inbound,
        outbox,
        all_tenants,
        notice,
        assign_error,
        typed_ticket,
    };
    s.finish(req, html(status, &page))
}

pub struct Attachment {
    id: Uuid,
    name: String,
    size: String,
    omitted: bool,
}

pub struct MailEntry {
    id: Uuid,
    incoming: bool,
    from: String,
    to: String,
    subject: String,
    when: String,
    text: String,
    signature: Option<String>,
    quoted: Option<String>,
    mismatch: bool,
    icon: &'static str,
    state: &'static str,
    retry: bool,
    error: Option<String>,
    attachments: Vec<Attachment>,
}

#[derive(Template)]
#[template(path = "mail_thread.html")]
struct ThreadPage {
    c: Chrome,
    t: TicketView,
    mails: Vec<MailEntry>,
    modules: Vec<(String, String)>,
    baustein: String,
    text: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

/// Splits a mail's text at the signature delimiter (`-- ` on a line of its own), so the
/// signature is shown apart but visible.
pub fn split_signature(text: &str) -> (String, Option<String>) {
    let t = text.replace("\r\n", "\n");
    let at = if t.starts_with("-- \n") {
        Some(0)
    } else {
        t.rfind("\n-- \n").map(|i| i + 1)
    };
    match at {
        Some(i) => {
            let sig = t[i + 4..].trim_end().to_owned();
            let body = t[..i].trim_end().to_owned();
            (body, Some(sig).filter(|s| !s.is_empty()))
        }
        None => (t.trim_end().to_owned(), None),
    }
}

fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0)).replace('.', ",")
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} Byte")
    }
}

#[derive(serde::Deserialize)]
pub struct ThreadQuery {
    baustein: Option<String>,
    ok: Option<String>,
}

/// `GET /vorgaenge/{id}/post`
pub async fn thread(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<String>,
    q: Query<ThreadQuery>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let notice = q.ok.as_deref().map(|_| "Gespeichert.");
    render_thread(
        &req,
        &state,
        &s,
        &path,
        q.baustein.clone().unwrap_or_default(),
        String::new(),
        None,
        notice,
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn render_thread(
    req: &HttpRequest,
    state: &WebState,
    s: &Session,
    key: &str,
    baustein: String,
    text: String,
    error: Option<String>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> HttpResponse {
    let loaded = async {
        let id = tickets::resolve(&state.db, key).await?;
        let t = tickets::get_ticket(&state.db, &s.actor, id).await?;
        let mails = tmail::ticket_mails(&state.db, &s.actor, id).await?;
        Ok::<_, verbund_tenant::Error>((t, mails))
    }
    .await;
    let (t, mails) = match loaded {
        Ok(x) => x,
        Err(e) => return domain_error(req, s, &e),
    };
    let tz = verbund_tenant::directory::find_tenant(&state.db, &t.tenant)
        .await
        .map(|x| format::zone(&x.time_zone))
        .unwrap_or(chrono_tz::Europe::Berlin);
    let mails = mails
        .into_iter()
        .map(|m| {
            let (body, signature) = split_signature(m.text.as_deref().unwrap_or(""));
            let (icon, label) = m.state.map(state_label).unwrap_or(("", ""));
            MailEntry {
                id: m.id,
                incoming: m.direction == "in",
                from: m.from.unwrap_or_default(),
                to: m.to.unwrap_or_default(),
                subject: m.subject.unwrap_or_default(),
                when: format::date_time(m.at, tz),
                text: body,
                signature,
                quoted: m.quoted.filter(|q| !q.trim().is_empty()),
                mismatch: m.sender_mismatch,
                icon,
                state: label,
                retry: m.state.is_some_and(retryable),
                error: m.last_error,
                attachments: m
                    .attachments
                    .into_iter()
                    .map(|a| Attachment {
                        id: a.id,
                        name: a.filename.unwrap_or_else(|| "anhang".into()),
                        size: size_text(a.size),
                        omitted: a.omitted,
                    })
                    .collect(),
            }
        })
        .collect();
    let templates = verbund_ticketing::templates::list(&state.db, &s.actor, &t.tenant)
        .await
        .unwrap_or_default();
    let mut text = text;
    if !baustein.is_empty()
        && let Some(m) = templates.iter().find(|m| m.id.to_string() == baustein)
    {
        text = super::ticket::fill_module(state, &t, tz, &m.body).await;
    }
    let modules = templates
        .into_iter()
        .map(|m| (m.id.to_string(), m.name))
        .collect();
    let page = ThreadPage {
        c: Chrome::new(req, Some(s), &format!("E-Mails zu {}", t.number), "mail"),
        t,
        mails,
        modules,
        baustein,
        text,
        error,
        notice,
    };
    s.finish(req, html(status, &page))
}

#[derive(serde::Deserialize)]
pub struct Reply {
    #[serde(default)]
    text: String,
    #[serde(default)]
    version: String,
}

/// `POST /vorgaenge/{id}/post/antwort`: the reply goes to the citizen as a message of the
/// ticket; for an e-mail ticket the domain queues the mail.
pub async fn reply(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<String>,
    form: Form<Reply>,
) -> HttpResponse {
    let Form { session: s, data } = form;
    let key = path.into_inner();
    let id = match tickets::resolve(&state.db, &key).await {
        Ok(id) => id,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let text = data.text.trim().to_owned();
    if text.is_empty() {
        return render_thread(
            &req,
            &state,
            &s,
            &key,
            String::new(),
            data.text,
            Some("Bitte geben Sie einen Text ein.".into()),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let seen = data.version.parse::<i32>().ok();
    let result = match super::ticket::check_version(&state, &s, id, seen).await {
        Err(e) => Err(e),
        Ok(()) => tickets::add_note(
            &state.db,
            &s.actor,
            id,
            NewNote {
                kind: NoteKind::Message,
                body: text,
            },
        )
        .await
        .map(|_| ()),
    };
    match result {
        Ok(()) => see_other(&s, &req, &format!("/vorgaenge/{}/post?ok=1", enc(&key))),
        Err(verbund_tenant::Error::Conflict(verbund_tenant::ProblemKind::StaleVersion, _)) => {
            render_thread(
                &req,
                &state,
                &s,
                &key,
                String::new(),
                data.text,
                Some(
                    "Der Vorgang wurde inzwischen geändert. Ihr Text ist erhalten; bitte prüfen Sie den neuen Stand und senden Sie erneut."
                        .into(),
                ),
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// `GET /vorgaenge/{id}/anhaenge/{attachment}`: always a download, never shown inline.
pub async fn attachment(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let (key, aid) = path.into_inner();
    let loaded = async {
        let id = tickets::resolve(&state.db, &key).await?;
        let aid =
            Uuid::parse_str(&aid).map_err(|_| verbund_tenant::Error::NotFound("attachment"))?;
        tmail::attachment(&state.db, &s.actor, id, aid).await
    }
    .await;
    let a = match loaded {
        Ok(a) => a,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let name = a.filename.clone().unwrap_or_else(|| "anhang".into());
    // An ASCII fallback without quotes, slashes or controls, and the UTF-8 name (RFC 6266).
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: name.into_bytes(),
            }),
        ],
    };
    s.finish(
        &req,
        HttpResponse::Ok()
            .content_type("application/octet-stream")
            .insert_header(disposition)
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ))
            .body(a.data.unwrap_or_default()),
    )
}

#[derive(serde::Deserialize)]
pub struct RetryForm {
    /// The ticket page to return to (a ticket number), else the mail desk.
    #[serde(default)]
    vorgang: String,
}

/// `POST /post/ausgang/{mandant}/{id}/erneut`: a failed or bounced mail back into the queue.
pub async fn retry(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<(String, String)>,
    form: Form<RetryForm>,
) -> HttpResponse {
    let Form { session: s, data } = form;
    let (mandant, id) = path.into_inner();
    let Ok(id) = Uuid::parse_str(&id) else {
        return domain_error(&req, &s, &verbund_tenant::Error::NotFound("mail"));
    };
    match tmail::retry(&state.db, &s.actor, &mandant, id).await {
        Ok(_) if !data.vorgang.is_empty() => see_other(
            &s,
            &req,
            &format!("/vorgaenge/{}/post?ok=1", enc(&data.vorgang)),
        ),
        Ok(_) => see_other(
            &s,
            &req,
            &format!("/post?mandant={}&ok=erneut", enc(&mandant)),
        ),
        Err(e) => domain_error(&req, &s, &e),
    }
}

#[derive(serde::Deserialize)]
pub struct AssignForm {
    /// A tenant (operators: a catch-all mail to a tenant).
    #[serde(default)]
    mandant: String,
    /// A ticket number (the mail joins that open ticket).
    #[serde(default)]
    vorgang: String,
    /// The desk's tenant tab to return to.
    #[serde(default)]
    zurueck: String,
}

/// `POST /post/eingang/{id}/zuordnen`: hands a mail without a ticket onto an open ticket
/// (its number) or, for operators, to a tenant where it is processed again. The domain
/// (`verbund_email::queue::assign`, as the API) decides who may.
pub async fn assign(
    req: HttpRequest,
    state: web::Data<WebState>,
    path: web::Path<String>,
    form: Form<AssignForm>,
) -> HttpResponse {
    let Form { session: s, data } = form;
    let Ok(id) = Uuid::parse_str(&path) else {
        return domain_error(&req, &s, &verbund_tenant::Error::NotFound("mail"));
    };
    let vorgang = data.vorgang.trim().to_owned();
    let mandant = data.mandant.trim().to_owned();
    let back = Some(data.zurueck.clone()).filter(|z| !z.is_empty());
    if vorgang.is_empty() && mandant.is_empty() {
        return render_desk(
            &req,
            &state,
            &s,
            back,
            None,
            Some((id, "Bitte geben Sie die Vorgangsnummer ein.".into())),
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let input = if vorgang.is_empty() {
        AssignInbound {
            tenant: Some(mandant),
            ticket: None,
        }
    } else {
        AssignInbound {
            tenant: None,
            ticket: Some(vorgang.clone()),
        }
    };
    let by_ticket = input.ticket.is_some();
    match queue::assign(&state.db, &s.actor, id, input).await {
        Ok(_) => see_other(
            &s,
            &req,
            &format!(
                "/post?mandant={}&ok=zugeordnet",
                enc(back.as_deref().unwrap_or(""))
            ),
        ),
        // A ticket number that is wrong, closed or not the user's: said next to the field.
        Err(e) if by_ticket && is_ticket_refusal(&e) => {
            let (status, text) = match &e {
                verbund_tenant::Error::Conflict(ProblemKind::TicketClosed, _) => (
                    StatusCode::CONFLICT,
                    "Dieser Vorgang ist abgeschlossen und nimmt keine E-Mail mehr auf.",
                ),
                verbund_tenant::Error::Conflict(ProblemKind::PersonalDataRemoved, _) => {
                    (StatusCode::CONFLICT, "Dieser Vorgang ist anonymisiert.")
                }
                verbund_tenant::Error::Forbidden(_) => (
                    StatusCode::FORBIDDEN,
                    "Diesen Vorgang dürfen Sie nicht bearbeiten.",
                ),
                _ => (
                    StatusCode::NOT_FOUND,
                    "Einen Vorgang mit dieser Nummer gibt es nicht, oder Sie dürfen ihn nicht sehen.",
                ),
            };
            render_desk(
                &req,
                &state,
                &s,
                back,
                None,
                Some((id, text.into())),
                vorgang,
                status,
            )
            .await
        }
        Err(e) => domain_error(&req, &s, &e),
    }
}

/// Errors that concern the typed ticket (not the mail).
fn is_ticket_refusal(e: &verbund_tenant::Error) -> bool {
    match e {
        verbund_tenant::Error::NotFound(what) => *what == "ticket",
        verbund_tenant::Error::Conflict(k, _) => {
            matches!(
                k,
                ProblemKind::TicketClosed | ProblemKind::PersonalDataRemoved
            )
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_split_off_but_kept() {
        let (b, s) = split_signature(
            "Guten Tag,\r\nich habe eine Frage.\r\n-- \r\nAnna Schmidt\r\nTel. 1\r\n",
        );
        assert_eq!(b, "Guten Tag,\nich habe eine Frage.");
        assert_eq!(s.as_deref(), Some("Anna Schmidt\nTel. 1"));
        let (b, s) = split_signature("Nur Text -- ohne Signatur");
        assert_eq!(b, "Nur Text -- ohne Signatur");
        assert!(s.is_none());
    }
}
