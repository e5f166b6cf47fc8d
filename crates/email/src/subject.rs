//! Subject lines: reply and forward prefixes in German and English ("AW:", "WG:", "Re:",
//! "Fwd:", …), and ticket numbers in brackets as in `[KO-2026-000123]`.

/// Prefixes that mark replies and forwards, compared case-insensitively.
const PREFIXES: [&str; 10] = [
    "re", "aw", "antw", "wg", "fw", "fwd", "wtr", "sv", "vs", "rif",
];

/// What a subject says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The subject without reply/forward prefixes and surrounding space.
    pub topic: String,
    /// It carried at least one reply or forward prefix.
    pub is_reply_or_forward: bool,
}

/// Strips any number of prefixes like `AW: WG: Re[2]: Fwd:` from the front.
pub fn normalize(raw: &str) -> Subject {
    let mut rest = raw.trim();
    let mut prefixed = false;
    while let Some(colon) = rest.find(':') {
        let head = rest[..colon].trim();
        // Allow counters as in "Re[2]" or "AW(3)".
        let word = head
            .split(['[', '('])
            .next()
            .unwrap_or("")
            .trim()
            .to_lowercase();
        let counter_ok = head[word.len().min(head.len())..]
            .chars()
            .all(|c| c.is_ascii_digit() || "[]() ".contains(c));
        if PREFIXES.contains(&word.as_str()) && counter_ok {
            prefixed = true;
            rest = rest[colon + 1..].trim_start();
        } else {
            break;
        }
    }
    Subject {
        topic: rest.trim().to_owned(),
        is_reply_or_forward: prefixed,
    }
}

/// Finds ticket numbers written as `[PREFIX-YYYY-NNNNNN]` in a subject, in order.
pub fn ticket_numbers(subject: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = subject;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else { break };
        let inner = &after[..close];
        if is_ticket_number(inner) {
            out.push(inner.to_owned());
        }
        rest = &after[close + 1..];
    }
    out
}

/// `KO-2026-000123`: 2-8 of A-Z/0-9, a four-digit year, six or more digits.
pub fn is_ticket_number(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(prefix), Some(year), Some(seq), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    (2..=8).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && seq.len() >= 6
        && seq.len() <= 12
        && seq.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_german_and_english_prefixes() {
        for (raw, topic, reply) in [
            ("AW: Personalausweis", "Personalausweis", true),
            ("WG: AW: Re: Kfz-Zulassung", "Kfz-Zulassung", true),
            ("Re[2]: Wohngeld", "Wohngeld", true),
            ("Fwd: fw: Hundesteuer", "Hundesteuer", true),
            ("Antw: Termin", "Termin", true),
            ("Anmeldung: Wohnsitz", "Anmeldung: Wohnsitz", false),
            ("  Frage zum Elterngeld  ", "Frage zum Elterngeld", false),
            ("AW:", "", true),
            ("", "", false),
        ] {
            let s = normalize(raw);
            assert_eq!(s.topic, topic, "{raw}");
            assert_eq!(s.is_reply_or_forward, reply, "{raw}");
        }
    }

    #[test]
    fn finds_ticket_numbers_in_brackets() {
        assert_eq!(
            ticket_numbers("AW: [KO-2026-000123] Ihr Anliegen"),
            vec!["KO-2026-000123".to_owned()]
        );
        assert_eq!(
            ticket_numbers("[MZ-2026-000001] und [TR-2027-000042]"),
            vec!["MZ-2026-000001".to_owned(), "TR-2027-000042".to_owned()]
        );
        assert!(ticket_numbers("[ko-2026-000123]").is_empty());
        assert!(ticket_numbers("[KO-26-000123]").is_empty());
        assert!(ticket_numbers("KO-2026-000123 ohne Klammern").is_empty());
        assert!(ticket_numbers("[KO-2026-000123").is_empty());
        assert!(ticket_numbers("[[]]]").is_empty());
    }
}
