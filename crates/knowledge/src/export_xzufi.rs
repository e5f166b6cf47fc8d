//! XZuFi 2.2 export of a tenant's published descriptions and its offices, for the state
//! portal. It writes the elements the importer ([`crate::import::xzufi`]) reads, so a round
//! trip (import, export, import) changes nothing:
//!
//! | model | XZuFi |
//! |---|---|
//! | external id, else the description's own id | `leistung/id` (the import matches on it) |
//! | each LeiKa key | `struktur/referenzLeiKa/code` |
//! | title | `modulText` code 02 |
//! | text modules | `modulText` with their LeiKa code (05, 06, 07, 09, 11, 12, 13, 15, 16, 22, 23), `inhalt` as HTML |
//! | unterlagen | `modulText` code 08, `inhalt` as an HTML list |
//! | formulare | `modulText` code 14 with one `weiterfuehrenderLink` (`uri`, `titel`) each |
//! | kosten | `modulKosten`: `beschreibung`, `kosten` (`betragFix`, `beschreibung`) |
//! | online_dienst | `modulOnlinedienst/uri` |
//! | synonyms | `modulBegriffImKontext/begriffImKontext/begriff` |
//! | office (with an external id) | `zustaendigkeit/organisationseinheitID` |
//! | office | `organisationseinheit`: `id` (its external id), `name`, `anschrift`, `geokodierung` (`breitengrad`, `laengengrad`), `kommunikation` (01 e-mail, 02 phone), `zustaendigkeit/leistungID` (the offered published descriptions) |
//!
//! Texts go into `inhalt` as HTML (escaped in the XML): a text stored as plain text becomes
//! paragraphs (`<p>`) with line breaks (`<br/>`), its `<`, `>`, `&` escaped; a text whose
//! stored form is markup already is written as it is.

use std::collections::HashMap;
use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use tracing::instrument;
use uuid::Uuid;
use verbund_schema::{org_unit, service};
use verbund_tenant::db::Db;
use verbund_tenant::directory::find_tenant;
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::model::{ModuleField, ModuleValue, ServiceContent, TITLE_LEIKA_CODE};
use crate::services::content_of;
use crate::status::ServiceStatus;

/// The query of `GET /api/v1/tenants/{slug}/export`.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `ndjson` (default: the import format, for everybody who reads the tenant's knowledge)
    /// or `xzufi` (XZuFi 2.2 of the published descriptions and the offices, for the tenant's
    /// editors and admins).
    pub format: Option<String>,
}

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Ndjson,
    Xzufi,
}

impl ExportQuery {
    /// The requested format; 422 naming `format` for another value.
    pub fn format(&self) -> Result<ExportFormat> {
        match self.format.as_deref().map(str::trim) {
            None | Some("" | "ndjson") => Ok(ExportFormat::Ndjson),
            Some("xzufi") => Ok(ExportFormat::Xzufi),
            Some(_) => Err(Error::invalid("format", "must be ndjson or xzufi")),
        }
    }
}

/// The XZuFi 2.2 namespace.
pub const XZUFI_NAMESPACE: &str = "http://xoev.de/schemata/xzufi/2_2_0";

/// The tenant's published descriptions and its offices as an XZuFi 2.2 document (scope:
/// `EditKnowledge` on the tenant: its editors and admins). Staff of the tenant without it
/// get 403; everybody else 404, as for any other unknown resource of a tenant.
#[instrument(skip_all, fields(tenant = slug))]
pub async fn export_xzufi(db: &Db, actor: &Actor, slug: &str) -> Result<String> {
    let t = find_tenant(db, slug).await?;
    let scope = match actor.authorize(Permission::EditKnowledge, t.id) {
        Ok(scope) => scope,
        Err(e) if actor.may(Permission::ViewTenant, t.id) => return Err(e),
        Err(_) => return Err(Error::NotFound("export")),
    };
    let rows =
        crate::repo::services_with_status(db, &scope, &[ServiceStatus::Published.as_str()]).await?;
    let keys = crate::repo::leika_keys_of(db, &rows).await?;
    let reader = crate::access::reader(actor)?;
    let offices = crate::repo::org_units(db, &reader, t.id).await?;
    let refs: HashMap<Uuid, String> = offices
        .iter()
        .filter_map(|o| o.external_id.clone().map(|ext| (o.id, ext)))
        .collect();
    // What each office offers, by the ids the `leistung`s are exported with (published ones).
    let office_ids: Vec<Uuid> = offices.iter().map(|o| o.id).collect();
    let published: std::collections::HashSet<_> = rows.iter().map(|s| s.id).collect();
    let mut offered: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (office, s) in crate::repo::offered_services(db, &reader, t.id, &office_ids).await? {
        if published.contains(&s.id) {
            offered.entry(office).or_default().push(leistung_id(&s));
        }
    }
    for ids in offered.values_mut() {
        ids.sort();
    }
    let mut items = Vec::with_capacity(rows.len());
    for s in &rows {
        let stored = keys.get(&s.id).map_or(&[][..], Vec::as_slice);
        if let Some(content) = content_of(s, stored) {
            items.push((s, content));
        }
    }
    let message_id = Uuid::now_v7();
    let at = verbund_tenant::db::now().to_rfc3339();
    document(&items, &offices, &refs, &offered, message_id, &at)
        .map_err(|e| Error::internal("XZuFi export", e))
}

fn document(
    items: &[(&service::Model, ServiceContent)],
    offices: &[org_unit::Model],
    refs: &HashMap<Uuid, String>,
    offered: &HashMap<Uuid, Vec<String>>,
    message_id: Uuid,
    at: &str,
) -> io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("xzufi:transfer.operation.060102")
        .with_attribute(("xmlns:xzufi", XZUFI_NAMESPACE))
        .with_attribute(("produktbezeichnung", "Verbund"))
        .write_inner_content(|w| {
            w.create_element("xzufi:nachrichtenkopf")
                .write_inner_content(|w| {
                    text_element(w, "xzufi:nachrichtUUID", &message_id.to_string())?;
                    text_element(w, "xzufi:erstellungszeitpunkt", at)
                })?;
            for (s, content) in items {
                let org = s.org_unit_id.and_then(|id| refs.get(&id));
                leistung(w, s, content, org.map(String::as_str))?;
            }
            for office in offices {
                let ids = offered.get(&office.id).map_or(&[][..], Vec::as_slice);
                organisationseinheit(w, office, ids)?;
            }
            Ok(())
        })?;
    String::from_utf8(w.into_inner()).map_err(io::Error::other)
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

/// A `modulText` with its LeiKa code and an HTML `inhalt`.
fn module_text(w: &mut Writer<Vec<u8>>, code: &str, html: &str) -> io::Result<()> {
    w.create_element("xzufi:modulText")
        .write_inner_content(|w| {
            w.create_element("xzufi:leikaTextmodul")
                .write_inner_content(|w| text_element(w, "code", code))?;
            w.create_element("xzufi:inhalt")
                .with_attribute(("languageCode", "de"))
                .write_text_content(BytesText::new(html))?;
            Ok(())
        })?;
    Ok(())
}

fn leistung(
    w: &mut Writer<Vec<u8>>,
    s: &service::Model,
    c: &ServiceContent,
    org: Option<&str>,
) -> io::Result<()> {
    let id = leistung_id(s);
    w.create_element("xzufi:leistung")
        .write_inner_content(|w| {
            text_element(w, "xzufi:id", &id)?;
            w.create_element("xzufi:struktur")
                .write_inner_content(|w| {
                    for key in &c.leika_keys {
                        w.create_element("xzufi:referenzLeiKa")
                            .write_inner_content(|w| text_element(w, "code", key.as_str()))?;
                    }
                    Ok(())
                })?;
            module_text(w, TITLE_LEIKA_CODE, &escape_html(&c.title))?;
            for (field, value) in c.modules.iter() {
                match (field, value) {
                    (ModuleField::OnlineDienst, ModuleValue::Text(url)) => {
                        w.create_element("xzufi:modulOnlinedienst")
                            .write_inner_content(|w| text_element(w, "xzufi:uri", url))?;
                    }
                    (ModuleField::Kosten, ModuleValue::Costs(costs)) => {
                        w.create_element("xzufi:modulKosten")
                            .write_inner_content(|w| {
                                for amount in &costs.amounts {
                                    w.create_element("xzufi:kosten").write_inner_content(|w| {
                                        text_element(
                                            w,
                                            "xzufi:betragFix",
                                            &format!(
                                                "{}.{:02}",
                                                amount.eur_cents / 100,
                                                amount.eur_cents % 100
                                            ),
                                        )?;
                                        if let Some(label) = &amount.label {
                                            w.create_element("xzufi:beschreibung")
                                                .with_attribute(("languageCode", "de"))
                                                .write_text_content(BytesText::new(
                                                    &escape_html(label),
                                                ))?;
                                        }
                                        Ok(())
                                    })?;
                                }
                                if let Some(text) = &costs.text {
                                    w.create_element("xzufi:beschreibung")
                                        .with_attribute(("languageCode", "de"))
                                        .write_text_content(BytesText::new(&text_to_html(text)))?;
                                }
                                Ok(())
                            })?;
                    }
                    (ModuleField::Formulare, ModuleValue::Links(links)) => {
                        let Some(code) = field.leika_code() else {
                            continue;
                        };
                        w.create_element("xzufi:modulText")
                            .write_inner_content(|w| {
                                w.create_element("xzufi:leikaTextmodul")
                                    .write_inner_content(|w| text_element(w, "code", code))?;
                                for link in links {
                                    w.create_element("xzufi:weiterfuehrenderLink")
                                        .write_inner_content(|w| {
                                            text_element(w, "xzufi:uri", &link.url)?;
                                            if let Some(title) = &link.title {
                                                text_element(w, "xzufi:titel", title)?;
                                            }
                                            Ok(())
                                        })?;
                                }
                                Ok(())
                            })?;
                    }
                    (ModuleField::Unterlagen, ModuleValue::List(entries)) => {
                        let Some(code) = field.leika_code() else {
                            continue;
                        };
                        let mut html = String::from("<ul>");
                        for entry in entries {
                            html.push_str("<li>");
                            html.push_str(&escape_html(entry));
                            html.push_str("</li>");
                        }
                        html.push_str("</ul>");
                        module_text(w, code, &html)?;
                    }
                    (field, ModuleValue::Text(text)) => {
                        if let Some(code) = field.leika_code() {
                            module_text(w, code, &text_to_html(text))?;
                        }
                    }
                    _ => {}
                }
            }
            if !c.synonyms.is_empty() {
                w.create_element("xzufi:modulBegriffImKontext")
                    .write_inner_content(|w| {
                        for term in &c.synonyms {
                            w.create_element("xzufi:begriffImKontext")
                                .write_inner_content(|w| {
                                    w.create_element("xzufi:begriff")
                                        .with_attribute(("languageCode", "de"))
                                        .write_text_content(BytesText::new(&escape_html(term)))?;
                                    Ok(())
                                })?;
                        }
                        Ok(())
                    })?;
            }
            if let Some(org) = org {
                w.create_element("xzufi:zustaendigkeit")
                    .write_inner_content(|w| {
                        text_element(w, "xzufi:organisationseinheitID", org)
                    })?;
            }
            Ok(())
        })?;
    Ok(())
}

/// The `id` a description is exported with: its external id, else its own id (which an
/// import matches as well).
fn leistung_id(s: &service::Model) -> String {
    s.external_id.clone().unwrap_or_else(|| s.id.to_string())
}

/// An office with its address, geo position (WGS 84), contacts and the `leistung`s it offers
/// (`zustaendigkeit/leistungID`).
fn organisationseinheit(
    w: &mut Writer<Vec<u8>>,
    o: &org_unit::Model,
    offered: &[String],
) -> io::Result<()> {
    w.create_element("xzufi:organisationseinheit")
        .write_inner_content(|w| {
            // Without an external id the import matches the office by its name.
            if let Some(ext) = &o.external_id {
                text_element(w, "xzufi:id", ext)?;
            }
            w.create_element("xzufi:name")
                .write_inner_content(|w| text_element(w, "xzufi:name", &o.name))?;
            let has_address = o.street.is_some()
                || o.house_number.is_some()
                || o.postal_code.is_some()
                || o.city.is_some();
            if has_address {
                w.create_element("xzufi:anschrift")
                    .write_inner_content(|w| {
                        for (name, value) in [
                            ("xzufi:strasse", &o.street),
                            ("xzufi:hausnummer", &o.house_number),
                            ("xzufi:postleitzahl", &o.postal_code),
                            ("xzufi:ort", &o.city),
                        ] {
                            if let Some(value) = value {
                                text_element(w, name, value)?;
                            }
                        }
                        Ok(())
                    })?;
            }
            if let (Some(lat), Some(lon)) = (o.latitude, o.longitude) {
                w.create_element("xzufi:geokodierung")
                    .write_inner_content(|w| {
                        text_element(w, "xzufi:breitengrad", &lat.to_string())?;
                        text_element(w, "xzufi:laengengrad", &lon.to_string())
                    })?;
            }
            for (code, value) in [("01", &o.email), ("02", &o.phone)] {
                if let Some(value) = value {
                    w.create_element("xzufi:kommunikation")
                        .write_inner_content(|w| {
                            w.create_element("xzufi:kanal")
                                .write_inner_content(|w| text_element(w, "code", code))?;
                            text_element(w, "xzufi:kennung", value)
                        })?;
                }
            }
            for id in offered {
                w.create_element("xzufi:zustaendigkeit")
                    .write_inner_content(|w| text_element(w, "xzufi:leistungID", id))?;
            }
            Ok(())
        })?;
    Ok(())
}

/// Escapes text for HTML.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// True if a stored text is markup already (a tag such as `<p>`, `</a>`, `<br/>`).
fn is_markup(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/'))
        && text.contains('>')
}

/// A stored text as HTML: markup as it is; plain text as paragraphs (blank lines) with line
/// breaks, escaped.
pub(crate) fn text_to_html(text: &str) -> String {
    if is_markup(text) {
        return text.to_owned();
    }
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(escape_html).collect();
            format!("<p>{}</p>", lines.join("<br/>"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_becomes_paragraphs_and_markup_stays() {
        assert_eq!(
            text_to_html("Erster Absatz.\n\nZweiter\nZeile mit <3 & mehr"),
            "<p>Erster Absatz.</p><p>Zweiter<br/>Zeile mit &lt;3 &amp; mehr</p>"
        );
        assert_eq!(
            text_to_html("<p>Schon <a href=\"https://x.de\">HTML</a></p>"),
            "<p>Schon <a href=\"https://x.de\">HTML</a></p>"
        );
        assert_eq!(text_to_html("a < b > c"), "<p>a &lt; b &gt; c</p>");
    }
}
