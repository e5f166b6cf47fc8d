//! A small, forgiving HTML-to-text converter for mail bodies.
//!
//! It is not a browser: it knows which elements break lines, drops `<head>`, `<style>`,
//! `<script>` and hidden elements, decodes entities, collapses white space outside `<pre>`,
//! prefixes cited `<blockquote>`s with `> ` and remembers where the first quoted earlier
//! message starts (Thunderbird/Apple `blockquote type=cite`, Gmail `gmail_quote`, Outlook on the
//! web `divRplyFwdMsg`, …). It never panics and runs in linear time.

use super::text::normalize_text;

/// Marks the start of the quoted part inside the output until [`html_to_text`] removes it.
const QUOTE_MARK: char = '\u{E000}';

/// How many nested `<blockquote>`s get their own `> ` or indent.
const MAX_QUOTE_PREFIX: usize = 8;

/// The result of converting one HTML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlText {
    /// The readable text, normalised like every other body text.
    pub text: String,
    /// Byte offset in `text` where the quoted earlier message starts, if the markup says so.
    pub quote_start: Option<usize>,
}

/// Converts HTML into plain text. See the module documentation.
pub fn html_to_text(html: &str) -> HtmlText {
    let mut conv = Converter::default();
    conv.run(html);
    let raw = conv.out.finish();
    let text = normalize_text(&raw);
    match text.find(QUOTE_MARK) {
        Some(pos) => HtmlText {
            text: text.chars().filter(|&c| c != QUOTE_MARK).collect(),
            quote_start: Some(pos),
        },
        None => HtmlText {
            text,
            quote_start: None,
        },
    }
}

/// Elements that end the current line when they open or close.
const LINE_BLOCKS: &[&str] = &[
    "div",
    "li",
    "tr",
    "dt",
    "dd",
    "address",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "form",
    "fieldset",
    "figure",
    "figcaption",
    "main",
    "center",
    "caption",
    "legend",
    "details",
    "summary",
    "option",
    "tbody",
    "thead",
    "tfoot",
    "html",
    "body",
];

/// Elements that stand apart as a paragraph (a blank line before and after).
const PARA_BLOCKS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "table",
    "pre",
    "blockquote",
    "hr",
];

/// Elements whose content is never shown.
const HIDDEN_CONTENT: &[&str] = &[
    "head", "title", "style", "script", "template", "xml", "object", "svg", "iframe", "noframes",
];

/// Void elements: they never have content or an end tag.
const VOID: &[&str] = &[
    "br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "param", "source",
    "track", "wbr",
];

#[derive(Default)]
struct Converter {
    out: Writer,
    /// Set while inside an element that hides its content: (tag name, nesting of that name).
    hidden: Option<(String, usize)>,
    /// Open list elements: `None` for `ul`, `Some(n)` for the next number of an `ol`.
    lists: Vec<Option<u32>>,
    /// Open `<blockquote>`s: whether each one was a citation (`> `) or just an indent.
    blockquotes: Vec<bool>,
    /// The open link: href to show after the link text, and where the link text started.
    link: Option<(Option<String>, usize)>,
    quote_marked: bool,
    /// The current paragraph is an Outlook line (`MsoNormal`), not a real paragraph.
    compact_p: bool,
}

impl Converter {
    fn run(&mut self, html: &str) {
        let bytes = html.as_bytes();
        let mut i = 0;
        let mut text_start = 0;
        while i < bytes.len() {
            if bytes[i] != b'<' {
                i += 1;
                continue;
            }
            // Flush the text before this '<'.
            if text_start < i {
                self.text(&html[text_start..i]);
            }
            let rest = &html[i..];
            let next = bytes.get(i + 1).copied().unwrap_or(b' ');
            if let Some(comment) = rest.strip_prefix("<!--") {
                i = match comment.find("-->") {
                    Some(end) => i + 4 + end + 3,
                    None => bytes.len(),
                };
            } else if rest.starts_with("<![CDATA[") {
                i = match rest.find("]]>") {
                    Some(end) => i + end + 3,
                    None => bytes.len(),
                };
            } else if next == b'!' || next == b'?' {
                // Doctype, processing instruction, Outlook's `<![if !supportLists]>`.
                i = match rest.find('>') {
                    Some(end) => i + end + 1,
                    None => bytes.len(),
                };
            } else if next.is_ascii_alphabetic()
                || (next == b'/' && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic))
            {
                let end = tag_end(bytes, i + 1);
                let inner = &html[i + 1..end.min(bytes.len())];
                i = (end + 1).min(bytes.len());
                if let Some(tag) = Tag::parse(inner)
                    && let Some(skip_to) = self.tag(&tag, html, i)
                {
                    i = skip_to;
                }
            } else {
                // A lone '<' as in "a < b": it is text.
                self.text("<");
                i += 1;
            }
            text_start = i;
        }
        if text_start < bytes.len() {
            self.text(&html[text_start..]);
        }
    }

    fn text(&mut self, raw: &str) {
        if self.hidden.is_some() {
            return;
        }
        let decoded = decode_entities(raw);
        self.out.text(&decoded);
    }

    /// Ends the open link: its target follows its text unless the text shows it already.
    fn close_link(&mut self) {
        if let Some((Some(href), start)) = self.link.take() {
            let target = href.strip_prefix("mailto:").unwrap_or(&href);
            let shown = self.out.buf.get(start..).unwrap_or("");
            if !shown.trim().is_empty() && !shown.contains(target) {
                let note = format!(" ({target})");
                self.out.text(&note);
            }
        }
    }

    /// Handles one tag; returns a new scan position when the content is skipped wholesale.
    fn tag(&mut self, tag: &Tag, html: &str, pos: usize) -> Option<usize> {
        let name = tag.name.as_str();

        // Raw text elements: their content is not markup, skip to the end tag.
        if !tag.closing && (name == "script" || name == "style") && !tag.self_closing {
            let close = format!("</{name}");
            let rest = html.get(pos..).unwrap_or("");
            return Some(match find_ascii_ci(rest, &close) {
                Some(at) => {
                    let after = pos + at;
                    match html[after..].find('>') {
                        Some(gt) => after + gt + 1,
                        None => html.len(),
                    }
                }
                None => html.len(),
            });
        }

        // Inside hidden content only the nesting of the hiding element matters.
        if let Some((hidden_name, depth)) = self.hidden.as_mut() {
            if name == hidden_name.as_str() && !VOID.contains(&name) {
                if tag.closing {
                    if *depth <= 1 {
                        self.hidden = None;
                    } else {
                        *depth -= 1;
                    }
                } else if !tag.self_closing {
                    *depth += 1;
                }
            } else if hidden_name == "head" && name == "body" && !tag.closing {
                // A broken document without `</head>`.
                self.hidden = None;
                self.out.block(1);
            }
            return None;
        }

        if !tag.closing
            && !tag.self_closing
            && !VOID.contains(&name)
            && (HIDDEN_CONTENT.contains(&name) || tag.is_hidden())
        {
            self.hidden = Some((name.to_owned(), 1));
            return None;
        }

        if !tag.closing && !self.quote_marked && tag.starts_quote() {
            self.quote_marked = true;
            self.out.mark();
        }

        match name {
            "br" => self.out.line_break(),
            "hr" => self.out.block(2),
            "p" => {
                // Outlook writes one `<p class=MsoNormal>` per line, without margins.
                if !tag.closing {
                    self.compact_p =
                        tag.class_contains("msonormal") || tag.class_contains("msolistparagraph");
                }
                self.out.block(if self.compact_p { 1 } else { 2 });
            }
            "li" if !tag.closing => {
                self.out.block(1);
                let bullet = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let s = format!("{n}. ");
                        *n = n.saturating_add(1);
                        s
                    }
                    _ => "- ".to_owned(),
                };
                self.out.text_raw(&bullet);
            }
            "ul" | "ol" => {
                if tag.closing {
                    self.lists.pop();
                } else if !tag.self_closing {
                    let start = tag
                        .attr("start")
                        .and_then(|s| s.trim().parse::<u32>().ok())
                        .unwrap_or(1);
                    self.lists.push((name == "ol").then_some(start));
                }
                self.out.block(if self.lists.is_empty() { 2 } else { 1 });
            }
            "blockquote" => {
                if tag.closing {
                    self.out.block(2);
                    if self.blockquotes.pop().is_some() {
                        self.out.set_prefix(&self.blockquotes);
                    }
                } else if !tag.self_closing {
                    self.out.block(2);
                    let cite = tag
                        .attr("type")
                        .is_some_and(|t| t.eq_ignore_ascii_case("cite"))
                        || tag.class_contains("gmail_quote")
                        || tag.class_contains("yahoo");
                    self.blockquotes.push(cite);
                    self.out.set_prefix(&self.blockquotes);
                }
            }
            "pre" => {
                self.out.block(2);
                if tag.closing {
                    self.out.pre = self.out.pre.saturating_sub(1);
                } else if !tag.self_closing {
                    self.out.pre += 1;
                }
            }
            "td" | "th" if !tag.closing => self.out.space(),
            "a" => {
                // Links do not nest: a new `<a>` ends the open one (as in a browser), so that
                // each link's text is looked at once and the work stays linear.
                self.close_link();
                if !tag.closing && !tag.self_closing {
                    let href = tag
                        .attr("href")
                        .map(|h| decode_entities(h).trim().to_owned())
                        .filter(|h| {
                            let lower = h.to_ascii_lowercase();
                            lower.starts_with("http://")
                                || lower.starts_with("https://")
                                || lower.starts_with("mailto:")
                        });
                    self.link = Some((href, self.out.buf.len()));
                }
            }
            _ if PARA_BLOCKS.contains(&name) => self.out.block(2),
            _ if LINE_BLOCKS.contains(&name) => self.out.block(1),
            _ => {}
        }
        None
    }
}

/// Finds the `>` that ends the tag starting after `<` at `from`, honouring quoted attributes.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut quote: Option<u8> = None;
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => {
                // Only a quote right after '=' (possibly with spaces) opens a value.
                let mut j = i;
                while j > from && bytes[j - 1].is_ascii_whitespace() {
                    j -= 1;
                }
                if j > from && bytes[j - 1] == b'=' {
                    quote = Some(b);
                }
            }
            None if b == b'>' => return i,
            None => {}
        }
        i += 1;
    }
    bytes.len()
}

/// ASCII case-insensitive substring search.
fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn parse(inner: &str) -> Option<Tag> {
        let (closing, body) = match inner.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, inner),
        };
        let name_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '-' || c == '_'))
            .unwrap_or(body.len());
        if name_len == 0 {
            return None;
        }
        let name = body[..name_len].to_ascii_lowercase();
        let rest = &body[name_len..];
        let self_closing = rest.trim_end().ends_with('/');
        Some(Tag {
            name,
            closing,
            self_closing,
            attrs: if closing {
                Vec::new()
            } else {
                parse_attrs(rest)
            },
        })
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn class_contains(&self, word: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.to_ascii_lowercase().contains(word))
    }

    fn is_hidden(&self) -> bool {
        if self.attrs.iter().any(|(k, _)| k == "hidden") {
            return true;
        }
        self.attr("style").is_some_and(|s| {
            let compact: String = s
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            compact.contains("display:none")
                || compact.contains("visibility:hidden")
                || compact.contains("mso-hide:all")
        })
    }

    /// Elements that mail programs put around the quoted earlier message.
    fn starts_quote(&self) -> bool {
        let id = self
            .attr("id")
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match self.name.as_str() {
            "blockquote" => {
                self.attr("type")
                    .is_some_and(|t| t.eq_ignore_ascii_case("cite"))
                    || self.class_contains("gmail_quote")
                    || self.class_contains("yahoo_quoted")
            }
            "div" => {
                self.class_contains("gmail_quote")
                    || self.class_contains("moz-cite-prefix")
                    || self.class_contains("moz-forward-container")
                    || self.class_contains("yahoo_quoted")
                    || self.class_contains("zmail_extra")
                    || id == "divrplyfwdmsg"
                    || id == "appendonsend"
                    || id == "mail-editor-reference-message-container"
                    || id == "olk_src_body_section"
            }
            _ => false,
        }
    }
}

fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && attrs.len() < 64 {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && bytes[i] != b'='
            && bytes[i] != b'/'
        {
            i += 1;
        }
        if start == i {
            if i < bytes.len() {
                i += 1;
            }
            continue;
        }
        let name = s[start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let q = bytes[i];
                let vstart = i + 1;
                let vend = bytes[vstart..]
                    .iter()
                    .position(|&b| b == q)
                    .map_or(bytes.len(), |p| vstart + p);
                value = s.get(vstart..vend).unwrap_or("").to_owned();
                i = (vend + 1).min(bytes.len());
            } else {
                let vstart = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = s.get(vstart..i).unwrap_or("").to_owned();
            }
        }
        attrs.push((name, value));
    }
    attrs
}

/// Builds the output text: collapses white space, adds line breaks and quote prefixes.
#[derive(Default)]
struct Writer {
    buf: String,
    /// Line breaks owed before the next visible character (capped at 2: one blank line).
    pending_breaks: usize,
    pending_space: bool,
    /// Nothing visible has been written on the current line yet.
    line_empty: bool,
    prefix: String,
    pre: usize,
    mark_pending: bool,
    /// The prefix of the last line that had text.
    last_prefix: String,
}

impl Writer {
    fn finish(self) -> String {
        self.buf
    }

    fn set_prefix(&mut self, quotes: &[bool]) {
        let mut p = String::new();
        // Deeper quotes are not marked further: the prefix would outgrow the text.
        for &cite in quotes.iter().take(MAX_QUOTE_PREFIX) {
            p.push_str(if cite { "> " } else { "    " });
        }
        self.prefix = p;
    }

    /// Ends the current line (`n = 1`) or paragraph (`n = 2`).
    fn block(&mut self, n: usize) {
        if self.buf.is_empty() {
            return;
        }
        self.pending_breaks = self.pending_breaks.max(n);
        self.pending_space = false;
    }

    /// A `<br>`: ends the current line, or adds an empty line when the line is already ended.
    fn line_break(&mut self) {
        if self.pending_breaks == 0 {
            self.pending_breaks = 1;
        } else {
            self.pending_breaks = (self.pending_breaks + 1).min(3);
        }
        self.pending_space = false;
        if self.buf.is_empty() {
            // A leading <br>: keep nothing, the text is trimmed anyway.
            self.pending_breaks = 0;
        }
    }

    fn space(&mut self) {
        if !self.line_empty && self.pending_breaks == 0 {
            self.pending_space = true;
        }
    }

    /// The quoted part starts here: the mark goes right before the next visible character,
    /// which will stand at the start of a line.
    fn mark(&mut self) {
        if !self.buf.is_empty() {
            self.pending_breaks = self.pending_breaks.max(1);
        }
        self.mark_pending = true;
    }

    fn flush_breaks(&mut self) {
        if self.pending_breaks > 0 && !self.buf.is_empty() {
            let n = self.pending_breaks.min(3);
            for k in 0..n {
                self.buf.push('\n');
                if k + 1 < n {
                    // A blank line inside a quote keeps the quote marks it shares with the
                    // lines around it.
                    let shared: String = self
                        .prefix
                        .chars()
                        .zip(self.last_prefix.chars())
                        .take_while(|(a, b)| a == b)
                        .map(|(a, _)| a)
                        .collect();
                    self.buf.push_str(shared.trim_end());
                }
            }
            self.line_empty = true;
            self.pending_space = false;
        } else if self.buf.is_empty() {
            self.line_empty = true;
        }
        self.pending_breaks = 0;
    }

    fn start_visible(&mut self) {
        self.flush_breaks();
        if self.mark_pending {
            self.mark_pending = false;
            self.buf.push(QUOTE_MARK);
            self.line_empty = true;
        }
        if self.line_empty {
            if self.buf.is_empty() || self.buf.ends_with('\n') || self.buf.ends_with(QUOTE_MARK) {
                let prefix = self.prefix.clone();
                self.buf.push_str(&prefix);
                self.last_prefix = prefix;
            }
            self.line_empty = false;
            self.pending_space = false;
        } else if self.pending_space {
            self.buf.push(' ');
            self.pending_space = false;
        }
    }

    /// Text from the document: white space collapses unless inside `<pre>`.
    fn text(&mut self, s: &str) {
        for c in s.chars() {
            match c {
                '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{00AD}' | QUOTE_MARK => {}
                '\n' if self.pre > 0 => {
                    self.pending_breaks = 0;
                    self.flush_breaks();
                    self.buf.push('\n');
                    self.line_empty = true;
                }
                '\r' if self.pre > 0 => {}
                c if c.is_whitespace() && c != '\u{A0}' && self.pre == 0 => {
                    if !self.line_empty {
                        self.pending_space = true;
                    }
                }
                c => {
                    self.start_visible();
                    self.buf
                        .push(if c == '\u{A0}' || c == '\t' { ' ' } else { c });
                }
            }
        }
    }

    /// Text generated by the converter (bullets); spaces are kept.
    fn text_raw(&mut self, s: &str) {
        for c in s.chars() {
            self.start_visible();
            self.buf.push(c);
        }
    }
}

pub use verbund_tenant::html_entities::decode_entities;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn style_script_and_head_are_dropped() {
        let t = html_to_text(
            "<html><head><title>Titel</title><style>p{color:red}</style></head>\
             <body><script>alert('x')</script><p>Guten Tag,</p><p>ich brauche einen Termin.</p></body></html>",
        );
        assert_eq!(t.text, "Guten Tag,\n\nich brauche einen Termin.");
        assert_eq!(t.quote_start, None);
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            decode_entities(
                "Stra&szlig;e &amp; Gr&uuml;n&#223;&#x20AC; &bdquo;x&ldquo; &#150; AT&T &foo;"
            ),
            "Straße & Grünß€ „x“ – AT&T &foo;"
        );
        let t = html_to_text("Antrag f&uuml;r&nbsp;Personalausweis &lt;eilig&gt;");
        assert_eq!(t.text, "Antrag für Personalausweis <eilig>");
    }

    #[test]
    fn line_breaks_follow_blocks() {
        let t = html_to_text(
            "<div>Zeile 1</div><div><br></div><div>Zeile 2<br></div><div>Zeile 3</div>",
        );
        assert_eq!(t.text, "Zeile 1\n\nZeile 2\nZeile 3");
        let t = html_to_text("a<br>b<br><br>c");
        assert_eq!(t.text, "a\nb\n\nc");
        let t = html_to_text(
            "<ul><li>Ausweis</li><li>Foto</li></ul><ol><li>eins</li><li>zwei</li></ol>",
        );
        assert_eq!(t.text, "- Ausweis\n- Foto\n\n1. eins\n2. zwei");
        let t = html_to_text(
            "<p class=MsoNormal>Hallo<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Gru&szlig;</p><p class=MsoNormal>Anna</p><p>Absatz</p>",
        );
        assert_eq!(t.text, "Hallo\n\nGruß\nAnna\n\nAbsatz");
        let t = html_to_text(
            "<table><tr><td>Name:</td><td>Anna</td></tr><tr><td>Ort:</td><td>Koblenz</td></tr></table>",
        );
        assert_eq!(t.text, "Name: Anna\nOrt: Koblenz");
    }

    #[test]
    fn whitespace_collapses_but_pre_keeps_it() {
        let t = html_to_text("<p>  viel \n\n   Platz  </p><pre>a  b\n  c</pre>");
        assert_eq!(t.text, "viel Platz\n\na  b\n  c");
    }

    #[test]
    fn hidden_elements_and_comments_are_dropped() {
        let t = html_to_text(
            "<!--[if mso]>x<![endif]--><span style=\"display: none\">Vorschau <b>fett</b></span>Sichtbar<div hidden>weg</div>",
        );
        assert_eq!(t.text, "Sichtbar");
    }

    #[test]
    fn cited_blockquote_is_prefixed_and_marked() {
        let t = html_to_text(
            "<div>Danke, anbei das Formular.</div><div class=\"moz-cite-prefix\">Am 12.03.2026 um 10:15 schrieb Stadt Koblenz:<br></div>\
             <blockquote type=\"cite\"><p>Bitte senden Sie uns das Formular.</p><p>Ihr B&uuml;rgerservice</p></blockquote>",
        );
        assert_eq!(
            t.text,
            "Danke, anbei das Formular.\nAm 12.03.2026 um 10:15 schrieb Stadt Koblenz:\n\n> Bitte senden Sie uns das Formular.\n>\n> Ihr Bürgerservice"
        );
        let q = t.quote_start.unwrap();
        assert!(t.text[q..].starts_with("Am 12.03.2026"));
    }

    #[test]
    fn outlook_and_gmail_quote_containers() {
        let t = html_to_text(
            "<p>Neu</p><hr><div id=\"divRplyFwdMsg\"><b>Von:</b> Stadt</div><p>alt</p>",
        );
        assert!(t.text[t.quote_start.unwrap()..].starts_with("Von: Stadt"));
        let t = html_to_text(
            "<div dir=ltr>Neu</div><br><div class=\"gmail_quote\"><div class=gmail_attr>Am Do. schrieb X:</div><blockquote class=\"gmail_quote\">alt</blockquote></div>",
        );
        assert_eq!(t.text[..t.quote_start.unwrap()].trim_end(), "Neu");
        let t = html_to_text("<blockquote>nur eingerückt</blockquote>");
        assert_eq!(t.text, "    nur eingerückt");
        assert_eq!(t.quote_start, None);
    }

    #[test]
    fn links_show_their_target_once() {
        let t = html_to_text(
            "<a href=\"https://koblenz.example/termin\">Termin buchen</a> oder <a href=\"mailto:a@b.example\">a@b.example</a>",
        );
        assert_eq!(
            t.text,
            "Termin buchen (https://koblenz.example/termin) oder a@b.example"
        );
    }

    #[test]
    fn nested_links_take_linear_time() {
        // Each `</a>` once copied all the text after its link's start: quadratic.
        let html = |n: usize| {
            "<a href=\"https://x.example/\"><ul><li>".repeat(n)
                + "innen"
                + &"</li></ul></a>".repeat(n)
        };
        // CPU time of this thread, not the wall clock (a loaded machine interrupts long runs
        // more often than short ones); both sizes in turn, the best of three each.
        let cpu = || {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
            std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
        };
        let time = |n: usize| {
            let h = html(n);
            let t = cpu();
            let out = html_to_text(&h);
            assert!(out.text.len() <= 12 * h.len());
            cpu().saturating_sub(t)
        };
        let (mut small, mut large) = (std::time::Duration::MAX, std::time::Duration::MAX);
        for _ in 0..3 {
            small = small.min(time(2_000));
            large = large.min(time(16_000));
        }
        assert!(
            large <= small * 32 + std::time::Duration::from_millis(50),
            "{small:?} → {large:?}"
        );
        let t =
            html_to_text("<a href=\"https://a.example\">A<a href=\"https://b.example\">B</a></a>");
        assert_eq!(t.text, "A (https://a.example)B (https://b.example)");
    }

    #[test]
    fn broken_markup_never_panics() {
        for s in [
            "<",
            "<a",
            "<a href='",
            "&#",
            "&#x110000;",
            "<!--",
            "<![CDATA[",
            "</",
            "<script>",
            "<p\u{E000}>ä<",
            "&#99999999999;",
            "<div class=gmail_quote>",
        ] {
            let _ = html_to_text(s);
        }
        assert_eq!(html_to_text("a < b & c > d").text, "a < b & c > d");
    }
}
