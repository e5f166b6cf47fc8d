//! Plain-text helpers: line normalisation, charset fallbacks, `format=flowed`.

/// Windows-1252 characters for the C1 range 0x80..=0x9F (HTML5 does the same for `&#150;`).
pub use verbund_tenant::html_entities::cp1252_c1;

/// Decodes bytes whose charset is unknown or wrong.
///
/// Valid UTF-8 stays as it is. ISO-2022-JP (7-bit, with escape sequences) is decoded as such.
/// Text that is mostly UTF-8 (valid multi-byte sequences and stray 8-bit bytes, as when a
/// Latin-1 signature follows UTF-8 text) keeps its UTF-8 and reads every other byte as
/// Windows-1252, which German mail programs almost always meant. Other 8-bit text goes to a
/// charset detector (chardetng, as in Firefox), which tells GB2312/GBK, Shift_JIS, EUC-KR,
/// Windows-1252, KOI8-R, … apart from the bytes alone.
pub fn decode_guess(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        if is_iso_2022_jp(bytes) {
            let (text, _, _) = encoding_rs::ISO_2022_JP.decode(bytes);
            return text.into_owned();
        }
        return s.to_owned();
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    let encoding = detector.guess(None, false);
    // A multi-byte charset (GBK, Shift_JIS, EUC-KR, Big5, …) that decodes without an error.
    if !encoding.is_single_byte()
        && let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(bytes)
    {
        return text.into_owned();
    }
    // UTF-8 with stray 8-bit bytes (a Latin-1 signature under UTF-8 text): each part as it is.
    let has_utf8_sequences = bytes.utf8_chunks().any(|chunk| !chunk.valid().is_ascii());
    if has_utf8_sequences {
        return utf8_with_cp1252(bytes);
    }
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

/// Escape sequences that switch ISO-2022-JP into JIS X 0208 (`ESC $ B`, `ESC $ @`).
fn is_iso_2022_jp(bytes: &[u8]) -> bool {
    bytes.contains(&0x1B) && bytes.windows(3).any(|w| w == b"\x1b$B" || w == b"\x1b$@")
}

/// Valid UTF-8 as it is, every other byte as Windows-1252.
fn utf8_with_cp1252(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(chunk.invalid().iter().map(|&b| match b {
            0x80..=0x9F => cp1252_c1(u32::from(b)),
            b => char::from(b),
        }));
    }
    out
}

/// Base64 that tolerates garbage: characters outside the alphabet are skipped and an
/// incomplete last group is decoded as far as it goes.
pub fn lenient_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                // Padding ends a group; start afresh after it.
                acc = 0;
                bits = 0;
                continue;
            }
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Quoted-printable that keeps malformed escapes as they are.
pub fn lenient_quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        // Soft line break: '=' followed by optional blanks and a line end.
        let mut j = i + 1;
        while j < input.len() && (input[j] == b' ' || input[j] == b'\t') {
            j += 1;
        }
        if j < input.len() && (input[j] == b'\n' || input[j] == b'\r') {
            if input[j] == b'\r' && input.get(j + 1) == Some(&b'\n') {
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if j >= input.len() {
            break;
        }
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            input.get(i + 1).and_then(|&c| hex(c)),
            input.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

/// Decodes bytes in a named charset; unknown charsets are guessed (UTF-8, else Windows-1252).
pub fn decode_charset(bytes: &[u8], charset: Option<&str>) -> String {
    match charset
        .and_then(|c| mail_parser::decoders::charsets::map::charset_decoder(c.trim().as_bytes()))
    {
        Some(decoder) => decoder(bytes),
        None => decode_guess(bytes),
    }
}

/// A forgiving RFC 2047 decoder for header text, used when mail-parser had to give up
/// (an unknown charset): the words are decoded as far as possible and the charset guessed.
pub fn decode_encoded_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        let Some(word) = parse_encoded_word(candidate) else {
            out.push_str(before);
            out.push_str("=?");
            rest = &candidate[2..];
            after_word = false;
            continue;
        };
        // White space between two encoded words is not part of the text.
        if !(after_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        out.push_str(&word.0);
        rest = &candidate[word.1..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

/// Parses `=?charset?Q|B?text?=` at the start of `s`: decoded text and bytes used.
fn parse_encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    if charset.is_empty() || charset.len() > 40 || text.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => lenient_base64(text.as_bytes()),
        "Q" | "q" => {
            let underscored: Vec<u8> = text
                .bytes()
                .map(|b| if b == b'_' { b' ' } else { b })
                .collect();
            lenient_quoted_printable(&underscored)
        }
        _ => return None,
    };
    // RFC 2231 allows a language after the charset: `iso-8859-1*de`.
    let charset = charset.split('*').next().unwrap_or(charset);
    let used = 2 + inner.len() - rest.len() + end + 2;
    Some((decode_charset(&bytes, Some(charset)), used))
}

/// Normalises body text: LF line ends, no control characters, no trailing blanks on a line,
/// at most one empty line in a row, no empty lines at the start or end.
pub fn normalize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_run = 0usize;
    let mut started = false;
    let unified = s.replace("\r\n", "\n").replace('\r', "\n");
    for line in unified.split('\n') {
        let cleaned: String = line
            .chars()
            .filter_map(|c| match c {
                '\t' => Some('\t'),
                '\u{80}'..='\u{9F}' => Some(cp1252_c1(u32::from(c))),
                '\u{FEFF}' | '\u{200B}' => None,
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect();
        let cleaned = cleaned.trim_end();
        if cleaned.is_empty() {
            blank_run += 1;
            continue;
        }
        if started {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        started = true;
        blank_run = 0;
        out.push_str(cleaned);
    }
    out
}

/// Undoes RFC 3676 `format=flowed`: a line ending in a space continues on the next line
/// (the signature separator `-- ` excepted). Quoted lines are joined only with lines of the
/// same quote depth.
pub fn unflow(s: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut joining = false;
    let mut joining_depth = 0usize;
    for line in s.replace("\r\n", "\n").split('\n') {
        let depth = line.chars().take_while(|&c| c == '>').count();
        let mut content = &line[depth..];
        if depth > 0 || content.starts_with(' ') {
            // Space stuffing: one leading space after the quote marks is not content.
            content = content.strip_prefix(' ').unwrap_or(content);
        }
        if joining && depth == joining_depth {
            // Continue the previous line.
        } else {
            if !out.is_empty() || joining {
                out.push('\n');
            }
            if depth > 0 {
                out.push_str(&">".repeat(depth));
                out.push(' ');
            }
        }
        let flowed = content.ends_with(' ') && content != "-- ";
        if flowed && delsp {
            out.push_str(&content[..content.len() - 1]);
        } else {
            out.push_str(content);
        }
        joining = flowed;
        joining_depth = depth;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_cleans_lines() {
        assert_eq!(
            normalize_text("\r\n\r\nHallo  \r\n\r\n\r\n\r\nWelt\u{0}\u{93}x\u{94}\t\n\n"),
            "Hallo\n\nWelt“x”"
        );
    }

    #[test]
    fn cp1252_decoding() {
        assert_eq!(decode_guess(b"\x84Gr\xfc\xdfe\x93 \x80"), "„Grüße“ €");
        assert_eq!(decode_guess("Grüße".as_bytes()), "Grüße");
        assert_eq!(decode_guess(b"Gr\xfc\xdfe"), "Grüße");
        assert_eq!(
            decode_guess(
                "Grüße "
                    .as_bytes()
                    .iter()
                    .chain(b"\x84x\x93")
                    .copied()
                    .collect::<Vec<_>>()
                    .as_slice()
            ),
            "Grüße „x“"
        );
    }

    #[test]
    fn undeclared_charsets_are_detected() {
        // "Sehr geehrte Damen und Herren, ich möchte meinen Reisepass verlängern." in four
        // charsets, as mail programs send it without a charset label.
        let cases: [(&encoding_rs::Encoding, &str); 5] = [
            (
                encoding_rs::GBK,
                "您好，我想申请居留许可。请问需要哪些材料？谢谢。",
            ),
            (
                encoding_rs::SHIFT_JIS,
                "こんにちは。パスポートの更新について質問があります。よろしくお願いします。",
            ),
            (
                encoding_rs::ISO_2022_JP,
                "こんにちは。パスポートの更新について質問があります。",
            ),
            (
                encoding_rs::WINDOWS_1252,
                "Sehr geehrte Damen und Herren, ich möchte meinen Reisepass verlängern. Grüße",
            ),
            (
                encoding_rs::EUC_KR,
                "안녕하세요. 여권 갱신에 대해 문의드립니다. 감사합니다.",
            ),
        ];
        for (encoding, text) in cases {
            let (bytes, _, _) = encoding.encode(text);
            assert_eq!(decode_guess(&bytes), text, "{}", encoding.name());
        }
        // A short German word still reads as Windows-1252.
        assert_eq!(decode_guess(b"Gr\xfc\xdfe"), "Grüße");
    }

    #[test]
    fn encoded_words() {
        assert_eq!(
            decode_encoded_words("=?x-unknown?Q?Sperrm=FCll?= Termin"),
            "Sperrmüll Termin"
        );
        assert_eq!(
            decode_encoded_words(
                "=?utf-8?Q?a_=C3=A4?= =?utf-8?B?w7Y=?= und =?iso-8859-1*de?Q?=FC?="
            ),
            "a äö und ü"
        );
        assert_eq!(
            decode_encoded_words("kein =? Wort ?= hier"),
            "kein =? Wort ?= hier"
        );
    }

    #[test]
    fn lenient_decoders() {
        assert_eq!(lenient_base64(b"SGFs\r\nbG8=\r\n"), b"Hallo");
        assert_eq!(lenient_base64(b"SGFsbG8gV2Vs!!dA"), b"Hallo Welt");
        assert_eq!(lenient_base64(b"SGFsbG8gV2"), b"Hallo W");
        assert_eq!(
            lenient_quoted_printable(b"Gr=FC=DFe=\r\nn =XY =3"),
            b"Gr\xfc\xdfen =XY =3"
        );
    }

    #[test]
    fn flowed_lines_are_joined() {
        assert_eq!(
            unflow(
                "Ich brauche einen \r\nTermin.\r\n-- \r\nAnna\r\n> alt \r\n> weiter\r\n",
                false
            ),
            "Ich brauche einen Termin.\n-- \nAnna\n> alt weiter\n"
        );
        assert_eq!(unflow("Per sonal \nausweis", true), "Per sonalausweis");
    }
}
