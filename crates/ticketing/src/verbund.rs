//! The Verbund level: the cross-tenant forwarding traffic, for operators and coordinators
//! ([`VerbundTrafficScope`]). Counts per pair of tenants and the forwarded tickets at risk now;
//! numbers, tenants, due dates and states only, never a subject, question or citizen.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use verbund_schema::ids::{TenantId, TicketId};
use verbund_schema::tenant;
use verbund_tenant::access::VerbundTrafficScope;
use verbund_tenant::db::Db;
use verbund_tenant::{Actor, Error, Result};

use crate::deadline::calendar_of;
use crate::escalation::{Audience, Level};
use crate::model::{ForwardState, TicketState};
use crate::reports::median;

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerbundQuery {
    /// First day (local date, Europe/Berlin) of the forwards counted, inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive; at most 366 days after `from`.
    pub to: NaiveDate,
}

/// The forwards from one tenant to another, made in the period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct PairRow {
    /// The forwarding tenant (slug).
    pub from_tenant: String,
    /// The receiving tenant (slug).
    pub to_tenant: String,
    /// Forwards sent by `from_tenant`, that is received by `to_tenant`.
    pub forwarded: u64,
    pub accepted: u64,
    /// Returned by the receiver, or automatically when not accepted in time.
    pub returned: u64,
    /// Of the returned, those sent back automatically ("nicht rechtzeitig angenommen").
    pub returned_automatically: u64,
    /// Still waiting for a decision.
    pub pending: u64,
    /// Not accepted within the receiver's `forward_accept_hours` (escalated), whatever
    /// became of them later.
    pub unaccepted: u64,
    /// Median time from the forward to its acceptance, in service hours of the receiver.
    pub acceptance_hours_median: Option<f64>,
    /// Forwarded tickets (distinct) that have been answered.
    pub tickets_answered: u64,
    /// Of those, answered by their due date.
    pub answered_in_time: u64,
    /// Share of the answered ones answered in time (0..1).
    pub answered_in_time_rate: Option<f64>,
}

/// The forwards one tenant sent and received in the period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct TenantTraffic {
    pub tenant: String,
    pub sent: u64,
    pub received: u64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VerbundReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// One row per pair (from, to) with forwards, ordered by the slugs.
    pub pairs: Vec<PairRow>,
    /// One row per tenant with forwards, ordered by slug.
    pub tenants: Vec<TenantTraffic>,
}

/// A forwarded ticket at risk or overdue now (no personal data).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ForwardedAtRisk {
    pub number: String,
    /// The tenant that took the call.
    pub origin_tenant: String,
    /// The tenant that holds the ticket now.
    pub holder_tenant: String,
    /// The tenant that forwarded it last (to the holder, or one the holder returned it from).
    pub forwarded_by_tenant: Option<String>,
    pub due_at: DateTime<Utc>,
    pub state: TicketState,
    pub forward_state: ForwardState,
    pub at_risk: bool,
    pub overdue: bool,
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `[start, end)` in UTC of the local days `from..=to` in Europe/Berlin.
fn window(q: &VerbundQuery) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    verbund_tenant::text::check_date("from", q.from)?;
    verbund_tenant::text::check_date("to", q.to)?;
    if q.to < q.from {
        return Err(Error::invalid("to", "must not be before from"));
    }
    if (q.to - q.from).num_days() > 366 {
        return Err(Error::invalid("to", "at most 366 days after from"));
    }
    let tz = chrono_tz::Europe::Berlin;
    let start_of = |field: &str, d: NaiveDate| -> Result<DateTime<Utc>> {
        d.and_hms_opt(0, 0, 0)
            .and_then(|l| tz.from_local_datetime(&l).earliest())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| Error::invalid(field, "bad date"))
    };
    let end_day =
        q.to.succ_opt()
            .ok_or_else(|| Error::invalid("to", "bad date"))?;
    Ok((start_of("from", q.from)?, start_of("to", end_day)?))
}

#[derive(Default)]
struct Acc {
    row: PairRow,
    hours: Vec<f64>,
    tickets: HashSet<TicketId>,
}

/// The forwarding traffic per pair of tenants (operators and coordinators).
pub async fn report(db: &Db, actor: &Actor, q: VerbundQuery) -> Result<VerbundReport> {
    let scope = actor.authorize_verbund_traffic()?;
    let (start, end) = window(&q)?;
    build(db, &scope, q, start, end).await
}

async fn build(
    db: &Db,
    scope: &VerbundTrafficScope,
    q: VerbundQuery,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<VerbundReport> {
    let forwards = crate::repo::verbund_forwards(db, scope, start, end).await?;
    let ids: Vec<String> = forwards.iter().map(|f| f.id.to_string()).collect();
    let unaccepted: HashSet<String> = crate::repo::verbund_escalated_forwards(
        db,
        scope,
        Level::Unaccepted.as_str(),
        Audience::Receiver.as_str(),
        ids,
    )
    .await?
    .into_iter()
    .collect();
    let mut tenant_ids: HashSet<TenantId> = HashSet::new();
    for f in &forwards {
        tenant_ids.insert(f.from_tenant_id);
        tenant_ids.insert(f.to_tenant_id);
    }
    let tenants: HashMap<TenantId, tenant::Model> = crate::repo::tenants(db, tenant_ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let slug = |id: &TenantId| {
        tenants
            .get(id)
            .map_or_else(|| id.to_string(), |t| t.slug.clone())
    };
    let answers: HashMap<TicketId, (DateTime<Utc>, Option<DateTime<Utc>>)> =
        crate::repo::verbund_ticket_answers(
            db,
            scope,
            forwards.iter().map(|f| f.ticket_id).collect(),
        )
        .await?
        .into_iter()
        .map(|(id, due, answered)| (id, (due, answered)))
        .collect();
    let mut pairs: BTreeMap<(String, String), Acc> = BTreeMap::new();
    let mut traffic: BTreeMap<String, TenantTraffic> = BTreeMap::new();
    for f in &forwards {
        let (from, to) = (slug(&f.from_tenant_id), slug(&f.to_tenant_id));
        let acc = pairs.entry((from.clone(), to.clone())).or_default();
        acc.row.forwarded += 1;
        match f.state {
            ForwardState::Accepted => {
                acc.row.accepted += 1;
                if let (Some(decided), Some(receiver)) =
                    (f.decided_at, tenants.get(&f.to_tenant_id))
                {
                    let took = calendar_of(receiver).service_time_between(f.created_at, decided);
                    acc.hours.push(took.num_seconds() as f64 / 3600.0);
                }
            }
            ForwardState::Returned => {
                acc.row.returned += 1;
                if f.decided_by.is_none() {
                    acc.row.returned_automatically += 1;
                }
            }
            ForwardState::Pending => acc.row.pending += 1,
            ForwardState::None => {}
        }
        if unaccepted.contains(&f.id.to_string()) {
            acc.row.unaccepted += 1;
        }
        acc.tickets.insert(f.ticket_id);
        traffic
            .entry(from.clone())
            .or_insert_with(|| TenantTraffic {
                tenant: from,
                ..Default::default()
            })
            .sent += 1;
        traffic
            .entry(to.clone())
            .or_insert_with(|| TenantTraffic {
                tenant: to,
                ..Default::default()
            })
            .received += 1;
    }
    let pairs = pairs
        .into_iter()
        .map(|((from, to), mut acc)| {
            acc.row.from_tenant = from;
            acc.row.to_tenant = to;
            acc.hours.sort_by(f64::total_cmp);
            acc.row.acceptance_hours_median = median(&acc.hours).map(round);
            for id in &acc.tickets {
                if let Some((due, Some(answered))) = answers.get(id) {
                    acc.row.tickets_answered += 1;
                    if answered <= due {
                        acc.row.answered_in_time += 1;
                    }
                }
            }
            acc.row.answered_in_time_rate = (acc.row.tickets_answered > 0)
                .then(|| round(acc.row.answered_in_time as f64 / acc.row.tickets_answered as f64));
            acc.row
        })
        .collect();
    Ok(VerbundReport {
        from: q.from,
        to: q.to,
        pairs,
        tenants: traffic.into_values().collect(),
    })
}

/// The forwarded tickets at risk or overdue now, soonest due first (operators and
/// coordinators).
pub async fn at_risk(db: &Db, actor: &Actor) -> Result<Vec<ForwardedAtRisk>> {
    let scope = actor.authorize_verbund_traffic()?;
    let open = [
        TicketState::New.as_str(),
        TicketState::InProgress.as_str(),
        TicketState::WaitingBackoffice.as_str(),
    ];
    let rows = crate::repo::verbund_forwarded_at_risk(db, &scope, &open).await?;
    let mut ids: HashSet<TenantId> = HashSet::new();
    for (t, last) in &rows {
        ids.insert(t.tenant_id);
        ids.insert(t.origin_tenant_id);
        if let Some(by) = last {
            ids.insert(*by);
        }
    }
    let slugs: HashMap<TenantId, String> = crate::repo::tenant_slugs(db, ids.into_iter().collect())
        .await?
        .into_iter()
        .collect();
    let slug = |id: &TenantId| slugs.get(id).cloned().unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|(t, last)| ForwardedAtRisk {
            number: t.number.clone(),
            origin_tenant: slug(&t.origin_tenant_id),
            holder_tenant: slug(&t.tenant_id),
            forwarded_by_tenant: last.as_ref().map(slug),
            due_at: t.due_at,
            state: t.state,
            forward_state: t.forward_state,
            at_risk: t.at_risk,
            overdue: t.overdue,
        })
        .collect())
}

fn csv_err(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::internal("CSV Verbund report", e)
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The pairs of the report as CSV, one line per pair.
pub fn report_csv(report: &VerbundReport) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "from_tenant",
        "to_tenant",
        "forwarded",
        "accepted",
        "returned",
        "returned_automatically",
        "pending",
        "unaccepted",
        "acceptance_hours_median",
        "tickets_answered",
        "answered_in_time",
        "answered_in_time_rate",
    ])
    .map_err(csv_err)?;
    for r in &report.pairs {
        w.write_record([
            r.from_tenant.clone(),
            r.to_tenant.clone(),
            r.forwarded.to_string(),
            r.accepted.to_string(),
            r.returned.to_string(),
            r.returned_automatically.to_string(),
            r.pending.to_string(),
            r.unaccepted.to_string(),
            opt(r.acceptance_hours_median),
            r.tickets_answered.to_string(),
            r.answered_in_time.to_string(),
            opt(r.answered_in_time_rate),
        ])
        .map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| csv_err(e.into_error()))?;
    String::from_utf8(bytes).map_err(csv_err)
}

/// The at-risk list as CSV.
pub fn at_risk_csv(rows: &[ForwardedAtRisk]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "number",
        "origin_tenant",
        "holder_tenant",
        "forwarded_by_tenant",
        "due_at",
        "state",
        "forward_state",
        "at_risk",
        "overdue",
    ])
    .map_err(csv_err)?;
    for r in rows {
        w.write_record([
            r.number.clone(),
            r.origin_tenant.clone(),
            r.holder_tenant.clone(),
            r.forwarded_by_tenant.clone().unwrap_or_default(),
            r.due_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            r.state.as_str().to_owned(),
            r.forward_state.as_str().to_owned(),
            r.at_risk.to_string(),
            r.overdue.to_string(),
        ])
        .map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| csv_err(e.into_error()))?;
    String::from_utf8(bytes).map_err(csv_err)
}
