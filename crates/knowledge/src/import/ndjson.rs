//! NDJSON import: one service description per line.
//!
//! ```json
//! {"leika":"99102013001000","title":"Personalausweis beantragen","synonyms":["Perso"],
//!  "modules":{"kurztext":"…","volltext":"…","unterlagen":["…"],"voraussetzungen":"…",
//!             "kosten":"37,00 Euro","fristen":"…","bearbeitungsdauer":"…",
//!             "verfahrensablauf":"…","rechtsgrundlage":"…",
//!             "formulare":["https://…",{"title":"Antrag","url":"https://…"}],
//!             "hinweise":"…"},
//!  "status":"published"}
//! ```
//! (shown wrapped; in the file each object is on one line).
//!
//! - Required: `title`. The LeiKa keys: `leika_keys` (a list, each `^99\d{12}$`, checked
//!   one by one; none for a local service) or the older single `leika`, not both.
//!   `external_id`: the source system's id of the description (the import matches on it
//!   first). Optional: `synonyms` (list of strings),
//!   `modules`, `status` (`draft` or `published`, default `draft`) and `org_unit` (the id of
//!   the responsible org unit, resolved by the storage layer).
//! - `modules` keys: `kurztext`, `volltext`, `unterlagen` (list of strings),
//!   `voraussetzungen`, `kosten`, `fristen`, `bearbeitungsdauer`, `verfahrensablauf`,
//!   `rechtsgrundlage`, `formulare`, `hinweise`, and also `online_dienst` (URL),
//!   `weiterfuehrende_informationen`, `zustaendige_stelle`, `ansprechpunkt`.
//! - `kosten` is either a text or an object `{"text": "…", "amounts": [{"label": "…",
//!   "eur": 37.00}]}`; `eur` is a number or a string such as `"37,00"`.
//! - `formulare` entries are URL strings or objects `{"title": "…", "url": "…"}`.
//! - `keywords` (a list of strings, or one string separated by `,`, `;` or lines) are added
//!   to `synonyms`. `unterlagen` and `formulare` may also be one HTML text: its list items are
//!   the documents, its http(s) links the forms.
//! - Every text may be HTML; it is stored in the plain-text form of [`super::html`] (see the
//!   README, "Stored text form").
//! - A line with `"type": "office"` is an office, see [`super::office`] (a description may say
//!   `"type": "service"`; any other `type` is an error).
//! - Unknown keys (top level, in `modules`, in `kosten` objects and in links) are errors.
//! - Blank lines are skipped; a UTF-8 BOM and CRLF line ends are accepted.
//!
//! Each bad line gives one [`ItemError`](super::ItemError) at `"line N"` (1-based); the other lines are
//! imported.

use serde::Deserialize;
use serde_json::Value;

#[cfg(test)]
use super::ItemError;
use super::{Collector, ImportItem, ParsedImport, office};
use crate::leika::LeikaKey;
use crate::model::{
    CostAmount, Costs, Link, Modules, PublishState, ServiceContent, parse_eur_cents,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    leika: Option<String>,
    #[serde(default)]
    leika_keys: Option<Vec<String>>,
    #[serde(default)]
    external_id: Option<String>,
    title: String,
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    modules: Option<Value>,
    #[serde(default)]
    status: Option<PublishState>,
    #[serde(default)]
    org_unit: Option<String>,
    /// Keywords of the source system: added to `synonyms`.
    #[serde(default, deserialize_with = "keywords")]
    keywords: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineModules {
    #[serde(default)]
    kurztext: Option<String>,
    #[serde(default)]
    volltext: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    unterlagen: Vec<String>,
    #[serde(default)]
    voraussetzungen: Option<String>,
    #[serde(default)]
    kosten: Option<Value>,
    #[serde(default)]
    fristen: Option<String>,
    #[serde(default)]
    bearbeitungsdauer: Option<String>,
    #[serde(default)]
    verfahrensablauf: Option<String>,
    #[serde(default)]
    rechtsgrundlage: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    formulare: Vec<Value>,
    #[serde(default)]
    hinweise: Option<String>,
    #[serde(default)]
    online_dienst: Option<String>,
    #[serde(default)]
    weiterfuehrende_informationen: Option<String>,
    #[serde(default)]
    zustaendige_stelle: Option<String>,
    #[serde(default)]
    ansprechpunkt: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CostsObject {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    amounts: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmountObject {
    #[serde(default)]
    label: Option<String>,
    eur: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkObject {
    #[serde(default)]
    title: Option<String>,
    url: String,
}

/// A list, or one value as a list of one (an HTML text with a `<ul>` or links).
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error as _;
    let items = match Value::deserialize(d)? {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        one => vec![one],
    };
    items
        .into_iter()
        .map(|item| serde_json::from_value(item).map_err(D::Error::custom))
        .collect()
}

/// `keywords`: a list of strings, or one string of keywords separated by `,`, `;` or lines
/// (split after HTML and character references are converted).
fn keywords<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(one_or_many::<D, String>(d)?
        .into_iter()
        .map(|k| super::html::clean_text(&k).map_or(k, |html| html.text))
        .flat_map(|k| {
            k.split([',', ';', '\n'])
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect())
}

/// Parses NDJSON. See the module documentation for the format.
pub fn parse(input: &str) -> ParsedImport {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut collector = Collector::default();
    for (index, raw_line) in input.split('\n').enumerate() {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.trim().is_empty() {
            continue;
        }
        let location = format!("line {}", index + 1);
        match office_line(line, &location) {
            Some(Ok(unit)) => {
                collector.push_org_unit(unit);
                continue;
            }
            Some(Err(reason)) => {
                collector.push_error(location, reason);
                continue;
            }
            None => {}
        }
        match parse_line(line) {
            Ok(item) => {
                collector.push_item(location, item);
            }
            Err(reason) => collector.push_error(location, reason),
        }
    }
    collector.parsed
}

/// An office record (`"type": "office"`), or an error for an unknown `type`; `None` for a
/// description (no `type`, or `"service"`) or a line that is not a JSON object.
fn office_line(line: &str, location: &str) -> Option<Result<super::OrgUnitImport, String>> {
    if !line.contains("\"type\"") {
        return None;
    }
    let value: Value = serde_json::from_str(line).ok()?;
    if !value.is_object() {
        return None;
    }
    match office::line_kind(&value) {
        Ok(office::LineKind::Service) => None,
        Ok(office::LineKind::Office) => Some(office::parse_record(value, location.to_owned())),
        Err(reason) => Some(Err(reason)),
    }
}

/// Parses one non-blank line into a normalized, validated item.
fn parse_line(line: &str) -> Result<ImportItem, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| {
        let message = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&position).unwrap_or(&message);
        format!("invalid JSON: {message} (column {})", e.column())
    })?;
    let mut value = value;
    match value.as_object_mut() {
        // `"type": "service"` (checked by `office_line`) is the default.
        Some(object) => object.remove("type"),
        None => return Err("expected a JSON object".to_owned()),
    };
    let line: Line = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let leika_keys = match (&line.leika, &line.leika_keys) {
        (Some(_), Some(_)) => return Err("give either leika or leika_keys, not both".to_owned()),
        (Some(one), None) => vec![LeikaKey::parse(one).map_err(|e| e.to_string())?],
        (None, Some(list)) => {
            crate::leika::parse_keys("leika_keys", list).map_err(|e| e.to_string())?
        }
        (None, None) => Vec::new(),
    };
    let external_id = match line.external_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(ext) if ext.chars().count() > crate::services::MAX_EXTERNAL_ID_CHARS => {
            return Err(format!(
                "external_id is too long (at most {} characters)",
                crate::services::MAX_EXTERNAL_ID_CHARS
            ));
        }
        Some(ext) => {
            verbund_tenant::text::check(verbund_tenant::text::TextKind::SingleLine, ext)
                .map_err(|reason| format!("external_id {reason}"))?;
            Some(ext.to_owned())
        }
    };
    let modules = match line.modules {
        None | Some(Value::Null) => Modules::default(),
        Some(value) => convert_modules(value)?,
    };
    let content = ServiceContent {
        leika_keys,
        title: line.title,
        synonyms: line.synonyms.into_iter().chain(line.keywords).collect(),
        modules,
    }
    .normalized()
    .map_err(|e| e.to_string())?;
    Ok(ImportItem {
        content,
        external_id,
        status: line.status.unwrap_or_default(),
        org_unit_ref: line
            .org_unit
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty()),
    })
}

fn convert_modules(value: Value) -> Result<Modules, String> {
    if !value.is_object() {
        return Err("modules: expected an object".to_owned());
    }
    let m: LineModules = serde_json::from_value(value).map_err(|e| format!("modules: {e}"))?;
    let kosten = match m.kosten {
        None | Some(Value::Null) => None,
        Some(value) => Some(convert_costs(value)?),
    };
    let formulare = m
        .formulare
        .into_iter()
        .enumerate()
        .map(|(i, value)| convert_link(i, value))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Modules {
        kurztext: m.kurztext,
        volltext: m.volltext,
        unterlagen: m.unterlagen,
        voraussetzungen: m.voraussetzungen,
        kosten,
        fristen: m.fristen,
        bearbeitungsdauer: m.bearbeitungsdauer,
        verfahrensablauf: m.verfahrensablauf,
        rechtsgrundlage: m.rechtsgrundlage,
        formulare,
        online_dienst: m.online_dienst,
        weiterfuehrende_informationen: m.weiterfuehrende_informationen,
        hinweise: m.hinweise,
        zustaendige_stelle: m.zustaendige_stelle,
        ansprechpunkt: m.ansprechpunkt,
    })
}

fn convert_costs(value: Value) -> Result<Costs, String> {
    match value {
        Value::String(text) => Ok(Costs {
            text: Some(text),
            amounts: Vec::new(),
        }),
        object @ Value::Object(_) => {
            let costs: CostsObject =
                serde_json::from_value(object).map_err(|e| format!("modules.kosten: {e}"))?;
            let amounts = costs
                .amounts
                .into_iter()
                .enumerate()
                .map(|(i, value)| convert_amount(i, value))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Costs {
                text: costs.text,
                amounts,
            })
        }
        _ => Err("modules.kosten: expected a text or an object {\"text\", \"amounts\"}".to_owned()),
    }
}

fn convert_amount(index: usize, value: Value) -> Result<CostAmount, String> {
    let field = format!("modules.kosten.amounts[{index}]");
    let amount: AmountObject =
        serde_json::from_value(value).map_err(|e| format!("{field}: {e}"))?;
    let eur_cents = match &amount.eur {
        Value::Number(number) => parse_eur_cents(&number.to_string()),
        Value::String(text) => parse_eur_cents(text),
        _ => return Err(format!("{field}.eur: expected a number or a text")),
    }
    .map_err(|e| format!("{field}.eur: {e}"))?;
    Ok(CostAmount {
        label: amount.label,
        eur_cents,
    })
}

fn convert_link(index: usize, value: Value) -> Result<Link, String> {
    let field = format!("modules.formulare[{index}]");
    match value {
        Value::String(url) => Ok(Link { title: None, url }),
        object @ Value::Object(_) => {
            let link: LinkObject =
                serde_json::from_value(object).map_err(|e| format!("{field}: {e}"))?;
            Ok(Link {
                title: link.title,
                url: link.url,
            })
        }
        _ => Err(format!(
            "{field}: expected a URL or an object {{\"title\", \"url\"}}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIXTURE: &str = include_str!("../../tests/fixtures/services.ndjson");

    fn key(s: &str) -> LeikaKey {
        LeikaKey::parse(s).unwrap()
    }

    #[test]
    fn fixture_items_and_errors() {
        let parsed = parse(FIXTURE);
        let locations: Vec<&str> = parsed.items.iter().map(|(l, _)| l.as_str()).collect();
        // Line 12 shares line 1's LeiKa key with another title: a variant, not a duplicate.
        assert_eq!(
            locations,
            ["line 1", "line 2", "line 4", "line 5", "line 12"]
        );
        assert!(parsed.org_units.is_empty());

        let errors: Vec<(&str, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.location.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (
                    "line 6",
                    "unknown field `kategorie`, expected one of `leika`, `leika_keys`, \
                     `external_id`, `title`, `synonyms`, `modules`, `status`, `org_unit`, \
                     `keywords`"
                ),
                (
                    "line 7",
                    "invalid LeiKa key \"9910201300100\": must be exactly 14 digits long"
                ),
                (
                    "line 8",
                    "invalid JSON: EOF while parsing a value (column 63)"
                ),
                (
                    "line 9",
                    "modules: unknown field `gebuehren`, expected one of `kurztext`, \
                     `volltext`, `unterlagen`, `voraussetzungen`, `kosten`, `fristen`, \
                     `bearbeitungsdauer`, `verfahrensablauf`, `rechtsgrundlage`, `formulare`, \
                     `hinweise`, `online_dienst`, `weiterfuehrende_informationen`, \
                     `zustaendige_stelle`, `ansprechpunkt`"
                ),
                (
                    "line 10",
                    "modules.formulare[0].url: \"ftp://formulare.example.org/antrag.pdf\" is \
                     not a valid URL (must start with http:// or https://)"
                ),
                ("line 11", "title must not be empty"),
                (
                    "line 13",
                    "modules.kosten.amounts[0].eur: \"gratis\" is not an amount in EUR \
                     (expected e.g. 37.00 or 37,00)"
                ),
                (
                    "line 14",
                    "unknown variant `archived`, expected `draft` or `published`"
                ),
                ("line 15", "expected a JSON object"),
            ]
        );
    }

    #[test]
    fn fixture_personalausweis_with_cost_object_and_links() {
        let parsed = parse(FIXTURE);
        let (_, item) = &parsed.items[0];
        assert_eq!(item.status, PublishState::Published);
        assert_eq!(item.org_unit_ref.as_deref(), Some("trier-buergeramt"));
        let c = &item.content;
        assert_eq!(c.leika_keys, [key("99102013001000")]);
        assert_eq!(c.title, "Personalausweis beantragen");
        // Trimmed and deduplicated case-insensitively.
        assert_eq!(c.synonyms, ["Perso", "Ausweis", "Identitätskarte"]);
        let m = &c.modules;
        assert_eq!(
            m.kurztext.as_deref(),
            Some(
                "Den Personalausweis beantragen Sie persönlich bei der Personalausweisbehörde Ihres Wohnorts."
            )
        );
        assert_eq!(
            m.unterlagen,
            [
                "bisheriger Personalausweis oder Reisepass",
                "ein aktuelles biometrisches Passfoto",
                "bei Minderjährigen: Zustimmung der Sorgeberechtigten",
            ]
        );
        assert_eq!(
            m.kosten,
            Some(Costs {
                text: Some("Die Gebühr richtet sich nach dem Alter.".to_owned()),
                amounts: vec![
                    CostAmount {
                        label: Some("ab 24 Jahren".to_owned()),
                        eur_cents: 3700,
                    },
                    CostAmount {
                        label: Some("unter 24 Jahren".to_owned()),
                        eur_cents: 2280,
                    },
                    CostAmount {
                        label: None,
                        eur_cents: 1300,
                    },
                ],
            })
        );
        assert_eq!(
            m.formulare,
            [
                Link {
                    title: None,
                    url: "https://www.trier.de/formulare/vollmacht-personalausweis.pdf".to_owned(),
                },
                Link {
                    title: Some("Terminvereinbarung".to_owned()),
                    url: "https://termine.trier.de/buergeramt".to_owned(),
                },
            ]
        );
        assert_eq!(
            m.rechtsgrundlage.as_deref(),
            Some("§ 9 Personalausweisgesetz (PAuswG)")
        );
        assert_eq!(m.bearbeitungsdauer.as_deref(), Some("etwa 3 bis 4 Wochen"));
        assert_eq!(m.volltext, None);
    }

    #[test]
    fn fixture_bom_crlf_and_cost_text() {
        let parsed = parse(FIXTURE);
        // Line 2 ends with CRLF; the file starts with a BOM (line 1).
        let (location, item) = &parsed.items[1];
        assert_eq!(location, "line 2");
        assert_eq!(item.status, PublishState::Draft);
        assert_eq!(item.org_unit_ref, None);
        let c = &item.content;
        assert_eq!(c.leika_keys, [key("99036003001000")]);
        assert_eq!(c.title, "Fahrzeug zulassen");
        assert_eq!(c.synonyms, ["Kfz-Zulassung", "Auto anmelden"]);
        assert_eq!(
            c.modules.kosten,
            Some(Costs {
                text: Some("ab 26,30 Euro, je nach Fahrzeug und Kennzeichen".to_owned()),
                amounts: vec![],
            })
        );
        assert_eq!(
            c.modules.online_dienst.as_deref(),
            Some("https://www.ikfz.example.org/zulassung")
        );

        let (location, item) = &parsed.items[2];
        assert_eq!(location, "line 4");
        assert_eq!(item.content.title, "Wohnsitz anmelden");
        assert_eq!(
            item.content.modules.fristen.as_deref(),
            Some("innerhalb von zwei Wochen nach dem Einzug")
        );

        let (location, item) = &parsed.items[3];
        assert_eq!(location, "line 5");
        assert_eq!(item.content.leika_keys, [key("99041008000000")]);
        assert_eq!(item.content.modules, Modules::default());
    }

    #[test]
    fn bom_and_crlf_everywhere() {
        let input = "\u{feff}{\"leika\":\"99102013001000\",\"title\":\"A\"}\r\n\r\n\
                     {\"leika\":\"99102013001001\",\"title\":\"B\"}\r\n";
        let parsed = parse(input);
        assert!(parsed.is_clean(), "{:?}", parsed.errors);
        let locations: Vec<&str> = parsed.items.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(locations, ["line 1", "line 3"]);
    }

    #[test]
    fn odd_values_are_rejected_with_reasons() {
        let cases = [
            (
                r#"{"leika":"99102013001000","title":"A","modules":{"kosten":5}}"#,
                "modules.kosten: expected a text or an object {\"text\", \"amounts\"}",
            ),
            (
                r#"{"leika":"99102013001000","title":"A","modules":{"kosten":{"txt":"x"}}}"#,
                "modules.kosten: unknown field `txt`, expected `text` or `amounts`",
            ),
            (
                r#"{"leika":"99102013001000","title":"A","modules":{"kosten":{"amounts":[{"eur":true}]}}}"#,
                "modules.kosten.amounts[0].eur: expected a number or a text",
            ),
            (
                r#"{"leika":"99102013001000","title":"A","modules":{"kosten":{"amounts":[{"eur":-1}]}}}"#,
                "modules.kosten.amounts[0].eur: \"-1\" is not an amount in EUR (expected e.g. 37.00 or 37,00)",
            ),
            (
                r#"{"leika":"99102013001000","title":"A","modules":{"formulare":[3]}}"#,
                "modules.formulare[0]: expected a URL or an object {\"title\", \"url\"}",
            ),
            (
                r#"{"leika":"99102013001000","title":"A","modules":{"formulare":[{"title":"x"}]}}"#,
                "modules.formulare[0]: missing field `url`",
            ),
            (r#"{"leika":"99102013001000"}"#, "missing field `title`"),
            (
                r#"{"leika":99102013001000,"title":"A"}"#,
                "invalid type: integer `99102013001000`, expected a string",
            ),
            (
                r#"{"leika":"99102013001000","title":"A","modules":[]}"#,
                "modules: expected an object",
            ),
        ];
        for (line, reason) in cases {
            let parsed = parse(line);
            assert!(parsed.items.is_empty(), "{line}");
            assert_eq!(parsed.errors, [ItemError::new("line 1", reason)], "{line}");
        }
    }

    #[test]
    fn amounts_as_numbers_are_exact() {
        let line = r#"{"leika":"99102013001000","title":"A","modules":{"kosten":{"amounts":[{"eur":22.8},{"eur":0.1},{"eur":"1.234,50"}]}}}"#;
        let parsed = parse(line);
        let amounts: Vec<i64> = parsed.items[0]
            .1
            .content
            .modules
            .kosten
            .as_ref()
            .unwrap()
            .amounts
            .iter()
            .map(|a| a.eur_cents)
            .collect();
        assert_eq!(amounts, [2280, 10, 123_450]);
    }

    #[test]
    fn empty_input_gives_nothing() {
        assert_eq!(parse(""), ParsedImport::default());
        assert_eq!(parse("\u{feff}\n \r\n\t\n"), ParsedImport::default());
    }

    #[test]
    fn html_modules_keywords_fees_and_forms() {
        let line = json!({
            "leika": "99102013001000",
            "title": "<h1>Personalausweis&nbsp;beantragen</h1>",
            "keywords": "Perso, <b>Ausweis</b>; ID-Karte",
            "synonyms": ["Identit&auml;tskarte"],
            "modules": {
                "volltext": "<div><p>Der Ausweis ist ab <strong>16</strong> Pflicht.</p>\
                             <script>alert('x')</script><p>Mehr: <a href=\"https://www.trier.de/perso\">Infos</a></p></div>",
                "unterlagen": "<ul><li>Passfoto</li><li>alter&nbsp;Ausweis</li></ul>",
                "kosten": {"text": "<p>37,00&nbsp;&euro;</p>", "amounts": [{"label": "<i>ab 24</i>", "eur": "37,00"}]},
                "formulare": "<p><a href=\"https://www.trier.de/antrag.pdf\">Antrag</a>, \
                              <a href=\"javascript:alert(1)\">böse</a></p>",
                "verfahrensablauf": "<ol><li>Termin</li><li>Vorsprache</li></ol>"
            }
        })
        .to_string();
        let parsed = parse(&line);
        assert!(parsed.is_clean(), "{:?}", parsed.errors);
        let c = &parsed.items[0].1.content;
        assert_eq!(c.title, "Personalausweis beantragen");
        assert_eq!(
            c.synonyms,
            ["Identitätskarte", "Perso", "Ausweis", "ID-Karte"]
        );
        let m = &c.modules;
        assert_eq!(
            m.volltext.as_deref(),
            Some("Der Ausweis ist ab 16 Pflicht.\n\nMehr: Infos (https://www.trier.de/perso)")
        );
        assert_eq!(m.unterlagen, ["Passfoto", "alter Ausweis"]);
        assert_eq!(
            m.kosten,
            Some(Costs {
                text: Some("37,00 €".to_owned()),
                amounts: vec![CostAmount {
                    label: Some("ab 24".to_owned()),
                    eur_cents: 3700
                }],
            })
        );
        assert_eq!(
            m.formulare,
            [Link {
                title: Some("Antrag".to_owned()),
                url: "https://www.trier.de/antrag.pdf".to_owned()
            }]
        );
        assert_eq!(
            m.verfahrensablauf.as_deref(),
            Some("1. Termin\n2. Vorsprache")
        );
        // Nothing of the stored form looks like markup.
        let stored = serde_json::to_string(&c).unwrap();
        assert!(
            !stored.contains('<') && !stored.contains("&nbsp;"),
            "{stored}"
        );
    }
}
