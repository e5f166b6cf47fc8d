//! Bounding how deep mail-parser nests messages, before it sees the mail.
//!
//! mail-parser 0.11 reads a `message/rfc822` part without transfer encoding iteratively, but the
//! `Message` it returns nests one level per attached message, and dropping such a tree recurses
//! once per level: 100,000 levels overflow any thread's stack. A nested message in base64 or
//! quoted-printable is parsed recursively (three levels at most), and turning its parts into
//! owned data recurses over its whole tree inside mail-parser, before our code sees a result.
//!
//! So before parsing, every `Content-Type` field that mail-parser could read is found the way
//! mail-parser finds fields: at the start of a line, white space before and inside the name
//! ignored, in any case. Its value is parsed by mail-parser's own header parser, and those that
//! make mail-parser nest (`message/rfc822`, `message/global`, `multipart/digest`, in every
//! spelling mail-parser accepts: `message/ rfc822`, `message/(c)rfc822`, `MESSAGE/RFC822`, a
//! folded value, …) are counted. This over-counts (a field-like line in a body counts too), so
//! the count bounds the depth of the tree mail-parser builds. Beyond [`MAX_NESTING`] the value
//! is overwritten with a type that does not nest, keeping its length so that nothing moves;
//! such a part stays a plain attachment. The content of a nested message in base64 or
//! quoted-printable is decoded and checked the same way, within a budget of work linear in
//! the input; what is beyond the budget does not nest either.

use std::borrow::Cow;

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// How many nesting content types a mail (and each encoded message inside it) may declare.
pub const MAX_NESTING: usize = 64;
/// mail-parser parses encoded nested messages this many levels deep, no deeper.
const MAX_ENCODED_LEVELS: usize = 3;
/// A longer `Content-Type` value is not parsed; it counts as nesting.
const MAX_VALUE: usize = 64 * 1024;

/// The input with every nesting content type beyond the limit defused, and how many were.
pub struct Bounded<'a> {
    pub raw: Cow<'a, [u8]>,
    pub defused: usize,
}

/// See the module documentation.
pub fn bound(raw: &[u8]) -> Bounded<'_> {
    let parser = MessageParser::default();
    let mut budget = raw.len().saturating_mul(2).saturating_add(1 << 20);
    let scan = scan(&parser, raw, 0, &mut budget);
    if scan.defuse.is_empty() {
        return Bounded {
            raw: Cow::Borrowed(raw),
            defused: 0,
        };
    }
    let mut copy = raw.to_vec();
    for &(start, end) in &scan.defuse {
        defuse(&mut copy[start..end]);
    }
    Bounded {
        raw: Cow::Owned(copy),
        defused: scan.defuse.len(),
    }
}

/// Overwrites a `Content-Type` value with one that does not nest, keeping its length.
fn defuse(value: &mut [u8]) {
    let replacement: &[u8] = if value.len() > b" application/octet-stream".len() {
        b" application/octet-stream"
    } else {
        b" x/x"
    };
    for (i, b) in value.iter_mut().enumerate() {
        *b = replacement.get(i).copied().unwrap_or(b' ');
    }
}

#[derive(Default)]
struct Scan {
    /// Nesting declarations kept.
    kept: usize,
    /// Value spans to defuse.
    defuse: Vec<(usize, usize)>,
}

/// Transfer encodings that make mail-parser decode a nested message and parse it recursively.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Encoded {
    No,
    QuotedPrintable,
    Base64,
}

/// The fields of one paragraph (lines between empty lines): a header section is never spread
/// over two of them.
#[derive(Default)]
struct Paragraph {
    nesting: Vec<(usize, usize)>,
    base64: bool,
    quoted_printable: bool,
}

fn scan(parser: &MessageParser, raw: &[u8], level: usize, budget: &mut usize) -> Scan {
    let mut out = Scan::default();
    let mut paragraph = Paragraph::default();
    // Lines up to here belong to a field already looked at (its continuation lines).
    let mut covered_until = 0;
    let mut pos = 0;
    loop {
        let line_end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| pos + p);
        let line = &raw[pos..line_end];
        if line.is_empty() || line == b"\r" {
            let body = (line_end + 1).min(raw.len());
            finish(parser, raw, body, level, budget, &mut paragraph, &mut out);
        } else if pos >= covered_until {
            if let Some(colon) = field_name(line, b"content-type") {
                let start = pos + colon + 1;
                let end = field_end(raw, line_end);
                covered_until = end;
                if nests(parser, &raw[start..end]) {
                    paragraph.nesting.push((start, end));
                }
            } else if let Some(colon) = field_name(line, b"content-transfer-encoding") {
                let start = pos + colon + 1;
                let end = field_end(raw, line_end);
                covered_until = end;
                match encoding(parser, &raw[start..end]) {
                    Encoded::Base64 => paragraph.base64 = true,
                    Encoded::QuotedPrintable => paragraph.quoted_printable = true,
                    Encoded::No => {}
                }
            }
        }
        if line_end >= raw.len() {
            break;
        }
        pos = line_end + 1;
    }
    finish(
        parser,
        raw,
        raw.len(),
        level,
        budget,
        &mut paragraph,
        &mut out,
    );
    out
}

/// Counts the nesting declarations of a finished paragraph; checks the content of an encoded
/// nested message, which starts at `body`.
fn finish(
    parser: &MessageParser,
    raw: &[u8],
    body: usize,
    level: usize,
    budget: &mut usize,
    paragraph: &mut Paragraph,
    out: &mut Scan,
) {
    let p = std::mem::take(paragraph);
    if p.nesting.is_empty() {
        return;
    }
    let encoded = (p.base64 || p.quoted_printable) && level < MAX_ENCODED_LEVELS;
    // Whether the encoded content is within the limits; decided once for the paragraph.
    let mut inner_ok: Option<bool> = None;
    for &span in &p.nesting {
        if out.kept >= MAX_NESTING {
            out.defuse.push(span);
            continue;
        }
        if encoded {
            let ok = *inner_ok
                .get_or_insert_with(|| encoded_content_ok(parser, &raw[body..], &p, level, budget));
            if !ok {
                out.defuse.push(span);
                continue;
            }
        }
        out.kept += 1;
    }
}

/// Decodes what may be the content of an encoded nested message and checks it recursively.
/// Both encodings are tried when both were declared in the paragraph.
fn encoded_content_ok(
    parser: &MessageParser,
    rest: &[u8],
    p: &Paragraph,
    level: usize,
    budget: &mut usize,
) -> bool {
    let mut decoded = Vec::new();
    if p.base64 {
        // mail-parser's base64 stops at the first byte outside the alphabet (a boundary).
        let end = rest
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b"+/= \t\r\n".contains(&b)))
            .unwrap_or(rest.len());
        if end > *budget {
            return false;
        }
        *budget -= end;
        decoded.push(super::text::lenient_base64(&rest[..end]));
    }
    if p.quoted_printable {
        if rest.len() > *budget {
            return false;
        }
        *budget -= rest.len();
        decoded.push(super::text::lenient_quoted_printable(rest));
    }
    decoded.iter().all(|inner| {
        let scan = scan(parser, inner, level + 1, budget);
        scan.defuse.is_empty()
    })
}

/// If the line starts a field of this (lower-case) name as mail-parser reads names — leading
/// white space skipped, white space inside the name ignored, any case — the offset of its
/// colon.
fn field_name(line: &[u8], name: &[u8]) -> Option<usize> {
    let mut matched = 0;
    for (i, &b) in line.iter().enumerate() {
        if b.is_ascii_whitespace() {
            continue;
        }
        if b == b':' {
            // mail-parser skips a colon before the name starts.
            if matched == 0 {
                continue;
            }
            return (matched == name.len()).then_some(i);
        }
        if matched < name.len() && b.eq_ignore_ascii_case(&name[matched]) {
            matched += 1;
        } else {
            return None;
        }
    }
    None
}

/// The end (exclusive, before the line break) of a field whose first line ends at `line_end`,
/// over its continuation lines (those that start with a space or tab).
fn field_end(raw: &[u8], mut line_end: usize) -> usize {
    while line_end < raw.len() && matches!(raw.get(line_end + 1), Some(b' ' | b'\t')) {
        line_end = raw[line_end + 1..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| line_end + 1 + p);
    }
    line_end
}

/// Whether mail-parser reads this `Content-Type` value as a type that nests a message.
fn nests(parser: &MessageParser, value: &[u8]) -> bool {
    if value.len() > MAX_VALUE {
        return true;
    }
    let mut field = Vec::with_capacity(value.len() + 20);
    field.extend_from_slice(b"Content-Type:");
    field.extend_from_slice(value);
    field.extend_from_slice(b"\n\n");
    let Some(message) = parser.parse_headers(&field) else {
        return false;
    };
    message.content_type().is_some_and(|ct| {
        // The same comparison as mail-parser's `mime_type`.
        (ct.ctype() == "message" && [Some("rfc822"), Some("global")].contains(&ct.subtype()))
            || (ct.ctype() == "multipart" && ct.subtype() == Some("digest"))
    })
}

/// How mail-parser reads this `Content-Transfer-Encoding` value.
fn encoding(parser: &MessageParser, value: &[u8]) -> Encoded {
    if value.len() > MAX_VALUE {
        return Encoded::Base64;
    }
    let mut field = Vec::with_capacity(value.len() + 30);
    field.extend_from_slice(b"Content-Transfer-Encoding:");
    field.extend_from_slice(value);
    field.extend_from_slice(b"\n\n");
    let Some(message) = parser.parse_headers(&field) else {
        return Encoded::No;
    };
    match message
        .parts
        .first()
        .and_then(|p| p.headers.first())
        .map(|h| &h.value)
    {
        Some(HeaderValue::Text(t)) if t.eq_ignore_ascii_case("base64") => Encoded::Base64,
        Some(HeaderValue::Text(t)) if t.eq_ignore_ascii_case("quoted-printable") => {
            Encoded::QuotedPrintable
        }
        _ => Encoded::No,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn nested(spelling: &str, levels: usize) -> Vec<u8> {
        let mut raw = String::new();
        for _ in 0..levels {
            raw.push_str("Content-Type: ");
            raw.push_str(spelling);
            raw.push_str("\r\n\r\n");
        }
        raw.push_str("Subject: innen\r\n\r\nText\r\n");
        raw.into_bytes()
    }

    #[test]
    fn every_spelling_counts() {
        for spelling in [
            "message/rfc822",
            "Message/RFC822",
            "message/ rfc822",
            "message /rfc822",
            "message/(c)rfc822",
            "message/(a (nested) comment)rfc822",
            "message/rfc822;\r\n x=y",
            "message/global",
            "multipart/digest; boundary=x",
        ] {
            let deep = nested(spelling, MAX_NESTING + 3);
            assert_eq!(bound(&deep).defused, 3, "{spelling}");
            let shallow = nested(spelling, MAX_NESTING);
            assert_eq!(bound(&shallow).defused, 0, "{spelling}");
        }
        for name in [
            "content-type",
            "CONTENT-TYPE",
            "  Content-Type",
            "Content-Type ",
            "Con tent-Type",
        ] {
            let raw = format!("{name}: message/rfc822\r\n\r\n").repeat(MAX_NESTING + 1);
            assert_eq!(bound(raw.as_bytes()).defused, 1, "{name}");
        }
    }

    #[test]
    fn other_types_do_not_count() {
        let raw = "Content-Type: message/delivery-status\r\n\r\nContent-Type: text/plain\r\n\r\n"
            .repeat(200);
        assert!(matches!(bound(raw.as_bytes()).raw, Cow::Borrowed(_)));
    }

    #[test]
    fn defused_values_keep_their_length() {
        let raw = nested("message/(c)rfc822", MAX_NESTING + 1);
        let b = bound(&raw);
        assert_eq!(b.raw.len(), raw.len());
        let text = String::from_utf8(b.raw.into_owned()).unwrap();
        assert_eq!(text.matches("message/(c)rfc822").count(), MAX_NESTING);
        assert_eq!(text.matches("Content-Type: x/x").count(), 1);
    }

    fn base64(data: &[u8]) -> String {
        use base64::Engine as _;
        // 57 bytes make a 76-character line.
        data.chunks(57)
            .map(|line| base64::engine::general_purpose::STANDARD.encode(line) + "\r\n")
            .collect()
    }

    #[test]
    fn encoded_nested_content_is_checked() {
        let wrap = |cte: &str, body: String| {
            format!(
                "Subject: aussen\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{body}"
            )
        };
        let deep = nested("message/ rfc822", MAX_NESTING + 1);
        let raw = wrap("base64", base64(&deep));
        assert_eq!(bound(raw.as_bytes()).defused, 1);
        let raw = wrap("=?us-ascii?Q?base64?=", base64(&deep));
        assert_eq!(bound(raw.as_bytes()).defused, 1);
        let qp = String::from_utf8(deep.clone())
            .unwrap()
            .replace("message/", "message=2F");
        let raw = wrap("quoted-printable", qp);
        assert_eq!(bound(raw.as_bytes()).defused, 1);
        // Within the limit, the encoded message stays a message.
        let shallow = nested("message/rfc822", 3);
        let raw = wrap("base64", base64(&shallow));
        assert_eq!(bound(raw.as_bytes()).defused, 0);
    }

    #[test]
    fn field_names_as_mail_parser_reads_them() {
        assert_eq!(field_name(b"Content-Type: x", b"content-type"), Some(12));
        assert_eq!(
            field_name(b" \tcOnTeNt - tYpE :x", b"content-type"),
            Some(17)
        );
        assert_eq!(field_name(b"X-Content-Type: x", b"content-type"), None);
        assert_eq!(field_name(b"Content-Typed: x", b"content-type"), None);
        assert_eq!(field_name(b"Content-Type x", b"content-type"), None);
    }
}
