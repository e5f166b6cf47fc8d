//! Reports per tenant and per service center, by day or month: contacts by channel, the
//! first-contact solution rate, tickets created, the share answered in time, the median and
//! 90th percentile of the answer time in service hours, and forwards in and out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use verbund_tenant::db::Db;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use verbund_schema::ids::TenantId;
use verbund_schema::tenant;
use verbund_tenant::directory::{find_center, find_tenant};
use verbund_tenant::{Actor, Error, Permission, Result, Visibility};

use crate::repo::ContactsOf;

use crate::deadline::calendar_of;
use crate::model::Channel;

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First day (local date), inclusive.
    pub from: NaiveDate,
    /// Last day (local date), inclusive; at most 366 days after `from`.
    pub to: NaiveDate,
    /// `day` (default) or `month`.
    pub group: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ReportRow {
    /// `2026-11-16` or `2026-11`; `total` for the sum.
    pub period: String,
    pub contacts: u64,
    /// Contacts per channel: phone, email, letter, walk_in.
    pub contacts_by_channel: BTreeMap<String, u64>,
    pub solved_first_contact: u64,
    /// Share of contacts solved at first contact (0..1).
    pub first_contact_rate: Option<f64>,
    pub tickets_created: u64,
    pub tickets_answered: u64,
    pub answered_in_time: u64,
    /// Share of answered tickets answered by their due date (0..1).
    pub answered_in_time_rate: Option<f64>,
    /// Median time from arrival to the first answer, in service hours.
    pub answer_hours_median: Option<f64>,
    /// 90th percentile (nearest rank) of the same.
    pub answer_hours_p90: Option<f64>,
    pub forwarded_in: u64,
    pub forwarded_out: u64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Report {
    /// `tenant` or `center`.
    pub scope: &'static str,
    pub slug: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group: String,
    pub rows: Vec<ReportRow>,
    pub total: ReportRow,
}

#[derive(Default)]
struct Acc {
    row: ReportRow,
    answer_hours: Vec<f64>,
}

impl Acc {
    fn finish(mut self, period: String) -> ReportRow {
        let r = &mut self.row;
        r.period = period;
        r.first_contact_rate =
            (r.contacts > 0).then(|| round(r.solved_first_contact as f64 / r.contacts as f64));
        r.answered_in_time_rate = (r.tickets_answered > 0)
            .then(|| round(r.answered_in_time as f64 / r.tickets_answered as f64));
        self.answer_hours.sort_by(f64::total_cmp);
        r.answer_hours_median = median(&self.answer_hours).map(round);
        r.answer_hours_p90 = nearest_rank(&self.answer_hours, 0.9).map(round);
        self.row
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Median of sorted values (mean of the middle two for an even count).
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The nearest-rank percentile of sorted values.
pub fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

struct Window {
    tz: chrono_tz::Tz,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    monthly: bool,
}

impl Window {
    fn new(q: &ReportQuery, tz: chrono_tz::Tz) -> Result<Self> {
        verbund_tenant::text::check_date("from", q.from)?;
        verbund_tenant::text::check_date("to", q.to)?;
        if q.to < q.from {
            return Err(Error::invalid("to", "must not be before from"));
        }
        if (q.to - q.from).num_days() > 366 {
            return Err(Error::invalid("to", "at most 366 days after from"));
        }
        let monthly = match q.group.as_deref() {
            None | Some("day") => false,
            Some("month") => true,
            Some(_) => return Err(Error::invalid("group", "must be day or month")),
        };
        let start_of = |d: NaiveDate| -> Result<DateTime<Utc>> {
            let local = d
                .and_hms_opt(0, 0, 0)
                .ok_or_else(|| Error::invalid("from", "bad date"))?;
            tz.from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| Error::invalid("from", "bad date"))
        };
        let end_day =
            q.to.succ_opt()
                .ok_or_else(|| Error::invalid("to", "bad date"))?;
        Ok(Self {
            tz,
            start: start_of(q.from)?,
            end: start_of(end_day)?,
            monthly,
        })
    }

    fn period(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.tz);
        if self.monthly {
            local.format("%Y-%m").to_string()
        } else {
            local.format("%Y-%m-%d").to_string()
        }
    }
}

/// What a report covers.
struct Subject {
    contacts: ContactsOf,
    tenants: BTreeSet<TenantId>,
    /// The tenants the actor may see reports of (`ViewReports`).
    reports: Visibility,
}

async fn build(db: &Db, subject: Subject, window: &Window) -> Result<(Vec<ReportRow>, ReportRow)> {
    let mut buckets: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    let reports = &subject.reports;
    let contacts =
        crate::repo::report_contacts(db, reports, subject.contacts, window.start, window.end)
            .await?;
    for (at, channel, solved) in contacts {
        for acc in [buckets.entry(window.period(at)).or_default(), &mut total] {
            acc.row.contacts += 1;
            *acc.row
                .contacts_by_channel
                .entry(channel.clone())
                .or_default() += 1;
            if solved {
                acc.row.solved_first_contact += 1;
            }
        }
    }
    let tenants: HashMap<TenantId, tenant::Model> =
        crate::repo::tenants(db, subject.tenants.iter().copied())
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
    let calendars: HashMap<TenantId, verbund_tenant::calendar::Calendar> = tenants
        .iter()
        .map(|(id, t)| (*id, calendar_of(t)))
        .collect();
    let tickets =
        crate::repo::report_tickets(db, reports, &subject.tenants, window.start, window.end)
            .await?;
    for t in tickets {
        let hours = t.first_answered_at.and_then(|answered| {
            calendars.get(&t.origin_tenant_id).map(|c| {
                c.service_time_between(t.created_at, answered).num_seconds() as f64 / 3600.0
            })
        });
        for acc in [
            buckets.entry(window.period(t.created_at)).or_default(),
            &mut total,
        ] {
            acc.row.tickets_created += 1;
            if let Some(answered) = t.first_answered_at {
                acc.row.tickets_answered += 1;
                if answered <= t.due_at {
                    acc.row.answered_in_time += 1;
                }
                if let Some(h) = hours {
                    acc.answer_hours.push(h);
                }
            }
        }
    }
    let forwards =
        crate::repo::report_forwards(db, reports, &subject.tenants, window.start, window.end)
            .await?;
    for f in forwards {
        let from_in = subject.tenants.contains(&f.from_tenant_id);
        let to_in = subject.tenants.contains(&f.to_tenant_id);
        for acc in [
            buckets.entry(window.period(f.created_at)).or_default(),
            &mut total,
        ] {
            if to_in && !from_in {
                acc.row.forwarded_in += 1;
            }
            if from_in && !to_in {
                acc.row.forwarded_out += 1;
            }
        }
    }
    let rows = buckets.into_iter().map(|(p, acc)| acc.finish(p)).collect();
    Ok((rows, total.finish("total".into())))
}

fn zero_channels(row: &mut ReportRow) {
    for c in Channel::ALL {
        row.contacts_by_channel
            .entry(c.as_str().to_owned())
            .or_default();
    }
}

/// The report of one tenant (tenant admins, operators).
pub async fn tenant_report(db: &Db, actor: &Actor, slug: &str, q: ReportQuery) -> Result<Report> {
    let t = find_tenant(db, slug).await?;
    actor.authorize(Permission::ViewReports, t.id)?;
    let reports = actor.visibility(Permission::ViewReports);
    let tz = t.time_zone.parse().unwrap_or(chrono_tz::Europe::Berlin);
    let window = Window::new(&q, tz)?;
    let subject = Subject {
        contacts: ContactsOf::Tenant(t.id),
        tenants: BTreeSet::from([t.id]),
        reports,
    };
    finish(db, subject, window, "tenant", t.slug, q).await
}

/// The report of a service center: its agents' contacts and the tickets of the tenants it
/// serves (operators, and admins of every tenant it serves).
pub async fn center_report(db: &Db, actor: &Actor, slug: &str, q: ReportQuery) -> Result<Report> {
    let c = find_center(db, slug).await?;
    let served = crate::repo::served_by_center(db, c.id).await?;
    let reports = actor.visibility(Permission::ViewReports);
    let allowed =
        actor.is_operator() || (!served.is_empty() && served.iter().all(|t| reports.contains(*t)));
    if !allowed {
        return Err(Error::Forbidden(
            "reports of a center are for operators and the admins of its tenants",
        ));
    }
    let window = Window::new(&q, chrono_tz::Europe::Berlin)?;
    let subject = Subject {
        contacts: ContactsOf::Center(c.id),
        tenants: served,
        reports,
    };
    finish(db, subject, window, "center", c.slug, q).await
}

async fn finish(
    db: &Db,
    subject: Subject,
    window: Window,
    scope: &'static str,
    slug: String,
    q: ReportQuery,
) -> Result<Report> {
    let (mut rows, mut total) = build(db, subject, &window).await?;
    for r in &mut rows {
        zero_channels(r);
    }
    zero_channels(&mut total);
    Ok(Report {
        scope,
        slug,
        from: q.from,
        to: q.to,
        group: if window.monthly { "month" } else { "day" }.into(),
        rows,
        total,
    })
}

/// The report as CSV: one line per period and a `total` line.
pub fn to_csv(report: &Report) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let channels: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
    let mut header = vec!["period", "contacts"];
    let channel_cols: Vec<String> = channels.iter().map(|c| format!("contacts_{c}")).collect();
    header.extend(channel_cols.iter().map(String::as_str));
    header.extend([
        "solved_first_contact",
        "first_contact_rate",
        "tickets_created",
        "tickets_answered",
        "answered_in_time",
        "answered_in_time_rate",
        "answer_hours_median",
        "answer_hours_p90",
        "forwarded_in",
        "forwarded_out",
    ]);
    let err = |e: csv::Error| Error::internal("CSV report", e);
    w.write_record(&header).map_err(err)?;
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for r in report.rows.iter().chain(std::iter::once(&report.total)) {
        let mut rec = vec![r.period.clone(), r.contacts.to_string()];
        for c in &channels {
            rec.push(
                r.contacts_by_channel
                    .get(*c)
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
            );
        }
        rec.extend([
            r.solved_first_contact.to_string(),
            opt(r.first_contact_rate),
            r.tickets_created.to_string(),
            r.tickets_answered.to_string(),
            r.answered_in_time.to_string(),
            opt(r.answered_in_time_rate),
            opt(r.answer_hours_median),
            opt(r.answer_hours_p90),
            r.forwarded_in.to_string(),
            r.forwarded_out.to_string(),
        ]);
        w.write_record(&rec).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::internal("CSV report", e))?;
    String::from_utf8(bytes).map_err(|e| Error::internal("CSV report", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[2.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 10.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 10.0]), Some(3.0));
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.9), Some(9.0));
        assert_eq!(nearest_rank(&[5.0], 0.9), Some(5.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 0.9), Some(3.0));
    }
}
