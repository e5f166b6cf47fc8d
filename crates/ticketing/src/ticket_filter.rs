//! The filters of the ticket queue: the typed query string ([`TicketQuery`]) and the pure step
//! from it to a [`TicketFilter`], which [`crate::tickets::list_tickets`] turns into a query.
//!
//! Lists (`tenant`, `state`, [`TicketQuery::LISTS`]) take comma-separated values
//! (`state=new,in_progress`), repeated parameters (`state=new&state=in_progress`, joined by
//! the server's `ListQuery` extractor) or both; an empty value means no filter. Enumerated values are typed:
//! a value that is not one of them does not parse (400 `invalid-query`, naming the allowed
//! values). Values that parse but are refused (a `limit` out of range, a malformed queue or
//! cursor, a search text too long) are a 422 naming the field.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verbund_tenant::{Error, Result};

use crate::model::{TicketState, parse_queue};

/// Filters of the ticket queue.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// Tenant slugs, repeated (`tenant=a&tenant=b`) or comma-separated (`tenant=a,b`); any of
    /// them. Default: every tenant the user may see.
    #[param(value_type = Option<Vec<String>>, style = Form, explode = true)]
    pub tenant: Option<CommaList<String>>,
    /// States, repeated (`state=new&state=in_progress`) or comma-separated
    /// (`state=new,in_progress`); any of them.
    #[param(value_type = Option<Vec<TicketState>>, style = Form, explode = true)]
    pub state: Option<CommaList<TicketState>>,
    /// `me`, `none` or a user id.
    #[param(value_type = Option<String>)]
    #[serde(default, deserialize_with = "assignee")]
    pub assignee: Option<AssigneeParam>,
    /// `frontoffice` or `backoffice:<unit>`.
    pub queue: Option<String>,
    pub at_risk: Option<bool>,
    pub overdue: Option<bool>,
    /// `in` (forwarded to the user's tenants) or `out` (forwarded away from them).
    #[param(value_type = Option<Forwarded>, inline)]
    #[serde(default, deserialize_with = "empty_is_none")]
    pub forwarded: Option<Forwarded>,
    /// Text in number or subject, and in question or citizen name of the tickets the user's
    /// tenants hold (not of those they only forwarded).
    pub q: Option<String>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1-100, default 50.
    pub limit: Option<u64>,
}

impl TicketQuery {
    /// The list parameters: each may be repeated as well as comma-separated (the server's
    /// query extractor joins the repeated values before this type reads them).
    pub const LISTS: &'static [&'static str] = &["tenant", "state"];
}

/// A comma-separated list of values of `T` in one query parameter. Every element must parse;
/// an empty parameter is an empty list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommaList<T>(pub Vec<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for CommaList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit<T>(PhantomData<T>);
        impl<T: DeserializeOwned> de::Visitor<'_> for Visit<T> {
            type Value = CommaList<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a comma-separated list")
            }
            fn visit_str<E: de::Error>(self, raw: &str) -> std::result::Result<Self::Value, E> {
                if raw.trim().is_empty() {
                    return Ok(CommaList(Vec::new()));
                }
                raw.split(',')
                    .map(|item| {
                        let item: de::value::StrDeserializer<'_, de::value::Error> =
                            item.trim().into_deserializer();
                        T::deserialize(item).map_err(E::custom)
                    })
                    .collect::<std::result::Result<Vec<T>, E>>()
                    .map(CommaList)
            }
        }
        d.deserialize_str(Visit(PhantomData))
    }
}

/// Tickets forwarded to the user's tenants (`in`) or away from them (`out`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Forwarded {
    In,
    Out,
}

/// The `assignee` parameter: `me`, `none` or a user id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssigneeParam {
    Me,
    Nobody,
    User(Uuid),
}

fn assignee<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<AssigneeParam>, D::Error> {
    let raw = String::deserialize(d)?;
    match raw.as_str() {
        "" => Ok(None),
        "me" => Ok(Some(AssigneeParam::Me)),
        "none" => Ok(Some(AssigneeParam::Nobody)),
        id => Uuid::parse_str(id)
            .map(|id| Some(AssigneeParam::User(id)))
            .map_err(|_| de::Error::custom("assignee must be me, none or a user id")),
    }
}

/// An optional enumerated value; an empty parameter is no filter.
fn empty_is_none<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    let raw = String::deserialize(d)?;
    if raw.is_empty() {
        return Ok(None);
    }
    let raw: de::value::StrDeserializer<'_, de::value::Error> = raw.as_str().into_deserializer();
    T::deserialize(raw).map(Some).map_err(de::Error::custom)
}

/// Whose tickets: nobody's, or one user's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignee {
    Nobody,
    User(Uuid),
}

/// The checked filters of one queue request, ready for the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketFilter {
    /// Tenant slugs asked for; `None`: every tenant the user may see.
    pub tenants: Option<Vec<String>>,
    /// States; empty: any.
    pub states: Vec<TicketState>,
    pub assignee: Option<Assignee>,
    pub queue: Option<String>,
    pub at_risk: Option<bool>,
    pub overdue: Option<bool>,
    pub forwarded: Option<Forwarded>,
    /// A case-insensitive `LIKE` pattern (lowercase, `\` escapes) for the search text.
    pub text_pattern: Option<String>,
    /// Start after this `(due_at, id)`.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: u64,
}

/// The most characters of a search text.
const MAX_TEXT_CHARS: usize = 200;

impl TicketFilter {
    /// Checks the query of user `me` (who `assignee=me` is). No I/O.
    pub fn parse(q: TicketQuery, me: Uuid) -> Result<Self> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=100).contains(&limit) {
            return Err(Error::invalid("limit", "must be 1..=100"));
        }
        let tenants = q.tenant.map(|l| l.0).filter(|l| !l.is_empty());
        let states = q.state.map(|l| l.0).unwrap_or_default();
        let assignee = q.assignee.map(|a| match a {
            AssigneeParam::Me => Assignee::User(me),
            AssigneeParam::Nobody => Assignee::Nobody,
            AssigneeParam::User(id) => Assignee::User(id),
        });
        let queue = match q.queue.as_deref().filter(|s| !s.is_empty()) {
            Some(raw) => Some(parse_queue(raw).ok_or_else(|| {
                Error::invalid("queue", "must be frontoffice or backoffice:<unit>")
            })?),
            None => None,
        };
        let text_pattern = match q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => {
                if text.chars().count() > MAX_TEXT_CHARS {
                    return Err(Error::invalid("q", "must have at most 200 characters"));
                }
                let escaped = text
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                Some(format!("%{escaped}%"))
            }
            None => None,
        };
        let after = match q.cursor.as_deref().filter(|s| !s.is_empty()) {
            Some(raw) => Some(parse_cursor(raw)?),
            None => None,
        };
        Ok(TicketFilter {
            tenants,
            states,
            assignee,
            queue,
            at_risk: q.at_risk,
            overdue: q.overdue,
            forwarded: q.forwarded,
            text_pattern,
            after,
            limit,
        })
    }
}

/// The cursor of the page after `(due_at, id)`.
pub fn cursor(due_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}~{}", due_at.timestamp_micros(), id)
}

fn parse_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid)> {
    let bad = || Error::invalid("cursor", "is not a cursor from this API");
    let (micros, id) = raw.split_once('~').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let due = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    Ok((due, Uuid::parse_str(id).map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Uuid = Uuid::from_u128(0x11);
    const OTHER: &str = "00000000-0000-0000-0000-000000000022";

    /// Parses a query string the way the server's `Query` extractor does.
    fn query(raw: &str) -> std::result::Result<TicketQuery, String> {
        serde_urlencoded::from_str(raw).map_err(|e| e.to_string())
    }

    fn filter(raw: &str) -> std::result::Result<TicketFilter, String> {
        TicketFilter::parse(query(raw)?, ME).map_err(|e| e.to_string())
    }

    fn defaults() -> TicketFilter {
        TicketFilter {
            tenants: None,
            states: Vec::new(),
            assignee: None,
            queue: None,
            at_risk: None,
            overdue: None,
            forwarded: None,
            text_pattern: None,
            after: None,
            limit: 50,
        }
    }

    #[test]
    fn accepted_queries_give_the_filter() {
        let due = DateTime::from_timestamp_micros(1_780_000_000_000_000).unwrap();
        let assignee_other = format!("assignee={OTHER}");
        let cursor_after = format!("cursor=1780000000000000~{OTHER}");
        let table: Vec<(&str, TicketFilter)> = vec![
            ("", defaults()),
            (
                "state=&tenant=&assignee=&forwarded=&queue=&q=%20&cursor=",
                defaults(),
            ),
            (
                "tenant=stadt-koblenz,%20stadt-mainz",
                TicketFilter {
                    tenants: Some(vec!["stadt-koblenz".into(), "stadt-mainz".into()]),
                    ..defaults()
                },
            ),
            (
                "state=new,in_progress,waiting_backoffice",
                TicketFilter {
                    states: vec![
                        TicketState::New,
                        TicketState::InProgress,
                        TicketState::WaitingBackoffice,
                    ],
                    ..defaults()
                },
            ),
            (
                "assignee=me",
                TicketFilter {
                    assignee: Some(Assignee::User(ME)),
                    ..defaults()
                },
            ),
            (
                "assignee=none",
                TicketFilter {
                    assignee: Some(Assignee::Nobody),
                    ..defaults()
                },
            ),
            (
                &assignee_other,
                TicketFilter {
                    assignee: Some(Assignee::User(Uuid::parse_str(OTHER).unwrap())),
                    ..defaults()
                },
            ),
            (
                "queue=backoffice:gewerbeamt",
                TicketFilter {
                    queue: Some("backoffice:gewerbeamt".into()),
                    ..defaults()
                },
            ),
            (
                "at_risk=true&overdue=false",
                TicketFilter {
                    at_risk: Some(true),
                    overdue: Some(false),
                    ..defaults()
                },
            ),
            (
                "forwarded=in",
                TicketFilter {
                    forwarded: Some(Forwarded::In),
                    ..defaults()
                },
            ),
            (
                "forwarded=out",
                TicketFilter {
                    forwarded: Some(Forwarded::Out),
                    ..defaults()
                },
            ),
            (
                "q=%20M%C3%BCll_100%25%5C%20",
                TicketFilter {
                    text_pattern: Some("%müll\\_100\\%\\\\%".into()),
                    ..defaults()
                },
            ),
            (
                &cursor_after,
                TicketFilter {
                    after: Some((due, Uuid::parse_str(OTHER).unwrap())),
                    ..defaults()
                },
            ),
            (
                "limit=1",
                TicketFilter {
                    limit: 1,
                    ..defaults()
                },
            ),
            (
                "limit=100",
                TicketFilter {
                    limit: 100,
                    ..defaults()
                },
            ),
        ];
        for (raw, want) in table {
            assert_eq!(filter(raw), Ok(want), "{raw}");
        }
    }

    /// Values that do not parse into the typed query (the server answers 400 `invalid-query`).
    #[test]
    fn mistyped_values_do_not_parse() {
        let table = [
            ("state=wild", "unknown variant `wild`"),
            ("state=new,,closed", "unknown variant ``"),
            ("state=New", "unknown variant `New`"),
            ("forwarded=sideways", "unknown variant `sideways`"),
            ("assignee=someone", "assignee must be me, none or a user id"),
            ("at_risk=maybe", "provided string was not `true` or `false`"),
            ("limit=-1", "invalid digit"),
            ("sort=wild", "unknown field `sort`"),
        ];
        for (raw, want) in table {
            let err = query(raw).err().unwrap_or_else(|| panic!("{raw} parsed"));
            assert!(err.contains(want), "{raw}: {err}");
        }
    }

    /// Values that parse but are refused (the server answers 422 naming the field).
    #[test]
    fn refused_values_name_the_field() {
        let long = format!("q={}", "a".repeat(201));
        let table = [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("queue=front", "queue"),
            ("queue=backoffice:Gewerbe%20Amt", "queue"),
            ("cursor=kaputt", "cursor"),
            ("cursor=12~not-a-uuid", "cursor"),
            (long.as_str(), "q"),
        ];
        for (raw, field) in table {
            let q = query(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            match TicketFilter::parse(q, ME) {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{raw}"),
                other => panic!("{raw}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_cursor_reads_back() {
        let due = DateTime::from_timestamp_micros(1_780_000_123_456_789).unwrap();
        let id = Uuid::from_u128(7);
        let q = query(&format!("cursor={}", cursor(due, id))).unwrap();
        assert_eq!(TicketFilter::parse(q, ME).unwrap().after, Some((due, id)));
    }
}
