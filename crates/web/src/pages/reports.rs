//! Reports per tenant by day or month: a bar chart drawn on the server as SVG, the same
//! numbers as a data table (for screen readers and for reading), and a CSV download. The
//! numbers come from the API's report function; the page only draws them.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Duration, NaiveDate, Utc};
use verbund_tenant::Permission;
use verbund_ticketing::reports::{self, ReportQuery, ReportRow};

use super::{Chrome, domain_error, html};
use crate::WebState;
use crate::input::Query;
use crate::session::{Session, to_login};

#[derive(serde::Deserialize, Default)]
pub struct ReportParams {
    mandant: Option<String>,
    von: Option<String>,
    bis: Option<String>,
    gruppe: Option<String>,
    format: Option<String>,
    /// A center's report instead of a tenant's.
    zentrum: Option<String>,
}

pub struct Bar {
    x: u32,
    width: u32,
    contacts_y: u32,
    contacts_h: u32,
    solved_x: u32,
    solved_y: u32,
    solved_h: u32,
    label: String,
    label_x: u32,
    show_label: bool,
}

pub struct Line {
    period: String,
    contacts: u64,
    solved: u64,
    rate: String,
    tickets: u64,
    answered: u64,
    in_time: String,
    forwarded_in: u64,
    forwarded_out: u64,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportPage {
    c: Chrome,
    tenants: Vec<super::desk::Choice>,
    mandant: String,
    mandant_name: String,
    von: String,
    bis: String,
    gruppe: String,
    bars: Vec<Bar>,
    max: u64,
    lines: Vec<Line>,
    total: Line,
    csv: String,
    ticks: Vec<(u32, u64)>,
    /// The centers whose report the user may see, and the chosen one (center mode).
    centers: Vec<super::desk::Choice>,
    zentrum: Option<String>,
}

fn percent(x: Option<f64>) -> String {
    x.map(|v| format!("{:.0} %", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn line(r: &ReportRow, period: String) -> Line {
    Line {
        period,
        contacts: r.contacts,
        solved: r.solved_first_contact,
        rate: percent(r.first_contact_rate),
        tickets: r.tickets_created,
        answered: r.tickets_answered,
        in_time: percent(r.answered_in_time_rate),
        forwarded_in: r.forwarded_in,
        forwarded_out: r.forwarded_out,
    }
}

/// `2026-12-03` → `03.12.2026`, `2026-12` → `12/2026`.
fn german_period(p: &str) -> String {
    match p.split('-').collect::<Vec<_>>().as_slice() {
        [y, m, d] => format!("{d}.{m}.{y}"),
        [y, m] => format!("{m}/{y}"),
        _ => p.to_owned(),
    }
}

/// Chart geometry: 640 × 240, bars for contacts and for the solved ones side by side.
const W: u32 = 640;
const H: u32 = 200;
const LEFT: u32 = 40;

fn bars(rows: &[ReportRow], max: u64) -> Vec<Bar> {
    let n = rows.len().max(1) as u32;
    let slot = (W - LEFT) / n;
    let width = (slot.saturating_sub(4) / 2).clamp(1, 40);
    let scale = |v: u64| -> u32 { ((v as f64 / max.max(1) as f64) * f64::from(H)).round() as u32 };
    let every = (n / 12).max(1);
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let x = LEFT + i as u32 * slot + 2;
            let ch = scale(r.contacts);
            let sh = scale(r.solved_first_contact);
            Bar {
                x,
                width,
                contacts_y: H - ch + 10,
                contacts_h: ch,
                solved_x: x + width,
                solved_y: H - sh + 10,
                solved_h: sh,
                label: german_period(&r.period),
                label_x: x + width,
                show_label: (i as u32).is_multiple_of(every),
            }
        })
        .collect()
}

/// `GET /berichte`
pub async fn page(
    req: HttpRequest,
    state: web::Data<WebState>,
    q: Query<ReportParams>,
) -> HttpResponse {
    let s = match Session::load(&req, &state).await {
        Ok(s) => s,
        Err(why) => return to_login(&req, why),
    };
    let tenants: Vec<super::desk::Choice> = s
        .actor
        .profile()
        .tenants
        .iter()
        .filter(|t| s.actor.may(Permission::ViewReports, t.id.into()))
        .map(|t| super::desk::Choice {
            slug: t.slug.clone(),
            name: t.name.clone(),
        })
        .collect();
    let centers: Vec<super::desk::Choice> = report_centers(&state, &s).await;
    let zentrum = q.zentrum.clone().filter(|z| !z.is_empty());
    let Some(default) = tenants.first().or(centers.first()) else {
        return s.finish(
            &req,
            super::error_page(
                &req,
                StatusCode::FORBIDDEN,
                Some(&s),
                "Keine Berechtigung",
                "Berichte sehen Administratorinnen und Administratoren einer Kommune.",
            ),
        );
    };
    let mandant = q.mandant.clone().unwrap_or_else(|| default.slug.clone());
    let mandant_name = tenants
        .iter()
        .find(|t| t.slug == mandant)
        .map(|t| t.name.clone())
        .unwrap_or_else(|| mandant.clone());
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let date = |raw: &Option<String>, default: NaiveDate| match raw.as_deref() {
        None | Some("") => Ok(default),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| verbund_tenant::Error::invalid("Datum", "erwartet JJJJ-MM-TT")),
    };
    let (from, to) = match (
        date(&q.von, today - Duration::days(13)),
        date(&q.bis, today),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return domain_error(&req, &s, &e),
    };
    let gruppe = match q.gruppe.as_deref() {
        Some("month") => "month",
        _ => "day",
    };
    let query = ReportQuery {
        from,
        to,
        group: Some(gruppe.to_owned()),
    };
    let result = match &zentrum {
        Some(z) => reports::center_report(&state.db, &s.actor, z, query).await,
        None => reports::tenant_report(&state.db, &s.actor, &mandant, query).await,
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => return domain_error(&req, &s, &e),
    };
    if q.format.as_deref() == Some("csv") {
        return match reports::to_csv(&report) {
            Ok(body) => s.finish(
                &req,
                HttpResponse::Ok()
                    .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
                    .insert_header((
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"bericht-{}-{}-{}.csv\"",
                            report.slug, report.from, report.to
                        ),
                    ))
                    .body(body),
            ),
            Err(e) => domain_error(&req, &s, &e),
        };
    }
    let max = report
        .rows
        .iter()
        .map(|r| r.contacts)
        .max()
        .unwrap_or(0)
        .max(1);
    let ticks = [0, max / 2, max]
        .into_iter()
        .map(|v| {
            let y = H - ((v as f64 / max as f64) * f64::from(H)).round() as u32 + 10;
            (y, v)
        })
        .collect();
    let csv = match &zentrum {
        Some(z) => format!(
            "/berichte?zentrum={}&von={from}&bis={to}&gruppe={gruppe}&format=csv",
            super::enc(z)
        ),
        None => format!(
            "/berichte?mandant={}&von={from}&bis={to}&gruppe={gruppe}&format=csv",
            super::enc(&mandant)
        ),
    };
    let mandant_name = match &zentrum {
        Some(z) => centers
            .iter()
            .find(|c| &c.slug == z)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| z.clone()),
        None => mandant_name,
    };
    let page = ReportPage {
        c: Chrome::new(&req, Some(&s), "Berichte", "reports"),
        bars: bars(&report.rows, max),
        lines: report
            .rows
            .iter()
            .map(|r| line(r, german_period(&r.period)))
            .collect(),
        total: line(&report.total, "Summe".into()),
        tenants,
        mandant,
        mandant_name,
        von: from.to_string(),
        bis: to.to_string(),
        gruppe: gruppe.to_owned(),
        max,
        csv,
        ticks,
        centers,
        zentrum,
    };
    s.finish(&req, html(StatusCode::OK, &page))
}

/// The centers whose report the user may open: an operator's all, else those all of whose
/// served tenants the user sees reports of (the rule of `reports::center_report`, which
/// decides again when the report is asked for).
async fn report_centers(state: &WebState, s: &Session) -> Vec<super::desk::Choice> {
    let visible = s.actor.visibility(Permission::ViewReports);
    verbund_tenant::directory::list_centers(&state.db, &s.actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|c| {
            s.actor.is_operator()
                || (!c.tenants.is_empty()
                    && c.tenants.iter().all(|t| visible.contains(t.id.into())))
        })
        .map(|c| super::desk::Choice {
            slug: c.slug,
            name: c.name,
        })
        .collect()
}
