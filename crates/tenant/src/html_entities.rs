//! Decoding HTML character references (`&amp;`, `&auml;`, `&#228;`, `&#xE4;`): one decoder
//! for every crate that reads HTML (the mail converter in `verbund-email`, the knowledge
//! import's converter in `verbund-knowledge`).
//!
//! Named references need their `;`, except the five that browsers also read without one
//! (`&amp`, `&lt`, `&gt`, `&quot`, `&nbsp`); numeric ones in 128..=159 are read as Windows-1252
//! (as browsers do), 0 and invalid code points become U+FFFD. Unknown or broken references
//! stay as they are. The work is linear in the input.

/// The Windows-1252 character of a byte (or numeric reference) in 0x80..=0x9F; U+FFFD else.
pub fn cp1252_c1(value: u32) -> char {
    const TABLE: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    value
        .checked_sub(0x80)
        .and_then(|i| TABLE.get(i as usize))
        .copied()
        .unwrap_or('\u{FFFD}')
}

/// Decodes character references (`&amp;`, `&#228;`, `&#xE4;`) in a piece of text.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        if let Some((ch, used)) = parse_entity(after) {
            out.push_str(&ch);
            rest = &after[used..];
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Parses the entity after `&`; returns the replacement and the bytes consumed.
fn parse_entity(s: &str) -> Option<(String, usize)> {
    if let Some(num) = s.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 2),
            None => (num, 10, 1),
        };
        let len = digits
            .find(|c: char| !c.is_digit(radix))
            .unwrap_or(digits.len());
        if len == 0 || len > 8 {
            return None;
        }
        let value = u32::from_str_radix(&digits[..len], radix).ok()?;
        let used = skip + len + usize::from(digits[len..].starts_with(';'));
        let ch = match value {
            0 => '\u{FFFD}',
            0x80..=0x9F => cp1252_c1(value),
            v => char::from_u32(v).unwrap_or('\u{FFFD}'),
        };
        return Some((ch.to_string(), used));
    }
    let len = s
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(s.len());
    if len == 0 || len > 10 {
        return None;
    }
    let name = &s[..len];
    let has_semi = s[len..].starts_with(';');
    let value = named_entity(name)?;
    if !has_semi && !matches!(name, "amp" | "lt" | "gt" | "quot" | "nbsp") {
        return None;
    }
    Some((value.to_owned(), len + usize::from(has_semi)))
}

fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => "\u{A0}",
        "auml" => "ä",
        "ouml" => "ö",
        "uuml" => "ü",
        "Auml" => "Ä",
        "Ouml" => "Ö",
        "Uuml" => "Ü",
        "szlig" => "ß",
        "euro" => "€",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "deg" => "°",
        "sect" => "§",
        "para" => "¶",
        "middot" => "·",
        "bull" => "•",
        "hellip" => "…",
        "ndash" => "–",
        "mdash" => "—",
        "lsquo" => "‘",
        "rsquo" => "’",
        "sbquo" => "‚",
        "ldquo" => "“",
        "rdquo" => "”",
        "bdquo" => "„",
        "laquo" => "«",
        "raquo" => "»",
        "lsaquo" => "‹",
        "rsaquo" => "›",
        "shy" => "\u{AD}",
        "times" => "×",
        "divide" => "÷",
        "plusmn" => "±",
        "frac12" => "½",
        "frac14" => "¼",
        "frac34" => "¾",
        "sup2" => "²",
        "sup3" => "³",
        "micro" => "µ",
        "pound" => "£",
        "yen" => "¥",
        "cent" => "¢",
        "iexcl" => "¡",
        "iquest" => "¿",
        "ordf" => "ª",
        "ordm" => "º",
        "acute" => "´",
        "uml" => "¨",
        "cedil" => "¸",
        "eacute" => "é",
        "Eacute" => "É",
        "egrave" => "è",
        "Egrave" => "È",
        "ecirc" => "ê",
        "euml" => "ë",
        "aacute" => "á",
        "agrave" => "à",
        "Agrave" => "À",
        "acirc" => "â",
        "atilde" => "ã",
        "aring" => "å",
        "aelig" => "æ",
        "ccedil" => "ç",
        "Ccedil" => "Ç",
        "iacute" => "í",
        "igrave" => "ì",
        "icirc" => "î",
        "iuml" => "ï",
        "ntilde" => "ñ",
        "oacute" => "ó",
        "ograve" => "ò",
        "ocirc" => "ô",
        "otilde" => "õ",
        "oslash" => "ø",
        "Oslash" => "Ø",
        "uacute" => "ú",
        "ugrave" => "ù",
        "ucirc" => "û",
        "yacute" => "ý",
        "yuml" => "ÿ",
        "scaron" => "š",
        "Scaron" => "Š",
        "zcaron" => "ž",
        "Zcaron" => "Ž",
        "oelig" => "œ",
        "OElig" => "Œ",
        "ensp" => "\u{2002}",
        "emsp" => "\u{2003}",
        "thinsp" => "\u{2009}",
        "zwnj" => "\u{200C}",
        "zwj" => "\u{200D}",
        "lrm" => "\u{200E}",
        "rlm" => "\u{200F}",
        "larr" => "←",
        "rarr" => "→",
        "uarr" => "↑",
        "darr" => "↓",
        "check" => "✓",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_decoded_and_broken_ones_kept() {
        assert_eq!(
            decode_entities(
                "Stra&szlig;e &amp; Gr&uuml;n&#223;&#x20AC; &bdquo;x&ldquo; &#150; AT&T &foo; &amp"
            ),
            "Straße & Grünß€ „x“ – AT&T &foo; &"
        );
        assert_eq!(
            decode_entities("&#0;&#xD800;&#99999999999;"),
            "\u{FFFD}\u{FFFD}&#99999999999;"
        );
        assert_eq!(decode_entities("kein Verweis"), "kein Verweis");
    }
}
