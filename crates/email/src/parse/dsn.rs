//! Delivery status notifications (RFC 3464) and the plain-text bounces of older MTAs.

/// One recipient block of a `message/delivery-status` part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DsnRecipient {
    pub original_recipient: Option<String>,
    pub final_recipient: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
}

/// The fields of a `message/delivery-status` part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// `Original-Message-ID` / `X-Original-Message-ID`, if the MTA wrote one (without `<>`).
    pub original_message_id: Option<String>,
    pub recipients: Vec<DsnRecipient>,
}

impl DeliveryStatus {
    /// The recipient that matters: the first that failed, else the first one.
    pub fn main_recipient(&self) -> Option<&DsnRecipient> {
        self.recipients
            .iter()
            .find(|r| r.action.as_deref() == Some("failed"))
            .or_else(|| self.recipients.first())
    }
}

/// Parses the body of a `message/delivery-status` part: blocks of header-like fields,
/// separated by empty lines; the first block is about the message, the others about one
/// recipient each.
pub fn parse_delivery_status(body: &str) -> DeliveryStatus {
    let mut status = DeliveryStatus::default();
    let unified = body.replace("\r\n", "\n");
    for (index, block) in unified.split("\n\n").enumerate() {
        let fields = fields(block);
        if fields.is_empty() {
            continue;
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        if let Some(id) = get("original-message-id").or_else(|| get("x-original-message-id")) {
            status
                .original_message_id
                .get_or_insert_with(|| strip_angle(&id));
        }
        let is_recipient = get("final-recipient").is_some()
            || get("original-recipient").is_some()
            || get("action").is_some()
            || (index > 0 && get("status").is_some());
        if is_recipient {
            status.recipients.push(DsnRecipient {
                original_recipient: get("original-recipient").map(|v| typed_address(&v)),
                final_recipient: get("final-recipient").map(|v| typed_address(&v)),
                action: get("action").map(|v| v.trim().to_ascii_lowercase()),
                status: get("status").and_then(|v| status_code(&v)),
                diagnostic: get("diagnostic-code").map(|v| after_type(&v).to_owned()),
            });
        }
    }
    status
}

/// What the raw body of a delivery report says when its parts could not be read as MIME
/// (truncated, unterminated, a wrong boundary): the DSN fields wherever they stand, and the
/// Message-ID of the returned message (the first `Message-ID:` line of the body).
pub fn scan_report(body: &str) -> DeliveryStatus {
    let mut status = parse_delivery_status(body);
    if status.original_message_id.is_none() {
        status.original_message_id = body.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            let id = strip_angle(value);
            (name.trim().eq_ignore_ascii_case("message-id") && !id.is_empty()).then_some(id)
        });
    }
    status
}

/// Header-like fields of one block with continuation lines unfolded; names lower-cased.
pub fn fields(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.split('\n') {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(' ') {
                out.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
    }
    out
}

/// `rfc822; anna@web.example` → `anna@web.example` (lower-cased, without `<>`).
fn typed_address(value: &str) -> String {
    strip_angle(after_type(value)).to_lowercase()
}

/// The text after `type;` in DSN fields (`smtp; 550 5.1.1 …`), or the whole value.
fn after_type(value: &str) -> &str {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.trim().contains(' ') => rest.trim(),
        _ => value.trim(),
    }
}

pub fn strip_angle(value: &str) -> String {
    let v = value.trim();
    let v = v.strip_prefix('<').unwrap_or(v);
    let v = v.strip_suffix('>').unwrap_or(v);
    v.trim().to_owned()
}

/// The first enhanced status code (`5.1.1`) in a piece of text.
pub fn status_code(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let boundary_before =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.');
        if boundary_before
            && matches!(bytes[i], b'2' | b'4' | b'5')
            && bytes.get(i + 1) == Some(&b'.')
        {
            let mut j = i + 2;
            let d1 = digits(bytes, &mut j);
            if (1..=3).contains(&d1) && bytes.get(j) == Some(&b'.') {
                j += 1;
                let d2 = digits(bytes, &mut j);
                let boundary_after = bytes.get(j).is_none_or(|b| {
                    !(b.is_ascii_alphanumeric()
                        || *b == b'.' && bytes.get(j + 1).is_some_and(u8::is_ascii_digit))
                });
                if (1..=3).contains(&d2) && boundary_after {
                    return Some(text[i..j].to_owned());
                }
            }
        }
        i += 1;
    }
    None
}

fn digits(bytes: &[u8], j: &mut usize) -> usize {
    let start = *j;
    while bytes.get(*j).is_some_and(u8::is_ascii_digit) {
        *j += 1;
    }
    *j - start
}

/// What a plain-text bounce says (no `message/delivery-status` part): status code,
/// the failed recipient and the diagnostic line, found by looking at the text.
pub fn scan_text_bounce(text: &str, ignore: &[&str]) -> DsnRecipient {
    let status = status_code(text);
    let recipient = text.split('<').skip(1).find_map(|chunk| {
        let (inner, _) = chunk.split_once('>')?;
        let inner = inner.trim().to_lowercase();
        (inner.contains('@') && !inner.contains(' ') && !ignore.contains(&inner.as_str()))
            .then_some(inner)
    });
    let diagnostic = text
        .lines()
        .map(str::trim)
        .find(|l| {
            status.as_deref().is_some_and(|s| l.contains(s))
                || l.starts_with("550")
                || l.starts_with("554")
                || l.starts_with("553")
                || l.starts_with("552")
                || l.starts_with("451")
                || l.starts_with("421")
        })
        .map(str::to_owned);
    DsnRecipient {
        original_recipient: None,
        final_recipient: recipient,
        action: None,
        status,
        diagnostic,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn postfix_dsn() {
        let body = "Reporting-MTA: dns; mx.koblenz.example\r\nX-Postfix-Queue-ID: 4F1\r\nArrival-Date: Thu, 12 Mar 2026 10:15:00 +0100\r\n\r\nFinal-Recipient: rfc822; Anna.Schmidt@web.example\r\nOriginal-Recipient: rfc822;anna.schmidt@web.example\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.web.example\r\nDiagnostic-Code: smtp; 550 5.1.1 <anna.schmidt@web.example>: Recipient\r\n    address rejected: User unknown\r\n";
        let s = parse_delivery_status(body);
        let r = s.main_recipient().unwrap();
        assert_eq!(
            r.final_recipient.as_deref(),
            Some("anna.schmidt@web.example")
        );
        assert_eq!(r.action.as_deref(), Some("failed"));
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            r.diagnostic.as_deref(),
            Some("550 5.1.1 <anna.schmidt@web.example>: Recipient address rejected: User unknown")
        );
    }

    #[test]
    fn status_codes() {
        assert_eq!(
            status_code("Status: 4.4.7 (delivery expired)").as_deref(),
            Some("4.4.7")
        );
        assert_eq!(status_code("(#5.1.1)").as_deref(), Some("5.1.1"));
        assert_eq!(status_code("Version 1.2.3 und 10.5.1.1 und 5.1"), None);
        assert_eq!(status_code("IP 192.5.1.1"), None);
    }

    #[test]
    fn text_bounce() {
        let r = scan_text_bounce(
            "Hi. This is the qmail-send program.\n\n<anna@gmx.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n",
            &[],
        );
        assert_eq!(r.final_recipient.as_deref(), Some("anna@gmx.example"));
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
    }
}
