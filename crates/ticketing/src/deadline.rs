//! The answer deadline of a tenant: one working day counted in the tenant's service hours.

use chrono::{DateTime, Utc};
use verbund_schema::tenant;
use verbund_tenant::ProblemKind;
use verbund_tenant::calendar::Calendar;
use verbund_tenant::settings::TenantSettings;
use verbund_tenant::{Error, Result};

/// The service calendar of a tenant: its time zone, its state's public holidays, its service
/// hours and closing days.
pub fn calendar_of(t: &tenant::Model) -> Calendar {
    calendar_with(t, &TenantSettings::from_json(&t.settings))
}

/// [`calendar_of`] with the tenant's settings already read.
fn calendar_with(t: &tenant::Model, settings: &TenantSettings) -> Calendar {
    let tz = t.time_zone.parse().unwrap_or(chrono_tz::Europe::Berlin);
    Calendar::new(tz, &t.state, settings.service_hours.clone())
        .with_closing_days(settings.closing_days.iter().copied())
}

/// When a question that arrived at `arrival` must be answered.
pub fn due_at(t: &tenant::Model, arrival: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let settings = TenantSettings::from_json(&t.settings);
    let due = calendar_with(t, &settings)
        .due_at(arrival, settings.service_day_hours)
        .ok_or_else(|| {
            Error::Conflict(
                ProblemKind::NoServiceHours,
                "the tenant's service calendar has no service hours".into(),
            )
        })?;
    // RFC 3339 has four-digit years: a deadline after 9999 cannot be written down.
    if !verbund_tenant::text::is_writable_instant(due) {
        return Err(Error::invalid(
            "from",
            format!(
                "gives a due date after {}-12-30",
                verbund_tenant::text::LATEST_YEAR
            ),
        ));
    }
    Ok(due)
}
