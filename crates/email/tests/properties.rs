//! Property tests of MIME parsing and of the mail HTML-to-text converter: for any input they
//! never panic, their output is bounded by the input, and their time grows linearly with the
//! input (an input repeated eight times takes nowhere near 64 times as long; measured in the
//! same run, with a generous ratio, never as an absolute time).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use proptest::prelude::*;
use verbund_email::parse::{self, html_to_text};

/// Pieces that mail is made of, including the ones that nest, in the spellings mail-parser
/// accepts, and broken ones.
fn mime_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Content-Type: message/rfc822\r\n\r\n".to_owned()),
        Just("Content-Type: message/ rfc822\r\n\r\n".to_owned()),
        Just("Content-Type: message/(c)rfc822\r\n\r\n".to_owned()),
        Just("Content-Type: MESSAGE/GLOBAL\r\n\r\n".to_owned()),
        Just("Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n".to_owned()),
        Just("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n".to_owned()),
        Just("Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\n".to_owned()),
        Just("Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n--r\r\n".to_owned()),
        Just("Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n".to_owned()),
        Just("Content-Type: text/html; charset=utf-8\r\n\r\n<div><blockquote><a href=\"https://x.example\"><ul><li>".to_owned()),
        Just("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe=\r\n".to_owned()),
        Just("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nQ29udGVudC1UeXBlOiBtZXNzYWdlL3JmYzgyMg0KDQo=\r\n".to_owned()),
        Just("Content-Type: text; name=\"a.txt\"\r\nContent-Disposition: inline; filename=\"a\u{202E}txt.exe\"\r\n\r\nText\r\n".to_owned()),
        Just("--b--\r\n".to_owned()),
        Just("--a\r\nContent-Type: text/plain\r\n\r\nHallo\r\n".to_owned()),
        Just("> zitiert\r\n".to_owned()),
        Just("Am 1.1.2026 schrieb X:\r\n".to_owned()),
        Just("-- \r\nAnna, Tel. 0261 1\r\n".to_owned()),
        Just("From: =?utf-8?Q?a?Q?b?=@x.example\r\n".to_owned()),
        Just("Subject: =?utf-8?B?w7Y=?= \u{00e4}\r\n".to_owned()),
        Just("\r\n".to_owned()),
        "[ -~]{0,40}\r\n",
        "\\PC{0,20}",
    ]
}

fn mime_input() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(mime_piece(), 0..40),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(pieces, noise)| {
            let mut raw =
                b"From: Anna <anna@buerger.example>\r\nTo: b@x.example\r\nSubject: s\r\n".to_vec();
            for p in pieces {
                raw.extend_from_slice(p.as_bytes());
            }
            raw.extend_from_slice(&noise);
            raw
        })
}

/// Everything the parser returns is bounded by the input.
fn check_bounded(raw: &[u8], mail: &parse::ParsedMail) {
    let n = raw.len();
    // Text can grow a little when HTML becomes text (link targets, bullets, quote marks).
    assert!(
        mail.text.len() <= 12 * n + 1024,
        "{} for {n}",
        mail.text.len()
    );
    assert!(mail.new_text.len() <= mail.text.len() + 64);
    assert!(mail.subject.len() <= 4 * n + 64);
    let attached: usize = mail.attachments.iter().map(|a| a.data.len()).sum();
    assert!(attached <= 4 * n + 1024, "{attached} for {n}");
    for a in &mail.attachments {
        if let Some(f) = &a.filename {
            assert!(
                !f.contains(['\u{202E}', '\u{2066}', '/', '\\', '\u{0}']),
                "{f:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsing_never_panics_and_is_bounded(raw in mime_input()) {
        if let Ok(mail) = parse::parse(&raw) {
            check_bounded(&raw, &mail);
        }
    }

    #[test]
    fn random_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(mail) = parse::parse(&raw) {
            check_bounded(&raw, &mail);
        }
    }
}

/// CPU time of this process. Not the wall clock: on a loaded machine a long run is always
/// interrupted by other processes and a short one often not, which alone made linear code look
/// quadratic (seen: 60 times the time for 8 times the input, under a load of 13 on 2 cores).
/// The process, not the thread: `parse::parse` parses on a thread of its own. nextest runs
/// each test in a process of its own.
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// The CPU time of `f(k)`.
fn time(f: &mut impl FnMut(usize), k: usize) -> Duration {
    let t = cpu_time();
    f(k);
    cpu_time().saturating_sub(t)
}

/// Linear: eight times the input takes well under 8 × 4 times as long (a quadratic would take
/// 64 times as long). Both sizes are timed in turn, best of five each, so that a burst of load
/// hits both alike. A small absolute slack absorbs timer noise on tiny inputs.
fn assert_linear(mut f: impl FnMut(usize), k: usize, what: &str) {
    let (mut small, mut large) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        small = small.min(time(&mut f, k));
        large = large.min(time(&mut f, 8 * k));
    }
    assert!(
        large <= small * 32 + Duration::from_millis(20),
        "{what}: {small:?} for {k} units, {large:?} for {} units",
        8 * k
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn parsing_time_is_linear(pieces in prop::collection::vec(mime_piece(), 1..6)) {
        let unit: String = pieces.concat();
        let build = |k: usize| {
            let mut raw = String::from("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n");
            raw.push_str(&unit.repeat(k));
            raw.into_bytes()
        };
        let k = (20_000 / unit.len().max(1)).max(50);
        let inputs = [build(k), build(8 * k)];
        let run = |n: usize| {
            let raw = if n == k { &inputs[0] } else { &inputs[1] };
            let _ = parse::parse(raw);
        };
        assert_linear(run, k, &format!("parse {unit:?}"));
    }

    #[test]
    fn html_time_is_linear(tokens in prop::collection::vec(html_token(), 1..12)) {
        let unit: String = tokens.concat();
        let k = (10_000 / unit.len().max(1)).max(50);
        let inputs = [unit.repeat(k), unit.repeat(8 * k)];
        let run = |n: usize| {
            let html = if n == k { &inputs[0] } else { &inputs[1] };
            let _ = html_to_text(html);
        };
        assert_linear(run, k, &format!("html {unit:?}"));
    }
}

fn html_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<div>".to_owned()),
        Just("</div>".to_owned()),
        Just("<p class=MsoNormal>".to_owned()),
        Just("</p>".to_owned()),
        Just("<br>".to_owned()),
        Just("<blockquote type=\"cite\">".to_owned()),
        Just("</blockquote>".to_owned()),
        Just("<a href=\"https://x.example/a\">".to_owned()),
        Just("</a>".to_owned()),
        Just("<ul><li>".to_owned()),
        Just("</li></ul>".to_owned()),
        Just("<ol start=3><li>".to_owned()),
        Just("<table><tr><td>".to_owned()),
        Just("</td></tr></table>".to_owned()),
        Just("<pre>".to_owned()),
        Just("</pre>".to_owned()),
        Just("<span style=\"display:none\">".to_owned()),
        Just("</span>".to_owned()),
        Just("<script>".to_owned()),
        Just("</script>".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        Just("<div class=\"gmail_quote\">".to_owned()),
        Just("&amp;&uuml;&#x20AC;&#150;&".to_owned()),
        Just("<".to_owned()),
        Just("<a href='".to_owned()),
        "[a-zA-Z äöü\n]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn html_never_panics_and_is_bounded(tokens in prop::collection::vec(html_token(), 0..200)) {
        let html: String = tokens.concat();
        let out = html_to_text(&html);
        prop_assert!(out.text.len() <= 12 * html.len() + 64, "{} for {}", out.text.len(), html.len());
        if let Some(q) = out.quote_start {
            prop_assert!(q <= out.text.len() && out.text.is_char_boundary(q));
        }
    }

    #[test]
    fn html_of_any_text_never_panics(html in "\\PC{0,400}") {
        let out = html_to_text(&html);
        prop_assert!(out.text.len() <= 12 * html.len() + 64);
    }
}
