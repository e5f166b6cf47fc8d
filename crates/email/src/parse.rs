//! Parsing inbound mail: raw RFC 5322 bytes in, a [`ParsedMail`] out.
//!
//! The MIME work is done by `mail-parser`; this module decides what the body text is, which
//! part of it the citizen newly wrote, which parts are attachments, whether a machine sent the
//! mail (loop protection) and whether it is a bounce of one of our own mails. It is lenient
//! with broken mail and never panics; only input without any header section is an error.

mod auto;
mod dsn;
mod html;
pub mod nesting;
mod quote;
mod text;

use std::borrow::Cow;

use mail_parser::{
    Encoding, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::address;

pub use auto::AutoReason;
pub use html::{HtmlText, html_to_text};
pub use quote::{Split, quote_start, split as split_quote, strip_signature};

/// How deep the parser follows nested multiparts and attached messages.
pub const MAX_DEPTH: usize = 20;
/// How many MIME parts of one mail are looked at, at most.
const MAX_PARTS: usize = 2_000;

/// A mailbox: display name and lower-cased address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub name: Option<String>,
    pub address: String,
    /// A syntactically valid RFC 5321 mailbox that stands in the header as it is: the only
    /// kind of address a receipt or reply may go to.
    pub answerable: bool,
}

/// An attachment or inline image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// The file name without any directory part (RFC 2231 and RFC 2047 decoded).
    pub filename: Option<String>,
    /// Lower-case `type/subtype`.
    pub content_type: String,
    /// Size of `data` in bytes.
    pub size: usize,
    /// The decoded content. Not serialised.
    #[serde(skip_serializing)]
    pub data: Vec<u8>,
    /// An image embedded in the HTML body (`Content-ID` inside `multipart/related` or with
    /// `Content-Disposition: inline`), as opposed to a file the sender attached.
    pub inline: bool,
    /// `Content-ID` without angle brackets.
    pub content_id: Option<String>,
}

/// A mail attached as `message/rfc822` (forwarded as attachment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forwarded {
    pub subject: Option<String>,
    pub from: Option<String>,
}

/// What a delivery status notification says about one of our mails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bounce {
    /// Message-ID (without `<>`) of the mail that bounced.
    pub original_message_id: Option<String>,
    /// The recipient that failed (Original-Recipient, else Final-Recipient), lower-cased.
    pub recipient: Option<String>,
    /// `failed`, `delayed`, `delivered`, … (lower-case).
    pub action: Option<String>,
    /// Enhanced status code such as `5.1.1`.
    pub status: Option<String>,
    /// The Diagnostic-Code text.
    pub diagnostic: Option<String>,
    /// `action` is `failed` or `status` is `5.x.x`.
    pub permanent: bool,
}

/// Everything the mail channel needs to know about one inbound mail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedMail {
    /// Without angle brackets, trimmed.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<Address>,
    pub reply_to: Option<Address>,
    /// Lower-cased addresses.
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// `Delivered-To` and `X-Original-To`, lower-cased, without duplicates, top first.
    pub delivered_to: Vec<String>,
    /// The envelope sender; `Some("")` for `Return-Path: <>`.
    pub return_path: Option<String>,
    /// Decoded and trimmed; empty when missing.
    pub subject: String,
    pub date: Option<chrono::DateTime<chrono::Utc>>,
    /// The whole body as clean text (HTML converted).
    pub text: String,
    /// `text` without the quoted earlier messages and without the `-- ` signature.
    pub new_text: String,
    /// The quoted part that `new_text` leaves out.
    pub quoted: Option<String>,
    /// The signature block that `new_text` leaves out (kept: citizens put their phone number
    /// and address there).
    pub signature: Option<String>,
    /// MIME parts beyond the depth or count limit were not looked at.
    pub parts_skipped: bool,
    /// The body text came from HTML only.
    pub html_only: bool,
    /// All attachments and inline images, in MIME order (size limits are the caller's).
    pub attachments: Vec<Attachment>,
    /// Mails attached as `message/rfc822` (not counting the returned original of a bounce).
    pub forwarded: Vec<Forwarded>,
    /// Set when a machine sent this mail; no automatic answer must go back.
    pub auto: Option<AutoReason>,
    /// Set when this is a bounce (delivery status notification).
    pub bounce: Option<Bounce>,
}

/// Input that is not a mail at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the input is empty")]
    Empty,
    #[error("the input has no mail header section")]
    NotAMessage,
    #[error("the MIME parser failed on this input")]
    ParserFailed,
}

/// Hex SHA-256 of the raw bytes, for de-duplication of inbound mail.
pub fn content_hash(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xF), 16).unwrap_or('0'));
    }
    out
}

/// Stack of the thread that parses one mail. Our own recursion is bounded (multipart depth
/// [`MAX_DEPTH`], nesting [`nesting::MAX_NESTING`]); the large stack is a margin for the
/// parser's, which [`nesting::bound`] keeps in bounds.
const PARSE_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Parses one raw mail. Broken MIME is read leniently; only input without a header section
/// (empty, binary, plain prose) is an error. The work runs on a thread of its own with a
/// large stack; the caller's thread waits for it.
pub fn parse(raw: &[u8]) -> Result<ParsedMail, ParseError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("mail-parse".into())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || parse_here(raw))
            .map_err(|_| ParseError::ParserFailed)?
            .join()
            .unwrap_or(Err(ParseError::ParserFailed))
    })
}

/// [`parse`] for async callers: the parsing thread is awaited, not blocked on.
pub async fn parse_owned(raw: Vec<u8>) -> Result<ParsedMail, ParseError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("mail-parse".into())
        .stack_size(PARSE_STACK_BYTES)
        .spawn(move || {
            let _ = tx.send(parse_here(&raw));
        })
        .map_err(|_| ParseError::ParserFailed)?;
    // A panic drops the sender.
    rx.await.unwrap_or(Err(ParseError::ParserFailed))
}

/// Parses on the calling thread.
fn parse_here(raw: &[u8]) -> Result<ParsedMail, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let Some(start) = header_section_start(raw) else {
        return Err(ParseError::NotAMessage);
    };
    let bounded = nesting::bound(&raw[start..]);
    let raw = bounded.raw.as_ref();
    let parser = MessageParser::default();
    let message = parser.parse(raw).ok_or(ParseError::NotAMessage)?;
    let Some(root) = message.parts.first() else {
        return Err(ParseError::NotAMessage);
    };
    Ok(build(&message, root))
}

/// Skips what may precede the header section: a UTF-8 byte order mark, blank lines and the
/// `From ` separator line of an mbox file.
fn skip_preamble(raw: &[u8]) -> &[u8] {
    let mut rest = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    while let Some((&b, r)) = rest.split_first() {
        if b == b'\n' || b == b'\r' {
            rest = r;
        } else {
            break;
        }
    }
    if rest.starts_with(b"From ") {
        let line_end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |nl| nl + 1);
        rest = &rest[line_end..];
    }
    rest
}

/// Lines that are not header fields and may stand before the first one (a note of the
/// transport, a stray `>From` line, garbage from a broken gateway).
const MAX_JUNK_LINES: usize = 3;

/// Where the header section starts: after what [`skip_preamble`] skips and after at most
/// [`MAX_JUNK_LINES`] lines that are not header fields. `None` when the input does not start
/// with a header section at all (plain prose, binary data), or when its header section holds
/// a NUL byte. After junk lines, the header section must have a field every mail has
/// (From, To, Subject, Date, …), so that prose with a colon in it is not read as a mail.
fn header_section_start(raw: &[u8]) -> Option<usize> {
    let mut pos = raw.len() - skip_preamble(raw).len();
    for skipped in 0..=MAX_JUNK_LINES {
        let rest = &raw[pos..];
        let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &rest[..line_end];
        if field_name(line).is_some() {
            let header_end = find_blank_line(rest).unwrap_or(rest.len()).min(256 * 1024);
            let section = &rest[..header_end];
            if section.contains(&0) || (skipped > 0 && !has_common_field(section)) {
                return None;
            }
            return Some(pos);
        }
        if line.iter().all(u8::is_ascii_whitespace) || line_end >= rest.len() {
            return None;
        }
        pos += line_end + 1;
    }
    None
}

/// The lower-case name of a header field line (`Name: value`, also `Name :`).
fn field_name(line: &[u8]) -> Option<String> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    let name = name.strip_suffix(b" ").unwrap_or(name);
    (!name.is_empty() && name.len() <= 100 && name.iter().all(|&b| (0x21..=0x7E).contains(&b)))
        .then(|| String::from_utf8_lossy(name).to_ascii_lowercase())
}

/// Whether a header section has one of the fields that (nearly) every mail has.
fn has_common_field(section: &[u8]) -> bool {
    const COMMON: [&str; 12] = [
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "received",
        "return-path",
        "mime-version",
        "content-type",
        "delivered-to",
        "reply-to",
    ];
    section
        .split(|&b| b == b'\n')
        .filter_map(field_name)
        .any(|n| COMMON.contains(&n.as_str()))
}

/// Where the first empty line (`\n\n` or `\n\r\n`) starts.
fn find_blank_line(raw: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(offset) = raw[from..].iter().position(|&b| b == b'\n') {
        let nl = from + offset;
        match raw.get(nl + 1) {
            Some(b'\n') => return Some(nl),
            Some(b'\r') if raw.get(nl + 2) == Some(&b'\n') => return Some(nl),
            _ => from = nl + 1,
        }
    }
    None
}

/// The top-level headers as (lower-case name, unfolded raw value).
fn header_view(message: &Message<'_>, part: &MessagePart<'_>) -> Vec<(String, String)> {
    part.headers
        .iter()
        .map(|h| {
            let raw = message
                .raw_message
                .get(h.offset_start as usize..h.offset_end as usize)
                .unwrap_or_default();
            (
                h.name.as_str().to_ascii_lowercase(),
                unfold(&text::decode_guess(raw)),
            )
        })
        .collect()
}

fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, line) in value.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if i > 0 {
            out.push(' ');
            out.push_str(line.trim_start());
        } else {
            out.push_str(line);
        }
    }
    out.trim().to_owned()
}

/// `Name <a@b>` or `<a@b>` or `a@b` → `a@b`, lower-cased; `<>` → "".
fn bare_address(value: &str) -> String {
    let v = value.trim();
    let inner = match (v.find('<'), v.rfind('>')) {
        (Some(open), Some(close)) if open < close => &v[open + 1..close],
        _ => v.split_whitespace().next().unwrap_or(""),
    };
    inner.trim().to_lowercase()
}

fn ids(value: Option<&HeaderValue<'_>>) -> Vec<String> {
    let clean = |s: &str| {
        let t = s.trim();
        let t = t.strip_prefix('<').unwrap_or(t);
        t.strip_suffix('>').unwrap_or(t).trim().to_owned()
    };
    let mut out: Vec<String> = match value {
        Some(HeaderValue::Text(t)) => vec![clean(t)],
        Some(HeaderValue::TextList(list)) => list.iter().map(|t| clean(t)).collect(),
        _ => Vec::new(),
    };
    out.retain(|s| !s.is_empty());
    out
}

fn addresses(part: &MessagePart<'_>, name: HeaderName<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for header in part.headers.iter().filter(|h| h.name == name) {
        if let Some(list) = header.value.as_address() {
            for addr in list.iter() {
                if let Some(a) = addr.address() {
                    let a = a.trim().to_lowercase();
                    if !a.is_empty() && !out.contains(&a) {
                        out.push(a);
                    }
                }
            }
        }
    }
    out
}

fn first_address(
    message: &Message<'_>,
    part: &MessagePart<'_>,
    name: HeaderName<'_>,
) -> Option<Address> {
    let header = part.headers.iter().find(|h| h.name == name)?;
    let addr = header
        .value
        .as_address()?
        .iter()
        .find(|a| a.address().is_some_and(|s| !s.trim().is_empty()))?;
    let address = addr.address()?.trim().to_lowercase();
    let raw = message
        .raw_message
        .get(header.offset_start as usize..header.offset_end as usize)
        .unwrap_or_default();
    let raw = unfold(&text::decode_guess(raw)).to_lowercase();
    let mut display = addr
        .name()
        .map(|n| n.trim().trim_matches('"').trim().to_owned())
        .filter(|n| !n.is_empty());
    if display.as_deref().is_some_and(|n| n.contains('\u{FFFD}')) {
        // Raw 8-bit bytes in an undeclared charset: read the field again from repaired text.
        display = repaired_name(&raw, name).or(display);
    }
    Some(Address {
        name: display,
        // Only an address that stands in the field as it is (not one made by decoding an
        // encoded word) and that is a valid RFC 5321 mailbox is ever answered.
        answerable: address::is_valid_mailbox(&address) && raw.contains(address.as_str()),
        address,
    })
}

/// The display name of an address field parsed again from its repaired (charset-guessed) text.
fn repaired_name(value: &str, name: HeaderName<'_>) -> Option<String> {
    let field = format!("{}: {value}\r\n\r\n", name.as_str());
    let parsed = MessageParser::default().parse_headers(field.as_bytes())?;
    let list = parsed.parts.first()?.headers.first()?.value.as_address()?;
    let n = list.iter().next()?.name()?.trim().trim_matches('"').trim();
    (!n.is_empty() && !n.contains('\u{FFFD}')).then(|| n.to_owned())
}

/// The decoded subject; repairs raw 8-bit bytes that are not UTF-8 and encoded words in a
/// charset mail-parser does not know.
fn subject(message: &Message<'_>, root: &MessagePart<'_>) -> String {
    let Some(header) = root.headers.iter().find(|h| h.name == HeaderName::Subject) else {
        return String::new();
    };
    let decoded = header.value.as_text().unwrap_or("");
    // U+FFFD: 8-bit bytes that are not UTF-8; ESC: ISO-2022-JP without an encoded word.
    if decoded.contains('\u{FFFD}') || decoded.contains('\u{1B}') {
        let raw = message
            .raw_message
            .get(header.offset_start as usize..header.offset_end as usize)
            .unwrap_or_default();
        let raw_text = unfold(&text::decode_guess(raw));
        let repaired = if raw_text.contains("=?") {
            // An encoded word in a charset mail-parser does not know.
            text::decode_encoded_words(&raw_text)
        } else {
            // Raw 8-bit bytes that are not UTF-8.
            raw_text
        };
        return clean_line(&repaired);
    }
    clean_line(decoded)
}

/// One line of header text: no control characters, single spaces, trimmed.
fn clean_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

fn build(message: &Message<'_>, root: &MessagePart<'_>) -> ParsedMail {
    let headers = header_view(message, root);
    let header_values = |name: &str| {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };

    let from = first_address(message, root, HeaderName::From);
    let sender = first_address(message, root, HeaderName::Sender);
    let return_path = header_values("return-path")
        .first()
        .map(|v| bare_address(v));

    let mut delivered_to: Vec<String> = Vec::new();
    for (name, value) in &headers {
        if name == "delivered-to" || name == "x-original-to" {
            let a = bare_address(value);
            if !a.is_empty() && !delivered_to.contains(&a) {
                delivered_to.push(a);
            }
        }
    }

    let date = root
        .headers
        .iter()
        .find(|h| h.name == HeaderName::Date)
        .and_then(|h| h.value.as_datetime())
        .filter(|d| d.is_valid())
        .and_then(|d| chrono::DateTime::from_timestamp(d.to_timestamp(), 0));

    let header_value = |name: HeaderName<'static>| {
        root.headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| &h.value)
    };

    let mut walker = Walker::new();
    walker.walk(message, 0, 0, Ctx::default());
    if walker.blocks.is_empty() {
        walker.blocks = std::mem::take(&mut walker.fallback);
    }
    // A delivery report whose parts are truncated or unterminated is still a bounce: what its
    // raw body says of the failed delivery is read directly.
    let report_text = (walker.dsn_report || is_dsn_report(root, message)).then(|| {
        walker.dsn_report = true;
        text::decode_guess(part_raw(message, root))
    });

    let senders: Vec<&str> = from
        .iter()
        .chain(sender.iter())
        .map(|a| a.address.as_str())
        .collect();
    let mut auto = auto::detect(&headers, return_path.as_deref(), &senders);

    // Body text and the newly written part.
    let (text, hint) = walker.body_text();
    let quote::Split {
        new_text,
        quoted,
        signature,
    } = quote::split(&text, hint);
    let html_only = !walker.blocks.is_empty() && walker.blocks.iter().all(|b| b.html);

    let from_daemon = senders.iter().any(|a| auto::is_daemon_address(a));
    let bounce = walker.bounce(&text, from_daemon, &senders, report_text.as_deref());
    if bounce.is_some() && auto.is_none() {
        auto = Some(AutoReason::MailerDaemon);
    }
    let forwarded = walker
        .nested
        .iter()
        .filter(|n| bounce.is_none() || !(n.in_report || from_daemon))
        .map(|n| Forwarded {
            subject: n.subject.clone(),
            from: n.from.clone(),
        })
        .collect();

    ParsedMail {
        message_id: ids(header_value(HeaderName::MessageId)).into_iter().next(),
        in_reply_to: ids(header_value(HeaderName::InReplyTo)),
        references: ids(header_value(HeaderName::References)),
        reply_to: first_address(message, root, HeaderName::ReplyTo),
        from,
        to: addresses(root, HeaderName::To),
        cc: addresses(root, HeaderName::Cc),
        delivered_to,
        return_path,
        subject: subject(message, root),
        date,
        text,
        new_text,
        quoted,
        signature,
        parts_skipped: walker.skipped,
        html_only,
        attachments: walker.attachments,
        forwarded,
        auto,
        bounce,
    }
}

/// One piece of body text.
struct Block {
    text: String,
    html: bool,
    /// Where the HTML markup said the quote starts.
    quote_start: Option<usize>,
}

/// A `message/rfc822` part.
struct Nested {
    message_id: Option<String>,
    subject: Option<String>,
    from: Option<String>,
    in_report: bool,
}

#[derive(Clone, Copy, Default)]
struct Ctx {
    /// Inside `multipart/related`: parts with a Content-ID belong to the HTML.
    related: bool,
    /// Inside an alternative that was not chosen for the body text.
    suppress_text: bool,
    /// Inside `multipart/report`.
    report: bool,
}

struct Walker {
    blocks: Vec<Block>,
    attachments: Vec<Attachment>,
    nested: Vec<Nested>,
    delivery_status: Option<dsn::DeliveryStatus>,
    /// Message-IDs from `text/rfc822-headers` parts.
    returned_ids: Vec<String>,
    /// Inline text parts with a file name: the body if there is no other.
    fallback: Vec<Block>,
    /// A `multipart/report` of delivery status was seen (even when its parts are broken).
    dsn_report: bool,
    visited: usize,
    /// Parts were left out: deeper than [`MAX_DEPTH`] or beyond [`MAX_PARTS`].
    skipped: bool,
    parser: MessageParser,
}

impl Walker {
    fn new() -> Self {
        Walker {
            blocks: Vec::new(),
            attachments: Vec::new(),
            nested: Vec::new(),
            delivery_status: None,
            returned_ids: Vec::new(),
            fallback: Vec::new(),
            dsn_report: false,
            visited: 0,
            skipped: false,
            parser: MessageParser::default(),
        }
    }

    fn walk(&mut self, message: &Message<'_>, part_id: usize, depth: usize, ctx: Ctx) {
        if depth > MAX_DEPTH || self.visited >= MAX_PARTS {
            self.skipped = true;
            return;
        }
        self.visited += 1;
        let Some(part) = message.parts.get(part_id) else {
            return;
        };
        let (ctype, subtype) = content_type(part);
        let disposition_attachment = part
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
        let filename = part.attachment_name().and_then(clean_filename);

        match &part.body {
            PartType::Multipart(children) => {
                let children: Vec<usize> = children.iter().map(|&c| c as usize).collect();
                match subtype.as_str() {
                    "alternative" => {
                        let chosen = choose_alternative(message, &children);
                        for (i, &child) in children.iter().enumerate() {
                            let ctx = Ctx {
                                suppress_text: ctx.suppress_text || Some(i) != chosen,
                                ..ctx
                            };
                            self.walk(message, child, depth + 1, ctx);
                        }
                    }
                    sub => {
                        if sub == "report" && report_type_is_dsn(part) {
                            self.dsn_report = true;
                        }
                        let ctx = Ctx {
                            related: sub == "related",
                            report: ctx.report || sub == "report",
                            ..ctx
                        };
                        for child in children {
                            self.walk(message, child, depth + 1, ctx);
                        }
                    }
                }
            }
            PartType::Message(nested) => {
                let data = if part.encoding == Encoding::None {
                    part_raw(message, part).to_vec()
                } else {
                    nested.raw_message.to_vec()
                };
                let nested_root = nested.parts.first();
                self.nested.push(Nested {
                    message_id: nested_root.and_then(|r| {
                        ids(r
                            .headers
                            .iter()
                            .find(|h| h.name == HeaderName::MessageId)
                            .map(|h| &h.value))
                        .into_iter()
                        .next()
                    }),
                    subject: nested_root
                        .map(|r| subject(nested, r))
                        .filter(|s| !s.is_empty()),
                    from: nested_root
                        .and_then(|r| first_address(nested, r, HeaderName::From))
                        .map(|a| a.address),
                    in_report: ctx.report,
                });
                self.push_attachment(part, filename, "message/rfc822".to_owned(), data, ctx);
            }
            PartType::Text(_)
            | PartType::Html(_)
            | PartType::Binary(_)
            | PartType::InlineBinary(_) => {
                self.leaf(
                    message,
                    part,
                    (ctype, subtype),
                    filename,
                    disposition_attachment,
                    depth,
                    ctx,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &mut self,
        message: &Message<'_>,
        part: &MessagePart<'_>,
        (ctype, subtype): (String, String),
        filename: Option<String>,
        disposition_attachment: bool,
        depth: usize,
        ctx: Ctx,
    ) {
        let declared = format!("{ctype}/{subtype}");
        match declared.as_str() {
            "message/disposition-notification" | "message/global-disposition-notification" => {
                // The machine-readable part of a read receipt: neither text nor a file.
                return;
            }
            "message/delivery-status" | "message/global-delivery-status" => {
                let body = leaf_text(message, part);
                if self.delivery_status.is_none() {
                    self.delivery_status = Some(dsn::parse_delivery_status(&body));
                }
                return;
            }
            "text/rfc822-headers" | "message/rfc822-headers" => {
                let body = leaf_text(message, part);
                let mut headers = body.into_owned();
                headers.push_str("\r\n\r\n");
                if let Some(parsed) = self.parser.parse_headers(headers.as_bytes())
                    && let Some(id) = parsed.message_id()
                {
                    let id = dsn::strip_angle(id);
                    if !id.is_empty() {
                        self.returned_ids.push(id);
                    }
                }
                return;
            }
            _ => {}
        }
        if ctype == "multipart" {
            // The boundary was missing or wrong: look for the one the body really uses.
            if let Some(sub) = self.recover_multipart(message, part, &subtype) {
                let parsed = self.parser.parse(sub.as_bytes());
                if let Some(parsed) = parsed {
                    self.walk(&parsed, 0, depth + 1, ctx);
                    return;
                }
            }
        }

        // A multipart whose boundary could not be recovered is still read as text.
        let is_body_type =
            (ctype == "text" && (subtype == "plain" || subtype == "html")) || ctype == "multipart";
        if is_body_type && !disposition_attachment && !ctx.suppress_text {
            let block = text_block(message, part, &subtype);
            if filename.is_none() {
                self.blocks.extend(block);
                return;
            }
            // A text part with a file name that is not marked as an attachment: kept as an
            // attachment, and the body when the mail has no other text.
            self.fallback.extend(block);
        } else if is_body_type && !disposition_attachment && filename.is_none() {
            return;
        }

        let content_type = if ctype == "multipart" || subtype.is_empty() {
            "application/octet-stream".to_owned()
        } else {
            declared
        };
        let data = leaf_bytes(message, part);
        self.push_attachment(part, filename, content_type, data, ctx);
    }

    fn push_attachment(
        &mut self,
        part: &MessagePart<'_>,
        filename: Option<String>,
        content_type: String,
        data: Vec<u8>,
        ctx: Ctx,
    ) {
        let disposition = part
            .content_disposition()
            .map(|d| d.ctype().to_ascii_lowercase());
        let content_id = part
            .content_id()
            .map(dsn::strip_angle)
            .filter(|c| !c.is_empty());
        let inline = disposition.as_deref() != Some("attachment")
            && content_id.is_some()
            && (ctx.related || disposition.as_deref() == Some("inline"));
        self.attachments.push(Attachment {
            filename,
            content_type,
            size: data.len(),
            data,
            inline,
            content_id,
        });
    }

    /// Builds a stand-alone multipart from a part whose boundary could not be found, using
    /// the first `--boundary` line of its body.
    fn recover_multipart(
        &self,
        message: &Message<'_>,
        part: &MessagePart<'_>,
        subtype: &str,
    ) -> Option<String> {
        let body = text::decode_guess(part_raw(message, part));
        let declared = part
            .content_type()
            .and_then(|ct| ct.attribute("boundary"))
            .unwrap_or("");
        let boundary = body.lines().find_map(|line| {
            let b = line.trim_end().strip_prefix("--")?;
            let b = b.strip_suffix("--").unwrap_or(b);
            (!b.is_empty()
                && b.len() <= 200
                && !b.contains(char::is_whitespace)
                && !b.contains('"'))
            .then_some(b)
        })?;
        if boundary == declared {
            return None;
        }
        let subtype = if subtype
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            subtype
        } else {
            "mixed"
        };
        Some(format!(
            "Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n{body}"
        ))
    }

    /// The body text and where the HTML said its quote starts.
    fn body_text(&self) -> (String, Option<usize>) {
        let mut text = String::new();
        let mut hint = None;
        for block in &self.blocks {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            if hint.is_none()
                && let Some(q) = block.quote_start
            {
                hint = Some(text.len() + q);
            }
            text.push_str(&block.text);
        }
        (text, hint)
    }

    fn bounce(
        &self,
        text: &str,
        from_daemon: bool,
        senders: &[&str],
        report_text: Option<&str>,
    ) -> Option<Bounce> {
        let scanned;
        let delivery_status = match (&self.delivery_status, report_text) {
            (Some(s), _) => Some(s),
            (None, Some(raw)) => {
                scanned = dsn::scan_report(raw);
                Some(&scanned)
            }
            (None, None) => None,
        };
        let original_from_report = self
            .nested
            .iter()
            .filter(|n| n.in_report)
            .find_map(|n| n.message_id.clone())
            .or_else(|| self.returned_ids.first().cloned());

        if let Some(status) = delivery_status {
            let recipient = status.main_recipient();
            let original_message_id = original_from_report
                .or_else(|| status.original_message_id.clone())
                .or_else(|| self.nested.iter().find_map(|n| n.message_id.clone()));
            let action = recipient.and_then(|r| r.action.clone());
            let status_code = recipient.and_then(|r| r.status.clone());
            let permanent = action.as_deref() == Some("failed")
                || status_code.as_deref().is_some_and(|s| s.starts_with('5'));
            return Some(Bounce {
                original_message_id,
                recipient: recipient.and_then(|r| {
                    r.original_recipient
                        .clone()
                        .filter(|a| !a.is_empty())
                        .or_else(|| r.final_recipient.clone())
                }),
                action,
                status: status_code,
                diagnostic: recipient.and_then(|r| r.diagnostic.clone()),
                permanent,
            });
        }

        // An old-style bounce: from MAILER-DAEMON/postmaster with the original attached.
        if !from_daemon {
            return None;
        }
        let original_message_id =
            original_from_report.or_else(|| self.nested.iter().find_map(|n| n.message_id.clone()));
        if original_message_id.is_none() && self.nested.is_empty() && self.returned_ids.is_empty() {
            return None;
        }
        let scanned = dsn::scan_text_bounce(text, senders);
        let lower = text.to_lowercase();
        let permanent = match scanned.status.as_deref() {
            Some(s) => s.starts_with('5'),
            None => [
                "permanent",
                "dauerhaft",
                "550 ",
                "554 ",
                "553 ",
                "user unknown",
                "unbekannt",
            ]
            .iter()
            .any(|w| lower.contains(w)),
        };
        Some(Bounce {
            original_message_id,
            recipient: scanned.final_recipient,
            action: None,
            status: scanned.status,
            diagnostic: scanned.diagnostic,
            permanent,
        })
    }
}

/// The body text of a text/plain or text/html part (or a multipart read as text).
fn text_block(message: &Message<'_>, part: &MessagePart<'_>, subtype: &str) -> Option<Block> {
    let body = leaf_text(message, part);
    if subtype == "html" {
        let converted = html::html_to_text(&body);
        return (!converted.text.is_empty()).then_some(Block {
            text: converted.text,
            html: true,
            quote_start: converted.quote_start,
        });
    }
    let flowed = part.content_type().is_some_and(|ct| {
        ct.attribute("format")
            .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
    });
    let body = if flowed {
        let delsp = part.content_type().is_some_and(|ct| {
            ct.attribute("delsp")
                .is_some_and(|f| f.eq_ignore_ascii_case("yes"))
        });
        Cow::Owned(text::unflow(&body, delsp))
    } else {
        body
    };
    let normalized = text::normalize_text(&body);
    (!normalized.is_empty()).then_some(Block {
        text: normalized,
        html: false,
        quote_start: None,
    })
}

/// `report-type=delivery-status` (or the global variant) on a `multipart/report`.
fn report_type_is_dsn(part: &MessagePart<'_>) -> bool {
    part.content_type()
        .and_then(|ct| ct.attribute("report-type"))
        .is_some_and(|r| {
            let r = r.trim();
            r.eq_ignore_ascii_case("delivery-status")
                || r.eq_ignore_ascii_case("global-delivery-status")
        })
}

/// The mail itself is a delivery report, whatever became of its parts: `multipart/report`
/// with `report-type=delivery-status`, or without a report type but with a
/// `message/delivery-status` part in its raw body.
fn is_dsn_report(root: &MessagePart<'_>, message: &Message<'_>) -> bool {
    let (ctype, subtype) = content_type(root);
    if ctype != "multipart" || subtype != "report" {
        return false;
    }
    if report_type_is_dsn(root) {
        return true;
    }
    let has_type = root
        .content_type()
        .and_then(|ct| ct.attribute("report-type"))
        .is_some();
    !has_type
        && text::decode_guess(part_raw(message, root))
            .to_ascii_lowercase()
            .contains("message/delivery-status")
}

/// For `multipart/alternative`: the child whose text is shown. Plain text wins when it has
/// content (it is what the sender's program wrote for text readers); else the last richer one.
fn choose_alternative(message: &Message<'_>, children: &[usize]) -> Option<usize> {
    let plain = children.iter().position(|&c| {
        message.parts.get(c).is_some_and(|p| {
            let (t, s) = content_type(p);
            t == "text"
                && s == "plain"
                && matches!(&p.body, PartType::Text(body) if !body.trim().is_empty())
        })
    });
    plain.or_else(|| {
        children.iter().rposition(|&c| {
            message.parts.get(c).is_some_and(|p| {
                let (t, s) = content_type(p);
                (t == "text" && (s == "html" || s == "plain")) || t == "multipart"
            })
        })
    })
}

/// Lower-case type and subtype; `text/plain` when the header is missing or says only `text`.
fn content_type(part: &MessagePart<'_>) -> (String, String) {
    match part.content_type() {
        Some(ct) => {
            let ctype = ct.ctype().trim().to_ascii_lowercase();
            let subtype = ct
                .subtype()
                .map(|s| s.trim().to_ascii_lowercase())
                .unwrap_or_default();
            // `Content-Type: text` without a subtype is text/plain (RFC 2045, 5.2).
            if ctype == "text" && subtype.is_empty() {
                ("text".to_owned(), "plain".to_owned())
            } else {
                (ctype, subtype)
            }
        }
        None => ("text".to_owned(), "plain".to_owned()),
    }
}

/// The raw (still transfer-encoded) body bytes of a part.
fn part_raw<'a>(message: &'a Message<'_>, part: &MessagePart<'_>) -> &'a [u8] {
    let start = part.offset_body as usize;
    let end = (part.offset_end as usize).max(start);
    message
        .raw_message
        .get(start..end.min(message.raw_message.len()))
        .unwrap_or_default()
}

/// The transfer-decoded body bytes of a part, decoded leniently from the raw bytes.
fn transfer_decoded(message: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    let raw = part_raw(message, part);
    let cte = part
        .content_transfer_encoding()
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match cte.as_str() {
        "base64" => text::lenient_base64(raw),
        "quoted-printable" => text::lenient_quoted_printable(raw),
        _ => raw.to_vec(),
    }
}

/// Whether the part declares a charset mail-parser knows, other than UTF-8 (which is often
/// claimed for Latin-1 text).
fn charset_trusted(part: &MessagePart<'_>) -> bool {
    part.content_type()
        .and_then(|ct| ct.attribute("charset"))
        .is_some_and(|c| {
            !is_utf8_label(c)
                && mail_parser::decoders::charsets::map::charset_decoder(c.as_bytes()).is_some()
        })
}

fn is_utf8_label(charset: &str) -> bool {
    let c = charset.trim();
    c.eq_ignore_ascii_case("utf-8") || c.eq_ignore_ascii_case("utf8")
}

/// The text of a leaf part. Repairs what mail-parser could not: a missing, unknown or false
/// (UTF-8) charset on 8-bit text (such bytes are read as Windows-1252), and broken base64 or
/// quoted-printable.
fn leaf_text<'a>(message: &Message<'_>, part: &'a MessagePart<'_>) -> Cow<'a, str> {
    let decoded: Cow<'a, str> = match &part.body {
        PartType::Text(t) | PartType::Html(t) => Cow::Borrowed(t.as_ref()),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8_lossy(b),
        _ => Cow::Borrowed(""),
    };
    let broken_transfer = part.is_encoding_problem
        && part.content_transfer_encoding().is_some_and(|c| {
            c.eq_ignore_ascii_case("base64") || c.eq_ignore_ascii_case("quoted-printable")
        });
    let undeclared_jis = decoded.contains('\u{1B}')
        && part
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .is_none_or(is_utf8_label);
    if broken_transfer || undeclared_jis || (decoded.contains('\u{FFFD}') && !charset_trusted(part))
    {
        let bytes = transfer_decoded(message, part);
        // UTF-8 that is not valid UTF-8 is repaired byte by byte (see `decode_guess`).
        let charset = part
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .filter(|c| !is_utf8_label(c));
        return Cow::Owned(text::decode_charset(&bytes, charset));
    }
    decoded
}

/// The bytes of a leaf part for an attachment.
fn leaf_bytes(message: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    if part.is_encoding_problem {
        return transfer_decoded(message, part);
    }
    match &part.body {
        PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
        PartType::Text(_) | PartType::Html(_) => {
            // Keep the original bytes of text files (their charset is the reader's business).
            let bytes = transfer_decoded(message, part);
            if bytes.is_empty() {
                leaf_text(message, part).as_bytes().to_vec()
            } else {
                bytes
            }
        }
        _ => Vec::new(),
    }
}

/// File name without directories, control characters and the invisible characters that
/// change the direction of text (`Rechnung\u{202E}fdp.exe` shows as `Rechnungexe.pdf`);
/// `None` when nothing is left.
pub fn clean_filename(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|&c| !c.is_control() && !is_bidi_control(c))
        .collect();
    let cleaned = cleaned.trim().trim_matches('"').trim();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then(|| cleaned.to_owned())
}

/// Bidirectional formatting characters (embeddings, overrides, isolates, marks) and the other
/// invisible format characters that can disguise a name.
fn is_bidi_control(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
        | '\u{061C}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn rejects_input_without_headers() {
        assert_eq!(parse(b""), Err(ParseError::Empty));
        assert_eq!(parse(b"\r\n \r\n"), Err(ParseError::Empty));
        assert_eq!(
            parse(b"Sehr geehrte Damen und Herren,\nich brauche: einen Termin."),
            Err(ParseError::NotAMessage)
        );
        assert_eq!(
            parse(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Err(ParseError::NotAMessage)
        );
        assert_eq!(parse(b"X-Junk: a\0b\n\nbody"), Err(ParseError::NotAMessage));
        assert!(parse(b"Subject: nur Betreff").is_ok());
        let m = parse(b"\xEF\xBB\xBF\r\n\r\nSubject: mit BOM\r\n\r\nText").unwrap();
        assert_eq!((m.subject.as_str(), m.text.as_str()), ("mit BOM", "Text"));
        let m = parse(b"From MAILER-DAEMON Thu Mar 12 10:15:00 2026\nFrom: a@b.example\n\nHallo")
            .unwrap();
        assert_eq!(m.from.unwrap().address, "a@b.example");
        assert_eq!(parse(b"From nobody"), Err(ParseError::NotAMessage));
    }

    #[test]
    fn junk_before_the_headers_and_answerable_addresses() {
        let m =
            parse(b"Hallo Welt\r\nFrom: anna@buerger.example\r\nSubject: Junk davor\r\n\r\nText")
                .unwrap();
        assert_eq!(
            (m.subject.as_str(), m.text.as_str()),
            ("Junk davor", "Text")
        );
        assert!(m.from.unwrap().answerable);
        for from in [
            "=?utf-8?Q?attacker?Q?agent?=@victim.example",
            "<=?utf-8?q?attacker=40evil.example?=@victim.example>",
            "=?utf-8?q?attacker=40evil.example?=",
            "anna@@buerger.example",
        ] {
            let raw = format!("From: {from}\r\nSubject: x\r\n\r\nHallo");
            let m = parse(raw.as_bytes()).unwrap();
            assert!(
                m.from.as_ref().is_none_or(|f| !f.answerable),
                "{from}: {:?}",
                m.from
            );
        }
        // An encoded word in the display name is fine.
        let m = parse(b"From: =?utf-8?q?J=C3=B6rg?= <joerg@buerger.example>\r\n\r\nHallo").unwrap();
        let from = m.from.unwrap();
        assert_eq!(from.name.as_deref(), Some("Jörg"));
        assert!(from.answerable);
    }

    #[test]
    fn text_without_subtype_and_inline_text_with_a_name() {
        let m = parse(b"Content-Type: text; charset=utf-8\r\n\r\nHallo").unwrap();
        assert_eq!((m.text.as_str(), m.attachments.len()), ("Hallo", 0));
        let m = parse(b"Content-Type: text/plain; name=a.txt\r\nContent-Disposition: inline; filename=a.txt\r\n\r\nHallo")
            .unwrap();
        assert_eq!(m.text, "Hallo");
        assert_eq!(m.attachments.len(), 1);
    }

    #[test]
    fn content_hash_is_hex_sha256() {
        assert_eq!(
            content_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn headers_and_plain_body() {
        let raw = b"Return-Path: <>\r\nDelivered-To: Buergerservice@Koblenz.example\r\nX-Original-To: buergerservice@koblenz.example\r\nFrom: \"Schmidt, Anna\" <Anna.Schmidt@Buerger.example>\r\nTo: a@x.example, B <b@x.example>\r\nCc: c@x.example\r\nSubject: =?ISO-8859-1?Q?F=FChrerschein?=\r\n  verloren\r\nMessage-ID: < abc@web.example >\r\nIn-Reply-To: <x@y>\r\nReferences: <r1@y> <r2@y>\r\nDate: Thu, 12 Mar 2026 10:15:00 +0100\r\n\r\nHallo\r\n\r\n-- \r\nAnna\r\n";
        let m = parse(raw).unwrap();
        assert_eq!(
            m.from.as_ref().unwrap().address,
            "anna.schmidt@buerger.example"
        );
        assert_eq!(
            m.from.as_ref().unwrap().name.as_deref(),
            Some("Schmidt, Anna")
        );
        assert_eq!(m.to, ["a@x.example", "b@x.example"]);
        assert_eq!(m.cc, ["c@x.example"]);
        assert_eq!(m.delivered_to, ["buergerservice@koblenz.example"]);
        assert_eq!(m.return_path.as_deref(), Some(""));
        assert_eq!(m.subject, "Führerschein verloren");
        assert_eq!(m.message_id.as_deref(), Some("abc@web.example"));
        assert_eq!(m.in_reply_to, ["x@y"]);
        assert_eq!(m.references, ["r1@y", "r2@y"]);
        assert_eq!(m.date.unwrap().to_rfc3339(), "2026-03-12T09:15:00+00:00");
        assert_eq!(m.text, "Hallo\n\n--\nAnna");
        assert_eq!(m.new_text, "Hallo");
        assert_eq!(m.auto, Some(AutoReason::EmptyReturnPath));
    }

    #[test]
    fn filenames_lose_directories() {
        assert_eq!(
            clean_filename("C:\\Users\\anna\\scan.pdf").as_deref(),
            Some("scan.pdf")
        );
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(clean_filename("  "), None);
        assert_eq!(
            clean_filename("Rechnung\u{202E}fdp.exe").as_deref(),
            Some("Rechnungfdp.exe")
        );
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{0007}', '\u{001B}', '\u{0085}',
        ] {
            assert_eq!(
                clean_filename(&format!("scan{c}.pdf")).as_deref(),
                Some("scan.pdf"),
                "{:?}",
                c
            );
        }
        assert_eq!(clean_filename("\u{202E}\u{2066}"), None);
    }

    #[test]
    fn bare_addresses() {
        assert_eq!(bare_address("<>"), "");
        assert_eq!(bare_address("Anna <A@B.example>"), "a@b.example");
        assert_eq!(bare_address(" a@b.example (comment)"), "a@b.example");
    }
}
