//! Org units (Organisationseinheiten): the offices of a tenant with address, phone, e-mail and
//! opening hours, and the "open now / next opening" answer in the tenant's time zone with the
//! public holidays of its state (the shared service calendar of `verbund_tenant`).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verbund_schema::tenant;
use verbund_tenant::ProblemKind;
use verbund_tenant::calendar::{Calendar, Interval, SpecialDay, WeeklyHours, parse_tz};
use verbund_tenant::db::Db;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::domain::EmailAddress;
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::access::{self, KnowledgeReader};
pub use crate::import::office::GeoPosition;
use crate::services::to_json;
use verbund_schema::org_unit;

/// Most closing days or special days per org unit.
pub const MAX_DAYS: usize = 400;

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgUnit {
    pub name: String,
    /// The id the unit has in other systems (XZuFi `organisationseinheit/id`).
    pub external_id: Option<String>,
    pub street: Option<String>,
    pub house_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Weekly opening hours; a missing day is closed. Default: closed.
    pub opening_hours: Option<WeeklyHours>,
    /// Dates on which the office is closed.
    #[serde(default)]
    pub closing_days: Vec<NaiveDate>,
    /// Dates with other hours (no intervals: closed).
    #[serde(default)]
    pub special_days: Vec<SpecialDay>,
    /// The office's position (WGS 84).
    #[serde(default)]
    pub geo: Option<GeoPosition>,
}

/// Changes to an org unit; absent fields stay, `null` clears an optional one.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgUnitPatch {
    /// The version the change is based on; a stale one gives 409.
    pub version: i32,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub street: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub house_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    pub opening_hours: Option<WeeklyHours>,
    pub closing_days: Option<Vec<NaiveDate>>,
    pub special_days: Option<Vec<SpecialDay>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<GeoPosition>)]
    pub geo: Option<Option<GeoPosition>>,
}

fn double_option<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct Address {
    pub street: Option<String>,
    pub house_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OrgUnitView {
    pub id: Uuid,
    pub tenant: String,
    pub external_id: Option<String>,
    pub name: String,
    pub address: Address,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub opening_hours: WeeklyHours,
    pub closing_days: Vec<NaiveDate>,
    pub special_days: Vec<SpecialDay>,
    /// The office's position (WGS 84), if known.
    pub geo: Option<GeoPosition>,
    /// The descriptions the office offers (from imports), those the reader may read.
    pub services: Vec<OfferedService>,
    pub demo: bool,
    /// Send it back with every change (optimistic locking).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A description an office offers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OfferedService {
    pub id: Uuid,
    /// Its LeiKa keys, sorted (none for a local service).
    pub leika_keys: Vec<String>,
    pub title: String,
    pub status: verbund_schema::types::ServiceStatus,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OpeningQuery {
    /// The instant to ask about (RFC 3339); default: now.
    pub at: Option<String>,
}

/// The hours of the local day of `at`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DayHours {
    /// The local date in the tenant's time zone.
    pub date: NaiveDate,
    /// Local opening intervals after holidays, closing days and special days.
    pub intervals: Vec<Interval>,
    /// The public holiday of that date, if any.
    pub holiday: Option<String>,
    pub closing_day: bool,
    /// The note of a special day, if the date is one.
    pub special_day: Option<String>,
}

/// Whether an office is open at an instant.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Opening {
    pub at: DateTime<Utc>,
    pub time_zone: String,
    pub open: bool,
    /// When the current opening ends, if open.
    pub open_until: Option<DateTime<Utc>>,
    /// The next opening after `at` (after the current one when open); `null` if the office
    /// does not open within a year.
    pub next_opening: Option<DateTime<Utc>>,
    pub today: DayHours,
}

/// A validated org unit.
pub(crate) struct ValidOrgUnit {
    pub name: String,
    pub external_id: Option<String>,
    pub street: Option<String>,
    pub house_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub opening_hours: WeeklyHours,
    pub closing_days: Vec<NaiveDate>,
    pub special_days: Vec<SpecialDay>,
    pub geo: Option<GeoPosition>,
}

fn bounded(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => Err(Error::invalid(
            field,
            format!("must have at most {max} characters"),
        )),
        Some(v) if v.chars().any(char::is_control) => {
            Err(Error::invalid(field, "must not contain control characters"))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

fn parse_phone(raw: Option<&str>) -> Result<Option<String>> {
    let Some(v) = bounded("phone", raw, 50)? else {
        return Ok(None);
    };
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let allowed = v
        .chars()
        .all(|c| c.is_ascii_digit() || " +-/()".contains(c));
    if allowed && (3..=20).contains(&digits) {
        Ok(Some(v))
    } else {
        Err(Error::invalid("phone", "is not a phone number"))
    }
}

fn parse_postal_code(raw: Option<&str>) -> Result<Option<String>> {
    let Some(v) = bounded("postal_code", raw, 10)? else {
        return Ok(None);
    };
    if v.len() == 5 && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(Some(v))
    } else {
        Err(Error::invalid("postal_code", "must be five digits"))
    }
}

fn parse_email(raw: Option<&str>) -> Result<Option<String>> {
    match bounded("email", raw, 254)? {
        Some(e) => Ok(Some(EmailAddress::parse("email", &e)?.into_inner())),
        None => Ok(None),
    }
}

fn check_days(closing: &[NaiveDate], special: &[SpecialDay]) -> Result<()> {
    if closing.len() > MAX_DAYS {
        return Err(Error::invalid(
            "closing_days",
            format!("at most {MAX_DAYS} dates"),
        ));
    }
    if special.len() > MAX_DAYS {
        return Err(Error::invalid(
            "special_days",
            format!("at most {MAX_DAYS} dates"),
        ));
    }
    for (i, day) in closing.iter().enumerate() {
        verbund_tenant::text::check_date(&format!("closing_days[{i}]"), *day)?;
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, day) in special.iter().enumerate() {
        verbund_tenant::text::check_date(&format!("special_days[{i}].date"), day.date)?;
        day.validate().map_err(|e| match e {
            verbund_tenant::calendar::CalendarError::Invalid { reason, .. } => {
                Error::invalid(format!("special_days[{i}].intervals"), reason)
            }
            other => other.into(),
        })?;
        if day.note.as_ref().is_some_and(|n| n.chars().count() > 300) {
            return Err(Error::invalid(
                format!("special_days[{i}].note"),
                "must have at most 300 characters",
            ));
        }
        if !seen.insert(day.date) {
            return Err(Error::invalid(
                format!("special_days[{i}].date"),
                format!("{} is given more than once", day.date),
            ));
        }
    }
    Ok(())
}

fn check_hours(hours: &WeeklyHours) -> Result<()> {
    hours.validate().map_err(|e| match e {
        verbund_tenant::calendar::CalendarError::Invalid { field, reason } => {
            Error::invalid(format!("opening_hours.{field}"), reason)
        }
        other => other.into(),
    })
}

impl NewOrgUnit {
    pub(crate) fn validate(self) -> Result<ValidOrgUnit> {
        let name = bounded("name", Some(&self.name), 300)?
            .ok_or_else(|| Error::invalid("name", "is required"))?;
        let opening_hours = self.opening_hours.unwrap_or_else(WeeklyHours::closed);
        check_hours(&opening_hours)?;
        check_days(&self.closing_days, &self.special_days)?;
        let mut closing_days = self.closing_days;
        closing_days.sort();
        closing_days.dedup();
        Ok(ValidOrgUnit {
            name,
            external_id: bounded("external_id", self.external_id.as_deref(), 200)?,
            street: bounded("street", self.street.as_deref(), 200)?,
            house_number: bounded("house_number", self.house_number.as_deref(), 20)?,
            postal_code: parse_postal_code(self.postal_code.as_deref())?,
            city: bounded("city", self.city.as_deref(), 200)?,
            phone: parse_phone(self.phone.as_deref())?,
            email: parse_email(self.email.as_deref())?,
            opening_hours,
            closing_days,
            special_days: self.special_days,
            geo: self
                .geo
                .map(|g| GeoPosition::new(g.latitude, g.longitude))
                .transpose()
                .map_err(|reason| Error::invalid("geo", reason))?,
        })
    }
}

pub(crate) fn view(o: org_unit::Model, tenant_slug: &str) -> OrgUnitView {
    OrgUnitView {
        id: o.id,
        tenant: tenant_slug.to_owned(),
        external_id: o.external_id,
        name: o.name,
        address: Address {
            street: o.street,
            house_number: o.house_number,
            postal_code: o.postal_code,
            city: o.city,
        },
        phone: o.phone,
        email: o.email,
        opening_hours: serde_json::from_value(o.weekly_hours)
            .unwrap_or_else(|_| WeeklyHours::closed()),
        closing_days: serde_json::from_value(o.closing_days).unwrap_or_default(),
        special_days: serde_json::from_value(o.special_days).unwrap_or_default(),
        geo: match (o.latitude, o.longitude) {
            (Some(lat), Some(lon)) => GeoPosition::new(lat, lon).ok(),
            _ => None,
        },
        services: Vec::new(),
        demo: o.demo,
        version: o.version,
        created_at: o.created_at,
        updated_at: o.updated_at,
    }
}

/// Inserts a validated org unit.
pub(crate) async fn insert_org_unit(
    db: &impl ConnectionTrait,
    tenant_id: verbund_schema::ids::TenantId,
    v: ValidOrgUnit,
    demo: bool,
) -> Result<org_unit::Model> {
    let at = now();
    let external = v.external_id.clone();
    org_unit::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        external_id: Set(v.external_id),
        name: Set(v.name),
        street: Set(v.street),
        house_number: Set(v.house_number),
        postal_code: Set(v.postal_code),
        city: Set(v.city),
        phone: Set(v.phone),
        email: Set(v.email),
        weekly_hours: Set(to_json(&v.opening_hours)?),
        closing_days: Set(to_json(&v.closing_days)?),
        special_days: Set(to_json(&v.special_days)?),
        latitude: Set(v.geo.map(|g| g.latitude)),
        longitude: Set(v.geo.map(|g| g.longitude)),
        demo: Set(demo),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await
    .map_err(|e| {
        Error::from_db_unique(
            e,
            &format!(
                "an org unit with external id {}",
                external.unwrap_or_default()
            ),
        )
    })
}

/// Creates an org unit (scope: `ManageOrgUnits` on the tenant).
#[instrument(skip_all, fields(tenant = slug))]
pub async fn create_org_unit(
    db: &Db,
    actor: &Actor,
    slug: &str,
    input: NewOrgUnit,
) -> Result<OrgUnitView> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageOrgUnits, t.id)?;
    let writer = crate::repo::Writer::user(&scope);
    let valid = input.validate()?;
    let txn = begin_write(db).await?;
    if let Some(ext) = &valid.external_id {
        let taken =
            crate::repo::org_unit_by_key(&txn, &writer, Some(ext.as_str()), &valid.name).await?;
        if taken.is_some() {
            return Err(Error::Conflict(
                ProblemKind::Duplicate,
                format!("an org unit with external id {ext} already exists"),
            ));
        }
    }
    let model = insert_org_unit(&txn, t.id, valid, false).await?;
    txn.commit().await?;
    Ok(view(model, &t.slug))
}

fn require_org_reader(actor: &Actor, t: &tenant::Model) -> Result<KnowledgeReader> {
    match access::reader(actor) {
        Ok(reader) if access::can_read_org_units(actor, t.id) => Ok(reader),
        _ => Err(Error::Forbidden("reading org units is not permitted")),
    }
}

/// The org units of a tenant: public information for every reader of knowledge.
#[instrument(skip_all, fields(tenant = slug))]
pub async fn list_org_units(db: &Db, actor: &Actor, slug: &str) -> Result<Vec<OrgUnitView>> {
    let t = find_tenant(db, slug).await?;
    let reader = require_org_reader(actor, &t)?;
    let views = crate::repo::org_units(db, &reader, t.id)
        .await?
        .into_iter()
        .map(|o| view(o, &t.slug))
        .collect();
    with_services(db, &reader, &t, views).await
}

/// Fills in the descriptions each office offers that the reader may read.
async fn with_services(
    db: &impl ConnectionTrait,
    reader: &KnowledgeReader,
    t: &tenant::Model,
    mut views: Vec<OrgUnitView>,
) -> Result<Vec<OrgUnitView>> {
    let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
    let mut offered: std::collections::HashMap<Uuid, Vec<OfferedService>> =
        std::collections::HashMap::new();
    let rows = crate::repo::offered_services(db, reader, t.id, &ids).await?;
    let services: Vec<_> = rows.iter().map(|(_, s)| s.clone()).collect();
    let keys = crate::repo::leika_keys_of(db, &services).await?;
    for (office, s) in rows {
        offered.entry(office).or_default().push(OfferedService {
            id: s.id.uuid(),
            leika_keys: keys.get(&s.id).cloned().unwrap_or_default(),
            title: s.title,
            status: s.status,
        });
    }
    for v in &mut views {
        if let Some(mut services) = offered.remove(&v.id) {
            services.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
            v.services = services;
        }
    }
    Ok(views)
}

async fn load(
    db: &impl ConnectionTrait,
    reader: &KnowledgeReader,
    t: &tenant::Model,
    id: Uuid,
) -> Result<org_unit::Model> {
    crate::repo::org_unit(db, reader, t.id, id)
        .await?
        .ok_or(Error::NotFound("org unit"))
}

async fn load_for_edit(
    db: &impl ConnectionTrait,
    writer: &crate::repo::Writer,
    id: Uuid,
) -> Result<org_unit::Model> {
    crate::repo::org_unit_for_edit(db, writer, id)
        .await?
        .ok_or(Error::NotFound("org unit"))
}

#[instrument(skip_all, fields(tenant = slug, org_unit = %id))]
pub async fn get_org_unit(db: &Db, actor: &Actor, slug: &str, id: Uuid) -> Result<OrgUnitView> {
    let t = find_tenant(db, slug).await?;
    let reader = require_org_reader(actor, &t).map_err(|_| Error::NotFound("org unit"))?;
    let one = view(load(db, &reader, &t, id).await?, &t.slug);
    let mut views = with_services(db, &reader, &t, vec![one]).await?;
    views.pop().ok_or(Error::NotFound("org unit"))
}

/// Changes an org unit; 409 when the version is stale.
#[instrument(skip_all, fields(tenant = slug, org_unit = %id))]
pub async fn update_org_unit(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: Uuid,
    patch: OrgUnitPatch,
) -> Result<OrgUnitView> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageOrgUnits, t.id)?;
    let writer = crate::repo::Writer::user(&scope);
    let txn = begin_write(db).await?;
    let current = load_for_edit(&txn, &writer, id).await?;
    let old = view(current.clone(), &t.slug);
    let pick = |new: Option<Option<String>>, old: Option<String>| match new {
        Some(v) => v,
        None => old,
    };
    let merged = NewOrgUnit {
        name: patch.name.unwrap_or(old.name),
        external_id: old.external_id,
        street: pick(patch.street, old.address.street),
        house_number: pick(patch.house_number, old.address.house_number),
        postal_code: pick(patch.postal_code, old.address.postal_code),
        city: pick(patch.city, old.address.city),
        phone: pick(patch.phone, old.phone),
        email: pick(patch.email, old.email),
        opening_hours: Some(patch.opening_hours.unwrap_or(old.opening_hours)),
        closing_days: patch.closing_days.unwrap_or(old.closing_days),
        special_days: patch.special_days.unwrap_or(old.special_days),
        geo: patch.geo.unwrap_or(old.geo),
    };
    let v = merged.validate()?;
    if current.version != patch.version {
        return Err(Error::Conflict(
            ProblemKind::StaleVersion,
            format!(
                "the org unit was changed meanwhile (version {} instead of {}); reload it",
                current.version, patch.version
            ),
        ));
    }
    let changes = org_unit::ActiveModel {
        name: Set(v.name),
        street: Set(v.street),
        house_number: Set(v.house_number),
        postal_code: Set(v.postal_code),
        city: Set(v.city),
        phone: Set(v.phone),
        email: Set(v.email),
        weekly_hours: Set(to_json(&v.opening_hours)?),
        closing_days: Set(to_json(&v.closing_days)?),
        special_days: Set(to_json(&v.special_days)?),
        latitude: Set(v.geo.map(|g| g.latitude)),
        longitude: Set(v.geo.map(|g| g.longitude)),
        version: Set(current.version + 1),
        updated_at: Set(now()),
        ..Default::default()
    };
    if !crate::repo::save_org_unit(&txn, &writer, &current, changes).await? {
        return Err(Error::Conflict(
            ProblemKind::StaleVersion,
            "the org unit was changed meanwhile; reload it".into(),
        ));
    }
    let saved = load_for_edit(&txn, &writer, id).await?;
    txn.commit().await?;
    let saved = view(saved, &t.slug);
    match access::reader(actor) {
        Ok(reader) => Ok(with_services(db, &reader, &t, vec![saved.clone()])
            .await?
            .pop()
            .unwrap_or(saved)),
        Err(_) => Ok(saved),
    }
}

/// The calendar of an org unit: its hours in the tenant's time zone, with the public
/// holidays of the tenant's state, its closing days and special days.
pub fn calendar_of(t: &tenant::Model, o: &OrgUnitView) -> Result<Calendar> {
    let tz = parse_tz(&t.time_zone)?;
    Ok(Calendar::new(tz, &t.state, o.opening_hours.clone())
        .with_closing_days(o.closing_days.iter().copied())
        .with_special_days(o.special_days.iter().cloned()))
}

/// Answers "open at `at`?", the next opening and the hours of that local day.
pub fn opening_at(t: &tenant::Model, o: &OrgUnitView, at: DateTime<Utc>) -> Result<Opening> {
    let calendar = calendar_of(t, o)?;
    let current = calendar.current_interval(at);
    // Only instants that RFC 3339 can write (four-digit years in every time zone).
    let writable = |t: DateTime<Utc>| verbund_tenant::text::is_writable_instant(t).then_some(t);
    let next_opening = match current {
        Some((_, end)) => calendar.next_opening(end),
        None => calendar.next_opening(at),
    }
    .and_then(writable);
    let date = at.with_timezone(&calendar.tz()).date_naive();
    Ok(Opening {
        at,
        time_zone: t.time_zone.clone(),
        open: current.is_some(),
        open_until: current.and_then(|(_, end)| writable(end)),
        next_opening,
        today: DayHours {
            date,
            intervals: calendar.hours_on(date),
            holiday: calendar.holiday_on(date).map(|h| h.name.to_owned()),
            closing_day: o.closing_days.contains(&date),
            special_day: o.special_days.iter().find(|d| d.date == date).map(|d| {
                d.note
                    .clone()
                    .unwrap_or_else(|| "Sonderöffnungszeiten".into())
            }),
        },
    })
}

/// "Open now / next opening" of an org unit.
#[instrument(skip_all, fields(tenant = slug, org_unit = %id))]
pub async fn opening(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: Uuid,
    q: OpeningQuery,
) -> Result<Opening> {
    let t = find_tenant(db, slug).await?;
    let reader = require_org_reader(actor, &t).map_err(|_| Error::NotFound("org unit"))?;
    let at = match q.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Utc::now(),
        Some(raw) => DateTime::parse_from_rfc3339(raw)
            .map_err(|_| Error::invalid("at", "must be an RFC 3339 date and time"))?
            .with_timezone(&Utc),
    };
    verbund_tenant::text::check_instant("at", at)?;
    let o = view(load(db, &reader, &t, id).await?, &t.slug);
    opening_at(&t, &o, at)
}

/// The descriptions that name an org unit as their responsible office (zuständige Stelle)
/// or contact point (Ansprechpunkt), those the reader may read, sorted by title. (The
/// office's `services` are the links an import brought; this is the other direction.)
#[instrument(skip_all, fields(tenant = slug, org_unit = %id))]
pub async fn services_naming(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: Uuid,
) -> Result<Vec<OfferedService>> {
    let t = find_tenant(db, slug).await?;
    let reader = require_org_reader(actor, &t).map_err(|_| Error::NotFound("org unit"))?;
    // The office must be the tenant's (and visible): else 404, as for the office itself.
    load(db, &reader, &t, id).await?;
    let services = crate::repo::services_naming_org_unit(db, &reader, t.id, id).await?;
    let keys = crate::repo::leika_keys_of(db, &services).await?;
    Ok(services
        .into_iter()
        .map(|s| OfferedService {
            id: s.id.uuid(),
            leika_keys: keys.get(&s.id).cloned().unwrap_or_default(),
            title: s.title,
            status: s.status,
        })
        .collect())
}
