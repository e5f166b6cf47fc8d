//! XZuFi 2.2 import (a documented subset).
//!
//! The parser streams the document with quick-xml and matches elements by their **local
//! name** only, so any namespace prefix (`xzufi:`, `xz:`, none) works and the message type
//! around the data does not matter. The order of child elements does not matter either.
//! Each `leistung` and `organisationseinheit` element, wherever it occurs, is one item.
//!
//! ## `leistung` → [`ImportItem`] (always [`PublishState::Draft`])
//! | XZuFi | model |
//! |---|---|
//! | `id` | `external_id` (the import matches on it first) |
//! | every `referenzLeiKa` and `struktur/referenzLeiKa`, with a `code` child or as text | `leika_keys` (none, one or several; each must be valid) |
//! | `bezeichnung`, else `modulText` with code 02 | `title` (required) |
//! | `modulText` (`leikaTextmodul` with a `code` child or as text; `inhalt`) | the module for the code, see [`ModuleField::leika_code`]: 05, 06, 07, 09, 10 (cost text), 11, 12, 13, 15, 16, 22, 23 |
//! | `modulText` code 08 | `unterlagen`: the `<li>` items of `inhalt`, or else its non-empty lines |
//! | `modulText` code 14 | `formulare`: its `weiterfuehrenderLink` (`uri`, `titel`) and the `<a href>` links in `inhalt` |
//! | `modulKosten/beschreibung` | `kosten.text` |
//! | `modulKosten/kosten` (`betragFix` or `betrag`, `beschreibung` as label) | `kosten.amounts` |
//! | `modulFrist` (`beschreibung`, `frist/beschreibung`) | `fristen` |
//! | `modulBearbeitungsdauer` (`beschreibung`, `bearbeitungsdauer/beschreibung`) | `bearbeitungsdauer` |
//! | `modulBegriffImKontext/begriffImKontext/begriff` | `synonyms` |
//! | `schlagwort` (text, or its `begriff`/`bezeichnung`/`wert` child) | `synonyms` |
//! | `modulOnlinedienst`, else `modulUrsprungsportal` (`uri`/`url`/`link` or text) | `online_dienst` |
//! | `zustaendigkeit/organisationseinheitID` or `organisationseinheitID` | `org_unit_ref` |
//!
//! `inhalt` and `beschreibung` may hold simple XHTML, as child elements or escaped as text
//! (`&lt;p&gt;`): tags are stripped, paragraphs and list items become line breaks, list
//! items are written as `- …`. When a text has several language versions (`languageCode`
//! or `xml:lang`), the German ones (`de…`) and those without a language are used; other
//! languages only if there is no German one. A module given more than once is joined with
//! a blank line. `weiterfuehrenderLink`s of other text modules are appended as lines.
//! Unknown elements and module codes (01, 03, 04, 17, …) are ignored.
//!
//! ## `organisationseinheit` → [`OrgUnitImport`]
//! `id`; `name` (text, or its `name` child; required); the first `anschrift` with
//! `strasse`, `hausnummer`, `postleitzahl`, `ort`; `kommunikation` with `kanal` (code 01
//! e-mail, 02/03 phone; without a code, a `kennung` with `@` is an e-mail address and one
//! that looks like a number a phone number) and `kennung`. An org unit's
//! `zustaendigkeit/leistungID` links it to the `leistung` with that `id`, if that leistung
//! names no org unit itself, and is one of the descriptions the office offers (by that
//! leistung's LeiKa key when it is in the file, else by the id as an external id). The
//! visitors' address (`anschrift` with `typ` 002) is preferred over the house address (001)
//! and a post box. `geokodierung` (in that `anschrift` or in the unit) gives the geo
//! position: `breitengrad`/`laengengrad` (also `latitude`/`longitude`, `lat`/`lon`), or `y`/`x`
//! when `koordinatensystem` is WGS 84 (EPSG:4326) or not given; a position in another system is
//! ignored, one out of range rejects the office.
//!
//! ## Errors
//! A `leistung` without a title, with a bad LeiKa key or amount, or that fails
//! validation is skipped as a whole with an [`ItemError`](super::ItemError) at `"leistung N"` (N counts all
//! `leistung` elements from 1); likewise `"organisationseinheit N"`. Malformed XML stops
//! the parser with one error (at the item it was in, or at `"line L"`); items completed
//! before that point are kept. Not supported: `spezialisierung`, `zustaendigkeitTransferObjekt`,
//! opening hours, cost ranges (`betragUntergrenze`/`betragObergrenze`), and `inhalt` text
//! of module 14 (only its links are kept).

use std::collections::{HashMap, HashSet};

use quick_xml::Reader;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesStart, Event};

use super::html::{HtmlText, html_to_text};
use super::office::{GeoPosition, ServiceRef};

use super::{Collector, ImportItem, OrgUnitImport, ParsedImport};
use crate::leika::LeikaKey;
use crate::model::{
    CostAmount, Costs, Link, MAX_LABEL_CHARS, ModuleField, Modules, PublishState, ServiceContent,
    TITLE_LEIKA_CODE, is_http_url, parse_eur_cents,
};

/// Deepest element nesting accepted inside one item.
const MAX_ITEM_DEPTH: usize = 64;

/// Parses an XZuFi document. See the module documentation for the supported subset.
pub fn parse(input: &str) -> ParsedImport {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut state = State::default();
    if let Err(stop) = state.read(input) {
        let line = line_of(input, stop.position);
        let location = state
            .capture
            .as_ref()
            .map_or_else(|| format!("line {line}"), Capture::location);
        let reason = match stop.kind {
            StopKind::Malformed(message) => format!(
                "malformed XML at line {line}: {message}; the rest of the document was not read"
            ),
            StopKind::Truncated(element) => {
                format!("the document ends before <{element}> is closed; it is probably truncated")
            }
            StopKind::NoElement => "no XML element found; this is not an XZuFi document".to_owned(),
        };
        state.out.push_error(location, reason);
    }
    state.link_org_units();
    state.out.parsed
}

/// An element of an item, with local names and decoded text.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Child>,
}

#[derive(Debug)]
enum Child {
    Element(Node),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Leistung,
    OrgUnit,
}

/// The item being collected.
struct Capture {
    kind: Kind,
    index: usize,
    stack: Vec<Node>,
    /// Elements below [`MAX_ITEM_DEPTH`] that are skipped.
    overflow: usize,
    too_deep: bool,
}

impl Capture {
    fn location(&self) -> String {
        location(self.kind, self.index)
    }
}

fn location(kind: Kind, index: usize) -> String {
    match kind {
        Kind::Leistung => format!("leistung {index}"),
        Kind::OrgUnit => format!("organisationseinheit {index}"),
    }
}

struct Stop {
    position: usize,
    kind: StopKind,
}

enum StopKind {
    Malformed(String),
    Truncated(String),
    NoElement,
}

#[derive(Default)]
struct State {
    out: Collector,
    /// Local names of the open elements.
    open: Vec<String>,
    capture: Option<Capture>,
    leistungen: usize,
    org_units: usize,
    saw_element: bool,
    /// (index in `items`, `leistung/id`) of imported items that name no org unit.
    unlinked: Vec<(usize, String)>,
    /// `leistungID` → id of the first org unit responsible for it.
    responsible: HashMap<String, String>,
    /// Org unit id → location of the org unit that has it.
    org_unit_ids: HashMap<String, String>,
}

impl State {
    fn read(&mut self, input: &str) -> Result<(), Stop> {
        let mut reader = Reader::from_str(input);
        loop {
            let event = reader.read_event().map_err(|e| Stop {
                position: usize::try_from(reader.error_position()).unwrap_or(usize::MAX),
                kind: StopKind::Malformed(e.to_string()),
            })?;
            let malformed = |message: String| Stop {
                position: usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX),
                kind: StopKind::Malformed(message),
            };
            match event {
                Event::Start(start) => {
                    let node = element(&start);
                    self.saw_element = true;
                    self.open.push(node.name.clone());
                    self.start(node, false);
                }
                Event::Empty(start) => {
                    self.saw_element = true;
                    self.start(element(&start), true);
                }
                Event::End(_) => {
                    self.open.pop();
                    self.end();
                }
                Event::Text(text) => {
                    let text = text.xml_content().map_err(|e| malformed(e.to_string()))?;
                    self.text(&text);
                }
                Event::CData(cdata) => {
                    let text = cdata.xml_content().map_err(|e| malformed(e.to_string()))?;
                    self.text(&text);
                }
                Event::GeneralRef(reference) => {
                    let name = reference.decode().map_err(|e| malformed(e.to_string()))?;
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) => self.text(c.encode_utf8(&mut [0; 4])),
                        Ok(None) => match resolve_xml_entity(&name) {
                            Some(resolved) => self.text(resolved),
                            // Keep unknown entities (`&nbsp;`) for the HTML decoder.
                            None => self.text(&format!("&{name};")),
                        },
                        Err(e) => return Err(malformed(e.to_string())),
                    }
                }
                Event::Eof => {
                    if let Some(element) = self.open.last() {
                        return Err(Stop {
                            position: input.len(),
                            kind: StopKind::Truncated(element.clone()),
                        });
                    }
                    if !self.saw_element {
                        return Err(Stop {
                            position: input.len(),
                            kind: StopKind::NoElement,
                        });
                    }
                    return Ok(());
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    fn start(&mut self, node: Node, empty: bool) {
        if let Some(capture) = &mut self.capture {
            if capture.overflow > 0 || capture.stack.len() >= MAX_ITEM_DEPTH {
                capture.too_deep = true;
                if !empty {
                    capture.overflow += 1;
                }
                return;
            }
            if empty {
                if let Some(parent) = capture.stack.last_mut() {
                    parent.children.push(Child::Element(node));
                }
            } else {
                capture.stack.push(node);
            }
            return;
        }
        let kind = if node.name == "leistung" {
            self.leistungen += 1;
            Kind::Leistung
        } else if node.name == "organisationseinheit" {
            self.org_units += 1;
            Kind::OrgUnit
        } else {
            return;
        };
        let index = match kind {
            Kind::Leistung => self.leistungen,
            Kind::OrgUnit => self.org_units,
        };
        if empty {
            self.finish(kind, index, &node, false);
        } else {
            self.capture = Some(Capture {
                kind,
                index,
                stack: vec![node],
                overflow: 0,
                too_deep: false,
            });
        }
    }

    fn end(&mut self) {
        let Some(capture) = &mut self.capture else {
            return;
        };
        if capture.overflow > 0 {
            capture.overflow -= 1;
            return;
        }
        let Some(node) = capture.stack.pop() else {
            self.capture = None;
            return;
        };
        if let Some(parent) = capture.stack.last_mut() {
            parent.children.push(Child::Element(node));
            return;
        }
        let (kind, index, too_deep) = (capture.kind, capture.index, capture.too_deep);
        self.capture = None;
        self.finish(kind, index, &node, too_deep);
    }

    fn text(&mut self, text: &str) {
        let Some(capture) = &mut self.capture else {
            return;
        };
        if capture.overflow > 0 {
            return;
        }
        if let Some(node) = capture.stack.last_mut() {
            if let Some(Child::Text(last)) = node.children.last_mut() {
                last.push_str(text);
            } else {
                node.children.push(Child::Text(text.to_owned()));
            }
        }
    }

    /// Maps a complete item and records it or its error.
    fn finish(&mut self, kind: Kind, index: usize, node: &Node, too_deep: bool) {
        let location = location(kind, index);
        if too_deep {
            let reason = format!("elements are nested more than {MAX_ITEM_DEPTH} levels deep");
            self.out.push_error(location, reason);
            return;
        }
        match kind {
            Kind::Leistung => match map_leistung(node) {
                Ok((item, id)) => {
                    let linkable = item.org_unit_ref.is_none();
                    let position = self.out.parsed.items.len();
                    if self.out.push_item(location, item)
                        && let Some(id) = id
                        && linkable
                    {
                        self.unlinked.push((position, id));
                    }
                }
                Err(reason) => self.out.push_error(location, reason),
            },
            Kind::OrgUnit => match map_org_unit(node) {
                Ok((unit, leistung_ids)) => {
                    if let Some(id) = &unit.id {
                        if let Some(earlier) = self.org_unit_ids.get(id) {
                            let reason = format!(
                                "duplicate organisationseinheit id {id} (already imported from \
                                 {earlier})"
                            );
                            self.out.push_error(location, reason);
                            return;
                        }
                        self.org_unit_ids.insert(id.clone(), location.clone());
                        for leistung_id in leistung_ids {
                            self.responsible
                                .entry(leistung_id)
                                .or_insert_with(|| id.clone());
                        }
                    }
                    self.out
                        .parsed
                        .org_units
                        .push(OrgUnitImport { location, ..unit });
                }
                Err(reason) => self.out.push_error(location, reason),
            },
        }
    }

    /// Sets `org_unit_ref` from `organisationseinheit/zustaendigkeit/leistungID` for items
    /// that name no org unit themselves.
    fn link_org_units(&mut self) {
        // An office's `leistungID` is a `leistung/id`, which is the description's external
        // id: the storage layer finds it by that, in this file or imported before.
        for (position, leistung_id) in &self.unlinked {
            let Some(org_id) = self.responsible.get(leistung_id) else {
                continue;
            };
            if let Some((_, item)) = self.out.parsed.items.get_mut(*position) {
                item.org_unit_ref = Some(org_id.clone());
            }
        }
    }
}

/// A node for a start tag: local name and attributes (local names, unescaped values).
fn element(start: &BytesStart<'_>) -> Node {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let attrs = start
        .attributes()
        .flatten()
        .filter(|attr| {
            let key = attr.key.as_ref();
            key != b"xmlns" && !key.starts_with(b"xmlns:")
        })
        .map(|attr| {
            let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
            let value = attr.unescape_value().map_or_else(
                |_| String::from_utf8_lossy(&attr.value).into_owned(),
                |v| v.into_owned(),
            );
            (key, value)
        })
        .collect();
    Node {
        name,
        attrs,
        children: Vec::new(),
    }
}

fn line_of(input: &str, position: usize) -> usize {
    let bytes = input.as_bytes();
    let end = position.min(bytes.len());
    bytes
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

impl Node {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    fn elements(&self) -> impl Iterator<Item = &Node> {
        self.children.iter().filter_map(|child| match child {
            Child::Element(node) => Some(node),
            Child::Text(_) => None,
        })
    }

    /// Direct children with local name `name` (ASCII case-insensitive).
    fn all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a Node> + use<'a, 'n> {
        self.elements().filter(move |node| node.is(name))
    }

    fn first(&self, name: &str) -> Option<&Node> {
        self.elements().find(|node| node.is(name))
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn language(&self) -> Option<&str> {
        self.attr("languageCode").or_else(|| self.attr("lang"))
    }

    /// All text below this node, concatenated.
    fn text(&self) -> String {
        let mut out = String::new();
        self.collect_text(&mut out);
        out
    }

    fn collect_text(&self, out: &mut String) {
        for child in &self.children {
            match child {
                Child::Text(text) => out.push_str(text),
                Child::Element(node) => node.collect_text(out),
            }
        }
    }

    /// The trimmed text, or `None` if empty.
    fn trimmed(&self) -> Option<String> {
        let text = self.text();
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// The value of a code element: its `code` child, or else its own text.
    fn code(&self) -> Option<String> {
        self.first("code")
            .and_then(Node::trimmed)
            .or_else(|| self.trimmed())
    }

    /// The children as HTML: child elements become tags, text is kept as it is, so that
    /// escaped markup (`&lt;p&gt;`) becomes markup too.
    fn inner_html(&self) -> String {
        let mut out = String::new();
        self.inner_html_into(&mut out);
        out
    }

    /// Writes the children as HTML into `out` (each byte once, whatever the nesting).
    fn inner_html_into(&self, out: &mut String) {
        for child in &self.children {
            match child {
                Child::Text(text) => out.push_str(text),
                Child::Element(node) => node.outer_html(out),
            }
        }
    }

    fn outer_html(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (key, value) in &self.attrs {
            out.push(' ');
            out.push_str(key);
            out.push_str("=\"");
            out.push_str(&value.replace('&', "&amp;").replace('"', "&quot;"));
            out.push('"');
        }
        out.push('>');
        self.inner_html_into(out);
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The converted text of this node's content.
    fn html(&self) -> HtmlText {
        html_to_text(&self.inner_html())
    }
}

/// The children named `name`, preferring German (`de…`) and language-less ones.
fn preferred<'a>(parent: &'a Node, name: &str) -> Vec<&'a Node> {
    prefer_german(parent.all(name).collect())
}

/// Keeps the German (`de…`) and language-less nodes, or all if there are none.
fn prefer_german(all: Vec<&Node>) -> Vec<&Node> {
    let german: Vec<&Node> = all
        .iter()
        .copied()
        .filter(|node| {
            node.language()
                .is_none_or(|lang| lang.trim().to_ascii_lowercase().starts_with("de"))
        })
        .collect();
    if german.is_empty() { all } else { german }
}

/// The converted text of the preferred `name` children, joined by blank lines.
fn preferred_text(parent: &Node, name: &str) -> Option<String> {
    let texts: Vec<String> = preferred(parent, name)
        .into_iter()
        .map(|node| node.html().text)
        .filter(|text| !text.is_empty())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n\n"))
}

/// Collapses a (possibly multi-line) text to one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The parts joined into each module so far, so that a repeated part is found in constant
/// time (a search through the joined text would make `n` repeated modules cost `n²`).
#[derive(Default)]
struct Parts(HashSet<(ModuleField, String)>);

impl Parts {
    /// Appends `text` to the module `field` (in `slot`), separated by a blank line; a text
    /// given before for that module is not repeated.
    fn append(&mut self, field: ModuleField, slot: &mut Option<String>, text: String) {
        if text.trim().is_empty() || self.0.contains(&(field, text.clone())) {
            return;
        }
        match slot {
            Some(existing) => {
                existing.push_str("\n\n");
                existing.push_str(&text);
            }
            None => *slot = Some(text.clone()),
        }
        self.0.insert((field, text));
    }
}

/// `weiterfuehrenderLink` children as links.
fn links(node: &Node) -> Vec<Link> {
    node.all("weiterfuehrenderLink")
        .filter_map(|link| {
            let url = ["uri", "url", "link"]
                .iter()
                .find_map(|name| link.first(name).and_then(Node::trimmed))?;
            let title = ["titel", "title", "bezeichnung"]
                .iter()
                .find_map(|name| link.first(name).and_then(Node::trimmed))
                .map(|t| one_line(&t));
            Some(Link { title, url })
        })
        .collect()
}

fn link_lines(links: &[Link]) -> String {
    links
        .iter()
        .map(|link| match &link.title {
            Some(title) => format!("{title}: {}", link.url),
            None => link.url.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Maps a `leistung` to an item and its `id`.
fn map_leistung(node: &Node) -> Result<(ImportItem, Option<String>), String> {
    let leika_keys = leika_keys(node)?;
    let mut modules = Modules::default();
    let mut title = preferred_text(node, "bezeichnung").map(|t| one_line(&t));
    let mut synonyms = Vec::new();
    let mut parts = Parts::default();

    for module in node.all("modulText") {
        let Some(code) = module.first("leikaTextmodul").and_then(Node::code) else {
            continue;
        };
        let contents: Vec<HtmlText> = preferred(module, "inhalt")
            .into_iter()
            .map(Node::html)
            .collect();
        let text = contents
            .iter()
            .map(|c| c.text.as_str())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        let module_links = links(module);
        if code == TITLE_LEIKA_CODE {
            if title.is_none() && !text.is_empty() {
                title = Some(one_line(&text));
            }
            continue;
        }
        let Some(field) = ModuleField::from_leika_code(&code) else {
            tracing::debug!(code, "XZuFi import: ignoring text module");
            continue;
        };
        match field {
            ModuleField::Unterlagen => {
                for content in &contents {
                    if content.list_items.is_empty() {
                        modules
                            .unterlagen
                            .extend(content.text.lines().filter_map(strip_bullet));
                    } else {
                        modules
                            .unterlagen
                            .extend(content.list_items.iter().cloned());
                    }
                }
            }
            ModuleField::Formulare => {
                modules.formulare.extend(module_links);
                for content in contents {
                    // Only links a browser can open: `javascript:`, `mailto:` and relative
                    // links (no base to resolve them against) are left in the text.
                    let http = content.links.into_iter().filter(|l| is_http_url(&l.url));
                    modules.formulare.extend(http);
                }
            }
            ModuleField::Kosten => {
                let costs = modules.kosten.get_or_insert_with(Costs::default);
                parts.append(ModuleField::Kosten, &mut costs.text, text);
            }
            _ => {
                let mut text = text;
                if !module_links.is_empty() {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&link_lines(&module_links));
                }
                if let Some(slot) = modules.text_mut(field) {
                    parts.append(field, slot, text);
                }
            }
        }
    }

    for module in node.all("modulKosten") {
        let costs = modules.kosten.get_or_insert_with(Costs::default);
        if let Some(text) = preferred_text(module, "beschreibung") {
            parts.append(ModuleField::Kosten, &mut costs.text, text);
        }
        for (i, fee) in module.all("kosten").enumerate() {
            let label = preferred_text(fee, "beschreibung")
                .or_else(|| preferred_text(fee, "bezeichnung"))
                .map(|t| one_line(&t));
            let amount = ["betragFix", "betrag"]
                .iter()
                .find_map(|name| fee.first(name));
            match amount {
                Some(amount) => {
                    let raw = amount
                        .first("betrag")
                        .or_else(|| amount.first("wert"))
                        .unwrap_or(amount)
                        .text();
                    let eur_cents = parse_eur_cents(&raw)
                        .map_err(|e| format!("modulKosten/kosten {}: {e}", i + 1))?;
                    costs.amounts.push(CostAmount {
                        label: label.map(|l| crate::shorten(&l, MAX_LABEL_CHARS)),
                        eur_cents,
                    });
                }
                None => {
                    if let Some(label) = label {
                        parts.append(ModuleField::Kosten, &mut costs.text, label);
                    }
                }
            }
        }
    }

    for module in node.all("modulFrist") {
        for text in described(module, "frist") {
            parts.append(ModuleField::Fristen, &mut modules.fristen, text);
        }
    }
    for module in node.all("modulBearbeitungsdauer") {
        for text in described(module, "bearbeitungsdauer") {
            parts.append(
                ModuleField::Bearbeitungsdauer,
                &mut modules.bearbeitungsdauer,
                text,
            );
        }
    }

    // Keywords (`schlagwort`, as text or with a `begriff`/`bezeichnung`/`wert` child) are
    // synonyms too.
    for keyword in prefer_german(node.all("schlagwort").collect()) {
        let term = ["begriff", "bezeichnung", "wert"]
            .iter()
            .find_map(|name| keyword.first(name))
            .unwrap_or(keyword);
        let term = one_line(&term.html().text);
        if !term.is_empty() {
            synonyms.push(term);
        }
    }
    for module in node.all("modulBegriffImKontext") {
        let terms = module
            .all("begriffImKontext")
            .flat_map(|context| context.all("begriff"))
            .chain(module.all("begriff"))
            .collect();
        for term in prefer_german(terms) {
            let term = one_line(&term.html().text);
            if !term.is_empty() {
                synonyms.push(term);
            }
        }
    }

    modules.online_dienst = ["modulOnlinedienst", "modulUrsprungsportal"]
        .iter()
        .flat_map(|name| node.all(name))
        .find_map(|module| {
            ["uri", "url", "link"]
                .iter()
                .find_map(|name| module.first(name).and_then(Node::trimmed))
                .or_else(|| {
                    module
                        .trimmed()
                        .filter(|text| !text.contains(char::is_whitespace))
                })
        });

    let org_unit_ref = node
        .all("zustaendigkeit")
        .find_map(|z| z.first("organisationseinheitID").and_then(Node::trimmed))
        .or_else(|| node.first("organisationseinheitID").and_then(Node::trimmed));

    let Some(title) = title.filter(|t| !t.is_empty()) else {
        return Err("missing title (bezeichnung or modulText with code 02)".to_owned());
    };
    let content = ServiceContent {
        leika_keys,
        title,
        synonyms,
        modules,
    }
    .normalized()
    .map_err(|e| e.to_string())?;
    let id = node.first("id").and_then(Node::trimmed);
    let item = ImportItem {
        content,
        external_id: id
            .as_deref()
            .map(|id| crate::shorten(&one_line(id), crate::services::MAX_EXTERNAL_ID_CHARS)),
        status: PublishState::Draft,
        org_unit_ref,
    };
    Ok((item, id))
}

/// The LeiKa keys of a `leistung`: every `referenzLeiKa` (directly or in `struktur`), each
/// checked; none is fine (a local service).
fn leika_keys(node: &Node) -> Result<Vec<LeikaKey>, String> {
    let codes: Vec<String> = node
        .all("referenzLeiKa")
        .chain(node.all("struktur").flat_map(|s| s.all("referenzLeiKa")))
        .filter_map(Node::code)
        .collect();
    crate::leika::parse_keys("referenzLeiKa", &codes).map_err(|e| e.to_string())
}

/// `beschreibung` texts of a module and of its `detail` children (`frist`, …).
fn described(module: &Node, detail: &str) -> Vec<String> {
    let mut texts: Vec<String> = preferred_text(module, "beschreibung").into_iter().collect();
    texts.extend(
        module
            .all(detail)
            .filter_map(|d| preferred_text(d, "beschreibung")),
    );
    texts
}

/// A line as a document entry, without a leading bullet; `None` if empty.
fn strip_bullet(line: &str) -> Option<String> {
    let line = line.trim();
    let line = ["- ", "* ", "• ", "– "]
        .iter()
        .find_map(|bullet| line.strip_prefix(bullet))
        .unwrap_or(line)
        .trim();
    (!line.is_empty()).then(|| line.to_owned())
}

/// Maps an `organisationseinheit` to an org unit and the `leistungID`s it is responsible for.
fn map_org_unit(node: &Node) -> Result<(OrgUnitImport, Vec<String>), String> {
    let name = preferred(node, "name")
        .into_iter()
        .find_map(|name| match name.first("name") {
            Some(inner) => inner.trimmed(),
            None => name.trimmed(),
        })
        .or_else(|| preferred_text(node, "bezeichnung"))
        .map(|n| one_line(&n));
    let Some(name) = name else {
        return Err("missing name".to_owned());
    };
    let name_chars = name.chars().count();
    if name_chars > MAX_LABEL_CHARS {
        return Err(format!(
            "name is too long ({name_chars} characters, at most {MAX_LABEL_CHARS})"
        ));
    }
    let field = |parent: &Node, name: &str| {
        parent
            .first(name)
            .and_then(Node::trimmed)
            .map(|t| one_line(&crate::shorten(&t, MAX_LABEL_CHARS)))
    };
    // The visitors' address (typ 002), else the house address (001), else the first one
    // with a street or town; a post box (003) only if there is nothing else.
    let addresses: Vec<&Node> = node
        .all("anschrift")
        .filter(|a| a.first("strasse").is_some() || a.first("ort").is_some())
        .collect();
    let typ = |a: &Node| a.first("typ").and_then(Node::code);
    let address = ["002", "001"]
        .iter()
        .find_map(|code| {
            addresses
                .iter()
                .copied()
                .find(|a| typ(a).as_deref() == Some(*code))
        })
        .or_else(|| {
            addresses
                .iter()
                .copied()
                .find(|a| !matches!(typ(a).as_deref(), Some("003" | "004")))
        })
        .or_else(|| addresses.first().copied());
    let geo = match address
        .and_then(|a| a.first("geokodierung"))
        .or_else(|| node.first("geokodierung"))
    {
        Some(g) => geo_position(g).map_err(|e| format!("geokodierung: {e}"))?,
        None => None,
    };
    let mut unit = OrgUnitImport {
        id: field(node, "id"),
        name,
        street: address.and_then(|a| field(a, "strasse")),
        house_number: address.and_then(|a| field(a, "hausnummer")),
        postal_code: address.and_then(|a| field(a, "postleitzahl")),
        city: address.and_then(|a| field(a, "ort")),
        phone: None,
        email: None,
        geo,
        ..OrgUnitImport::default()
    };
    for channel in node.all("kommunikation") {
        let Some(value) = field(channel, "kennung") else {
            continue;
        };
        let code = channel.first("kanal").and_then(Node::code);
        let is_email = match code.as_deref() {
            Some("01") => true,
            Some("02" | "03") => false,
            Some(_) => continue,
            None if value.contains('@') => true,
            None if looks_like_phone(&value) => false,
            None => continue,
        };
        let slot = if is_email {
            &mut unit.email
        } else {
            &mut unit.phone
        };
        slot.get_or_insert(value);
    }
    let leistung_ids: Vec<String> = node
        .all("zustaendigkeit")
        .flat_map(|z| z.all("leistungID"))
        .filter_map(Node::trimmed)
        .collect();
    if leistung_ids.len() > super::office::MAX_OFFERED {
        return Err(format!(
            "{} zustaendigkeit/leistungID entries, at most {}",
            leistung_ids.len(),
            super::office::MAX_OFFERED
        ));
    }
    unit.services = leistung_ids
        .iter()
        .map(|id| ServiceRef::ExternalId(id.clone()))
        .collect();
    Ok((unit, leistung_ids))
}

/// The WGS 84 position of a `geokodierung`: `breitengrad`/`laengengrad` (or `latitude`/
/// `longitude`, `lat`/`lon`), or `y`/`x` when its `koordinatensystem` is WGS 84 or not given.
/// Positions in another system are not read (`None`).
fn geo_position(node: &Node) -> Result<Option<GeoPosition>, String> {
    let value = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| node.first(n).and_then(Node::trimmed))
    };
    let named = (
        value(&["breitengrad", "latitude", "lat"]),
        value(&["laengengrad", "longitude", "lon"]),
    );
    let (lat, lon) = match named {
        (Some(lat), Some(lon)) => (lat, lon),
        (None, None) => {
            let system = node
                .first("koordinatensystem")
                .and_then(Node::code)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let wgs84 = system.is_empty() || system.contains("4326") || system.contains("wgs");
            match (value(&["y"]), value(&["x"])) {
                (Some(y), Some(x)) if wgs84 => (y, x),
                _ => return Ok(None),
            }
        }
        _ => return Err("needs both latitude and longitude".to_owned()),
    };
    GeoPosition::parse(&lat, &lon).map(Some)
}

fn looks_like_phone(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-/()".contains(c))
        && value.chars().filter(char::is_ascii_digit).count() >= 5
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/xzufi-sample.xml");

    fn key(s: &str) -> LeikaKey {
        LeikaKey::parse(s).unwrap()
    }

    fn errors(parsed: &ParsedImport) -> Vec<(&str, &str)> {
        parsed
            .errors
            .iter()
            .map(|e| (e.location.as_str(), e.reason.as_str()))
            .collect()
    }

    fn locations(parsed: &ParsedImport) -> Vec<&str> {
        parsed.items.iter().map(|(l, _)| l.as_str()).collect()
    }

    #[test]
    fn fixture_items_and_errors() {
        let parsed = parse(FIXTURE);
        // Leistung 3 has no LeiKa key: a local service, imported.
        assert_eq!(
            locations(&parsed),
            [
                "leistung 1",
                "leistung 2",
                "leistung 3",
                "leistung 4",
                "leistung 7"
            ]
        );
        assert!(parsed.items[2].1.content.leika_keys.is_empty());
        assert_eq!(parsed.items[2].1.content.title, "Reisepass beantragen");
        assert_eq!(parsed.items[2].1.external_id, None);
        assert_eq!(
            parsed.items[0].1.external_id.as_deref(),
            Some("L100042-99102013001000")
        );
        assert_eq!(
            errors(&parsed),
            [
                (
                    "leistung 5",
                    "referenzLeiKa[0]: invalid LeiKa key \"99-115-005\": must consist of 14 \
                     digits (0-9) only"
                ),
                (
                    "leistung 6",
                    "missing title (bezeichnung or modulText with code 02)"
                ),
                (
                    "leistung 8",
                    "modulKosten/kosten 1: \"kostenlos\" is not an amount in EUR (expected \
                     e.g. 37.00 or 37,00)"
                ),
                (
                    "leistung 9",
                    "modules.online_dienst: \"javascript:alert(1)\" is not a valid URL (must \
                     start with http:// or https://)"
                ),
                ("organisationseinheit 3", "missing name"),
            ]
        );
    }

    #[test]
    fn fixture_personalausweis() {
        let parsed = parse(FIXTURE);
        let (_, item) = &parsed.items[0];
        assert_eq!(item.status, PublishState::Draft);
        // Linked through organisationseinheit/zustaendigkeit/leistungID.
        assert_eq!(item.org_unit_ref.as_deref(), Some("ou-trier-buergeramt"));
        let c = &item.content;
        assert_eq!(c.leika_keys, [key("99102013001000")]);
        assert_eq!(c.title, "Personalausweis beantragen");
        assert_eq!(c.synonyms, ["Perso", "Ausweis", "Identitätskarte"]);
        let m = &c.modules;
        // Escaped HTML, German version preferred over English.
        assert_eq!(
            m.kurztext.as_deref(),
            Some(
                "Den Personalausweis beantragen Sie persönlich bei der \
                 Personalausweisbehörde Ihres Hauptwohnsitzes."
            )
        );
        // XHTML child elements: paragraphs, line break, entity, inline markup.
        assert_eq!(
            m.volltext.as_deref(),
            Some(
                "Der Personalausweis ist ab 16 Jahren Pflicht.\n\n\
                 Er gilt bei Personen ab 24 Jahren zehn Jahre,\n\
                 bei jüngeren Personen sechs Jahre.\n\n\
                 Fingerabdrücke & Foto werden bei der Antragstellung erfasst."
            )
        );
        // <li> items become Unterlagen; the introduction is not a document.
        assert_eq!(
            m.unterlagen,
            [
                "bisheriger Personalausweis oder Reisepass",
                "ein aktuelles biometrisches Passfoto (35 x 45 mm)",
                "bei Minderjährigen: Einverständniserklärung der Sorgeberechtigten",
            ]
        );
        assert_eq!(
            m.rechtsgrundlage.as_deref(),
            Some(
                "§ 9 Personalausweisgesetz (PAuswG)\n§ 1 Personalausweisgebührenverordnung\n\
                 PAuswG: https://www.gesetze-im-internet.de/pauswg/"
            )
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
                ],
            })
        );
        assert_eq!(
            m.formulare,
            [
                Link {
                    title: Some("Vollmacht zur Abholung".to_owned()),
                    url: "https://www.trier.de/formulare/vollmacht-personalausweis.pdf".to_owned(),
                },
                Link {
                    title: Some("Online-Terminvereinbarung".to_owned()),
                    url: "https://termine.trier.de/buergeramt?dienst=perso&ort=1".to_owned(),
                },
            ]
        );
        assert_eq!(m.bearbeitungsdauer.as_deref(), Some("etwa 3 bis 4 Wochen"));
        assert_eq!(
            m.verfahrensablauf.as_deref(),
            Some("1. Termin vereinbaren\n2. Antrag persönlich stellen\n3. Ausweis abholen")
        );
        assert_eq!(m.hinweise, None);
        assert_eq!(m.online_dienst, None);
    }

    #[test]
    fn fixture_kfz_zulassung_other_prefix_and_order() {
        let parsed = parse(FIXTURE);
        let (location, item) = &parsed.items[1];
        assert_eq!(location, "leistung 2");
        assert_eq!(item.org_unit_ref.as_deref(), Some("ou-tr-sab-zulassung"));
        let c = &item.content;
        // referenzLeiKa given as text; title from bezeichnung (German over English).
        assert_eq!(c.leika_keys, [key("99036003001000")]);
        assert_eq!(c.title, "Fahrzeug zulassen");
        assert_eq!(c.synonyms, ["Kfz-Zulassung", "Auto anmelden"]);
        assert_eq!(
            c.modules.voraussetzungen.as_deref(),
            Some("- Das Fahrzeug ist versichert.\n- Das Fahrzeug ist technisch geprüft (HU).")
        );
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
    }

    #[test]
    fn fixture_wohnsitz_plain_text_list() {
        let parsed = parse(FIXTURE);
        let (location, item) = &parsed.items[3];
        assert_eq!(location, "leistung 4");
        assert_eq!(item.org_unit_ref.as_deref(), Some("ou-trier-buergeramt"));
        let c = &item.content;
        assert_eq!(c.leika_keys, [key("99115005001000")]);
        assert_eq!(c.title, "Wohnsitz anmelden");
        // Plain text lines (no HTML) become entries.
        assert_eq!(
            c.modules.unterlagen,
            ["Personalausweis oder Reisepass", "Wohnungsgeberbestätigung"]
        );
        assert_eq!(
            c.modules.fristen.as_deref(),
            Some("innerhalb von zwei Wochen nach dem Einzug")
        );
        assert_eq!(
            c.modules.kurztext.as_deref(),
            Some("Wer eine Wohnung bezieht,\nmuss sich bei der Meldebehörde anmelden.")
        );
    }

    #[test]
    fn fixture_elterngeld() {
        let parsed = parse(FIXTURE);
        let (location, item) = &parsed.items[4];
        assert_eq!(location, "leistung 7");
        assert_eq!(item.org_unit_ref, None);
        let c = &item.content;
        assert_eq!(c.leika_keys, [key("99041008000000")]);
        assert_eq!(c.title, "Elterngeld beantragen");
        assert_eq!(
            c.modules.online_dienst.as_deref(),
            Some("https://www.elterngeld-digital.de")
        );
        assert_eq!(
            c.modules.kosten,
            Some(Costs {
                text: Some("keine".to_owned()),
                amounts: vec![],
            })
        );
        assert_eq!(
            c.modules.zustaendige_stelle.as_deref(),
            Some("Elterngeldstelle der Kreisverwaltung")
        );
    }

    #[test]
    fn fixture_org_units() {
        let parsed = parse(FIXTURE);
        assert_eq!(
            parsed.org_units,
            [
                OrgUnitImport {
                    id: Some("ou-trier-buergeramt".to_owned()),
                    name: "Bürgeramt der Stadt Trier".to_owned(),
                    street: Some("Augustinerhof".to_owned()),
                    house_number: Some("1".to_owned()),
                    postal_code: Some("54290".to_owned()),
                    city: Some("Trier".to_owned()),
                    phone: Some("0651 718-0".to_owned()),
                    email: Some("buergeramt@trier.de".to_owned()),
                    // Named by `leistung/id`, the descriptions' external ids.
                    services: vec![
                        ServiceRef::ExternalId("L100042-99102013001000".to_owned()),
                        ServiceRef::ExternalId("L100042-99115005001000".to_owned()),
                    ],
                    location: "organisationseinheit 1".to_owned(),
                    ..OrgUnitImport::default()
                },
                OrgUnitImport {
                    id: Some("ou-tr-sab-zulassung".to_owned()),
                    name: "Kfz-Zulassungsstelle Trier-Saarburg".to_owned(),
                    street: Some("Willy-Brandt-Platz".to_owned()),
                    house_number: Some("1".to_owned()),
                    postal_code: Some("54290".to_owned()),
                    city: Some("Trier".to_owned()),
                    phone: Some("+49 651 715-0".to_owned()),
                    email: Some("zulassung@trier-saarburg.de".to_owned()),
                    location: "organisationseinheit 2".to_owned(),
                    ..OrgUnitImport::default()
                },
            ]
        );
    }

    #[test]
    fn truncated_document_keeps_completed_items() {
        let cut = FIXTURE.find("Wohnsitz anmelden").unwrap();
        let parsed = parse(&FIXTURE[..cut]);
        assert_eq!(
            locations(&parsed),
            ["leistung 1", "leistung 2", "leistung 3"]
        );
        assert_eq!(
            errors(&parsed),
            [(
                "leistung 4",
                "the document ends before <inhalt> is closed; it is probably truncated"
            ),]
        );
        // Org units come after the cut, so the items stay unlinked.
        assert_eq!(parsed.items[0].1.org_unit_ref, None);
    }

    #[test]
    fn truncated_inside_a_tag() {
        let cut = FIXTURE.find("<xzufi:leistung>").unwrap() + 5;
        let parsed = parse(&FIXTURE[..cut]);
        assert!(parsed.items.is_empty());
        let [error] = parsed.errors.as_slice() else {
            panic!("{:?}", parsed.errors);
        };
        assert!(error.location.starts_with("line "), "{error}");
        assert!(
            error.reason.starts_with("malformed XML at line "),
            "{}",
            error.reason
        );
    }

    #[test]
    fn mismatched_end_tag_stops_with_one_error() {
        let xml = r#"<daten xmlns:xz="http://xoev.de/schemata/xzufi/2_2_0">
  <xz:leistung>
    <xz:referenzLeiKa>99102013001000</xz:referenzLeiKa>
    <xz:bezeichnung>Personalausweis beantragen</xz:bezeichnung>
  </xz:leistung>
  <xz:leistung>
    <xz:referenzLeiKa>99102013002000</xz:referenzLeiKa>
    <xz:bezeichnung>Reisepass beantragen</xz:falsch>
  </xz:leistung>
  <xz:leistung>
    <xz:referenzLeiKa>99102013003000</xz:referenzLeiKa>
    <xz:bezeichnung>Kinderreisepass beantragen</xz:bezeichnung>
  </xz:leistung>
</daten>"#;
        let parsed = parse(xml);
        assert_eq!(locations(&parsed), ["leistung 1"]);
        assert_eq!(
            errors(&parsed),
            [(
                "leistung 2",
                "malformed XML at line 8: ill-formed document: expected `</xz:bezeichnung>`, \
                 but `</xz:falsch>` was found; the rest of the document was not read"
            )]
        );
    }

    #[test]
    fn not_xml_at_all() {
        let parsed = parse("Personalausweis beantragen");
        assert_eq!(
            errors(&parsed),
            [(
                "line 1",
                "no XML element found; this is not an XZuFi document"
            )]
        );
        let parsed = parse("");
        assert_eq!(parsed.errors.len(), 1);
    }

    #[test]
    fn empty_leistung_element_is_an_error() {
        let parsed = parse("<a><leistung/><organisationseinheit/></a>");
        assert_eq!(
            errors(&parsed),
            [
                (
                    "leistung 1",
                    "missing title (bezeichnung or modulText with code 02)"
                ),
                ("organisationseinheit 1", "missing name"),
            ]
        );
    }

    #[test]
    fn deep_nesting_is_rejected_without_overflow() {
        let depth = 10_000;
        let mut xml = String::from(
            "<r><leistung><referenzLeiKa>99102013001000</referenzLeiKa><bezeichnung>A</bezeichnung>",
        );
        xml.push_str(&"<x>".repeat(depth));
        xml.push_str(&"</x>".repeat(depth));
        xml.push_str("</leistung><leistung><referenzLeiKa>99102013002000</referenzLeiKa>");
        xml.push_str("<bezeichnung>B</bezeichnung></leistung></r>");
        let parsed = parse(&xml);
        assert_eq!(locations(&parsed), ["leistung 2"]);
        assert_eq!(
            errors(&parsed),
            [("leistung 1", "elements are nested more than 64 levels deep")]
        );
    }

    #[test]
    fn bom_and_crlf() {
        let xml = "\u{feff}<?xml version=\"1.0\"?>\r\n<r>\r\n<leistung>\r\n\
                   <referenzLeiKa><code> 99102013001000 </code></referenzLeiKa>\r\n\
                   <modulText><leikaTextmodul>02</leikaTextmodul><inhalt>Personalausweis\r\n beantragen</inhalt></modulText>\r\n\
                   <modulText><leikaTextmodul>16</leikaTextmodul><inhalt>Zeile 1\r\nZeile 2</inhalt></modulText>\r\n\
                   </leistung></r>";
        let parsed = parse(xml);
        assert!(parsed.is_clean(), "{:?}", parsed.errors);
        let content = &parsed.items[0].1.content;
        assert_eq!(content.title, "Personalausweis beantragen");
        assert_eq!(
            content.modules.hinweise.as_deref(),
            Some("Zeile 1\nZeile 2")
        );
    }

    #[test]
    fn html_keywords_fees_forms_and_an_office_with_geo() {
        let parsed = parse(include_str!("../../tests/fixtures/xzufi-html-offices.xml"));
        assert!(parsed.is_clean(), "{:?}", parsed.errors);
        let (_, item) = &parsed.items[0];
        let c = &item.content;
        assert_eq!(c.title, "Taxigenehmigung beantragen");
        assert_eq!(c.synonyms, ["Droschke", "Personenbeförderung"]);
        assert_eq!(
            c.modules.volltext.as_deref(),
            Some(
                "Wer Fahrgäste mit dem Taxi befördert, braucht eine Genehmigung.\n\n\
                 1. Antrag stellen\n2. Fachkunde nachweisen\n\n\
                 Siehe Taxiwesen (https://www.trier.de/taxi)."
            )
        );
        assert_eq!(
            c.modules.unterlagen,
            ["Führungszeugnis", "Nachweis der \"Fachkunde\""]
        );
        assert_eq!(
            c.modules.formulare,
            [Link {
                title: Some("Antrag Taxigenehmigung".to_owned()),
                url: "https://www.trier.de/formulare/taxi.pdf".to_owned(),
            }]
        );
        assert_eq!(
            c.modules.kosten,
            Some(Costs {
                text: Some("Gebühr nach Aufwand".to_owned()),
                amounts: vec![CostAmount {
                    label: Some("Erteilung".to_owned()),
                    eur_cents: 25_000,
                }],
            })
        );
        assert_eq!(item.org_unit_ref.as_deref(), Some("ou-ordnungsamt"));
        let [office] = parsed.org_units.as_slice() else {
            panic!("{:?}", parsed.org_units);
        };
        assert_eq!(office.street.as_deref(), Some("Thebäerstraße"));
        assert_eq!(office.postal_code.as_deref(), Some("54292"));
        assert_eq!(office.geo, Some(GeoPosition::new(49.7601, 6.6512).unwrap()));
        assert_eq!(office.phone.as_deref(), Some("0651 718-1330"));
        assert_eq!(office.email.as_deref(), Some("ordnungsamt@trier.de"));
        assert_eq!(
            office.services,
            [ServiceRef::ExternalId("L-9001".to_owned())]
        );
    }

    #[test]
    fn geokodierung_variants() {
        let office = |geo: &str| {
            parse(&format!(
                "<r><organisationseinheit><name>A</name><anschrift><ort>Trier</ort>{geo}\
                 </anschrift></organisationseinheit></r>"
            ))
        };
        let ok = office("<geokodierung><x>6.64</x><y>49.75</y></geokodierung>");
        assert_eq!(ok.org_units[0].geo, GeoPosition::new(49.75, 6.64).ok());
        // UTM coordinates are not read as degrees.
        let utm = office(
            "<geokodierung><koordinatensystem>EPSG:25832</koordinatensystem>\
             <x>358455.72</x><y>5704354.12</y></geokodierung>",
        );
        assert!(utm.is_clean() && utm.org_units[0].geo.is_none());
        let bad = office("<geokodierung><lat>95</lat><lon>6</lon></geokodierung>");
        assert_eq!(
            errors(&bad),
            [(
                "organisationseinheit 1",
                "geokodierung: 95 is not a latitude (WGS 84 degrees, -90 to 90)"
            )]
        );
        let half = office("<geokodierung><lat>49</lat></geokodierung>");
        assert_eq!(
            errors(&half),
            [(
                "organisationseinheit 1",
                "geokodierung: needs both latitude and longitude"
            )]
        );
    }
}
