//! Whether an address may be answered: a receipt or reply goes only to a syntactically valid
//! RFC 5321 mailbox (with the UTF-8 of RFC 6531 allowed). Anything else — an encoded word
//! inside the address (`=?utf-8?Q?attacker?Q?agent?=@victim.example`, RFC 2047 forbids them
//! there), white space, a second `@`, control or direction-changing characters, a domain that
//! is no host name — is never used to answer.

/// Checks `local@domain` against RFC 5321 `Mailbox` (dot-string or quoted-string local part;
/// domain name or address literal), with UTF-8 allowed in both parts (RFC 6531).
pub fn is_valid_mailbox(address: &str) -> bool {
    if address.is_empty() || address.len() > 254 {
        return false;
    }
    // An encoded word anywhere means a parser decoded (or failed to decode) one inside the
    // address: never an address to answer.
    if address.contains("=?") || address.contains("?=") {
        return false;
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    valid_local_part(local) && valid_domain(domain)
}

fn valid_local_part(local: &str) -> bool {
    if local.is_empty() || local.len() > 64 {
        return false;
    }
    if let Some(inner) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        // Quoted-string: qtextSMTP or quoted-pairSMTP.
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(' '..='~') => {}
                    _ => return false,
                },
                ' ' | '!' | '#'..='[' | ']'..='~' => {}
                c if is_utf8_non_ascii(c) => {}
                _ => return false,
            }
        }
        return true;
    }
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(|c| is_atext(c) || is_utf8_non_ascii(c)))
}

/// RFC 5322 atext.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Printable non-ASCII characters; no control, format (direction) or private-use characters.
fn is_utf8_non_ascii(c: char) -> bool {
    !c.is_ascii()
        && !c.is_control()
        && !c.is_whitespace()
        && !matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFD}' | '\u{E000}'..='\u{F8FF}' | '\u{061C}')
}

fn valid_domain(domain: &str) -> bool {
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return match literal.strip_prefix("IPv6:") {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => literal.parse::<std::net::Ipv4Addr>().is_ok(),
        };
    }
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    // A mail domain has at least two labels (`localhost` or `intranet` is no answer address).
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || c == '-'
                        || (is_utf8_non_ascii(c) && c.is_alphanumeric())
                })
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_mailboxes() {
        for a in [
            "anna@buerger.example",
            "anna.schmidt+tag@mail.buerger.example",
            "o'neil@x.example",
            "\"anna schmidt\"@x.example",
            "jörg@müller.example",
            "用户@例子.广告",
            "a@[192.0.2.1]",
            "a@[IPv6:2001:db8::1]",
            "x_y-z{1}@sub-domain.example",
        ] {
            assert!(is_valid_mailbox(a), "{a}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        for a in [
            "",
            "anna",
            "@x.example",
            "anna@",
            "=?utf-8?Q?attacker?Q?agent?=@victim.example",
            "=?utf-8?q?attacker=40evil.example?=@victim.example",
            "attacker?=@victim.example",
            "anna schmidt@x.example",
            "anna@x .example",
            "a..b@x.example",
            ".a@x.example",
            "a.@x.example",
            "a@b@x.example",
            "a@-x.example",
            "a@x-.example",
            "a@x..example",
            "a@localhost",
            "a@1.2.3.4",
            "a@[300.1.1.1]",
            "a<b>@x.example",
            "a,b@x.example",
            "a;b@x.example",
            "a\u{202E}b@x.example",
            "a\u{0}@x.example",
            "a\r\nBcc: x@y.example@x.example",
            "\"a\"b\"@x.example",
            "\"a\u{7}\"@x.example",
        ] {
            assert!(!is_valid_mailbox(a), "{a:?}");
        }
        let long_local = format!("{}@x.example", "a".repeat(65));
        assert!(!is_valid_mailbox(&long_local));
        let long_label = format!("a@{}.example", "b".repeat(64));
        assert!(!is_valid_mailbox(&long_label));
    }
}
