//! The LeiKa key ("Leistungsschlüssel") that identifies a service description.
//!
//! A LeiKa key is 14 ASCII digits starting with `99` (`^99\d{12}$`), for example
//! `99102013001000`. The key is compared and stored as its string form; leading zeros
//! matter, so it is never treated as a number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::shorten;

/// Length of a LeiKa key in digits.
pub const LEIKA_KEY_LEN: usize = 14;

/// A validated LeiKa key (`^99\d{12}$`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeikaKey(String);

/// Why a string is not a LeiKa key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LeiKa key \"{shown}\": {problem}")]
pub struct LeikaKeyError {
    /// The rejected input, shortened to at most 40 characters for messages.
    shown: String,
    problem: &'static str,
}

impl LeikaKeyError {
    /// What is wrong with the key, without the key itself.
    pub fn problem(&self) -> &'static str {
        self.problem
    }
}

impl LeikaKey {
    /// Parses a LeiKa key. The input must match `^99\d{12}$` exactly: no surrounding
    /// whitespace, ASCII digits only.
    pub fn parse(input: &str) -> Result<Self, LeikaKeyError> {
        let problem = if input.is_empty() {
            Some("must not be empty")
        } else if !input.bytes().all(|b| b.is_ascii_digit()) {
            Some("must consist of 14 digits (0-9) only")
        } else if input.len() != LEIKA_KEY_LEN {
            Some("must be exactly 14 digits long")
        } else if !input.starts_with("99") {
            Some("must start with 99")
        } else {
            None
        };
        match problem {
            None => Ok(Self(input.to_owned())),
            Some(problem) => Err(LeikaKeyError {
                shown: shorten(input, 40),
                problem,
            }),
        }
    }

    /// The key as its 14-digit string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the key and returns its string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The beginning of a LeiKa key, for list filters: 1 to 14 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeikaPrefix(String);

impl LeikaPrefix {
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        (!input.is_empty()
            && input.len() <= LEIKA_KEY_LEN
            && input.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LeikaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for LeikaKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for LeikaKey {
    type Err = LeikaKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for LeikaKey {
    type Error = LeikaKeyError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl TryFrom<&str> for LeikaKey {
    type Error = LeikaKeyError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<LeikaKey> for String {
    fn from(key: LeikaKey) -> Self {
        key.0
    }
}

impl Serialize for LeikaKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LeikaKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Most LeiKa keys per description.
pub const MAX_LEIKA_KEYS: usize = 50;

/// A list of LeiKa keys that is not valid: the field (`leika_keys[2]`, or `leika_keys` for
/// the list as a whole) and why, naming the bad key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysError {
    pub field: String,
    pub reason: String,
}

impl fmt::Display for KeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Parses LeiKa keys one by one: the first bad one is named with its position. The result
/// is sorted and without repeats (the stored form).
pub fn parse_keys<S: AsRef<str>>(field: &str, raw: &[S]) -> Result<Vec<LeikaKey>, KeysError> {
    if raw.len() > MAX_LEIKA_KEYS {
        return Err(KeysError {
            field: field.to_owned(),
            reason: format!(
                "has too many entries ({}, at most {MAX_LEIKA_KEYS})",
                raw.len()
            ),
        });
    }
    let mut keys = raw
        .iter()
        .enumerate()
        .map(|(i, key)| {
            LeikaKey::parse(key.as_ref()).map_err(|e| KeysError {
                field: format!("{field}[{i}]"),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    keys.sort();
    keys.dedup();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_keys() {
        for key in ["99102013001000", "99000000000000", "99999999999999"] {
            let parsed = LeikaKey::parse(key).unwrap();
            assert_eq!(parsed.as_str(), key);
            assert_eq!(parsed.to_string(), key);
        }
    }

    #[test]
    fn rejects_invalid_keys_with_a_reason() {
        let cases = [
            ("", "invalid LeiKa key \"\": must not be empty"),
            (
                "9910201300100",
                "invalid LeiKa key \"9910201300100\": must be exactly 14 digits long",
            ),
            (
                "991020130010000",
                "invalid LeiKa key \"991020130010000\": must be exactly 14 digits long",
            ),
            (
                "98102013001000",
                "invalid LeiKa key \"98102013001000\": must start with 99",
            ),
            (
                "9910201300100a",
                "invalid LeiKa key \"9910201300100a\": must consist of 14 digits (0-9) only",
            ),
            (
                " 99102013001000",
                "invalid LeiKa key \" 99102013001000\": must consist of 14 digits (0-9) only",
            ),
            // Non-ASCII digits (Arabic-Indic) are not accepted.
            (
                "99١٠٢٠١٣٠٠١٠٠٠",
                "invalid LeiKa key \"99١٠٢٠١٣٠٠١٠٠٠\": must consist of 14 digits (0-9) only",
            ),
        ];
        for (input, message) in cases {
            let err = LeikaKey::parse(input).unwrap_err();
            assert_eq!(err.to_string(), message, "input {input:?}");
        }
    }

    #[test]
    fn long_garbage_is_shortened_in_the_message() {
        let input = "x".repeat(1000);
        let err = LeikaKey::parse(&input).unwrap_err();
        assert!(err.to_string().len() < 120);
    }

    #[test]
    fn serde_round_trip_uses_the_plain_string() {
        let key = LeikaKey::parse("99102013001000").unwrap();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, "\"99102013001000\"");
        let back: LeikaKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, key);
        let err = serde_json::from_str::<LeikaKey>("\"12\"").unwrap_err();
        assert!(err.to_string().contains("must be exactly 14 digits long"));
        assert!(serde_json::from_str::<LeikaKey>("99102013001000").is_err());
    }
}
