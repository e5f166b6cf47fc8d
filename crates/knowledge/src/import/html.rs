//! Turns the simple (X)HTML found in XZuFi text modules into plain text.
//!
//! - Paragraph-like blocks (`p`, `div`, headings, tables, …) are separated by a blank line,
//!   `br`, `li`, `tr`, `dt`, `dd` start a new line. Other whitespace collapses as in HTML.
//! - List items become lines starting with `- ` (`1. `, `2. `, … in `ol`) and are also
//!   returned one by one in [`HtmlText::list_items`].
//! - Links (`<a href>`) are returned in [`HtmlText::links`]; in the text, an http(s) target
//!   that differs from the link text is added in parentheses.
//! - `script` and `style` contents and comments are dropped; entities are decoded.
//!
//! Text without any known HTML tag is treated as plain text: its line breaks are kept.
//! The scanner is forgiving: a `<` that does not start a tag is text, and unclosed
//! elements are closed at the end. It never panics.
//!
//! Time and memory are linear in the input: the converter keeps no recursion and no per-level
//! copies. Lists nested deeper than [`MAX_LIST_DEPTH`] are shown as items of the deepest list
//! (an indentation per level would make `n` nested lists cost `n²` bytes, and the open lists
//! and items are the only state that grows with nesting).

use crate::model::{Link, is_http_url};

/// The plain-text form of an HTML fragment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct HtmlText {
    pub text: String,
    pub list_items: Vec<String>,
    pub links: Vec<Link>,
}

/// Tags that make a text count as HTML.
const KNOWN_TAGS: &[&str] = &[
    "a",
    "abbr",
    "address",
    "article",
    "b",
    "blockquote",
    "body",
    "br",
    "caption",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "html",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "section",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    // Found in CMS exports too; the hidden ones must make a text count as HTML so that
    // their content is dropped.
    "aside",
    "center",
    "font",
    "img",
    "main",
    "nav",
    "figcaption",
    "meta",
    "link",
    "head",
    "title",
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "svg",
];

/// Elements whose content is never shown: skipped up to their end tag.
const HIDDEN_CONTENT: &[&str] = &[
    "script", "style", "head", "title", "noscript", "template", "iframe", "object", "svg",
];

/// Elements that end a paragraph (blank line before and after).
const PARAGRAPH_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "caption",
    "center",
    "div",
    "dl",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "main",
    "nav",
    "p",
    "pre",
    "section",
    "table",
];

/// Elements that start a new line.
const LINE_TAGS: &[&str] = &["br", "dd", "dt", "tr"];

/// Deepest list nesting kept: items of lists nested deeper belong to the list at this depth
/// (same indentation, same numbering).
pub(crate) const MAX_LIST_DEPTH: usize = 16;

/// Converts an HTML fragment (or plain text) to text.
pub(crate) fn html_to_text(input: &str) -> HtmlText {
    if contains_known_tag(input) {
        HtmlConverter::default().run(input)
    } else {
        HtmlText {
            text: plain_text(&decode_entities(input)),
            ..HtmlText::default()
        }
    }
}

/// How often [`clean_text`] converts a text that still looks like HTML after a pass
/// (escaped markup inside markup, as XZuFi files often carry: `&lt;p&gt;` in XML).
const MAX_PASSES: usize = 3;

/// Whether a text is converted: it holds a known tag or a character reference that decodes.
pub(crate) fn looks_like_html(input: &str) -> bool {
    contains_known_tag(input) || (input.contains('&') && decode_entities(input) != input)
}

/// The stored form of a text that may be HTML (see the crate README, "Stored text form"):
/// HTML is converted by [`html_to_text`], again while the result still looks like HTML
/// (at most [`MAX_PASSES`] times); any other text is returned as it is.
pub(crate) fn clean_text(input: &str) -> Option<HtmlText> {
    if !looks_like_html(input) {
        return None;
    }
    let mut out = html_to_text(input);
    for _ in 1..MAX_PASSES {
        if !looks_like_html(&out.text) {
            break;
        }
        let again = html_to_text(&out.text);
        out.text = again.text;
        out.list_items.extend(again.list_items);
        out.links.extend(again.links);
    }
    Some(out)
}

/// [`clean_text`] for a single-line text (title, synonym, label, link title): white space,
/// line breaks included, collapses to single spaces.
pub(crate) fn clean_line(input: &str) -> Option<String> {
    clean_text(input).map(|out| out.text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Trims every line, drops leading/trailing blank lines and collapses runs of blank lines.
fn plain_text(input: &str) -> String {
    tidy_lines(input.lines().map(str::trim))
}

fn tidy_lines<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut blank_pending = false;
    for line in lines {
        if line.is_empty() {
            blank_pending = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_pending {
                out.push('\n');
            }
        }
        blank_pending = false;
        out.push_str(line);
    }
    out
}

fn contains_known_tag(input: &str) -> bool {
    let mut rest = input;
    while let Some(pos) = rest.find('<') {
        rest = rest.get(pos + 1..).unwrap_or("");
        let name_part = rest.strip_prefix('/').unwrap_or(rest);
        let name = tag_name(name_part);
        if !name.is_empty() && KNOWN_TAGS.contains(&name.as_str()) {
            let after = name_part.get(name.len()..).unwrap_or("");
            if after.starts_with(['>', '/', ' ', '\t', '\n', '\r']) {
                return true;
            }
        }
    }
    false
}

/// The lowercased local name at the start of `s` (the part after a `prefix:`), or "" if
/// `s` does not start with a letter.
fn tag_name(s: &str) -> String {
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return String::new();
    }
    let end = s
        .find(|c: char| {
            !(c.is_ascii_alphanumeric() || c == ':' || c == '-' || c == '_' || c == '.')
        })
        .unwrap_or(s.len());
    let qualified = s.get(..end).unwrap_or("");
    let local = qualified.rsplit(':').next().unwrap_or(qualified);
    local.to_ascii_lowercase()
}

#[derive(Clone, Copy)]
enum ListKind {
    Unordered,
    Ordered(u32),
}

struct OpenItem {
    text: String,
    depth: usize,
    /// Where the item's line starts in the output, to drop the line of an empty item.
    line_start: usize,
    /// Where its text starts (after the indentation and the marker).
    content_start: usize,
}

#[derive(Default)]
struct HtmlConverter {
    out: String,
    pending_space: bool,
    /// The open lists, at most [`MAX_LIST_DEPTH`].
    lists: Vec<ListKind>,
    /// Lists opened below [`MAX_LIST_DEPTH`] and not closed yet: not in `lists`.
    lists_too_deep: usize,
    /// The open items: at most one per list depth (an item closes the open one of its depth).
    items: Vec<OpenItem>,
    list_items: Vec<String>,
    anchor: Option<(String, String)>,
    links: Vec<Link>,
}

impl HtmlConverter {
    fn run(mut self, input: &str) -> HtmlText {
        let mut pos = 0;
        while pos < input.len() {
            let rest = input.get(pos..).unwrap_or("");
            let Some(lt) = rest.find('<') else {
                self.text(&decode_entities(rest));
                break;
            };
            if lt > 0 {
                self.text(&decode_entities(rest.get(..lt).unwrap_or("")));
            }
            let markup = rest.get(lt..).unwrap_or("");
            pos += lt + self.markup(markup);
        }
        self.finish()
    }

    /// Handles markup starting with `<`; returns how many bytes it used.
    fn markup(&mut self, markup: &str) -> usize {
        if let Some(body) = markup.strip_prefix("<!--") {
            return body.find("-->").map_or(markup.len(), |end| 4 + end + 3);
        }
        if let Some(body) = markup.strip_prefix("<![CDATA[") {
            let end = body.find("]]>").unwrap_or(body.len());
            self.text(body.get(..end).unwrap_or(""));
            return (9 + end + 3).min(markup.len());
        }
        if markup.starts_with("<!") || markup.starts_with("<?") {
            return markup.find('>').map_or(markup.len(), |end| end + 1);
        }
        let after_lt = markup.get(1..).unwrap_or("");
        let (closing, name_part) = match after_lt.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, after_lt),
        };
        let name = tag_name(name_part);
        let Some(tag_len) = (!name.is_empty()).then(|| find_tag_end(markup)).flatten() else {
            // Not a tag: the `<` is text.
            self.text("<");
            return 1;
        };
        let inner = markup.get(1..tag_len - 1).unwrap_or("");
        let self_closing = inner.ends_with('/');
        if closing {
            self.end_tag(&name);
        } else {
            if HIDDEN_CONTENT.contains(&name.as_str()) && !self_closing {
                // Skip the contents up to the closing tag.
                let body = markup.get(tag_len..).unwrap_or("");
                let close = format!("</{name}");
                return tag_len + find_ascii_ci(body, &close).unwrap_or(body.len());
            }
            self.start_tag(&name, inner);
            if self_closing {
                self.end_tag(&name);
            }
        }
        tag_len
    }

    fn start_tag(&mut self, name: &str, inner: &str) {
        match name {
            "ul" | "ol" => {
                self.line_break(1);
                if self.lists.len() >= MAX_LIST_DEPTH {
                    self.lists_too_deep += 1;
                    return;
                }
                self.lists.push(if name == "ol" {
                    ListKind::Ordered(1)
                } else {
                    ListKind::Unordered
                });
            }
            "li" => {
                let depth = self.lists.len();
                if self.items.last().is_some_and(|item| item.depth == depth) {
                    self.close_item();
                }
                self.line_break(1);
                let indent = "  ".repeat(depth.saturating_sub(1));
                let marker = match self.lists.last_mut() {
                    Some(ListKind::Ordered(n)) => {
                        let marker = format!("{n}. ");
                        *n = n.saturating_add(1);
                        marker
                    }
                    _ => "- ".to_owned(),
                };
                let line_start = self.out.len();
                self.out.push_str(&indent);
                self.out.push_str(&marker);
                self.items.push(OpenItem {
                    text: String::new(),
                    depth,
                    line_start,
                    content_start: self.out.len(),
                });
            }
            "a" => {
                self.close_anchor();
                let href = attribute(inner, "href").unwrap_or_default();
                self.anchor = Some((decode_entities(href.trim()), String::new()));
            }
            "td" | "th" => self.pending_space = true,
            _ if PARAGRAPH_TAGS.contains(&name) => self.line_break(2),
            _ if LINE_TAGS.contains(&name) => self.line_break(1),
            _ => {}
        }
    }

    fn end_tag(&mut self, name: &str) {
        match name {
            "ul" | "ol" => {
                if self.lists_too_deep > 0 {
                    // Its items were items of the deepest list: they stay open like those.
                    self.lists_too_deep -= 1;
                    self.line_break(1);
                    return;
                }
                let depth = self.lists.len();
                while self.items.last().is_some_and(|item| item.depth >= depth) {
                    self.close_item();
                }
                self.lists.pop();
                self.line_break(1);
            }
            "li" => {
                let depth = self.lists.len();
                if self.items.last().is_some_and(|item| item.depth == depth) {
                    self.close_item();
                }
                self.line_break(1);
            }
            "a" => self.close_anchor(),
            "td" | "th" => self.pending_space = true,
            // `<br>` was handled at its start.
            "br" => {}
            _ if PARAGRAPH_TAGS.contains(&name) => self.line_break(2),
            _ if LINE_TAGS.contains(&name) => self.line_break(1),
            _ => {}
        }
    }

    fn close_item(&mut self) {
        if let Some(item) = self.items.pop() {
            let text = item.text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !text.is_empty() {
                self.list_items.push(text);
                return;
            }
            // Nothing but white space after the marker (a line break may have taken the
            // marker's trailing space): drop the line. `trim` stops at the first other
            // character from either end, so this never reads the text of nested items.
            let content = item.content_start.min(self.out.len());
            if self
                .out
                .get(content..)
                .is_some_and(|rest| rest.trim().is_empty())
            {
                self.out.truncate(item.line_start);
            }
        }
    }

    fn close_anchor(&mut self) {
        if let Some((href, text)) = self.anchor.take() {
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if href.is_empty() {
                return;
            }
            if is_http_url(&href) && text != href {
                self.text(&format!(" ({href})"));
            }
            self.links.push(Link {
                title: (!text.is_empty()).then_some(text),
                url: href,
            });
        }
    }

    /// Appends text, collapsing whitespace.
    fn text(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            if self.pending_space {
                if !self.out.is_empty() && !self.out.ends_with(char::is_whitespace) {
                    self.out.push(' ');
                }
                if let Some(item) = self.items.last_mut()
                    && !item.text.is_empty()
                {
                    item.text.push(' ');
                }
                if let Some((_, anchor_text)) = &mut self.anchor
                    && !anchor_text.is_empty()
                {
                    anchor_text.push(' ');
                }
                self.pending_space = false;
            }
            self.out.push(c);
            if let Some(item) = self.items.last_mut() {
                item.text.push(c);
            }
            if let Some((_, anchor_text)) = &mut self.anchor {
                anchor_text.push(c);
            }
        }
    }

    /// Ends the current line; `newlines` = 2 leaves a blank line.
    fn line_break(&mut self, newlines: usize) {
        self.pending_space = false;
        let trimmed_len = self.out.trim_end_matches([' ', '\t']).len();
        self.out.truncate(trimmed_len);
        if self.out.is_empty() {
            return;
        }
        let existing = self.out.len() - self.out.trim_end_matches('\n').len();
        for _ in existing..newlines {
            self.out.push('\n');
        }
    }

    fn finish(mut self) -> HtmlText {
        self.close_anchor();
        while !self.items.is_empty() {
            self.close_item();
        }
        HtmlText {
            text: tidy_lines(self.out.lines().map(str::trim_end)),
            list_items: self.list_items,
            links: self.links,
        }
    }
}

/// The length of the tag starting at `markup[0] == '<'`, up to and including the `>`
/// that is not inside a quoted attribute value; `None` if there is none.
fn find_tag_end(markup: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in markup.char_indices().skip(1) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '>' => return Some(i + 1),
            None if c == '<' => return None,
            None => {}
        }
    }
    None
}

/// Finds `needle` (ASCII) in `haystack`, ignoring ASCII case; returns the byte offset.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let hay = haystack.as_bytes();
    let needle = needle.as_bytes();
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| {
        hay.get(i..i + needle.len())
            .is_some_and(|window| window.eq_ignore_ascii_case(needle))
    })
}

/// The value of attribute `wanted` (local name, case-insensitive) in the inside of a tag.
fn attribute(inner: &str, wanted: &str) -> Option<String> {
    // Skip the tag name.
    let mut rest = inner.trim_start_matches(|c: char| !c.is_whitespace() && c != '/');
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = rest.get(..name_end).unwrap_or("");
        rest = rest.get(name_end..).unwrap_or("").trim_start();
        let mut value = None;
        if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (v, remaining) = match after_eq.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = after_eq.get(1..).unwrap_or("");
                    match body.find(q) {
                        Some(end) => (
                            body.get(..end).unwrap_or(""),
                            body.get(end + 1..).unwrap_or(""),
                        ),
                        None => (body, ""),
                    }
                }
                _ => {
                    let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                    (
                        after_eq.get(..end).unwrap_or(""),
                        after_eq.get(end..).unwrap_or(""),
                    )
                }
            };
            value = Some(v);
            rest = remaining;
        }
        let local = name.rsplit(':').next().unwrap_or(name);
        if local.eq_ignore_ascii_case(wanted) {
            return Some(value.unwrap_or("").to_owned());
        }
    }
}

/// Character references are decoded by the decoder the mail channel uses too.
pub(crate) use verbund_tenant::html_entities::decode_entities;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_line_breaks() {
        let html =
            "<p>Erster   Absatz\n mit <strong>Fett</strong>druck.</p><p>Zweiter<br/>Zeile</p>";
        assert_eq!(
            html_to_text(html).text,
            "Erster Absatz mit Fettdruck.\n\nZweiter\nZeile"
        );
    }

    #[test]
    fn lists_become_lines_and_items() {
        let html = "<p>Bitte mitbringen:</p><ul><li>Personalausweis</li><li> Foto <em>(biometrisch)</em></li><li></li></ul><ol><li>Termin</li><li>Vorsprache</li></ol>Ende";
        let out = html_to_text(html);
        assert_eq!(
            out.text,
            "Bitte mitbringen:\n\n- Personalausweis\n- Foto (biometrisch)\n1. Termin\n2. Vorsprache\nEnde"
        );
        assert_eq!(
            out.list_items,
            [
                "Personalausweis",
                "Foto (biometrisch)",
                "Termin",
                "Vorsprache"
            ]
        );
    }

    #[test]
    fn unclosed_and_nested_list_items() {
        let out = html_to_text("<ul><li>A<li>B<ul><li>B1</li></ul></li><li>C");
        assert_eq!(out.list_items, ["A", "B1", "B", "C"]);
        assert_eq!(out.text, "- A\n- B\n  - B1\n- C");
    }

    #[test]
    fn links_entities_scripts_and_comments() {
        let html = "<p>Antrag: <a href=\"https://www.trier.de/a.pdf?x=1&amp;y=2\">Formular&nbsp;A&amp;ä</a>\
                    <!-- intern --><script>alert('<p>')</script> &auml;&#228;&#xE4; &unknown; AT&T</p>";
        let out = html_to_text(html);
        assert_eq!(
            out.text,
            "Antrag: Formular A&ä (https://www.trier.de/a.pdf?x=1&y=2) äää &unknown; AT&T"
        );
        assert_eq!(
            out.links,
            [Link {
                title: Some("Formular A&ä".to_owned()),
                url: "https://www.trier.de/a.pdf?x=1&y=2".to_owned(),
            }]
        );
    }

    #[test]
    fn plain_text_keeps_lines() {
        let out = html_to_text("  Zeile 1\r\n\n\n  Zeile 2 < 3 &amp; mehr\n");
        assert_eq!(out.text, "Zeile 1\n\nZeile 2 < 3 & mehr");
        assert!(out.list_items.is_empty());
    }

    #[test]
    fn broken_markup_does_not_panic() {
        for html in [
            "<p",
            "<p>a<",
            "<a href=\"x",
            "</",
            "<!--",
            "<![CDATA[x",
            "<script>x",
            "<li>ä<ul>",
            "<p>ü</p><",
            "&#xFFFFFFFFFF;",
            "&#55296;",
            "<a href='https://x.de'>ü</a",
            "<<<>>>",
            "<p>&</p>",
            "<ul></li></ul></ol><li>",
            "<p/>x<br/>",
        ] {
            let _ = html_to_text(html);
        }
        assert_eq!(html_to_text("<p>a</p><").text, "a\n\n<");
    }

    #[test]
    fn hidden_elements_make_a_text_html_and_are_dropped() {
        for html in [
            "Hallo<script>alert(1)</script> Welt",
            "Hallo<SCRIPT type=\"text/javascript\">document.write('<p>x</p>')</SCRIPT> Welt",
            "Hallo<style>p { color: red }</style> Welt",
            "<head><title>Export</title><meta charset=utf-8></head>Hallo Welt",
            "Hallo<noscript>Bitte JavaScript</noscript> <iframe src=x>y</iframe>Welt",
            "Hallo <svg><title>Icon</title></svg>Welt",
        ] {
            assert!(looks_like_html(html), "{html}");
            assert_eq!(clean_text(html).unwrap().text, "Hallo Welt", "{html}");
        }
    }

    #[test]
    fn plain_text_is_left_alone_and_references_are_decoded() {
        assert_eq!(clean_text("Zeile 1\nZeile 2 < 3, AT&T"), None);
        assert_eq!(clean_text("Kinder <6 Jahre & <Name> eintragen"), None);
        assert_eq!(
            clean_text("Stra&szlig;e &amp; Geb&uuml;hr").unwrap().text,
            "Straße & Gebühr"
        );
    }

    #[test]
    fn escaped_markup_is_converted_too() {
        // XZuFi files carry HTML escaped in XML, sometimes escaped twice.
        let once = "&lt;p&gt;Antrag&lt;/p&gt;&lt;ul&gt;&lt;li&gt;Foto&lt;/li&gt;&lt;/ul&gt;";
        let out = clean_text(once).unwrap();
        assert_eq!(out.text, "Antrag\n\n- Foto");
        assert_eq!(out.list_items, ["Foto"]);
        let twice = once.replace('&', "&amp;");
        assert_eq!(clean_text(&twice).unwrap().text, "Antrag\n\n- Foto");
        // The stored form does not change when it is cleaned again.
        assert_eq!(clean_text("Antrag\n\n- Foto"), None);
    }

    #[test]
    fn clean_line_is_one_line() {
        assert_eq!(
            clean_line("<p>Personalausweis</p><p>beantragen &amp; abholen</p>").as_deref(),
            Some("Personalausweis beantragen & abholen")
        );
        assert_eq!(clean_line("Personalausweis"), None);
    }
}
