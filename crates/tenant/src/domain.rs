//! Parsed values. The domain never sees raw strings: each newtype has one `parse` constructor
//! that names the field it checks.

use crate::error::{Error, Result};
use serde::Serialize;

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A URL-safe identifier for tenants and centers: `stadt-trier`, `sc-koblenz`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Slug(String);
string_newtype!(Slug);

impl Slug {
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        let ok_len = (2..=63).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_edges = raw.starts_with(|c: char| c.is_ascii_lowercase())
            && !raw.ends_with('-')
            && !raw.contains("--");
        if ok_len && ok_chars && ok_edges {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(
                field,
                "must be 2-63 characters of a-z, 0-9 and single hyphens, starting with a letter",
            ))
        }
    }
}

/// The official regional key: the 8-digit AGS or the 12-digit ARS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegionalKey(String);
string_newtype!(RegionalKey);

impl RegionalKey {
    pub fn parse(raw: &str) -> Result<Self> {
        if (raw.len() == 8 || raw.len() == 12) && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(
                "ags",
                "must be an 8-digit AGS or a 12-digit ARS",
            ))
        }
    }
}

/// A German federal state, by its two-letter code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StateCode(String);
string_newtype!(StateCode);

pub const STATES: [&str; 16] = [
    "BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH",
];

impl StateCode {
    pub fn parse(raw: &str) -> Result<Self> {
        if STATES.contains(&raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(
                "state",
                "must be a German state code such as RP",
            ))
        }
    }
}

/// An IANA time zone name that chrono-tz knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimeZoneName(String);
string_newtype!(TimeZoneName);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self> {
        raw.parse::<chrono_tz::Tz>()
            .map(|_| Self(raw.to_owned()))
            .map_err(|_| {
                Error::invalid(
                    "time_zone",
                    "must be an IANA time zone such as Europe/Berlin",
                )
            })
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0.parse().unwrap_or(chrono_tz::Europe::Berlin)
    }
}

/// The prefix of a tenant's ticket numbers, as in `KO-2026-000123`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TicketPrefix(String);
string_newtype!(TicketPrefix);

impl TicketPrefix {
    pub fn parse(raw: &str) -> Result<Self> {
        if (2..=8).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(
                "ticket_prefix",
                "must be 2-8 characters of A-Z and 0-9",
            ))
        }
    }
}

/// An e-mail address, lower-cased. Only the shape is checked; delivery proves the rest.
///
/// Besides the shape, an address must look like what it is, so that nobody can pose as
/// another account or sender:
/// - no control, format or separator characters (Unicode categories C and Z: zero-width
///   space U+200B, bidi overrides U+202E and isolates U+2066-U+2069, soft hyphen, ...) and no
///   noncharacters;
/// - no compatibility characters: the address must equal its NFKC form (fullwidth `ａ`,
///   ligatures `ﬁ`, mathematical `𝐚`, superscripts are refused);
/// - the local part and each label of the domain are written in one script (UTS #39 single
///   script: `pаypal` with a Cyrillic `а` is refused; all-Cyrillic `почта` is fine);
/// - a local part or label that is not ASCII must not be confusable with an ASCII one
///   (UTS #39 skeleton: all-Cyrillic `аdmіn` or Latin `admın` with a dotless i are refused,
///   `müller` and `straße` are fine).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct EmailAddress(String);
string_newtype!(EmailAddress);

impl EmailAddress {
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        let value = raw.trim().to_lowercase();
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            })
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c));
        if !valid {
            return Err(Error::invalid(field, "is not a valid e-mail address"));
        }
        if let Some(reason) = lookalike_problem(&value) {
            return Err(Error::invalid(field, reason));
        }
        Ok(Self(value))
    }
}

/// Why an address (already lower-cased and of a valid shape) could pass for another one.
fn lookalike_problem(address: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
    use unicode_security::MixedScript;

    if let Some(c) = address.chars().find(|&c| {
        matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Other | GeneralCategoryGroup::Separator
        ) || crate::text::is_noncharacter(c)
    }) {
        return Some(format!(
            "must not contain the invisible character U+{:04X}",
            u32::from(c)
        ));
    }
    if address.nfkc().ne(address.chars()) {
        return Some(
            "must not contain compatibility characters (fullwidth letters, ligatures, ...)".into(),
        );
    }
    let (local, domain) = address.split_once('@')?;
    for part in std::iter::once(local).chain(domain.split('.')) {
        if part.is_ascii() {
            continue;
        }
        if !part.is_single_script() {
            return Some(format!("mixes scripts in \"{part}\""));
        }
        if unicode_security::skeleton(part).all(|c| c.is_ascii()) {
            return Some(format!(
                "\"{part}\" is written to look like plain Latin letters"
            ));
        }
    }
    None
}

/// A human-readable name: trimmed, 1-200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DisplayName(String);
string_newtype!(DisplayName);

impl DisplayName {
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        let value = raw.trim();
        if value.is_empty() || value.chars().count() > 200 {
            return Err(Error::invalid(field, "must be 1-200 printable characters"));
        }
        crate::text::check_field(field, crate::text::TextKind::SingleLine, value)?;
        Ok(Self(value.to_owned()))
    }
}

/// The largest `offset` of a paged list. Larger values are refused (422) rather than passed
/// to the database, where they overflow its signed 64-bit integers.
pub const MAX_OFFSET: u64 = 1_000_000;

/// The `offset` query parameter of a paged list: 0 by default, at most [`MAX_OFFSET`].
pub fn page_offset(raw: Option<u64>) -> Result<u64> {
    match raw.unwrap_or(0) {
        n if n <= MAX_OFFSET => Ok(n),
        _ => Err(Error::invalid(
            "offset",
            format!("must be 0..={MAX_OFFSET}"),
        )),
    }
}

/// A new password: at least 12 and at most 256 characters.
pub struct NewPassword(secrecy::SecretString);

pub const MIN_PASSWORD_CHARS: usize = 12;

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD_CHARS {
            Err(Error::invalid(
                "password",
                format!("must have at least {MIN_PASSWORD_CHARS} characters"),
            ))
        } else if n > 256 {
            Err(Error::invalid(
                "password",
                "must have at most 256 characters",
            ))
        } else {
            Ok(Self(raw.to_owned().into()))
        }
    }

    pub fn secret(&self) -> &secrecy::SecretString {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("slug", "stadt-trier").is_ok());
        assert!(Slug::parse("slug", "sc-trier2").is_ok());
        for bad in [
            "",
            "a",
            "Stadt",
            "-x",
            "x-",
            "a--b",
            "1abc",
            "stadt trier",
            "stadt_trier",
        ] {
            assert!(Slug::parse("slug", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn regional_keys() {
        assert!(RegionalKey::parse("07211000").is_ok());
        assert!(RegionalKey::parse("072110000000").is_ok());
        assert!(RegionalKey::parse("0721100").is_err());
        assert!(RegionalKey::parse("0721100a").is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        let e = EmailAddress::parse("email", " Admin@Stadt-Koblenz.Demo ").map(|e| e.into_inner());
        assert_eq!(e.ok().as_deref(), Some("admin@stadt-koblenz.demo"));
        for bad in [
            "", "a", "a@", "@b.de", "a@b", "a b@c.de", "a@b..de", "a@b@c.de", "<a@b.de>",
        ] {
            assert!(EmailAddress::parse("email", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn emails_with_invisible_or_lookalike_characters_are_refused() {
        for bad in [
            "ad\u{200B}min@stadt-koblenz.demo",
            "admin\u{202E}@stadt-koblenz.demo",
            "\u{2066}admin\u{2069}@stadt-koblenz.demo",
            "admin@stadt\u{00AD}koblenz.demo",
            "admin@stadt-koblenz.demo\u{FEFF}",
            "\u{0430}dmin@stadt-koblenz.demo",
            "admin@st\u{0430}dt-koblenz.demo",
            "\u{0430}\u{0501}m\u{0456}n@stadt-koblenz.demo",
            "adm\u{0131}n@stadt-koblenz.demo",
            "\u{FF41}dmin@stadt-koblenz.demo",
            "\u{1D41A}dmin@stadt-koblenz.demo",
            "of\u{FB01}ce@stadt-koblenz.demo",
        ] {
            let err = EmailAddress::parse("email", bad);
            assert!(err.is_err(), "{bad:?} accepted");
        }
        for ok in [
            "admin@stadt-koblenz.demo",
            "m\u{00FC}ller@stadt-koblenz.demo",
            "stra\u{00DF}e@example.de",
            "\u{043F}\u{043E}\u{0447}\u{0442}\u{0430}@\u{043F}\u{0440}\u{0438}\u{043C}\u{0435}\u{0440}.\u{0440}\u{0444}",
            "info@m\u{00FC}nchen.de",
        ] {
            assert!(EmailAddress::parse("email", ok).is_ok(), "{ok:?} refused");
        }
    }

    #[test]
    fn display_names_refuse_invisible_characters() {
        assert!(DisplayName::parse("display_name", "Anna Schmidt").is_ok());
        for bad in [
            "Anna\u{0}",
            "Anna\nSchmidt",
            "Anna\u{202E}Schmidt",
            "\u{200B}",
        ] {
            assert!(DisplayName::parse("display_name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(NewPassword::parse("elf-zeichen").is_err());
        assert!(NewPassword::parse("zwölf-zeichn").is_ok());
        assert!(NewPassword::parse(&"x".repeat(257)).is_err());
    }

    #[test]
    fn states_prefixes_and_zones() {
        assert!(StateCode::parse("RP").is_ok());
        assert!(StateCode::parse("XX").is_err());
        assert!(TicketPrefix::parse("KO").is_ok());
        assert!(TicketPrefix::parse("ko").is_err());
        assert!(TimeZoneName::parse("Europe/Berlin").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
    }
}
