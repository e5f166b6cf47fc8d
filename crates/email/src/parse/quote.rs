//! Finding the quoted earlier message in a reply, and the signature block.
//!
//! Mail programs quote in a few well-known ways: `>` lines, an attribution line such as
//! "Am 12.03.2026 um 10:15 schrieb Stadt Koblenz <…>:" or "On … wrote:", a separator such as
//! "-----Ursprüngliche Nachricht-----", or Outlook's header block "Von: … Gesendet: … An: …
//! Betreff: …". The quoted part starts at the first of these and runs to the end of the text.

/// How far down an Outlook header block may be spread.
const HEADER_BLOCK_LINES: usize = 8;
/// A signature block is only removed when it is at most this many lines long.
const MAX_SIGNATURE_LINES: usize = 20;

/// A body text taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// What the sender newly wrote, without quotes and without the signature.
    pub new_text: String,
    /// The quoted earlier messages.
    pub quoted: Option<String>,
    /// The signature block after a `-- ` line (often the citizen's phone number and address).
    pub signature: Option<String>,
}

/// Splits `text` into what was newly written, the quoted part and the signature.
///
/// `hint` is a byte offset where the markup (HTML) already said that the quote starts; the
/// earlier of it and the textual detection wins. A quote made of `>` lines (with or without an
/// attribution above it) ends where the `>` lines end: text after it is new again, as in a
/// bottom-posted or interleaved answer, or a body that starts with a decorative `>` line. A
/// quote that starts with a separator or an Outlook header block runs to the end.
pub fn split(text: &str, hint: Option<usize>) -> Split {
    let found = quote_start(text);
    let hint = hint.filter(|&h| h <= text.len() && text.is_char_boundary(h));
    let start = match (found, hint) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let Some(start) = start else {
        return with_signature(text, None);
    };
    let start = extend_over_separators(text, start);
    let lines = lines_with_offsets(text);
    let mut i = lines
        .iter()
        .rposition(|&(offset, _)| offset <= start)
        .unwrap_or(0);
    let mut fresh = vec![text[..lines[i].0].trim_end()];
    let mut quoted: Vec<&str> = Vec::new();
    while i < lines.len() {
        let Some(end) = cited_block_end(&lines, i) else {
            // Not a `>` quote: the rest is the earlier message.
            quoted.push(text[lines[i].0..].trim());
            break;
        };
        let block_end = lines.get(end).map_or(text.len(), |l| l.0);
        quoted.push(text[lines[i].0..block_end].trim());
        // New text until the next quote starts.
        let mut j = end;
        while j < lines.len() && !starts_quote(&lines, j) {
            j += 1;
        }
        let new_end = lines.get(j).map_or(text.len(), |l| l.0);
        if let Some(&(from, _)) = lines.get(end) {
            fresh.push(text[from..new_end].trim());
        }
        i = j;
    }
    let new_text = fresh
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let quoted = quoted
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    with_signature(&new_text, (!quoted.is_empty()).then_some(quoted))
}

fn with_signature(new_text: &str, quoted: Option<String>) -> Split {
    let body = strip_signature(new_text);
    let signature = new_text[body.len()..]
        .trim()
        .trim_start_matches("--")
        .trim()
        .to_owned();
    Split {
        new_text: body.trim_end().to_owned(),
        quoted,
        signature: (!signature.is_empty()).then_some(signature),
    }
}

/// Where a quote of `>` lines that starts at line `i` ends (the index of the first line after
/// it), with up to three attribution lines above the first `>` line; `None` when no `>` line
/// follows, so the quote is not of that kind.
fn cited_block_end(lines: &[(usize, &str)], i: usize) -> Option<usize> {
    let mut j = i;
    let mut lead = 0;
    while j < lines.len() && !lines[j].1.trim_start().starts_with('>') {
        let t = lines[j].1.trim();
        if !t.is_empty() {
            lead += 1;
            // A separator or a header block starts an earlier message that is not in `>`
            // lines: it runs to the end.
            if lead > 3 || is_separator(t) || is_header_block(&lines[j..]) {
                return None;
            }
        }
        j += 1;
    }
    if j >= lines.len() {
        return None;
    }
    // `>` lines, and blank lines between them.
    let mut end = j;
    let mut k = j;
    while k < lines.len() {
        let t = lines[k].1.trim();
        if t.starts_with('>') {
            end = k + 1;
        } else if !t.is_empty() {
            break;
        }
        k += 1;
    }
    Some(end)
}

/// Whether line `j` starts a quote: a `>` line, an attribution, a separator or an Outlook
/// header block (a loose attribution only right above `>` lines).
fn starts_quote(lines: &[(usize, &str)], j: usize) -> bool {
    let t = lines[j].1.trim();
    if t.is_empty() {
        return false;
    }
    if t.starts_with('>') || is_attribution(t) || is_separator(t) || is_header_block(&lines[j..]) {
        return true;
    }
    is_loose_attribution(t)
        && lines[j + 1..]
            .iter()
            .find(|l| !l.1.trim().is_empty())
            .is_some_and(|l| l.1.trim_start().starts_with('>'))
}

/// Byte offset of the line where the quoted earlier message starts, if there is one.
pub fn quote_start(text: &str) -> Option<usize> {
    let lines = lines_with_offsets(text);
    for (i, &(offset, line)) in lines.iter().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with('>') {
            // A loose attribution right above the quote ("Sie schrieben:").
            let mut j = i;
            while j > 0 && lines[j - 1].1.trim().is_empty() {
                j -= 1;
            }
            if j > 0 && is_loose_attribution(lines[j - 1].1) {
                return Some(lines[j - 1].0);
            }
            return Some(offset);
        }
        if is_attribution(t) || is_separator(t) || is_header_block(&lines[i..]) {
            return Some(offset);
        }
        // Attributions wrapped over two or three lines ("Am …, schrieb Stadt Koblenz\n<…>:").
        let lower = t.to_lowercase();
        if lower.starts_with("am ") || lower.starts_with("on ") || lower.contains(" schrieb") {
            let mut joined = t.to_owned();
            for next in lines.iter().skip(i + 1).take(2) {
                let n = next.1.trim();
                if n.is_empty() {
                    break;
                }
                joined.push(' ');
                joined.push_str(n);
                if is_attribution(&joined) {
                    return Some(offset);
                }
            }
        }
    }
    None
}

/// Removes a trailing signature block that starts with the line `-- `.
pub fn strip_signature(text: &str) -> &str {
    let lines = lines_with_offsets(text);
    for (i, &(offset, line)) in lines.iter().enumerate().rev() {
        if line.trim_end() == "--" {
            if lines.len() - i - 1 <= MAX_SIGNATURE_LINES {
                return text[..offset].trim_end();
            }
            break;
        }
    }
    text
}

fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split('\n') {
        out.push((offset, line));
        offset += line.len() + 1;
    }
    out
}

/// Moves the start of the quote up over separator lines (`____`, `-----`) and blank lines.
fn extend_over_separators(text: &str, start: usize) -> usize {
    let before = &text[..start];
    let mut new_start = start;
    for (offset, line) in lines_with_offsets(before.trim_end_matches('\n'))
        .into_iter()
        .rev()
    {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if t.len() >= 5 && t.chars().all(|c| matches!(c, '_' | '-' | '=' | '—' | '–')) {
            new_start = offset;
            continue;
        }
        break;
    }
    new_start
}

/// "Am 12.03.2026 um 10:15 schrieb Stadt Koblenz <…>:", "On Tue, … wrote:", "Zitat von …:".
pub fn is_attribution(line: &str) -> bool {
    let t = line.trim();
    if t.len() > 400 || !t.ends_with(':') {
        return false;
    }
    let lower = t.to_lowercase();
    if lower.starts_with("zitat von ") {
        return true;
    }
    let verb = [
        "schrieb",
        "wrote",
        "a écrit",
        "geschrieben",
        "schreibt",
        "escribió",
        "ha scritto",
    ]
    .iter()
    .any(|v| lower.contains(v));
    let shape = lower.starts_with("am ")
        || lower.starts_with("on ")
        || lower.starts_with("le ")
        || lower.contains('@')
        || lower.chars().any(|c| c.is_ascii_digit());
    verb && shape
}

/// An attribution without date or address, accepted only right above `>` lines.
fn is_loose_attribution(line: &str) -> bool {
    let t = line.trim();
    let lower = t.to_lowercase();
    t.len() <= 200
        && t.ends_with(':')
        && ["schrieb", "wrote", "geschrieben", "schreibt", "écrit"]
            .iter()
            .any(|v| lower.contains(v))
}

/// "-----Ursprüngliche Nachricht-----", "---------- Weitergeleitete Nachricht ----------", …
pub fn is_separator(line: &str) -> bool {
    let core = line
        .trim()
        .trim_matches(|c: char| matches!(c, '-' | '_' | '=' | '*' | ' ' | '\t' | '–' | '—'))
        .trim_end_matches(':')
        .trim()
        .to_lowercase();
    const PHRASES: [&str; 14] = [
        "ursprüngliche nachricht",
        "ursprüngliche nachricht von",
        "original message",
        "original-nachricht",
        "originalnachricht",
        "weitergeleitete nachricht",
        "forwarded message",
        "forwarded message follows",
        "begin forwarded message",
        "anfang der weitergeleiteten nachricht",
        "beginn der weitergeleiteten nachricht",
        "original mitteilung",
        "ursprüngliche mitteilung",
        "reply message",
    ];
    PHRASES.contains(&core.as_str())
}

/// Outlook's header block: "Von:" followed closely by "Gesendet:", "An:", "Betreff:".
fn is_header_block(lines: &[(usize, &str)]) -> bool {
    let Some(first) = lines.first() else {
        return false;
    };
    let field = |l: &str| -> Option<String> {
        let cleaned: String = l.trim().chars().filter(|&c| c != '*').collect();
        let (name, _) = cleaned.split_once(':')?;
        let name = name.trim().to_lowercase();
        (name.len() <= 12).then_some(name)
    };
    if !matches!(field(first.1).as_deref(), Some("von" | "from")) {
        return false;
    }
    let mut dated = false;
    let mut others = 0;
    for &(_, line) in lines.iter().skip(1).take(HEADER_BLOCK_LINES) {
        match field(line).as_deref() {
            Some("gesendet" | "sent" | "datum" | "date" | "gesendet am") => dated = true,
            Some("an" | "to" | "betreff" | "subject" | "cc" | "antwort an" | "reply-to") => {
                others += 1
            }
            _ => {}
        }
    }
    dated && others >= 1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn two(text: &str, hint: Option<usize>) -> (String, Option<String>) {
        let s = split(text, hint);
        (s.new_text, s.quoted)
    }

    #[test]
    fn thunderbird_german_attribution() {
        let text = "Vielen Dank, das Formular ist anbei.\n\nAnna Schmidt\n\nAm 12.03.2026 um 10:15 schrieb Stadt Koblenz:\n> Bitte senden Sie uns das Formular.\n> Ihr Bürgerservice";
        let (new, quoted) = two(text, None);
        assert_eq!(new, "Vielen Dank, das Formular ist anbei.\n\nAnna Schmidt");
        assert!(quoted.unwrap().starts_with("Am 12.03.2026"));
    }

    #[test]
    fn wrapped_gmail_attribution() {
        let text = "Danke!\n\nAm Do., 12. März 2026 um 10:15 Uhr schrieb Stadt Koblenz <\nbuergerservice@koblenz.example>:\n\n> alt";
        let (new, quoted) = two(text, None);
        assert_eq!(new, "Danke!");
        assert!(quoted.unwrap().starts_with("Am Do., 12. März"));
    }

    #[test]
    fn english_attribution_and_plain_quote_lines() {
        assert_eq!(
            two(
                "Thanks\nOn Tue, 10 Mar 2026 at 09:00, City <a@b.example> wrote:\n> x",
                None
            )
            .0,
            "Thanks"
        );
        assert_eq!(
            two("Neu\n\n> alt\n> alt", None),
            ("Neu".to_owned(), Some("> alt\n> alt".to_owned()))
        );
        assert_eq!(two("Neu\nSie schrieben:\n> alt", None).0, "Neu");
    }

    #[test]
    fn outlook_separator_and_header_block() {
        let text = "Hallo,\nanbei.\n\n-----Ursprüngliche Nachricht-----\nVon: Stadt Koblenz\nGesendet: Donnerstag, 12. März 2026 10:15\nAn: Anna\nBetreff: Ihre Anfrage\n\nalt";
        let (new, quoted) = two(text, None);
        assert_eq!(new, "Hallo,\nanbei.");
        assert!(quoted.unwrap().starts_with("-----Ursprüngliche"));

        let text = "Hallo\n\n________________________________\nVon: Stadt Koblenz <buergerservice@koblenz.example>\nGesendet: Donnerstag, 12. März 2026 10:15\nAn: anna@web.example\nBetreff: AW: Kfz\n\nalt";
        let (new, quoted) = two(text, None);
        assert_eq!(new, "Hallo");
        assert!(quoted.unwrap().starts_with("______"));

        let text = "Hi\n\n*From:* City\n*Sent:* Monday\n*To:* me\n*Subject:* x\n\nold";
        assert_eq!(two(text, None).0, "Hi");
    }

    #[test]
    fn no_false_positives() {
        for text in [
            "Von: meiner Nachbarin habe ich gehört, dass es geht.\nGrüße",
            "Am Montag war ich im Bürgeramt.\nDort sagte man mir:\nich solle mailen.",
            "Mein Sohn schrieb mir 2 Sätze dazu. Danach kam nichts.",
            "Ich habe -- wie besprochen -- alles geschickt.",
        ] {
            let (new, quoted) = two(text, None);
            assert_eq!(quoted, None, "{text}");
            assert_eq!(new, text);
        }
    }

    #[test]
    fn forwarded_inline() {
        let text = "Siehe unten, was muss ich tun?\n\n---------- Weitergeleitete Nachricht ---------\nVon: Kfz-Stelle\nDatum: 1.3.2026\n\nText";
        assert_eq!(two(text, None).0, "Siehe unten, was muss ich tun?");
        assert!(is_separator("-------- Forwarded Message --------"));
        assert!(is_separator("Anfang der weitergeleiteten Nachricht:"));
        assert!(!is_separator("-----"));
    }

    #[test]
    fn bottom_posting_and_decorative_quotes_keep_the_new_text() {
        let text = "Am 1.3.2026 schrieb Stadt Koblenz:\n> Bitte senden Sie das Formular.\n> Ihr Bürgerservice\n\nDas Formular ist anbei. Reicht eine Kopie?\n\nAnna";
        assert_eq!(
            two(text, None),
            (
                "Das Formular ist anbei. Reicht eine Kopie?\n\nAnna".to_owned(),
                Some("Am 1.3.2026 schrieb Stadt Koblenz:\n> Bitte senden Sie das Formular.\n> Ihr Bürgerservice".to_owned())
            )
        );
        // Interleaved answers: every answer is new text.
        let text = "> Wann sind Sie geboren?\n1.1.1980\n> Wo wohnen Sie?\nIn Koblenz, Löhrstraße 1";
        assert_eq!(two(text, None).0, "1.1.1980\n\nIn Koblenz, Löhrstraße 1");
        // A decorative `>` line on top.
        let text = ">>> Antrag auf Wohngeld <<<\n\nGuten Tag, ich möchte Wohngeld beantragen.";
        assert_eq!(
            two(text, None).0,
            "Guten Tag, ich möchte Wohngeld beantragen."
        );
        // A separator still takes everything after it.
        let text = "Neu\n-----Ursprüngliche Nachricht-----\nVon: X\n\nalt\n\n> noch älter\nalt 2";
        assert_eq!(two(text, None).0, "Neu");
    }

    #[test]
    fn signature_is_kept_apart() {
        let s = split("Frage?\n\n-- \nAnna Schmidt\nTel. 0261 123", None);
        assert_eq!(s.new_text, "Frage?");
        assert_eq!(s.signature.as_deref(), Some("Anna Schmidt\nTel. 0261 123"));
        let s = split(
            "Antwort\n\n-- \nAnna, Tel. 0261 123\n\nAm 1.1.2026 um 10:00 schrieb X:\n> y",
            None,
        );
        assert_eq!(s.new_text, "Antwort");
        assert_eq!(s.signature.as_deref(), Some("Anna, Tel. 0261 123"));
        assert_eq!(
            two("Frage?\n\n-- \nAnna Schmidt\nTel. 0261 123", None).0,
            "Frage?"
        );
        assert_eq!(
            two(
                "Frage?\n-- \nAnna\n\nAm 1.1.2026 um 10:00 schrieb X:\n> y",
                None
            ),
            (
                "Frage?".to_owned(),
                Some("Am 1.1.2026 um 10:00 schrieb X:\n> y".to_owned())
            )
        );
    }

    #[test]
    fn html_hint_wins_when_earlier() {
        let text = "Neu\nalt 1\nAm 1.1.2026 schrieb X:\n> y";
        assert_eq!(two(text, Some(4)).0, "Neu");
        assert_eq!(two(text, Some(999)).0, "Neu\nalt 1");
    }
}
