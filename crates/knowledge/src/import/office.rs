//! Offices (Organisationseinheiten) in an import: the NDJSON office record, the geo position
//! and the references to the descriptions an office offers. See the README section
//! "Offices in imports" for the record shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use verbund_tenant::calendar::WeeklyHours;

use super::OrgUnitImport;
use crate::leika::LeikaKey;

/// Most descriptions one office may list as offered.
pub const MAX_OFFERED: usize = 2_000;

/// A WGS 84 position in degrees: latitude in -90..=90, longitude in -180..=180.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoPosition {
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub latitude: f64,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub longitude: f64,
}

// Both values are finite and in range (see `GeoPosition::new`), so equality is an
// equivalence relation.
impl Eq for GeoPosition {}

impl GeoPosition {
    /// A checked position; the error names the bad value.
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, String> {
        if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
            return Err(format!(
                "{latitude} is not a latitude (WGS 84 degrees, -90 to 90)"
            ));
        }
        if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
            return Err(format!(
                "{longitude} is not a longitude (WGS 84 degrees, -180 to 180)"
            ));
        }
        Ok(Self {
            latitude,
            longitude,
        })
    }

    /// Parses decimal degrees written with a point or a comma (`49,7557`).
    pub fn parse(latitude: &str, longitude: &str) -> Result<Self, String> {
        let number = |raw: &str| {
            let raw = raw.trim();
            raw.replace(',', ".")
                .parse::<f64>()
                .map_err(|_| format!("\"{}\" is not a number", crate::shorten(raw, 40)))
        };
        Self::new(number(latitude)?, number(longitude)?)
    }
}

/// A description an office offers, as the source names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceRef {
    /// The source system's id of the description (XZuFi `leistung/id`).
    ExternalId(String),
    /// A LeiKa key: every description of the tenant with this key.
    Leika(String),
}

impl std::fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ExternalId(id) => write!(f, "external id {}", crate::shorten(id, 60)),
            Self::Leika(key) => write!(f, "LeiKa key {key}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    #[serde(rename = "type")]
    _type: String,
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    address: Option<Address>,
    #[serde(default)]
    geo: Option<Geo>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    opening_hours: Option<WeeklyHours>,
    #[serde(default)]
    services: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Address {
    #[serde(default)]
    street: Option<String>,
    #[serde(default)]
    house_number: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
    #[serde(default)]
    city: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Geo {
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefObject {
    #[serde(default)]
    leika: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
}

/// What an NDJSON line is, by its `type` member: a description (no `type`, or `"service"`)
/// or an office (`"office"`).
pub(crate) enum LineKind {
    Service,
    Office,
}

/// The kind of an NDJSON object; an unknown `type` is an error.
pub(crate) fn line_kind(value: &Value) -> Result<LineKind, String> {
    match value.get("type") {
        None => Ok(LineKind::Service),
        Some(Value::String(t)) if t == "service" => Ok(LineKind::Service),
        Some(Value::String(t)) if t == "office" => Ok(LineKind::Office),
        Some(other) => Err(format!(
            "type: expected \"service\" or \"office\", not {}",
            crate::shorten(&other.to_string(), 40)
        )),
    }
}

/// Parses an NDJSON office record (its `type` is `"office"`).
pub(crate) fn parse_record(value: Value, location: String) -> Result<OrgUnitImport, String> {
    let record: Record = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let name = one_line(&record.name);
    if name.is_empty() {
        return Err("name must not be empty".to_owned());
    }
    let geo = record
        .geo
        .map(|g| GeoPosition::new(g.lat, g.lon))
        .transpose()
        .map_err(|e| format!("geo: {e}"))?;
    if record.services.len() > MAX_OFFERED {
        return Err(format!(
            "services: {} entries, at most {MAX_OFFERED}",
            record.services.len()
        ));
    }
    let services = record
        .services
        .into_iter()
        .enumerate()
        .map(|(i, v)| service_ref(v).map_err(|e| format!("services[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let address = record.address.unwrap_or(Address {
        street: None,
        house_number: None,
        postal_code: None,
        city: None,
    });
    let opt = |v: Option<String>| v.map(|s| one_line(&s)).filter(|s| !s.is_empty());
    Ok(OrgUnitImport {
        id: opt(record.id),
        name,
        street: opt(address.street),
        house_number: opt(address.house_number),
        postal_code: opt(address.postal_code),
        city: opt(address.city),
        phone: opt(record.phone),
        email: opt(record.email),
        geo,
        opening_hours: record.opening_hours,
        services,
        location,
    })
}

/// A string is a LeiKa key if it is one, else an external id; an object names which.
fn service_ref(value: Value) -> Result<ServiceRef, String> {
    let leika = |raw: &str| {
        LeikaKey::parse(raw)
            .map(|k| ServiceRef::Leika(k.as_str().to_owned()))
            .map_err(|e| e.to_string())
    };
    match value {
        Value::String(raw) => {
            let raw = raw.trim();
            if raw.is_empty() {
                return Err("must not be empty".to_owned());
            }
            Ok(leika(raw).unwrap_or_else(|_| ServiceRef::ExternalId(raw.to_owned())))
        }
        object @ Value::Object(_) => {
            let r: RefObject = serde_json::from_value(object).map_err(|e| e.to_string())?;
            match (r.leika, r.external_id) {
                (Some(key), None) => leika(&key),
                (None, Some(id)) if !id.trim().is_empty() => {
                    Ok(ServiceRef::ExternalId(id.trim().to_owned()))
                }
                _ => Err("expected exactly one of `leika` and `external_id`".to_owned()),
            }
        }
        _ => Err(
            "expected a LeiKa key, an external id or an object {\"leika\"} / {\"external_id\"}"
                .to_owned(),
        ),
    }
}

/// HTML and white space of a single-line value, as for descriptions.
pub(crate) fn one_line(text: &str) -> String {
    super::html::clean_line(text)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<OrgUnitImport, String> {
        parse_record(v, "line 1".to_owned())
    }

    #[test]
    fn a_full_record() {
        let unit = parse(json!({
            "type": "office", "id": " ou-1 ", "name": "<b>Bürgeramt</b> &amp; Service",
            "address": {"street": "Augustinerhof", "house_number": "1", "postal_code": "54290", "city": "Trier"},
            "geo": {"lat": 49.7557, "lon": 6.6394},
            "phone": "0651 718-0", "email": "buergeramt@trier.de",
            "opening_hours": {"mon": [{"start": "08:00", "end": "12:00"}]},
            "services": ["99102013001000", "1063423", {"leika": "99115005001000"}, {"external_id": "x-7"}]
        }))
        .unwrap();
        assert_eq!(unit.id.as_deref(), Some("ou-1"));
        assert_eq!(unit.name, "Bürgeramt & Service");
        assert_eq!(unit.city.as_deref(), Some("Trier"));
        assert_eq!(unit.geo, Some(GeoPosition::new(49.7557, 6.6394).unwrap()));
        assert_eq!(unit.opening_hours.as_ref().unwrap().mon.len(), 1);
        assert_eq!(
            unit.services,
            [
                ServiceRef::Leika("99102013001000".into()),
                ServiceRef::ExternalId("1063423".into()),
                ServiceRef::Leika("99115005001000".into()),
                ServiceRef::ExternalId("x-7".into()),
            ]
        );
    }

    #[test]
    fn bad_records_name_the_field() {
        let cases = [
            (
                json!({"type": "office", "name": " "}),
                "name must not be empty",
            ),
            (
                json!({"type": "office", "name": "A", "geo": {"lat": 91.0, "lon": 6.0}}),
                "geo: 91 is not a latitude (WGS 84 degrees, -90 to 90)",
            ),
            (
                json!({"type": "office", "name": "A", "geo": {"lat": 49.0, "lon": 181.0}}),
                "geo: 181 is not a longitude (WGS 84 degrees, -180 to 180)",
            ),
            (
                json!({"type": "office", "name": "A", "services": [{"leika": "123"}]}),
                "services[0]: invalid LeiKa key \"123\": must be exactly 14 digits long",
            ),
            (
                json!({"type": "office", "name": "A", "services": [{}]}),
                "services[0]: expected exactly one of `leika` and `external_id`",
            ),
            (
                json!({"type": "office", "name": "A", "fax": "1"}),
                "unknown field `fax`, expected one of `type`, `id`, `name`, `address`, `geo`, \
                 `phone`, `email`, `opening_hours`, `services`",
            ),
        ];
        for (record, reason) in cases {
            assert_eq!(parse(record.clone()), Err(reason.to_owned()), "{record}");
        }
        assert!(matches!(
            line_kind(&json!({"type": "amt"})),
            Err(e) if e == "type: expected \"service\" or \"office\", not \"amt\""
        ));
    }

    #[test]
    fn geo_parses_commas_and_refuses_garbage() {
        assert_eq!(
            GeoPosition::parse("49,7557", " 6.6394 "),
            GeoPosition::new(49.7557, 6.6394)
        );
        assert!(GeoPosition::parse("NaN", "6").is_err());
        assert!(GeoPosition::parse("x", "6").is_err());
        assert!(GeoPosition::new(f64::INFINITY, 0.0).is_err());
    }
}
