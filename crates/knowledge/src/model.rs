//! The typed content of a service description (Leistungsbeschreibung), independent of storage.
//!
//! A description is a LeiKa key, a title, synonyms ("Begriffe im Kontext") and the FIM text
//! modules ([`Modules`]). [`ModuleField`] is the table that links each module to its LeiKa text
//! module code ("05" Kurztext, "08" Erforderliche Unterlagen, …), its field name and its German
//! label; the UI and the merged (layered) view use it to show modules in a fixed order.
//!
//! Content from any source (API, NDJSON, XZuFi) goes through [`ServiceContent::normalized`],
//! which trims and deduplicates and then enforces the limits in [`ServiceContent::validate`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::leika::LeikaKey;
use crate::shorten;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 300;
/// Most synonyms per description.
pub const MAX_SYNONYMS: usize = 100;
/// Longest synonym, in characters.
pub const MAX_SYNONYM_CHARS: usize = 100;
/// Longest module text (and longest single list entry), in characters.
pub const MAX_MODULE_CHARS: usize = 100_000;
/// Longest link title or cost label, in characters.
pub const MAX_LABEL_CHARS: usize = 300;
/// Most entries in one list module (Unterlagen, Formulare, cost amounts).
pub const MAX_LIST_ENTRIES: usize = 500;
/// Longest URL, in characters.
pub const MAX_URL_CHARS: usize = 2_000;

/// The LeiKa text module code of the title (Leistungsbezeichnung). The title is not a
/// [`ModuleField`] because every description has one.
pub const TITLE_LEIKA_CODE: &str = "02";

/// The content of one service description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceContent {
    /// The LeiKa keys: none (a local service), one, or several. Normalized sorted and
    /// without repeats, so two contents with the same keys compare equal.
    #[serde(default)]
    pub leika_keys: Vec<LeikaKey>,
    /// Leistungsbezeichnung, 1–300 characters.
    pub title: String,
    /// "Begriffe im Kontext": other words citizens use for this service.
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub modules: Modules,
}

/// The FIM text modules of a description. Every module is optional; empty lists mean
/// "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Modules {
    /// 05 Kurztext.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kurztext: Option<String>,
    /// 06 Volltext.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volltext: Option<String>,
    /// 08 Erforderliche Unterlagen, one entry per document.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unterlagen: Vec<String>,
    /// 09 Voraussetzungen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voraussetzungen: Option<String>,
    /// 10 Kosten.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kosten: Option<Costs>,
    /// 13 Frist(en).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fristen: Option<String>,
    /// 12 Bearbeitungsdauer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearbeitungsdauer: Option<String>,
    /// 11 Verfahrensablauf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verfahrensablauf: Option<String>,
    /// 07 Handlungsgrundlage(n) / Rechtsgrundlage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rechtsgrundlage: Option<String>,
    /// 14 Formulare (links).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub formulare: Vec<Link>,
    /// Link to the online service, if the service can be requested online.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_dienst: Option<String>,
    /// 15 Weiterführende Informationen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weiterfuehrende_informationen: Option<String>,
    /// 16 Hinweise (Besonderheiten).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hinweise: Option<String>,
    /// 22 Zuständige Stelle (text; the link to an org unit is kept by the storage layer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zustaendige_stelle: Option<String>,
    /// 23 Ansprechpunkt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ansprechpunkt: Option<String>,
}

/// Module 10 Kosten: a free text and/or fixed amounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Costs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amounts: Vec<CostAmount>,
}

impl Costs {
    /// True if there is neither text nor an amount.
    pub fn is_empty(&self) -> bool {
        self.text.as_deref().is_none_or(|t| t.trim().is_empty()) && self.amounts.is_empty()
    }
}

/// One fee, in euro cents (never a float).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CostAmount {
    /// What the fee is for, e.g. "Personalausweis (ab 24 Jahren)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub eur_cents: i64,
}

/// A link with an optional title (Formulare).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub url: String,
}

/// Whether a description is visible to agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublishState {
    /// Being edited; only editors see it.
    #[default]
    Draft,
    /// Visible to agents and in search.
    Published,
}

impl PublishState {
    /// The wire/storage form: `draft` or `published`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
        }
    }

    /// German label for the UI.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Draft => "Entwurf",
            Self::Published => "Veröffentlicht",
        }
    }
}

impl fmt::Display for PublishState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`PublishState::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status \"{0}\" (expected \"draft\" or \"published\")")]
pub struct UnknownPublishState(pub String);

impl FromStr for PublishState {
    type Err = UnknownPublishState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "draft" => Ok(Self::Draft),
            "published" => Ok(Self::Published),
            other => Err(UnknownPublishState(other.chars().take(40).collect())),
        }
    }
}

/// One module of [`Modules`]: the table of LeiKa codes, field names and German labels.
///
/// [`ModuleField::ALL`] lists the modules in display order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ModuleField {
    Kurztext,
    Volltext,
    Unterlagen,
    Voraussetzungen,
    Kosten,
    Verfahrensablauf,
    Bearbeitungsdauer,
    Fristen,
    Formulare,
    OnlineDienst,
    Rechtsgrundlage,
    Hinweise,
    WeiterfuehrendeInformationen,
    ZustaendigeStelle,
    Ansprechpunkt,
}

impl ModuleField {
    /// All modules in display order.
    pub const ALL: [ModuleField; 15] = [
        Self::Kurztext,
        Self::Volltext,
        Self::Unterlagen,
        Self::Voraussetzungen,
        Self::Kosten,
        Self::Verfahrensablauf,
        Self::Bearbeitungsdauer,
        Self::Fristen,
        Self::Formulare,
        Self::OnlineDienst,
        Self::Rechtsgrundlage,
        Self::Hinweise,
        Self::WeiterfuehrendeInformationen,
        Self::ZustaendigeStelle,
        Self::Ansprechpunkt,
    ];

    /// The LeiKa text module code ("05", …). The online service has no text module code.
    pub const fn leika_code(self) -> Option<&'static str> {
        Some(match self {
            Self::Kurztext => "05",
            Self::Volltext => "06",
            Self::Rechtsgrundlage => "07",
            Self::Unterlagen => "08",
            Self::Voraussetzungen => "09",
            Self::Kosten => "10",
            Self::Verfahrensablauf => "11",
            Self::Bearbeitungsdauer => "12",
            Self::Fristen => "13",
            Self::Formulare => "14",
            Self::WeiterfuehrendeInformationen => "15",
            Self::Hinweise => "16",
            Self::ZustaendigeStelle => "22",
            Self::Ansprechpunkt => "23",
            Self::OnlineDienst => return None,
        })
    }

    /// The field name in [`Modules`] and in JSON (`kurztext`, `unterlagen`, …).
    pub const fn field_name(self) -> &'static str {
        match self {
            Self::Kurztext => "kurztext",
            Self::Volltext => "volltext",
            Self::Unterlagen => "unterlagen",
            Self::Voraussetzungen => "voraussetzungen",
            Self::Kosten => "kosten",
            Self::Verfahrensablauf => "verfahrensablauf",
            Self::Bearbeitungsdauer => "bearbeitungsdauer",
            Self::Fristen => "fristen",
            Self::Formulare => "formulare",
            Self::OnlineDienst => "online_dienst",
            Self::Rechtsgrundlage => "rechtsgrundlage",
            Self::Hinweise => "hinweise",
            Self::WeiterfuehrendeInformationen => "weiterfuehrende_informationen",
            Self::ZustaendigeStelle => "zustaendige_stelle",
            Self::Ansprechpunkt => "ansprechpunkt",
        }
    }

    /// The German label for the UI.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Kurztext => "Kurztext",
            Self::Volltext => "Volltext",
            Self::Unterlagen => "Erforderliche Unterlagen",
            Self::Voraussetzungen => "Voraussetzungen",
            Self::Kosten => "Kosten",
            Self::Verfahrensablauf => "Verfahrensablauf",
            Self::Bearbeitungsdauer => "Bearbeitungsdauer",
            Self::Fristen => "Fristen",
            Self::Formulare => "Formulare",
            Self::OnlineDienst => "Online-Dienst",
            Self::Rechtsgrundlage => "Rechtsgrundlage",
            Self::Hinweise => "Hinweise",
            Self::WeiterfuehrendeInformationen => "Weiterführende Informationen",
            Self::ZustaendigeStelle => "Zuständige Stelle",
            Self::Ansprechpunkt => "Ansprechpunkt",
        }
    }

    /// The module for a LeiKa text module code ("05" → Kurztext). Codes without a module
    /// here (for example "02", the title) give `None`.
    pub fn from_leika_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.leika_code() == Some(code))
    }

    /// The module for a field name (`"kurztext"` → Kurztext).
    pub fn from_field_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.field_name() == name)
    }
}

impl fmt::Display for ModuleField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field_name())
    }
}

/// A borrowed view of one non-empty module value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleValue<'a> {
    Text(&'a str),
    List(&'a [String]),
    Costs(&'a Costs),
    Links(&'a [Link]),
}

impl Modules {
    /// The value of one module, or `None` if it is empty.
    pub fn get(&self, field: ModuleField) -> Option<ModuleValue<'_>> {
        match field {
            ModuleField::Unterlagen => {
                (!self.unterlagen.is_empty()).then_some(ModuleValue::List(&self.unterlagen))
            }
            ModuleField::Formulare => {
                (!self.formulare.is_empty()).then_some(ModuleValue::Links(&self.formulare))
            }
            ModuleField::Kosten => self
                .kosten
                .as_ref()
                .filter(|c| !c.is_empty())
                .map(ModuleValue::Costs),
            text_field => self
                .text(text_field)
                .flatten()
                .filter(|t| !t.trim().is_empty())
                .map(ModuleValue::Text),
        }
    }

    /// The value of the module with a LeiKa text module code ("05" → Kurztext), or `None`
    /// if the code has no module here or the module is empty.
    pub fn by_leika_code(&self, code: &str) -> Option<ModuleValue<'_>> {
        ModuleField::from_leika_code(code).and_then(|field| self.get(field))
    }

    /// All non-empty modules in display order.
    pub fn iter(&self) -> impl Iterator<Item = (ModuleField, ModuleValue<'_>)> {
        ModuleField::ALL
            .into_iter()
            .filter_map(|field| self.get(field).map(|value| (field, value)))
    }

    /// True if no module has content.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The text of a text module. `None` means `field` is not a text module
    /// (Unterlagen, Kosten, Formulare); `Some(None)` means the module is empty.
    pub fn text(&self, field: ModuleField) -> Option<Option<&str>> {
        let slot = match field {
            ModuleField::Kurztext => &self.kurztext,
            ModuleField::Volltext => &self.volltext,
            ModuleField::Voraussetzungen => &self.voraussetzungen,
            ModuleField::Verfahrensablauf => &self.verfahrensablauf,
            ModuleField::Bearbeitungsdauer => &self.bearbeitungsdauer,
            ModuleField::Fristen => &self.fristen,
            ModuleField::OnlineDienst => &self.online_dienst,
            ModuleField::Rechtsgrundlage => &self.rechtsgrundlage,
            ModuleField::Hinweise => &self.hinweise,
            ModuleField::WeiterfuehrendeInformationen => &self.weiterfuehrende_informationen,
            ModuleField::ZustaendigeStelle => &self.zustaendige_stelle,
            ModuleField::Ansprechpunkt => &self.ansprechpunkt,
            ModuleField::Unterlagen | ModuleField::Kosten | ModuleField::Formulare => {
                return None;
            }
        };
        Some(slot.as_deref())
    }

    /// Mutable access to a text module; `None` if `field` is not a text module.
    pub fn text_mut(&mut self, field: ModuleField) -> Option<&mut Option<String>> {
        Some(match field {
            ModuleField::Kurztext => &mut self.kurztext,
            ModuleField::Volltext => &mut self.volltext,
            ModuleField::Voraussetzungen => &mut self.voraussetzungen,
            ModuleField::Verfahrensablauf => &mut self.verfahrensablauf,
            ModuleField::Bearbeitungsdauer => &mut self.bearbeitungsdauer,
            ModuleField::Fristen => &mut self.fristen,
            ModuleField::OnlineDienst => &mut self.online_dienst,
            ModuleField::Rechtsgrundlage => &mut self.rechtsgrundlage,
            ModuleField::Hinweise => &mut self.hinweise,
            ModuleField::WeiterfuehrendeInformationen => &mut self.weiterfuehrende_informationen,
            ModuleField::ZustaendigeStelle => &mut self.zustaendige_stelle,
            ModuleField::Ansprechpunkt => &mut self.ansprechpunkt,
            ModuleField::Unterlagen | ModuleField::Kosten | ModuleField::Formulare => {
                return None;
            }
        })
    }

    /// Trims all texts, turns CRLF into LF, and drops empty texts, list entries and costs.
    pub fn normalize(&mut self) {
        for field in ModuleField::ALL {
            if let Some(slot) = self.text_mut(field) {
                normalize_opt(slot);
            }
        }
        // An HTML entry with a list (`<ul><li>…</li></ul>`) is one entry per item.
        self.unterlagen = std::mem::take(&mut self.unterlagen)
            .into_iter()
            .flat_map(|entry| match crate::import::html::clean_text(&entry) {
                Some(html) if !html.list_items.is_empty() => html.list_items,
                Some(html) => vec![html.text],
                None => vec![normalize_text(&entry)],
            })
            .filter_map(non_empty)
            .collect();
        if let Some(costs) = &mut self.kosten {
            normalize_opt(&mut costs.text);
            for amount in &mut costs.amounts {
                normalize_line_opt(&mut amount.label);
            }
        }
        if self.kosten.as_ref().is_some_and(Costs::is_empty) {
            self.kosten = None;
        }
        // A form given as HTML (`<a href="…">Antrag</a>`) is its http(s) links.
        self.formulare = std::mem::take(&mut self.formulare)
            .into_iter()
            .flat_map(|link| match crate::import::html::clean_text(&link.url) {
                Some(html) => html
                    .links
                    .into_iter()
                    .filter(|l| is_http_url(l.url.trim()))
                    .collect(),
                None => vec![link],
            })
            .collect();
        for link in &mut self.formulare {
            link.url = link.url.trim().to_owned();
            normalize_line_opt(&mut link.title);
        }
        self.formulare.retain(|link| !link.url.is_empty());
    }

    /// Checks the limits; see [`ServiceContent::validate`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        for field in ModuleField::ALL {
            if let Some(Some(text)) = self.text(field) {
                if field == ModuleField::OnlineDienst {
                    check_url("modules.online_dienst", text)?;
                } else {
                    check_len(
                        format!("modules.{}", field.field_name()),
                        text,
                        MAX_MODULE_CHARS,
                    )?;
                }
            }
        }
        check_count("modules.unterlagen", self.unterlagen.len())?;
        for (i, entry) in self.unterlagen.iter().enumerate() {
            let field = format!("modules.unterlagen[{i}]");
            if entry.trim().is_empty() {
                return Err(ValidationError::EmptyEntry { field });
            }
            check_len(field, entry, MAX_MODULE_CHARS)?;
        }
        if let Some(costs) = &self.kosten {
            if let Some(text) = &costs.text {
                check_len("modules.kosten.text".to_owned(), text, MAX_MODULE_CHARS)?;
            }
            check_count("modules.kosten.amounts", costs.amounts.len())?;
            for (i, amount) in costs.amounts.iter().enumerate() {
                if amount.eur_cents < 0 {
                    return Err(ValidationError::NegativeAmount {
                        field: format!("modules.kosten.amounts[{i}]"),
                    });
                }
                if let Some(label) = &amount.label {
                    check_len(
                        format!("modules.kosten.amounts[{i}].label"),
                        label,
                        MAX_LABEL_CHARS,
                    )?;
                }
            }
        }
        check_count("modules.formulare", self.formulare.len())?;
        for (i, link) in self.formulare.iter().enumerate() {
            check_url(&format!("modules.formulare[{i}].url"), &link.url)?;
            if let Some(title) = &link.title {
                check_len(
                    format!("modules.formulare[{i}].title"),
                    title,
                    MAX_LABEL_CHARS,
                )?;
            }
        }
        Ok(())
    }
}

impl ServiceContent {
    /// Trims the title and all texts, drops empty synonyms and synonyms that repeat an
    /// earlier one (case-insensitively), and drops empty modules.
    pub fn normalize(&mut self) {
        self.title = normalize_line(&self.title);
        self.leika_keys.sort();
        self.leika_keys.dedup();
        // A set: an import may bring any number of synonyms before `validate` limits them.
        let mut seen: std::collections::HashSet<String> =
            std::collections::HashSet::with_capacity(self.synonyms.len());
        self.synonyms = std::mem::take(&mut self.synonyms)
            .into_iter()
            .filter_map(|synonym| {
                let synonym = normalize_line(&synonym);
                (!synonym.is_empty() && seen.insert(synonym.to_lowercase())).then_some(synonym)
            })
            .collect();
        self.modules.normalize();
    }

    /// Enforces: title 1–300 characters; at most 100 synonyms, each 1–100 characters and
    /// unique (case-insensitively); module texts at most 100 000 characters; at most 500
    /// entries per list; link titles and cost labels at most 300 characters; amounts not
    /// negative; URLs (Formulare, Online-Dienst) start with `http://` or `https://`.
    ///
    /// Call [`ServiceContent::normalize`] first (or use [`ServiceContent::normalized`]);
    /// `validate` does not trim.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_texts(self)?;
        if self.leika_keys.len() > crate::leika::MAX_LEIKA_KEYS {
            return Err(ValidationError::TooManyKeys {
                count: self.leika_keys.len(),
                max: crate::leika::MAX_LEIKA_KEYS,
            });
        }
        let title_chars = self.title.chars().count();
        if self.title.trim().is_empty() {
            return Err(ValidationError::TitleEmpty);
        }
        if title_chars > MAX_TITLE_CHARS {
            return Err(ValidationError::TitleTooLong {
                chars: title_chars,
                max: MAX_TITLE_CHARS,
            });
        }
        if self.synonyms.len() > MAX_SYNONYMS {
            return Err(ValidationError::TooManySynonyms {
                count: self.synonyms.len(),
                max: MAX_SYNONYMS,
            });
        }
        let mut seen: Vec<String> = Vec::with_capacity(self.synonyms.len());
        for (index, synonym) in self.synonyms.iter().enumerate() {
            if synonym.trim().is_empty() {
                return Err(ValidationError::EmptySynonym { index });
            }
            let chars = synonym.chars().count();
            if chars > MAX_SYNONYM_CHARS {
                return Err(ValidationError::SynonymTooLong {
                    synonym: shorten(synonym, 40),
                    chars,
                    max: MAX_SYNONYM_CHARS,
                });
            }
            let folded = synonym.trim().to_lowercase();
            if seen.contains(&folded) {
                return Err(ValidationError::DuplicateSynonym {
                    synonym: synonym.clone(),
                });
            }
            seen.push(folded);
        }
        self.modules.validate()
    }

    /// [`normalize`](Self::normalize), then [`validate`](Self::validate).
    pub fn normalized(mut self) -> Result<Self, ValidationError> {
        self.normalize();
        self.validate()?;
        Ok(self)
    }
}

/// Why content was rejected. `field` values are JSON paths such as `modules.volltext` or
/// `modules.formulare[0].url` (0-based indexes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("title must not be empty")]
    TitleEmpty,
    #[error("leika_keys has too many entries ({count}, at most {max})")]
    TooManyKeys { count: usize, max: usize },
    #[error("title is too long ({chars} characters, at most {max})")]
    TitleTooLong { chars: usize, max: usize },
    #[error("too many synonyms ({count}, at most {max})")]
    TooManySynonyms { count: usize, max: usize },
    #[error("synonyms[{index}] must not be empty")]
    EmptySynonym { index: usize },
    #[error("synonym \"{synonym}\" is too long ({chars} characters, at most {max})")]
    SynonymTooLong {
        synonym: String,
        chars: usize,
        max: usize,
    },
    #[error("synonym \"{synonym}\" is given more than once")]
    DuplicateSynonym { synonym: String },
    #[error("{field} is too long ({chars} characters, at most {max})")]
    TooLong {
        field: String,
        chars: usize,
        max: usize,
    },
    #[error("{field} has too many entries ({count}, at most {max})")]
    TooManyEntries {
        field: &'static str,
        count: usize,
        max: usize,
    },
    #[error("{field} must not be empty")]
    EmptyEntry { field: String },
    #[error("{field}: amount must not be negative")]
    NegativeAmount { field: String },
    #[error("{field}: \"{url}\" is not a valid URL (must start with http:// or https://)")]
    InvalidUrl { field: String, url: String },
    /// Control or invisible characters: the input rule of `verbund_tenant::text`.
    #[error("{field} {reason}")]
    Text { field: String, reason: String },
}

impl ValidationError {
    /// The JSON path of the offending field (`title`, `synonyms[3]`, `modules.volltext`, …).
    pub fn field(&self) -> String {
        match self {
            Self::TitleEmpty | Self::TitleTooLong { .. } => "title".to_owned(),
            Self::TooManyKeys { .. } => "leika_keys".to_owned(),
            Self::TooManySynonyms { .. }
            | Self::SynonymTooLong { .. }
            | Self::DuplicateSynonym { .. } => "synonyms".to_owned(),
            Self::EmptySynonym { index } => format!("synonyms[{index}]"),
            Self::TooManyEntries { field, .. } => (*field).to_owned(),
            Self::TooLong { field, .. }
            | Self::EmptyEntry { field }
            | Self::NegativeAmount { field }
            | Self::InvalidUrl { field, .. }
            | Self::Text { field, .. } => field.clone(),
        }
    }
}

/// An amount that could not be read as euros.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an amount in EUR (expected e.g. 37.00 or 37,00)")]
pub struct AmountError(pub String);

/// Largest accepted amount: one billion euros, in cents.
const MAX_EUR_CENTS: i64 = 100_000_000_000;

/// Parses a euro amount into cents: `37`, `37.00`, `37,00`, `1.234,56`, `1,234.56`,
/// `37,00 EUR`, `37,00 €`. When both `.` and `,` occur, the last one is the decimal
/// separator and the other one groups thousands. More than two decimals are accepted only
/// if the extra ones are zeros (`37.000` as written by `xs:decimal`). Negative amounts and
/// amounts above one billion euros are rejected.
pub fn parse_eur_cents(input: &str) -> Result<i64, AmountError> {
    let err = || AmountError(shorten(input, 40));
    let mut s = input.trim();
    for suffix in ["EUR", "Euro", "€"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest.trim_end();
            break;
        }
    }
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(err());
    }
    let decimal_sep = match (s.rfind('.'), s.rfind(',')) {
        (Some(dot), Some(comma)) => Some(if dot > comma { '.' } else { ',' }),
        (Some(_), None) => Some('.'),
        (None, Some(_)) => Some(','),
        (None, None) => None,
    };
    let (int_part, frac_part) = match decimal_sep {
        Some(sep) => match s.rsplit_once(sep) {
            Some((int, frac)) => (int, frac),
            None => (s, ""),
        },
        None => (s, ""),
    };
    let grouping = match decimal_sep {
        Some('.') => ',',
        _ => '.',
    };
    // The integer part may use the grouping separator, but not the decimal one again.
    if decimal_sep.is_some_and(|sep| int_part.contains(sep)) {
        return Err(err());
    }
    if int_part.contains(grouping) {
        // Thousands groups: 1–3 digits first, then exactly 3 digits per group.
        let mut groups = int_part.split(grouping);
        let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()));
        if !first_ok || !groups.all(|g| g.len() == 3) {
            return Err(err());
        }
    }
    let int_digits: String = int_part.chars().filter(|&c| c != grouping).collect();
    if int_digits.is_empty() && frac_part.is_empty() {
        return Err(err());
    }
    if !frac_part.chars().all(|c| c.is_ascii_digit()) {
        return Err(err());
    }
    let (cents_digits, extra) = frac_part.split_at(frac_part.len().min(2));
    if extra.chars().any(|c| c != '0') {
        return Err(err());
    }
    let mut euros: i64 = 0;
    for c in int_digits.chars() {
        let digit = i64::from(c.to_digit(10).ok_or_else(err)?);
        euros = euros
            .checked_mul(10)
            .and_then(|v| v.checked_add(digit))
            .ok_or_else(err)?;
    }
    let mut cents: i64 = 0;
    for (i, c) in cents_digits.chars().enumerate() {
        let digit = i64::from(c.to_digit(10).ok_or_else(err)?);
        cents += if i == 0 { digit * 10 } else { digit };
    }
    let total = euros
        .checked_mul(100)
        .and_then(|v| v.checked_add(cents))
        .ok_or_else(err)?;
    if total > MAX_EUR_CENTS {
        return Err(err());
    }
    Ok(total)
}

/// Formats cents as a German euro amount: `3700` → `37,00 €`.
pub fn format_eur_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let euros = (abs / 100).to_string();
    let mut grouped = String::with_capacity(euros.len() + euros.len() / 3);
    for (i, c) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02} €", abs % 100)
}

/// True if `url` is an absolute http(s) URL without whitespace.
pub fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        url.get(8..)
    } else if lower.starts_with("http://") {
        url.get(7..)
    } else {
        None
    };
    rest.is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with('/')
            && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// The input rule of `verbund_tenant::text` for every text of a description, the same for
/// the API and every import: module texts, document entries and the costs text are long
/// texts; title, synonyms, labels, link titles and URLs are single lines.
fn check_texts(c: &ServiceContent) -> Result<(), ValidationError> {
    use verbund_tenant::text::{TextKind, check};
    let mut texts: Vec<(String, TextKind, &str)> =
        vec![("title".into(), TextKind::SingleLine, c.title.as_str())];
    for (i, s) in c.synonyms.iter().enumerate() {
        texts.push((format!("synonyms[{i}]"), TextKind::SingleLine, s.as_str()));
    }
    let m = &c.modules;
    for field in ModuleField::ALL {
        if let Some(Some(text)) = m.text(field) {
            let kind = if field == ModuleField::OnlineDienst {
                TextKind::SingleLine
            } else {
                TextKind::LongText
            };
            texts.push((format!("modules.{}", field.field_name()), kind, text));
        }
    }
    for (i, s) in m.unterlagen.iter().enumerate() {
        texts.push((
            format!("modules.unterlagen[{i}]"),
            TextKind::LongText,
            s.as_str(),
        ));
    }
    if let Some(costs) = &m.kosten {
        if let Some(text) = &costs.text {
            texts.push((
                "modules.kosten.text".into(),
                TextKind::LongText,
                text.as_str(),
            ));
        }
        for (i, a) in costs.amounts.iter().enumerate() {
            if let Some(label) = &a.label {
                texts.push((
                    format!("modules.kosten.amounts[{i}].label"),
                    TextKind::SingleLine,
                    label.as_str(),
                ));
            }
        }
    }
    for (i, link) in m.formulare.iter().enumerate() {
        texts.push((
            format!("modules.formulare[{i}].url"),
            TextKind::SingleLine,
            link.url.as_str(),
        ));
        if let Some(title) = &link.title {
            texts.push((
                format!("modules.formulare[{i}].title"),
                TextKind::SingleLine,
                title.as_str(),
            ));
        }
    }
    for (field, kind, text) in texts {
        check(kind, text).map_err(|reason| ValidationError::Text { field, reason })?;
    }
    Ok(())
}

fn check_url(field: &str, url: &str) -> Result<(), ValidationError> {
    if url.chars().count() > MAX_URL_CHARS || !is_http_url(url) {
        return Err(ValidationError::InvalidUrl {
            field: field.to_owned(),
            url: shorten(url, 100),
        });
    }
    Ok(())
}

fn check_len(field: String, text: &str, max: usize) -> Result<(), ValidationError> {
    let chars = text.chars().count();
    if chars > max {
        return Err(ValidationError::TooLong { field, chars, max });
    }
    Ok(())
}

fn check_count(field: &'static str, count: usize) -> Result<(), ValidationError> {
    if count > MAX_LIST_ENTRIES {
        return Err(ValidationError::TooManyEntries {
            field,
            count,
            max: MAX_LIST_ENTRIES,
        });
    }
    Ok(())
}

/// Trims and turns CRLF / CR line ends into LF. A text that looks like HTML becomes its
/// stored form instead (see `import::html::clean_text`).
pub(crate) fn normalize_text(text: &str) -> String {
    if let Some(html) = crate::import::html::clean_text(text) {
        return html.text;
    }
    let trimmed = text.trim();
    if trimmed.contains('\r') {
        trimmed.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        trimmed.to_owned()
    }
}

fn normalize_opt(slot: &mut Option<String>) {
    *slot = slot
        .take()
        .and_then(|text| non_empty(normalize_text(&text)));
}

/// [`normalize_text`] for a single-line text: HTML becomes one line of text.
fn normalize_line(text: &str) -> String {
    crate::import::html::clean_line(text).unwrap_or_else(|| normalize_text(text))
}

fn normalize_line_opt(slot: &mut Option<String>) {
    *slot = slot
        .take()
        .and_then(|text| non_empty(normalize_line(&text)));
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> ServiceContent {
        ServiceContent {
            leika_keys: vec![LeikaKey::parse("99102013001000").unwrap()],
            title: "Personalausweis beantragen".to_owned(),
            synonyms: vec![],
            modules: Modules::default(),
        }
    }

    #[test]
    fn module_table_is_consistent() {
        let mut codes = Vec::new();
        for field in ModuleField::ALL {
            assert_eq!(
                ModuleField::from_field_name(field.field_name()),
                Some(field)
            );
            if let Some(code) = field.leika_code() {
                assert_eq!(ModuleField::from_leika_code(code), Some(field));
                codes.push(code);
            }
            // The serde name is the field name.
            assert_eq!(
                serde_json::to_string(&field).unwrap(),
                format!("\"{}\"", field.field_name())
            );
        }
        assert_eq!(codes.len(), 14);
        assert_eq!(ModuleField::from_leika_code("02"), None);
        assert_eq!(
            ModuleField::from_leika_code("08"),
            Some(ModuleField::Unterlagen)
        );
        assert_eq!(ModuleField::Unterlagen.label(), "Erforderliche Unterlagen");
        assert_eq!(
            ModuleField::WeiterfuehrendeInformationen.label(),
            "Weiterführende Informationen"
        );
    }

    #[test]
    fn modules_by_leika_code_and_iter() {
        let modules = Modules {
            kurztext: Some("Kurz".to_owned()),
            volltext: Some("   ".to_owned()),
            unterlagen: vec!["Geburtsurkunde".to_owned()],
            ..Modules::default()
        };
        assert_eq!(modules.by_leika_code("05"), Some(ModuleValue::Text("Kurz")));
        assert_eq!(modules.by_leika_code("06"), None);
        assert_eq!(modules.by_leika_code("99"), None);
        assert!(matches!(
            modules.by_leika_code("08"),
            Some(ModuleValue::List([entry])) if entry == "Geburtsurkunde"
        ));
        let fields: Vec<_> = modules.iter().map(|(field, _)| field).collect();
        assert_eq!(fields, [ModuleField::Kurztext, ModuleField::Unterlagen]);
        assert!(Modules::default().is_empty());
    }

    #[test]
    fn normalize_trims_and_deduplicates_synonyms() {
        let mut c = content();
        c.title = "  Personalausweis beantragen \r\n".to_owned();
        c.synonyms = vec![
            " Perso ".to_owned(),
            "perso".to_owned(),
            "".to_owned(),
            "Ausweis".to_owned(),
            "PERSO".to_owned(),
        ];
        c.modules.kurztext = Some("  Zeile 1\r\nZeile 2  ".to_owned());
        c.modules.hinweise = Some("   ".to_owned());
        c.modules.unterlagen = vec![" Foto ".to_owned(), " ".to_owned()];
        c.modules.kosten = Some(Costs::default());
        let c = c.normalized().unwrap();
        assert_eq!(c.title, "Personalausweis beantragen");
        assert_eq!(c.synonyms, ["Perso", "Ausweis"]);
        assert_eq!(c.modules.kurztext.as_deref(), Some("Zeile 1\nZeile 2"));
        assert_eq!(c.modules.hinweise, None);
        assert_eq!(c.modules.unterlagen, ["Foto"]);
        assert_eq!(c.modules.kosten, None);
    }

    #[test]
    fn validate_enforces_limits() {
        let mut c = content();
        c.title = String::new();
        assert_eq!(c.validate(), Err(ValidationError::TitleEmpty));

        let mut c = content();
        c.title = "ä".repeat(300);
        assert_eq!(c.validate(), Ok(()));
        c.title.push('ä');
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "title is too long (301 characters, at most 300)"
        );

        let mut c = content();
        c.synonyms = (0..101).map(|i| format!("Begriff {i}")).collect();
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "too many synonyms (101, at most 100)"
        );

        let mut c = content();
        c.synonyms = vec!["x".repeat(101)];
        assert!(matches!(
            c.validate(),
            Err(ValidationError::SynonymTooLong { chars: 101, .. })
        ));

        let mut c = content();
        c.synonyms = vec!["Perso".to_owned(), "PERSO".to_owned()];
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "synonym \"PERSO\" is given more than once"
        );

        let mut c = content();
        c.modules.volltext = Some("a".repeat(100_001));
        let err = c.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "modules.volltext is too long (100001 characters, at most 100000)"
        );
        assert_eq!(err.field(), "modules.volltext");

        let mut c = content();
        c.modules.formulare = vec![Link {
            title: None,
            url: "ftp://example.org/antrag.pdf".to_owned(),
        }];
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "modules.formulare[0].url: \"ftp://example.org/antrag.pdf\" is not a valid URL \
             (must start with http:// or https://)"
        );

        let mut c = content();
        c.modules.online_dienst = Some("www.example.org".to_owned());
        assert_eq!(
            c.validate().unwrap_err().field(),
            "modules.online_dienst".to_owned()
        );

        let mut c = content();
        c.modules.kosten = Some(Costs {
            text: None,
            amounts: vec![CostAmount {
                label: None,
                eur_cents: -1,
            }],
        });
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "modules.kosten.amounts[0]: amount must not be negative"
        );
    }

    #[test]
    fn urls() {
        assert!(is_http_url("https://www.trier.de/antrag"));
        assert!(is_http_url("HTTP://example.org"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("https:///pfad"));
        assert!(!is_http_url("https://exa mple.org"));
        assert!(!is_http_url("javascript:alert(1)"));
        assert!(!is_http_url("mailto:buergerbuero@trier.de"));
        assert!(!is_http_url("ht"));
        assert!(!is_http_url("httpsäöü"));
    }

    #[test]
    fn amounts() {
        let ok = [
            ("37", 3700),
            ("37.00", 3700),
            ("37,00", 3700),
            ("22,8", 2280),
            ("22.80 EUR", 2280),
            ("22,80 €", 2280),
            ("1.234,56", 123_456),
            ("1,234.56", 123_456),
            ("37.000", 3700),
            (",50", 50),
            ("0", 0),
        ];
        for (input, cents) in ok {
            assert_eq!(parse_eur_cents(input), Ok(cents), "{input}");
        }
        for bad in [
            "",
            "EUR",
            "-5",
            "ab 22,80",
            "37.005",
            "1.2.3,4",
            "1,2,3.4.5",
            "abc",
            ".",
            "1e3",
            "99999999999999999999999",
        ] {
            assert!(parse_eur_cents(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_eur_cents("abc").unwrap_err().to_string(),
            "\"abc\" is not an amount in EUR (expected e.g. 37.00 or 37,00)"
        );
        assert_eq!(format_eur_cents(3700), "37,00 €");
        assert_eq!(format_eur_cents(123_456), "1.234,56 €");
        assert_eq!(format_eur_cents(5), "0,05 €");
    }

    #[test]
    fn publish_state() {
        assert_eq!("draft".parse(), Ok(PublishState::Draft));
        assert_eq!("published".parse(), Ok(PublishState::Published));
        assert!("Published".parse::<PublishState>().is_err());
        assert_eq!(
            serde_json::to_string(&PublishState::Published).unwrap(),
            "\"published\""
        );
        assert_eq!(PublishState::Draft.label(), "Entwurf");
    }
}
