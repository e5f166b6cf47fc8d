//! Parsing of service-description imports (no database).
//!
//! Two formats are read:
//! - [`ndjson`]: one JSON object per line, the project's own exchange format;
//! - [`xzufi`]: a documented subset of XZuFi 2.2 XML (`leistung`, `organisationseinheit`).
//!
//! Both parsers return a [`ParsedImport`]: every complete, valid item, plus one
//! [`ItemError`] per rejected item (with its line number or element index and the reason).
//! A rejected item is dropped as a whole; good items are never dropped because of bad ones.
//! The parsers never panic, whatever the input.

pub mod ndjson;
pub mod xzufi;

pub(crate) mod html;
pub mod office;
#[cfg(test)]
mod prop_tests;

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::model::{PublishState, ServiceContent};

/// One imported service description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportItem {
    /// The normalized and validated content.
    pub content: ServiceContent,
    /// The source system's id of the description (NDJSON `external_id`, XZuFi
    /// `leistung/id`): the import matches on it first.
    pub external_id: Option<String>,
    /// The state the description should get. XZuFi imports are always drafts.
    pub status: PublishState,
    /// The responsible org unit, as the id the import uses for it (NDJSON `org_unit`;
    /// in XZuFi the `organisationseinheit/id`). Resolving it is the storage layer's job.
    pub org_unit_ref: Option<String>,
}

/// One imported org unit (Organisationseinheit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrgUnitImport {
    /// The id the source gives the unit (XZuFi `organisationseinheit/id`).
    pub id: Option<String>,
    pub name: String,
    pub street: Option<String>,
    pub house_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The geo position (XZuFi `anschrift/geokodierung`, NDJSON `geo`).
    pub geo: Option<office::GeoPosition>,
    /// Weekly opening hours (NDJSON only); `None` keeps the stored ones.
    pub opening_hours: Option<verbund_tenant::calendar::WeeklyHours>,
    /// The descriptions the office offers. Empty: the stored links stay as they are.
    pub services: Vec<office::ServiceRef>,
    /// Where the office is in the file (`organisationseinheit 2`, `line 7`).
    #[serde(skip)]
    pub location: String,
}

/// A rejected item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemError {
    /// Where the item is: `"line 7"` (NDJSON) or `"leistung 3"` /
    /// `"organisationseinheit 2"` (XZuFi, 1-based element index of that kind).
    pub location: String,
    /// Why it was rejected, in plain words.
    pub reason: String,
}

impl ItemError {
    /// Longest reason kept, in characters (serde messages may quote whole values).
    pub const MAX_REASON_CHARS: usize = 500;

    pub fn new(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            reason: crate::shorten(&reason.into(), Self::MAX_REASON_CHARS),
        }
    }
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

impl std::error::Error for ItemError {}

/// The result of parsing one import file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedImport {
    /// Good items with their location, in input order.
    pub items: Vec<(String, ImportItem)>,
    /// Offices (XZuFi `organisationseinheit`, NDJSON `"type": "office"`), in input order.
    pub org_units: Vec<OrgUnitImport>,
    /// One entry per rejected item, in input order.
    pub errors: Vec<ItemError>,
}

impl ParsedImport {
    /// True if nothing was rejected.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Collects items, rejecting a later item with the identity of an earlier one, so one import
/// never writes the same description twice: the same external id, or (for an item without
/// one, which the import may match by its title) the title of another item.
#[derive(Default)]
pub(crate) struct Collector {
    pub parsed: ParsedImport,
    /// External id → location of the item that has it.
    external: HashMap<String, String>,
    /// Title → location of the first item with it.
    titles: HashMap<String, String>,
    /// Title → location of the first item with it that has no external id.
    titles_without_id: HashMap<String, String>,
}

impl Collector {
    /// Adds `item`, or an error if it repeats an earlier one. Returns whether it was added.
    pub fn push_item(&mut self, location: String, item: ImportItem) -> bool {
        let title = &item.content.title;
        let duplicate = match &item.external_id {
            Some(ext) => self
                .external
                .get(ext)
                .map(|earlier| {
                    format!("duplicate external id {ext} (already imported from {earlier})")
                })
                .or_else(|| {
                    self.titles_without_id.get(title).map(|earlier| {
                        format!(
                            "duplicate title \"{title}\" (already imported from {earlier} without \
                             an external id); give each an external id"
                        )
                    })
                }),
            None => self.titles.get(title).map(|earlier| {
                format!(
                    "duplicate title \"{title}\" without an external id (already imported from \
                     {earlier}); give each an external id"
                )
            }),
        };
        if let Some(reason) = duplicate {
            self.parsed.errors.push(ItemError::new(location, reason));
            return false;
        }
        match &item.external_id {
            Some(ext) => {
                self.external.insert(ext.clone(), location.clone());
            }
            None => {
                self.titles_without_id
                    .entry(title.clone())
                    .or_insert_with(|| location.clone());
            }
        }
        self.titles
            .entry(title.clone())
            .or_insert_with(|| location.clone());
        self.parsed.items.push((location, item));
        true
    }

    /// Adds an office, or an error if an earlier office of the file has its id.
    pub fn push_org_unit(&mut self, unit: OrgUnitImport) {
        let earlier = unit.id.as_ref().and_then(|id| {
            self.parsed
                .org_units
                .iter()
                .find(|o| o.id.as_ref() == Some(id))
                .map(|o| (id.clone(), o.location.clone()))
        });
        match earlier {
            Some((id, at)) => {
                let reason = format!("duplicate office id {id} (already imported from {at})");
                let location = unit.location;
                self.push_error(location, reason);
            }
            None => self.parsed.org_units.push(unit),
        }
    }

    pub fn push_error(&mut self, location: String, reason: impl Into<String>) {
        self.parsed.errors.push(ItemError::new(location, reason));
    }
}

/// The import formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// Newline-delimited JSON, see [`ndjson`].
    Ndjson,
    /// XZuFi 2.2 XML subset, see [`xzufi`].
    Xzufi,
}

impl ImportFormat {
    /// Guesses the format from a file name: `.ndjson`/`.jsonl`/`.json` → NDJSON,
    /// `.xml` → XZuFi.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if [".ndjson", ".jsonl", ".json"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            Some(Self::Ndjson)
        } else if lower.ends_with(".xml") {
            Some(Self::Xzufi)
        } else {
            None
        }
    }
}

/// Parses `input` in the given format.
pub fn parse(format: ImportFormat, input: &str) -> ParsedImport {
    match format {
        ImportFormat::Ndjson => ndjson::parse(input),
        ImportFormat::Xzufi => xzufi::parse(input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NDJSON: &str = include_str!("../../tests/fixtures/services.ndjson");
    const XZUFI: &str = include_str!("../../tests/fixtures/xzufi-sample.xml");

    /// A small deterministic generator (xorshift64*), so the test needs no extra crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
        }
    }

    fn both(input: &str) {
        let _ = ndjson::parse(input);
        let _ = xzufi::parse(input);
    }

    #[test]
    fn garbage_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Random bytes, read as (lossy) UTF-8.
        for _ in 0..300 {
            let len = rng.below(400);
            let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
            both(&String::from_utf8_lossy(&bytes));
        }
        // Random strings from a markup-heavy alphabet.
        let alphabet: Vec<char> =
            "<>/&;#x\"'=![]-?: \n\r\tabcleistungmodulTextinhaltcode099äß\u{feff}{}[],"
                .chars()
                .collect();
        for _ in 0..2_000 {
            let len = rng.below(200);
            let s: String = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            both(&s);
            both(&format!("<leistung>{s}</leistung>"));
            both(&format!(
                "<leistung><modulText><inhalt>{s}</inhalt></modulText></leistung>"
            ));
        }
    }

    #[test]
    fn every_prefix_of_the_fixtures_parses_without_panic() {
        for input in [NDJSON, XZUFI] {
            let mut cut = 0;
            while cut <= input.len() {
                if let Some(prefix) = input.get(..cut) {
                    both(prefix);
                }
                cut += 7;
            }
        }
    }

    #[test]
    fn mutated_fixtures_parse_without_panic() {
        let mut rng = Rng(42);
        for input in [NDJSON, XZUFI] {
            let chars: Vec<char> = input.chars().collect();
            for _ in 0..300 {
                let mut mutated = chars.clone();
                for _ in 0..1 + rng.below(8) {
                    let at = rng.below(mutated.len());
                    match rng.below(3) {
                        0 => {
                            mutated.remove(at);
                        }
                        1 => mutated.insert(at, ['<', '>', '&', '"', '{', '/'][rng.below(6)]),
                        _ => {
                            let other = rng.below(mutated.len());
                            mutated.swap(at, other);
                        }
                    }
                }
                both(&mutated.into_iter().collect::<String>());
            }
        }
    }

    #[test]
    fn format_dispatch() {
        assert_eq!(
            ImportFormat::from_file_name("leistungen.NDJSON"),
            Some(ImportFormat::Ndjson)
        );
        assert_eq!(
            ImportFormat::from_file_name("export.xml"),
            Some(ImportFormat::Xzufi)
        );
        assert_eq!(ImportFormat::from_file_name("export.pdf"), None);
        assert_eq!(parse(ImportFormat::Ndjson, NDJSON), ndjson::parse(NDJSON));
        assert_eq!(parse(ImportFormat::Xzufi, XZUFI), xzufi::parse(XZUFI));
    }

    #[test]
    fn item_error_display() {
        assert_eq!(
            ItemError::new("leistung 3", "missing LeiKa key (referenzLeiKa)").to_string(),
            "leistung 3: missing LeiKa key (referenzLeiKa)"
        );
    }
}
