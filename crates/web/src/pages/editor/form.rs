//! The edit form of a description: what it shows (from the stored description or from what
//! was typed), reading it back from the posted pairs, adding and removing rows of the lists
//! (Unterlagen, Formulare, Kosten) without script, and the German error per field.
//!
//! The form never validates on its own what the domain validates: it turns the rows into
//! [`Modules`] and lets `services::update_service` decide; the domain's field path
//! (`modules.formulare[1].url`) is mapped back to the input that holds it. Only what the
//! domain cannot see is checked here: an amount that is not a number of euros.

use verbund_knowledge::model::{CostAmount, Costs, Link, ModuleField, Modules};
use verbund_knowledge::model::{format_eur_cents, parse_eur_cents};
use verbund_knowledge::services::ServiceView;

/// The text modules of the form, in display order (every module that is not a list or costs).
pub fn text_fields() -> impl Iterator<Item = ModuleField> {
    ModuleField::ALL.into_iter().filter(|f| {
        !matches!(
            f,
            ModuleField::Unterlagen | ModuleField::Formulare | ModuleField::Kosten
        )
    })
}

/// One text module: field name, label, value, and whether it is a single line.
pub struct TextModule {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub single_line: bool,
}

/// One row of a two-column list (Formulare: title and address; Kosten: label and amount).
#[derive(Clone, Default)]
pub struct Pair {
    pub a: String,
    pub b: String,
}

/// What the form shows.
#[derive(Clone, Default)]
pub struct EditState {
    pub version: String,
    pub titel: String,
    pub texts: Vec<(&'static str, String)>,
    pub suchbegriffe: String,
    pub kosten_text: String,
    pub kosten: Vec<Pair>,
    pub unterlagen: Vec<String>,
    pub formulare: Vec<Pair>,
    /// The responsible office's id, empty for none.
    pub stelle: String,
}

/// A problem with one input: the input's id and a German sentence.
#[derive(Clone, Debug)]
pub struct FieldError {
    pub id: String,
    pub message: String,
}

impl EditState {
    /// The stored description, with one empty row at the end of each list to add an entry.
    pub fn from_view(sv: &ServiceView) -> Self {
        let m = &sv.modules;
        let texts = text_fields()
            .map(|f| {
                (
                    f.field_name(),
                    m.text(f).flatten().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let costs = m.kosten.clone().unwrap_or_default();
        let mut s = Self {
            version: sv.version.to_string(),
            titel: sv.title.clone(),
            texts,
            suchbegriffe: sv.synonyms.join("\n"),
            kosten_text: costs.text.unwrap_or_default(),
            kosten: costs
                .amounts
                .iter()
                .map(|a| Pair {
                    a: a.label.clone().unwrap_or_default(),
                    b: format_eur_cents(a.eur_cents)
                        .trim_end_matches(" €")
                        .to_owned(),
                })
                .collect(),
            unterlagen: m.unterlagen.clone(),
            formulare: m
                .formulare
                .iter()
                .map(|l| Pair {
                    a: l.title.clone().unwrap_or_default(),
                    b: l.url.clone(),
                })
                .collect(),
            stelle: sv
                .org_unit
                .as_ref()
                .map(|o| o.id.to_string())
                .unwrap_or_default(),
        };
        s.pad();
        s
    }

    /// One empty row at the end of each list (none added when the last one is empty).
    pub fn pad(&mut self) {
        if self.unterlagen.last().is_none_or(|u| !u.trim().is_empty()) {
            self.unterlagen.push(String::new());
        }
        for list in [&mut self.formulare, &mut self.kosten] {
            if list
                .last()
                .is_none_or(|p| !p.a.trim().is_empty() || !p.b.trim().is_empty())
            {
                list.push(Pair::default());
            }
        }
    }

    /// Reads the posted pairs. Lists come as repeated fields in row order; an older client's
    /// `formulare` lines (`Titel | https://…`) and multi-line `unterlagen` are read too.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut s = Self::default();
        let mut texts: Vec<(&'static str, String)> = text_fields()
            .map(|f| (f.field_name(), String::new()))
            .collect();
        let mut kosten_labels = Vec::new();
        let mut kosten_amounts = Vec::new();
        let mut form_titles = Vec::new();
        let mut form_urls = Vec::new();
        let mut legacy_links = Vec::new();
        for (k, v) in pairs {
            match k.as_str() {
                "version" => s.version = v.clone(),
                "titel" => s.titel = v.clone(),
                "suchbegriffe" => s.suchbegriffe = v.clone(),
                "kosten_text" => s.kosten_text = v.clone(),
                "kosten_bezeichnung" => kosten_labels.push(v.clone()),
                "kosten_betrag" => kosten_amounts.push(v.clone()),
                "formular_titel" => form_titles.push(v.clone()),
                "formular_url" => form_urls.push(v.clone()),
                "stelle" => s.stelle = v.clone(),
                "unterlagen" => {
                    let lines: Vec<&str> = v.lines().collect();
                    if lines.len() > 1 {
                        s.unterlagen.extend(
                            lines
                                .into_iter()
                                .filter(|l| !l.trim().is_empty())
                                .map(str::to_owned),
                        );
                    } else {
                        s.unterlagen.push(v.clone());
                    }
                }
                "formulare" => {
                    legacy_links.extend(v.lines().map(str::trim).filter(|l| !l.is_empty()).map(
                        |l| match l.rsplit_once('|') {
                            Some((t, u)) => Pair {
                                a: t.trim().to_owned(),
                                b: u.trim().to_owned(),
                            },
                            None => Pair {
                                a: String::new(),
                                b: l.to_owned(),
                            },
                        },
                    ))
                }
                other => {
                    if let Some(slot) = texts.iter_mut().find(|(n, _)| *n == other) {
                        slot.1 = v.clone();
                    }
                }
            }
        }
        s.texts = texts;
        s.kosten = zip_rows(kosten_labels, kosten_amounts);
        s.formulare = zip_rows(form_titles, form_urls);
        s.formulare.extend(legacy_links);
        s
    }

    /// Applies a row button: `zeile=<liste>` adds an empty row, `entfernen=<liste>:<n>`
    /// removes row n. True if the post was such a button (then nothing is saved).
    pub fn apply_row_button(&mut self, pairs: &[(String, String)]) -> bool {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if let Some(list) = value("zeile") {
            match list {
                "unterlagen" => self.unterlagen.push(String::new()),
                "formulare" => self.formulare.push(Pair::default()),
                "kosten" => self.kosten.push(Pair::default()),
                _ => {}
            }
            return true;
        }
        if let Some(target) = value("entfernen") {
            if let Some((list, n)) = target.split_once(':')
                && let Ok(n) = n.parse::<usize>()
            {
                match list {
                    "unterlagen" if n < self.unterlagen.len() => {
                        self.unterlagen.remove(n);
                    }
                    "formulare" if n < self.formulare.len() => {
                        self.formulare.remove(n);
                    }
                    "kosten" if n < self.kosten.len() => {
                        self.kosten.remove(n);
                    }
                    _ => {}
                }
            }
            return true;
        }
        false
    }

    pub fn text(&self, name: &str) -> String {
        self.texts
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The text modules for the template.
    pub fn text_modules(&self) -> Vec<TextModule> {
        text_fields()
            .map(|f| TextModule {
                name: f.field_name(),
                label: f.label(),
                value: self.text(f.field_name()),
                single_line: f == ModuleField::OnlineDienst,
            })
            .collect()
    }

    /// The synonyms, one per line.
    pub fn synonyms(&self) -> Vec<String> {
        self.suchbegriffe
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The modules to store (starting from `current`, so nothing the form does not show is
    /// lost), and where each list entry came from (`rows[i]` = the form row of entry i).
    pub fn modules(&self, current: &Modules) -> Result<(Modules, RowMap), Vec<FieldError>> {
        let mut m = current.clone();
        let mut map = RowMap::default();
        for f in text_fields() {
            if let Some(slot) = m.text_mut(f) {
                let v = self.text(f.field_name()).trim().to_owned();
                *slot = Some(v).filter(|v| !v.is_empty());
            }
        }
        m.unterlagen = Vec::new();
        for (row, u) in self.unterlagen.iter().enumerate() {
            if !u.trim().is_empty() {
                m.unterlagen.push(u.trim().to_owned());
                map.unterlagen.push(row);
            }
        }
        m.formulare = Vec::new();
        let mut errors = Vec::new();
        for (row, p) in self.formulare.iter().enumerate() {
            if p.a.trim().is_empty() && p.b.trim().is_empty() {
                continue;
            }
            if p.b.trim().is_empty() {
                errors.push(FieldError {
                    id: format!("formular-url-{row}"),
                    message: "Bitte geben Sie die Adresse des Formulars an (https://…).".to_owned(),
                });
                continue;
            }
            m.formulare.push(Link {
                title: Some(p.a.trim().to_owned()).filter(|t| !t.is_empty()),
                url: p.b.trim().to_owned(),
            });
            map.formulare.push(row);
        }
        let mut amounts = Vec::new();
        for (row, p) in self.kosten.iter().enumerate() {
            if p.a.trim().is_empty() && p.b.trim().is_empty() {
                continue;
            }
            match parse_eur_cents(&p.b) {
                Ok(eur_cents) => {
                    amounts.push(CostAmount {
                        label: Some(p.a.trim().to_owned()).filter(|t| !t.is_empty()),
                        eur_cents,
                    });
                    map.kosten.push(row);
                }
                Err(_) => errors.push(FieldError {
                    id: format!("kosten-betrag-{row}"),
                    message: "Bitte geben Sie einen Betrag in Euro an, zum Beispiel 37,00."
                        .to_owned(),
                }),
            }
        }
        let costs = Costs {
            text: Some(self.kosten_text.trim().to_owned()).filter(|t| !t.is_empty()),
            amounts,
        };
        m.kosten = (!costs.is_empty()).then_some(costs);
        if errors.is_empty() {
            Ok((m, map))
        } else {
            Err(errors)
        }
    }
}

/// The form row of each stored list entry (empty rows are not sent to the domain, so the
/// domain's index `i` is the form's row `rows[i]`).
#[derive(Default)]
pub struct RowMap {
    pub unterlagen: Vec<usize>,
    pub formulare: Vec<usize>,
    pub kosten: Vec<usize>,
}

fn zip_rows(a: Vec<String>, b: Vec<String>) -> Vec<Pair> {
    let n = a.len().max(b.len());
    let mut a = a.into_iter();
    let mut b = b.into_iter();
    (0..n)
        .map(|_| Pair {
            a: a.next().unwrap_or_default(),
            b: b.next().unwrap_or_default(),
        })
        .collect()
}

/// The index in `path` after `prefix[`, e.g. `modules.formulare[2].url` → 2.
fn index_after(path: &str, prefix: &str) -> Option<usize> {
    let rest = path.strip_prefix(prefix)?.strip_prefix('[')?;
    rest[..rest.find(']')?].parse().ok()
}

/// The German reason for a domain reason (the domain speaks English to API clients).
pub fn german_reason(reason: &str) -> String {
    let r = reason.to_ascii_lowercase();
    let text = if r.contains("must not be empty") || r.contains("is required") {
        "darf nicht leer sein"
    } else if r.contains("too many") {
        "hat zu viele Einträge"
    } else if r.contains("too long") || r.contains("at most") {
        "ist zu lang"
    } else if r.contains("not a valid url") || r.contains("http://") {
        "ist keine gültige Adresse (sie muss mit http:// oder https:// beginnen)"
    } else if r.contains("more than once") {
        "kommt mehrfach vor"
    } else if r.contains("negative") {
        "darf nicht negativ sein"
    } else if r.contains("control") || r.contains("invisible") {
        "enthält unzulässige Zeichen"
    } else if r.contains("five digits") {
        "muss aus fünf Ziffern bestehen"
    } else if r.contains("phone") {
        "ist keine Telefonnummer"
    } else if r.contains("e-mail") || r.contains("email") || r.contains("address") {
        "ist keine gültige E-Mail-Adresse"
    } else if r.contains("end") && r.contains("start") || r.contains("overlap") {
        "enthält Zeiten, die sich überschneiden oder deren Ende nicht nach dem Beginn liegt"
    } else if r.contains("duplicate") || r.contains("twice") {
        "enthält ein Datum doppelt"
    } else {
        "ist ungültig"
    };
    text.to_owned()
}

/// The input of a domain field path and a German message for it.
pub fn field_error(field: &str, reason: &str, rows: &RowMap) -> FieldError {
    let row = |list: &[usize], prefix: &str| {
        index_after(field, prefix).and_then(|i| list.get(i).copied())
    };
    let (id, label) = if field == "title" {
        ("titel".to_owned(), "Titel".to_owned())
    } else if field.starts_with("synonyms") {
        ("suchbegriffe".to_owned(), "Suchbegriffe".to_owned())
    } else if field == "modules.kosten.text" {
        ("kosten-text".to_owned(), "Kosten (Text)".to_owned())
    } else if let Some(r) = row(&rows.kosten, "modules.kosten.amounts") {
        if field.ends_with(".label") {
            (
                format!("kosten-bezeichnung-{r}"),
                format!("Gebühr {}: Bezeichnung", r + 1),
            )
        } else {
            (
                format!("kosten-betrag-{r}"),
                format!("Gebühr {}: Betrag", r + 1),
            )
        }
    } else if let Some(r) = row(&rows.unterlagen, "modules.unterlagen") {
        (format!("unterlagen-{r}"), format!("Unterlage {}", r + 1))
    } else if let Some(r) = row(&rows.formulare, "modules.formulare") {
        if field.ends_with(".title") {
            (
                format!("formular-titel-{r}"),
                format!("Formular {}: Titel", r + 1),
            )
        } else {
            (
                format!("formular-url-{r}"),
                format!("Formular {}: Adresse", r + 1),
            )
        }
    } else if field == "modules.unterlagen" {
        (
            "unterlagen-0".to_owned(),
            "Erforderliche Unterlagen".to_owned(),
        )
    } else if field == "modules.formulare" {
        ("formular-url-0".to_owned(), "Formulare".to_owned())
    } else if field == "modules.kosten.amounts" {
        ("kosten-betrag-0".to_owned(), "Kosten".to_owned())
    } else if let Some(f) = field
        .strip_prefix("modules.")
        .and_then(ModuleField::from_field_name)
    {
        (format!("m-{}", f.field_name()), f.label().to_owned())
    } else if field == "org_unit_id" {
        ("stelle".to_owned(), "Zuständige Stelle".to_owned())
    } else {
        ("titel".to_owned(), field.to_owned())
    };
    FieldError {
        id,
        message: format!("{label} {}.", german_reason(reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rows_are_read_added_removed_and_mapped_back_to_their_inputs() {
        let p = pairs(&[
            ("titel", "T"),
            ("unterlagen", "Foto"),
            ("unterlagen", ""),
            ("unterlagen", "Pass"),
            ("kosten_bezeichnung", "Gebühr"),
            ("kosten_betrag", "37,00"),
            ("formular_titel", ""),
            ("formular_url", ""),
            ("formular_titel", "Antrag"),
            ("formular_url", "javascript:x"),
        ]);
        let mut s = EditState::from_pairs(&p);
        assert_eq!(s.unterlagen, vec!["Foto", "", "Pass"]);
        let (m, rows) = s.modules(&Modules::default()).unwrap();
        assert_eq!(m.unterlagen, vec!["Foto", "Pass"]);
        assert_eq!(m.kosten.unwrap().amounts[0].eur_cents, 3700);
        assert_eq!(rows.unterlagen, vec![0, 2]);
        let e = field_error("modules.formulare[0].url", "is not a valid URL", &rows);
        assert_eq!(e.id, "formular-url-1");
        assert!(e.message.contains("keine gültige Adresse"));
        assert!(s.apply_row_button(&pairs(&[("entfernen", "unterlagen:0")])));
        assert_eq!(s.unterlagen, vec!["", "Pass"]);
        assert!(s.apply_row_button(&pairs(&[("zeile", "kosten")])));
        assert_eq!(s.kosten.len(), 2);
        s.kosten[1].b = "viel".into();
        let errors = s.modules(&Modules::default()).err().unwrap();
        assert_eq!(errors[0].id, "kosten-betrag-1");
    }
}
