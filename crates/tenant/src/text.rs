//! Input hygiene: the one rule for every string that enters Verbund, wherever it comes from
//! (JSON bodies and query strings of the API, knowledge imports). The server applies it to
//! every string of every request before a handler runs; importers call [`check_field`] per
//! item. Domain parsers may be stricter.
//!
//! # The rule
//! Every text is either a **single-line** field (names, subjects, slugs, addresses, ids, query
//! parameters, ...) or a **long text** (questions, notes, answers, module texts, ...). Which
//! fields are long texts is decided here, by field name: [`LONG_TEXT_FIELDS`]. A string is a
//! long text when the nearest object key above it (array indexes skipped) is in that list;
//! everything else, including every query parameter, is single-line.
//!
//! - Nowhere: control characters (Unicode category Cc: U+0000–U+001F, U+007F–U+009F) and
//!   noncharacters (U+FDD0–U+FDEF, U+xxFFFE/U+xxFFFF).
//! - Long texts may contain line feed and tab, and carriage return only as part of CR LF.
//! - Single-line fields additionally refuse format characters (category Cf: zero-width space
//!   and joiners, bidi embeddings/overrides/isolates and marks, soft hyphen, byte order mark,
//!   ...) and the line and paragraph separators U+2028/U+2029.
//! - Single-line fields that are an ISO 8601 date or date-time refuse expanded years
//!   (`+262142-12-31`, `10000-01-01`): every date of the API has a four-digit year. The range
//!   of the year is checked where a date is used ([`check_instant`]).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::{Error, Result};

/// Field names whose values are long texts (newline and tab allowed). One list for the whole
/// API: tickets, notes, messages, reasons, templates, tenant mail texts and the text modules
/// of service descriptions.
pub const LONG_TEXT_FIELDS: &[&str] = &[
    // Tickets and their notes, messages, call attempts, forwards and anonymisation.
    "question",
    "body",
    "note",
    "reason",
    "address",
    // Tenant settings: the receipt and the reply signature.
    "receipt_body",
    "reply_signature",
    // Text modules of service descriptions and base texts (the costs text is `text`).
    "kurztext",
    "volltext",
    "unterlagen",
    "voraussetzungen",
    "fristen",
    "bearbeitungsdauer",
    "verfahrensablauf",
    "rechtsgrundlage",
    "hinweise",
    "weiterfuehrende_informationen",
    "zustaendige_stelle",
    "ansprechpunkt",
    "text",
];

/// The earliest instant the API accepts as a date or time: 1970-01-01T00:00:00Z.
pub const EARLIEST_YEAR: i32 = 1970;
/// The latest year the API accepts or produces: RFC 3339 has four-digit years.
pub const LATEST_YEAR: i32 = 9999;

/// Whether a field holds a long text or a single line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    SingleLine,
    LongText,
}

impl TextKind {
    /// The kind of the value of the object key `name` (see [`LONG_TEXT_FIELDS`]).
    pub fn of_field(name: &str) -> Self {
        if LONG_TEXT_FIELDS.contains(&name) {
            Self::LongText
        } else {
            Self::SingleLine
        }
    }
}

/// Checks `value` against the rule for `kind`; the error is the reason, e.g.
/// `"must not contain the control character U+0000"`.
pub fn check(kind: TextKind, value: &str) -> std::result::Result<(), String> {
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let allowed_in_long = match c {
            '\n' | '\t' => true,
            '\r' => chars.peek() == Some(&'\n'),
            _ => false,
        };
        if c.is_control() {
            if kind == TextKind::LongText && allowed_in_long {
                continue;
            }
            return Err(match kind {
                TextKind::SingleLine => format!(
                    "must not contain the control character {} (a single line without \
                     control characters is expected)",
                    code(c)
                ),
                TextKind::LongText => format!(
                    "must not contain the control character {} (only line breaks and tabs are \
                     allowed)",
                    code(c)
                ),
            });
        }
        if is_noncharacter(c) {
            return Err(format!("must not contain the noncharacter {}", code(c)));
        }
        if kind == TextKind::SingleLine && is_invisible_format(c) {
            return Err(format!(
                "must not contain the invisible format character {} (zero-width, bidi or line \
                 separator characters are not allowed in a single-line field)",
                code(c)
            ));
        }
    }
    if kind == TextKind::SingleLine && has_expanded_year(value) {
        return Err(format!(
            "is a date outside the years {EARLIEST_YEAR}-{LATEST_YEAR} (four-digit years only)"
        ));
    }
    Ok(())
}

/// [`check`] as a validation error of `field`.
pub fn check_field(field: &str, kind: TextKind, value: &str) -> Result<()> {
    check(kind, value).map_err(|reason| Error::invalid(field, reason))
}

/// The first instant the API no longer accepts or writes: 9999-12-31T00:00:00Z. Before it,
/// an instant has a four-digit year in every time zone (offsets reach +14:00), so it can be
/// written as RFC 3339 in UTC and in local time.
pub fn end_of_instants() -> Option<DateTime<Utc>> {
    NaiveDate::from_ymd_opt(LATEST_YEAR, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Whether `at` lies in 1970-01-01T00:00:00Z up to (excluding) [`end_of_instants`].
pub fn is_writable_instant(at: DateTime<Utc>) -> bool {
    at.year() >= EARLIEST_YEAR && end_of_instants().is_some_and(|end| at < end)
}

/// Checks that a date-time lies in 1970-01-01T00:00:00Z up to (excluding)
/// 9999-12-31T00:00:00Z (see [`end_of_instants`]).
pub fn check_instant(field: &str, at: DateTime<Utc>) -> Result<()> {
    if is_writable_instant(at) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!(
                "must lie between {EARLIEST_YEAR}-01-01T00:00:00Z and {LATEST_YEAR}-12-31T00:00:00Z"
            ),
        ))
    }
}

/// Checks that a date lies in the years [`EARLIEST_YEAR`]..=[`LATEST_YEAR`].
pub fn check_date(field: &str, date: NaiveDate) -> Result<()> {
    if (EARLIEST_YEAR..=LATEST_YEAR).contains(&date.year()) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("must lie in the years {EARLIEST_YEAR}-{LATEST_YEAR}"),
        ))
    }
}

fn code(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// U+FDD0..=U+FDEF and the last two code points of every plane.
pub fn is_noncharacter(c: char) -> bool {
    let n = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&n) || (n & 0xFFFE) == 0xFFFE
}

/// Format characters (Cf) and the line/paragraph separators (Zl, Zp): invisible, or they
/// reorder or break what is displayed around them.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// An ISO 8601 date or date-time (`YYYY-MM-DD`, optionally followed by `T`/space and a time)
/// whose year has a sign or more than four digits.
fn has_expanded_year(value: &str) -> bool {
    let s = value.trim();
    let (signed, rest) = match s.strip_prefix(['+', '-']) {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 4 {
        return false;
    }
    let tail = &rest.as_bytes()[digits..];
    let is_date = tail.len() >= 6
        && tail[0] == b'-'
        && tail[1..3].iter().all(u8::is_ascii_digit)
        && tail[3] == b'-'
        && tail[4..6].iter().all(u8::is_ascii_digit)
        && (tail.len() == 6 || matches!(tail[6], b'T' | b't' | b' '));
    is_date && (signed || digits > 4)
}

/// The first string of a request that breaks the rule, with the field that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextViolation {
    /// A JSON pointer (RFC 6901) into the body, e.g. `/citizen/name`, or the name of a query
    /// parameter.
    pub field: String,
    pub reason: String,
}

impl From<TextViolation> for Error {
    fn from(v: TextViolation) -> Self {
        Error::invalid(v.field, v.reason)
    }
}

/// A JSON document parsed with every string (values and object keys) checked against the rule.
/// Parsing never fails because of the rule: the first violation is kept in `violation`, so the
/// caller can answer with the field that holds it. A key that occurs twice in one object is a
/// violation too (the document would be ambiguous).
#[derive(Clone, Debug)]
pub struct CheckedJson {
    pub value: serde_json::Value,
    pub violation: Option<TextViolation>,
}

impl CheckedJson {
    /// Parses and checks a JSON document.
    pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }

    /// The checked value, or the first violation.
    pub fn into_result(self) -> std::result::Result<serde_json::Value, TextViolation> {
        match self.violation {
            Some(v) => Err(v),
            None => Ok(self.value),
        }
    }
}

impl<'de> serde::Deserialize<'de> for CheckedJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut walk = Walk::default();
        let value = serde::de::DeserializeSeed::deserialize(
            Node {
                walk: &mut walk,
                kind: TextKind::SingleLine,
            },
            d,
        )?;
        Ok(Self {
            value,
            violation: walk.violation,
        })
    }
}

#[derive(Default)]
struct Walk {
    /// The JSON pointer segments of the current position, already escaped.
    path: Vec<String>,
    violation: Option<TextViolation>,
}

impl Walk {
    fn pointer(&self) -> String {
        if self.path.is_empty() {
            return "/".to_owned();
        }
        self.path.iter().fold(String::new(), |mut out, seg| {
            out.push('/');
            out.push_str(seg);
            out
        })
    }

    fn check(&mut self, kind: TextKind, value: &str) {
        if self.violation.is_some() {
            return;
        }
        if let Err(reason) = check(kind, value) {
            self.violation = Some(TextViolation {
                field: self.pointer(),
                reason,
            });
        }
    }

    fn refuse(&mut self, reason: String) {
        if self.violation.is_none() {
            self.violation = Some(TextViolation {
                field: self.pointer(),
                reason,
            });
        }
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

struct Node<'a> {
    walk: &'a mut Walk,
    kind: TextKind,
}

impl<'de> serde::de::DeserializeSeed<'de> for Node<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Node<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
        self.walk.check(self.kind, v);
        Ok(serde_json::Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
        self.walk.check(self.kind, &v);
        Ok(serde_json::Value::String(v))
    }

    fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> std::result::Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let Node { walk, kind } = self;
        let mut out = Vec::new();
        loop {
            walk.path.push(out.len().to_string());
            let next = seq.next_element_seed(Node {
                walk: &mut *walk,
                kind,
            });
            walk.path.pop();
            match next? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(serde_json::Value::Array(out))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let walk = self.walk;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            walk.path.push(escape_pointer(&key));
            walk.check(TextKind::SingleLine, &key);
            if out.contains_key(&key) {
                walk.refuse("is given more than once".to_owned());
            }
            let value = map.next_value_seed(Node {
                walk: &mut *walk,
                kind: TextKind::of_field(&key),
            });
            walk.path.pop();
            out.insert(key, value?);
        }
        Ok(serde_json::Value::Object(out))
    }
}

/// Checks the decoded pairs of a query string: every name and value is a single line.
pub fn check_query_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> std::result::Result<(), TextViolation> {
    for (name, value) in pairs {
        for text in [name, value] {
            check(TextKind::SingleLine, text).map_err(|reason| TextViolation {
                field: name.to_owned(),
                reason,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_everywhere() {
        for bad in ["a\0b", "\u{1}", "x\u{7f}", "\u{85}", "a\u{1b}[31m"] {
            assert!(check(TextKind::SingleLine, bad).is_err(), "{bad:?}");
            assert!(check(TextKind::LongText, bad).is_err(), "{bad:?}");
        }
        let reason = check(TextKind::SingleLine, "a\0b").unwrap_err();
        assert!(reason.contains("U+0000"), "{reason}");
    }

    #[test]
    fn line_breaks_and_tabs_only_in_long_texts() {
        for text in ["Zeile 1\nZeile 2", "a\tb", "Windows\r\nZeilen"] {
            assert!(check(TextKind::LongText, text).is_ok(), "{text:?}");
            assert!(check(TextKind::SingleLine, text).is_err(), "{text:?}");
        }
        assert!(check(TextKind::LongText, "alter Mac\rZeilenumbruch").is_err());
        assert!(check(TextKind::LongText, "endet mit\r").is_err());
    }

    #[test]
    fn invisible_format_characters_only_in_long_texts() {
        for c in [
            '\u{200B}', '\u{200E}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{FEFF}', '\u{2028}',
            '\u{2029}', '\u{00AD}', '\u{061C}',
        ] {
            let s = format!("Stadt{c}Koblenz");
            assert!(check(TextKind::SingleLine, &s).is_err(), "{c:?}");
            assert!(check(TextKind::LongText, &s).is_ok(), "{c:?}");
        }
    }

    #[test]
    fn noncharacters_are_refused() {
        for c in ['\u{FFFE}', '\u{FFFF}', '\u{FDD0}', '\u{1FFFF}'] {
            assert!(
                check(TextKind::LongText, &format!("a{c}")).is_err(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn ordinary_text_passes() {
        for ok in [
            "Straße 1, 56068 Koblenz",
            "Müller-Lüdenscheidt",
            "مرحبا",
            "Привет",
            "📞 Rückruf",
            "2026-11-16",
            "2026-11-16T08:00:00Z",
            "0261-12-34",
            "+49 261 129-0",
        ] {
            assert!(check(TextKind::SingleLine, ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn expanded_years_are_refused_in_single_line_fields() {
        for bad in [
            "+262142-12-31T23:59:59Z",
            "+10000-01-01",
            "-0001-01-01",
            "10000-01-01T00:00:00Z",
            "+2026-01-01",
        ] {
            assert!(check(TextKind::SingleLine, bad).is_err(), "{bad}");
        }
        for ok in ["+49 261 1290", "-5", "12345", "2026-11", "+12345-6"] {
            assert!(check(TextKind::SingleLine, ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn long_text_fields_are_decided_by_name() {
        assert_eq!(TextKind::of_field("question"), TextKind::LongText);
        assert_eq!(TextKind::of_field("volltext"), TextKind::LongText);
        assert_eq!(TextKind::of_field("subject"), TextKind::SingleLine);
        assert_eq!(TextKind::of_field("name"), TextKind::SingleLine);
    }

    #[test]
    fn instants_and_dates_in_range() {
        let ok = DateTime::from_timestamp(0, 0).unwrap();
        assert!(check_instant("from", ok).is_ok());
        let early = DateTime::from_timestamp(-1, 0).unwrap();
        assert!(check_instant("from", early).is_err());
        let last = DateTime::parse_from_rfc3339("9999-12-30T23:59:59Z")
            .unwrap()
            .to_utc();
        assert!(check_instant("from", last).is_ok());
        let too_late = DateTime::parse_from_rfc3339("9999-12-31T00:00:00Z")
            .unwrap()
            .to_utc();
        assert!(check_instant("from", too_late).is_err());
        let max = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        assert!(check_date("to", max).is_ok());
        assert!(check_date("to", max.succ_opt().unwrap()).is_err());
    }
    #[test]
    fn json_is_walked_with_pointers_and_long_text_fields() {
        let ok = CheckedJson::from_slice(
            br#"{"subject": "Antrag", "question": "Zeile 1\nZeile 2", "citizen": {"address": "A\nB"}}"#,
        )
        .unwrap();
        assert!(ok.violation.is_none());
        assert_eq!(ok.value["question"], "Zeile 1\nZeile 2");

        let bad = CheckedJson::from_slice(br#"{"subject": "Zeile 1\nZeile 2"}"#).unwrap();
        assert_eq!(bad.violation.unwrap().field, "/subject");
        let bad = CheckedJson::from_slice(br#"{"citizen": {"name": "a\u0000"}}"#).unwrap();
        assert_eq!(bad.violation.unwrap().field, "/citizen/name");
        let bad =
            CheckedJson::from_slice(br#"{"modules": {"unterlagen": ["ok", "x\u0007"]}}"#).unwrap();
        assert_eq!(bad.violation.unwrap().field, "/modules/unterlagen/1");
        let ok = CheckedJson::from_slice(br#"{"modules": {"unterlagen": ["a\nb"]}}"#).unwrap();
        assert!(ok.violation.is_none());
        let bad = CheckedJson::from_slice(br#"{"a/b~": {"x\u0000": 1}}"#).unwrap();
        assert_eq!(bad.violation.unwrap().field, "/a~1b~0/x\u{0}");
        let bad = CheckedJson::from_slice(br#"["\u202e"]"#).unwrap();
        assert_eq!(bad.violation.unwrap().field, "/0");
        let bad = CheckedJson::from_slice(br#""\u0000""#).unwrap();
        assert_eq!(bad.violation.unwrap().field, "/");
    }

    #[test]
    fn json_duplicate_keys_are_refused() {
        let bad = CheckedJson::from_slice(br#"{"settings": {"a": 1, "a": 2}}"#).unwrap();
        let v = bad.violation.unwrap();
        assert_eq!(v.field, "/settings/a");
        assert!(v.reason.contains("more than once"));
    }

    #[test]
    fn json_values_round_trip() {
        let raw = br#"{"a": [1, -2, 3.5, true, null, "x"], "b": {"c": 18446744073709551615}}"#;
        let checked = CheckedJson::from_slice(raw).unwrap();
        let plain: serde_json::Value = serde_json::from_slice(raw).unwrap();
        assert_eq!(checked.value, plain);
        assert!(CheckedJson::from_slice(b"{\"a\": ").is_err());
    }

    #[test]
    fn query_pairs_are_single_lines() {
        assert!(check_query_pairs([("q", "Personalausweis")]).is_ok());
        let v = check_query_pairs([("q", "a"), ("status", "draft\0")]).unwrap_err();
        assert_eq!(v.field, "status");
        let v = check_query_pairs([("from", "+262142-12-31T23:59:59Z")]).unwrap_err();
        assert_eq!(v.field, "from");
    }
}
