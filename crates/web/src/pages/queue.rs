//! Queues: my tickets, my center's, per tenant; filters; sorted by due date with a
//! countdown; at risk and overdue marked with icon and text. Live: an SSE stream tells the
//! page when its list changed, and the page fetches the new rows.
//!
//! The stream waits on the ticket change feed (a `ticket_changes` row written with every
//! history row, followed by one worker per instance and fanned out through a broadcast
//! channel); for a change of a ticket a tenant of the user sees, it asks the database (through
//! the same `list_tickets` the page uses, with the same filters and visibility) for a
//! fingerprint of the list, so a ticket created, changed or escalated through any instance
//! shows up on every instance: the instances share nothing but the database.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use verbund_tenant::Permission;
use verbund_ticketing::ticket_filter::TicketQuery;
use verbund_ticketing::tickets::{self, TicketView};

use super::{Chrome, domain_error, enc, html};
use crate::WebState;
use crate::format;
use crate::input::Query;
use crate::session::{SESSION_COOKIE, Session, cookie, to_login};

#[derive(serde::Deserialize, Default, Clone)]
pub struct QueueParams {
    /// `meine`, `center` (default) or `mandant`.
    #[serde(default)]
    ansicht: String,
    #[serde(default)]
    mandant: String,
    #[serde(default)]
    status: String,
    /// `gefaehrdet` or `ueberfaellig`.
    #[serde(default)]
    markierung: String,
    /// `ein` or `aus`.
    #[serde(default)]
    weitergeleitet: String,
    /// `ich` or `niemand`.
    #[serde(default)]
    zustaendig: String,
    #[serde(default)]
    teil: String,
}

impl QueueParams {
    /// The page's own query string (without `teil`), for links and the live stream.
    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("ansicht", self.ansicht.as_str()),
            ("mandant", self.mandant.as_str()),
            ("status", self.status.as_str()),
            ("markierung", self.markierung.as_str()),
            ("weitergeleitet", self.weitergeleitet.as_str()),
            ("zustaendig", self.zustaendig.as_str()),
        ])
        .unwrap_or_default()
    }
}

/// The API's typed query for these UI parameters; an unknown value is the domain's 400/422.
async fn api_query(
    state: &WebState,
    s: &Session,
    p: &QueueParams,
) -> Result<TicketQuery, verbund_tenant::Error> {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    match p.ansicht.as_str() {
        "meine" => pairs.push(("assignee", "me".into())),
        "mandant" if !p.mandant.is_empty() => {
            // As the API's per-tenant list: the tenant must be one whose tickets the user sees.
            let t =
                verbund_tenant::directory::find_tenant_for(&state.db, &s.actor, &p.mandant).await?;
            s.actor.authorize(Permission::ViewTickets, t.id)?;
            pairs.push(("tenant", t.slug));
        }
        _ => {}
    }
    if !p.status.is_empty() {
        pairs.push(("state", p.status.clone()));
    }
    match p.markierung.as_str() {
        "gefaehrdet" => pairs.push(("at_risk", "true".into())),
        "ueberfaellig" => pairs.push(("overdue", "true".into())),
        _ => {}
    }
    match p.weitergeleitet.as_str() {
        "ein" => pairs.push(("forwarded", "in".into())),
        "aus" => pairs.push(("forwarded", "out".into())),
        _ => {}
    }
    match p.zustaendig.as_str() {
        "ich" => pairs.push(("assignee", "me".into())),
        "niemand" => pairs.push(("assignee", "none".into())),
        _ => {}
    }
    pairs.push(("limit", "100".into()));
    let raw = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    serde_urlencoded::from_str::<TicketQuery>(&raw)
        .map_err(|e| verbund_tenant::Error::invalid("filter", e.to_string()))
}

pub struct Row {
    number: String,
    href: String,
    subject: String,
    tenant: String,
    state: &'static str,
    due: String,
    countdown: String,
    at_risk: bool,
    overdue: bool,
    forward: &'static str,
}

pub fn state_label(s: verbund_ticketing::model::TicketState) -> &'static str {
    use verbund_ticketing::model::TicketState as S;
    match s {
        S::New => "Neu",
        S::InProgress => "In Bearbeitung",
        S::WaitingBackoffice => "Wartet auf Fachbereich",
        S::Answered => "Beantwortet",
        S::Closed => "Abgeschlossen",
    }
}

pub fn forward_label(t: &TicketView) -> &'static str {
    use verbund_ticketing::model::ForwardState as F;
    match t.forward_state {
        F::None => "",
        F::Pending if t.tenant != t.origin_tenant => "weitergeleitet, nicht angenommen",
        F::Pending => "weitergeleitet",
        F::Accepted => "angenommen",
        F::Returned => "zurückgegeben",
    }
}

/// The rows, each with its times in the zone of the tenant that holds the ticket.
async fn rows(state: &WebState, items: Vec<TicketView>) -> Vec<Row> {
    let now = Utc::now();
    let mut zones: std::collections::HashMap<String, chrono_tz::Tz> =
        std::collections::HashMap::new();
    for t in &items {
        if !zones.contains_key(&t.tenant) {
            let tz = verbund_tenant::directory::find_tenant(&state.db, &t.tenant)
                .await
                .map(|x| format::zone(&x.time_zone))
                .unwrap_or(chrono_tz::Europe::Berlin);
            zones.insert(t.tenant.clone(), tz);
        }
    }
    items
        .into_iter()
        .map(|t| {
            (
                zones
                    .get(&t.tenant)
                    .copied()
                    .unwrap_or(chrono_tz::Europe::Berlin),
                t,
            )
        })
        .map(|(tz, t)| Row {
            href: format!("/vorgaenge/{}", enc(&t.number)),
            due: format::date_time(t.due_at, tz),
            countdown: format::countdown(t.due_at, now),
            at_risk: t.at_risk && !t.overdue,
            overdue: t.overdue,
            state: state_label(t.state),
            forward: forward_label(&t),
            number: t.number,
            subject: t.subject,
            tenant: t.tenant,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    c: Chrome,
    p: QueueParams,
    tenants: Vec<super::desk::Choice>,
    table: QueueTable,
    live: String,
}

#[derive(Template)]
#[template(path = "queue_table.html")]
struct QueueTable {
    rows: Vec<Row>,
}

/// `GET /vorgaenge`
pub async fn page(
    req: HttpRequest,
    state: web::Data<WebState>,
    p: Query<QueueParams>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let p = p.into_inner();
    let query = match api_query(&state, &s, &p).await {
        Ok(q) => q,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let page = match tickets::list_tickets(&state.db, &s.actor, query).await {
        Ok(page) => page,
        Err(e) => return domain_error(&req, &s, &e),
    };
    let table = QueueTable {
        rows: rows(&state, page.items).await,
    };
    if p.teil == "1" {
        return s.finish(&req, html(StatusCode::OK, &table));
    }
    let tenants = s
        .actor
        .profile()
        .tenants
        .iter()
        .filter(|t| s.actor.may(Permission::ViewTickets, t.id.into()))
        .map(|t| super::desk::Choice {
            slug: t.slug.clone(),
            name: t.name.clone(),
        })
        .collect();
    let live = format!("/vorgaenge/live?{}", p.query_string());
    let page = QueuePage {
        c: Chrome::new(&req, Some(&s), "Vorgänge", "queue"),
        p,
        tenants,
        table,
        live,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}

/// A fingerprint of a list: ids, versions and markers in order.
fn fingerprint(items: &[TicketView]) -> String {
    items
        .iter()
        .map(|t| format!("{}:{}:{}:{}", t.id, t.version, t.at_risk, t.overdue))
        .collect::<Vec<_>>()
        .join(",")
}

/// `GET /vorgaenge/live?…`: Server-Sent Events. `changed` when the list of the same filters
/// differs from the one the stream started with (or last reported), `expired` when the
/// session ended. The stream waits on the application's ticket change feed
/// ([`verbund_ticketing::changes`], followed by one worker per instance) and asks the
/// database again only for a change of a ticket that a tenant the user sees holds, opened or
/// forwarded. A comment line every 15 s keeps proxies from closing the connection (and
/// checks the session).
pub async fn live(
    req: HttpRequest,
    state: web::Data<WebState>,
    p: Query<QueueParams>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let p = p.into_inner();
    if let Err(e) = api_query(&state, &s, &p).await {
        return domain_error(&req, &s, &e);
    }
    let token = cookie(&req, SESSION_COOKIE).unwrap_or_default();
    let changes = verbund_ticketing::changes::subscribe(&state.db);
    let state = state.into_inner();
    struct Loop {
        state: std::sync::Arc<WebState>,
        token: String,
        p: QueueParams,
        changes: tokio::sync::broadcast::Receiver<verbund_ticketing::changes::TicketChange>,
        last: Option<String>,
        done: bool,
    }
    /// What woke the stream.
    enum Wake {
        Start,
        Change,
        Heartbeat,
    }
    let start = Loop {
        state,
        token,
        p,
        changes,
        last: None,
        done: false,
    };
    let stream = futures_util::stream::unfold(start, |mut l| async move {
        use tokio::sync::broadcast::error::RecvError;
        if l.done {
            return None;
        }
        loop {
            let wake = if l.last.is_none() {
                Wake::Start
            } else {
                tokio::select! {
                    got = l.changes.recv() => match got {
                        Ok(change) => {
                            // Only a ticket a tenant of the user sees: another tenant's change
                            // is not even looked at.
                            let Ok(actor) = l.state.auth.authenticate(&l.state.db, &l.token).await
                            else {
                                l.done = true;
                                let ev = web::Bytes::from_static(b"event: expired\ndata: 1\n\n");
                                return Some((Ok::<_, actix_web::Error>(ev), l));
                            };
                            let vis = actor.visibility(Permission::ViewTickets);
                            if !change.tenants.iter().any(|t| vis.contains(*t)) {
                                continue;
                            }
                            Wake::Change
                        }
                        Err(RecvError::Lagged(_)) => Wake::Change,
                        Err(RecvError::Closed) => return None,
                    },
                    () = tokio::time::sleep(Duration::from_secs(15)) => Wake::Heartbeat,
                }
            };
            let actor = match l.state.auth.authenticate(&l.state.db, &l.token).await {
                Ok(a) => a,
                Err(_) => {
                    l.done = true;
                    let ev = web::Bytes::from_static(b"event: expired\ndata: 1\n\n");
                    return Some((Ok::<_, actix_web::Error>(ev), l));
                }
            };
            if matches!(wake, Wake::Heartbeat) {
                return Some((Ok(web::Bytes::from_static(b": noch da\n\n")), l));
            }
            let s = Session::for_actor(actor);
            let Ok(q) = api_query(&l.state, &s, &l.p).await else {
                continue;
            };
            let Ok(page) = tickets::list_tickets(&l.state.db, &s.actor, q).await else {
                continue;
            };
            let fp = fingerprint(&page.items);
            match (&wake, &l.last) {
                (Wake::Start, _) => {
                    l.last = Some(fp);
                    let ev = web::Bytes::from_static(b"retry: 2000\n: verbunden\n\n");
                    return Some((Ok(ev), l));
                }
                (_, Some(prev)) if *prev != fp => {
                    l.last = Some(fp);
                    let ev = web::Bytes::from_static(b"event: changed\ndata: 1\n\n");
                    return Some((Ok(ev), l));
                }
                _ => {}
            }
        }
    });
    s.finish(
        &req,
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/event-stream"))
            .insert_header(("X-Accel-Buffering", "no"))
            .streaming(stream),
    )
}
