//! The hand-written mail corpus in `tests/corpus/`: every `NN-name.eml` is parsed and checked
//! against the parse-level keys of its `NN-name.expect.json`. The pipeline-level keys
//! (`outcome`, `tenant`) are checked here only for consistency with what the parser sees; the
//! end-to-end runner checks what the channel does with them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use verbund_email::parse::{self, ParseError, ParsedMail};

/// The values the corpus test substitutes for the placeholders.
const PLACEHOLDERS: [(&str, &str); 4] = [
    ("{{TICKET_NUMBER}}", "KO-2026-000001"),
    ("{{TICKET_MESSAGE_ID}}", "receipt.abc@koblenz.example"),
    ("{{CITIZEN}}", "anna.schmidt@buerger.example"),
    ("{{OUTBOUND_MESSAGE_ID}}", "out.123@koblenz.example"),
];

/// Keys an `.expect.json` may have; anything else is a typo.
const KNOWN_KEYS: [&str; 39] = [
    "outcome",
    "tenant",
    "auto",
    "subject",
    "from",
    "from_name",
    "reply_to",
    "message_id",
    "to",
    "cc",
    "delivered_to",
    "return_path",
    "in_reply_to",
    "references",
    "references_count",
    "references_last",
    "text_contains",
    "text_not_contains",
    "new_text_contains",
    "new_text_not_contains",
    "quoted_contains",
    "html_only",
    "attachments",
    "forwarded",
    "forwarded_subjects",
    "forwarded_from",
    "bounce",
    "bounce_original_message_id",
    "bounce_permanent",
    "bounce_status",
    "bounce_action",
    "bounce_recipient",
    "bounce_diagnostic_contains",
    "note",
    "date",
    "quoted",
    "signature_contains",
    "from_answerable",
    "subject_contains",
];

const OUTCOMES: [&str; 9] = [
    "new_ticket",
    "new_ticket_no_receipt",
    "reply",
    "reply_flagged",
    "bounce",
    "unparseable",
    "catchall",
    "bounce_unmatched",
    "review",
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn eml_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
}

fn substitute_bytes(raw: &[u8]) -> Vec<u8> {
    let mut out = raw.to_vec();
    for (from, to) in PLACEHOLDERS {
        out = replace_all(&out, from.as_bytes(), to.as_bytes());
    }
    out
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

fn substitute(s: &str) -> String {
    let mut s = s.to_owned();
    for (from, to) in PLACEHOLDERS {
        s = s.replace(from, to);
    }
    s
}

fn expectation(eml: &Path) -> Value {
    let name = eml.file_stem().unwrap().to_str().unwrap();
    let path = eml.with_file_name(format!("{name}.expect.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{name}: no readable {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: bad JSON: {e}"))
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(substitute)
}

fn str_list(v: &Value, name: &str, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{name}: {key} must be a list"))
        .iter()
        .map(|s| substitute(s.as_str().unwrap()))
        .collect()
}

fn domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

/// Checks one parsed mail against its expectation; returns the failures.
fn check(name: &str, mail: &ParsedMail, exp: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let obj = exp.as_object().unwrap();
    let mut fail = |msg: String| errors.push(format!("{name}: {msg}"));

    if let Some(v) = obj.get("auto") {
        let got = mail.auto.map(|a| a.as_str().to_owned());
        if got != opt_str(v) {
            fail(format!("auto: expected {v}, got {got:?}"));
        }
    }
    if let Some(v) = obj.get("subject")
        && Some(mail.subject.clone()) != opt_str(v)
    {
        fail(format!("subject: expected {v}, got {:?}", mail.subject));
    }
    if let Some(v) = obj.get("from") {
        let got = mail.from.as_ref().map(|a| a.address.clone());
        if got != opt_str(v) {
            fail(format!("from: expected {v}, got {got:?}"));
        }
    }
    if let Some(v) = obj.get("from_name") {
        let got = mail.from.as_ref().and_then(|a| a.name.clone());
        if got != opt_str(v) {
            fail(format!("from_name: expected {v}, got {got:?}"));
        }
    }
    if let Some(v) = obj.get("reply_to") {
        let got = mail.reply_to.as_ref().map(|a| a.address.clone());
        if got != opt_str(v) {
            fail(format!("reply_to: expected {v}, got {got:?}"));
        }
    }
    if let Some(v) = obj.get("message_id")
        && mail.message_id != opt_str(v)
    {
        fail(format!(
            "message_id: expected {v}, got {:?}",
            mail.message_id
        ));
    }
    if let Some(v) = obj.get("return_path")
        && mail.return_path != opt_str(v)
    {
        fail(format!(
            "return_path: expected {v}, got {:?}",
            mail.return_path
        ));
    }
    for (key, got) in [
        ("to", &mail.to),
        ("cc", &mail.cc),
        ("delivered_to", &mail.delivered_to),
        ("in_reply_to", &mail.in_reply_to),
        ("references", &mail.references),
    ] {
        if let Some(v) = obj.get(key) {
            let want = str_list(v, name, key);
            if &want != got {
                fail(format!("{key}: expected {want:?}, got {got:?}"));
            }
        }
    }
    if let Some(v) = obj.get("references_count")
        && v.as_u64() != Some(mail.references.len() as u64)
    {
        fail(format!(
            "references_count: expected {v}, got {}",
            mail.references.len()
        ));
    }
    if let Some(v) = obj.get("references_last")
        && mail.references.last().cloned() != opt_str(v)
    {
        fail(format!(
            "references_last: expected {v}, got {:?}",
            mail.references.last()
        ));
    }

    for (key, haystack, want) in [
        ("text_contains", Some(&mail.text), true),
        ("text_not_contains", Some(&mail.text), false),
        ("new_text_contains", Some(&mail.new_text), true),
        ("new_text_not_contains", Some(&mail.new_text), false),
        ("quoted_contains", mail.quoted.as_ref(), true),
    ] {
        if let Some(v) = obj.get(key) {
            for needle in str_list(v, name, key) {
                let found = haystack.is_some_and(|h| h.contains(&needle));
                if found != want {
                    fail(format!(
                        "{key}: {needle:?} {} in {:?}",
                        if want { "missing" } else { "present" },
                        haystack.map(String::as_str).unwrap_or("<none>")
                    ));
                }
            }
        }
    }
    if let Some(v) = obj.get("html_only")
        && v.as_bool() != Some(mail.html_only)
    {
        fail(format!("html_only: expected {v}, got {}", mail.html_only));
    }

    if let Some(v) = obj.get("attachments") {
        let want = v.as_array().unwrap();
        if want.len() != mail.attachments.len() {
            fail(format!(
                "attachments: expected {} got {}: {:?}",
                want.len(),
                mail.attachments.len(),
                mail.attachments
                    .iter()
                    .map(|a| (&a.filename, &a.content_type, a.size))
                    .collect::<Vec<_>>()
            ));
        } else {
            for (i, (w, got)) in want.iter().zip(&mail.attachments).enumerate() {
                if let Some(f) = w.get("filename")
                    && got.filename != opt_str(f)
                {
                    fail(format!(
                        "attachment {i}: filename expected {f}, got {:?}",
                        got.filename
                    ));
                }
                if let Some(ct) = w.get("content_type")
                    && Some(got.content_type.clone()) != opt_str(ct)
                {
                    fail(format!(
                        "attachment {i}: content_type expected {ct}, got {:?}",
                        got.content_type
                    ));
                }
                if let Some(inline) = w.get("inline")
                    && inline.as_bool() != Some(got.inline)
                {
                    fail(format!(
                        "attachment {i}: inline expected {inline}, got {}",
                        got.inline
                    ));
                }
                if let Some(cid) = w.get("content_id")
                    && got.content_id != opt_str(cid)
                {
                    fail(format!(
                        "attachment {i}: content_id expected {cid}, got {:?}",
                        got.content_id
                    ));
                }
                if let Some(size) = w.get("size")
                    && size.as_u64() != Some(got.size as u64)
                {
                    fail(format!(
                        "attachment {i}: size expected {size}, got {}",
                        got.size
                    ));
                }
                if got.size != got.data.len() {
                    fail(format!(
                        "attachment {i}: size {} but {} bytes",
                        got.size,
                        got.data.len()
                    ));
                }
            }
        }
    }

    if let Some(v) = obj.get("signature_contains") {
        for needle in str_list(v, name, "signature_contains") {
            if !mail
                .signature
                .as_deref()
                .is_some_and(|s| s.contains(&needle))
            {
                fail(format!(
                    "signature: {needle:?} missing in {:?}",
                    mail.signature
                ));
            }
        }
    }
    if let Some(v) = obj.get("subject_contains") {
        for needle in str_list(v, name, "subject_contains") {
            if !mail.subject.contains(&needle) {
                fail(format!("subject: {needle:?} missing in {:?}", mail.subject));
            }
        }
    }
    if let Some(v) = obj.get("from_answerable")
        && v.as_bool() != mail.from.as_ref().map(|f| f.answerable)
    {
        fail(format!(
            "from_answerable: expected {v}, got {:?}",
            mail.from
        ));
    }

    if let Some(v) = obj.get("forwarded")
        && v.as_u64() != Some(mail.forwarded.len() as u64)
    {
        fail(format!("forwarded: expected {v}, got {:?}", mail.forwarded));
    }
    if let Some(v) = obj.get("forwarded_subjects") {
        let got: Vec<String> = mail
            .forwarded
            .iter()
            .filter_map(|f| f.subject.clone())
            .collect();
        if got != str_list(v, name, "forwarded_subjects") {
            fail(format!("forwarded_subjects: expected {v}, got {got:?}"));
        }
    }
    if let Some(v) = obj.get("forwarded_from") {
        let got: Vec<String> = mail
            .forwarded
            .iter()
            .filter_map(|f| f.from.clone())
            .collect();
        if got != str_list(v, name, "forwarded_from") {
            fail(format!("forwarded_from: expected {v}, got {got:?}"));
        }
    }

    if let Some(v) = obj.get("bounce")
        && v.is_null()
        && mail.bounce.is_some()
    {
        fail(format!("bounce: expected none, got {:?}", mail.bounce));
    }
    let bounce_keys = [
        "bounce_original_message_id",
        "bounce_permanent",
        "bounce_status",
        "bounce_action",
        "bounce_recipient",
        "bounce_diagnostic_contains",
    ];
    if bounce_keys.iter().any(|k| obj.contains_key(*k)) {
        match &mail.bounce {
            None => fail("expected a bounce, got none".to_owned()),
            Some(b) => {
                for (key, got) in [
                    ("bounce_original_message_id", &b.original_message_id),
                    ("bounce_status", &b.status),
                    ("bounce_action", &b.action),
                    ("bounce_recipient", &b.recipient),
                ] {
                    if let Some(v) = obj.get(key)
                        && got != &opt_str(v)
                    {
                        fail(format!("{key}: expected {v}, got {got:?}"));
                    }
                }
                if let Some(v) = obj.get("bounce_permanent")
                    && v.as_bool() != Some(b.permanent)
                {
                    fail(format!(
                        "bounce_permanent: expected {v}, got {}",
                        b.permanent
                    ));
                }
                if let Some(v) = obj.get("bounce_diagnostic_contains") {
                    let needle = opt_str(v).unwrap();
                    if !b.diagnostic.as_deref().is_some_and(|d| d.contains(&needle)) {
                        fail(format!(
                            "bounce_diagnostic: {needle:?} missing in {:?}",
                            b.diagnostic
                        ));
                    }
                }
            }
        }
    }

    // Consistency of the pipeline-level keys with what the parser sees.
    let outcome = obj["outcome"].as_str().unwrap();
    let consistent = match outcome {
        "bounce" | "bounce_unmatched" => mail.bounce.is_some() && mail.auto.is_some(),
        "review" => mail.bounce.is_none() && mail.from.as_ref().is_none_or(|f| !f.answerable),
        "new_ticket" | "catchall" | "reply" | "reply_flagged" => {
            mail.bounce.is_none() && mail.auto.is_none()
        }
        // Loop protection, or nobody to send a receipt to.
        "new_ticket_no_receipt" => {
            mail.bounce.is_none() && (mail.auto.is_some() || mail.from.is_none())
        }
        _ => true,
    };
    if !consistent {
        fail(format!(
            "outcome {outcome} does not fit auto {:?} / bounce {:?}",
            mail.auto, mail.bounce
        ));
    }
    let citizen = substitute("{{CITIZEN}}");
    let ticket_number = substitute("{{TICKET_NUMBER}}");
    let ticket_id = substitute("{{TICKET_MESSAGE_ID}}");
    if outcome == "reply" || outcome == "reply_flagged" {
        let threaded = mail.subject.contains(&ticket_number)
            || mail.in_reply_to.contains(&ticket_id)
            || mail.references.contains(&ticket_id);
        if !threaded {
            fail("a reply must carry the ticket number or the ticket's Message-ID".to_owned());
        }
        let same_sender = mail.from.as_ref().is_some_and(|f| f.address == citizen);
        if same_sender != (outcome == "reply") {
            fail(format!(
                "outcome {outcome} does not fit sender {:?}",
                mail.from
            ));
        }
    }
    if let Some(tenant) = obj.get("tenant") {
        let recipients: Vec<&String> = mail
            .to
            .iter()
            .chain(&mail.cc)
            .chain(&mail.delivered_to)
            .collect();
        let has = |d: &str| recipients.iter().any(|a| domain(a) == d);
        match tenant.as_str() {
            Some(t) => {
                if !has(&format!("{t}.example")) {
                    fail(format!(
                        "tenant {t}: no recipient of that tenant in {recipients:?}"
                    ));
                }
            }
            None => {
                if has("koblenz.example") || has("mainz.example") {
                    fail(format!(
                        "tenant null but a tenant address is among {recipients:?}"
                    ));
                }
            }
        }
    }
    errors
}

#[test]
fn corpus_matches_expectations() {
    let files = eml_files();
    assert!(
        files.len() >= 45,
        "the corpus has only {} mails",
        files.len()
    );

    // Every expectation belongs to a mail.
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if let Some(stem) = name.strip_suffix(".expect.json") {
            assert!(
                corpus_dir().join(format!("{stem}.eml")).exists(),
                "{name} has no .eml"
            );
        } else {
            assert!(
                name.ends_with(".eml"),
                "unexpected file {name} in the corpus"
            );
        }
    }

    let mut errors = Vec::new();
    let mut outcomes = std::collections::BTreeMap::new();
    for eml in &files {
        let name = eml.file_stem().unwrap().to_str().unwrap().to_owned();
        let exp = expectation(eml);
        let obj = exp
            .as_object()
            .unwrap_or_else(|| panic!("{name}: not an object"));
        for key in obj.keys() {
            assert!(
                KNOWN_KEYS.contains(&key.as_str()),
                "{name}: unknown key {key}"
            );
        }
        let outcome = obj
            .get("outcome")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{name}: outcome missing"));
        assert!(
            OUTCOMES.contains(&outcome),
            "{name}: unknown outcome {outcome}"
        );
        *outcomes.entry(outcome.to_owned()).or_insert(0) += 1;

        let raw = substitute_bytes(&std::fs::read(eml).unwrap());
        match (parse::parse(&raw), outcome == "unparseable") {
            (Ok(mail), false) => errors.extend(check(&name, &mail, &exp)),
            (Err(_), true) => {}
            (Ok(mail), true) => errors.push(format!("{name}: expected an error, parsed {mail:?}")),
            (Err(e), false) => errors.push(format!("{name}: parse error {e}")),
        }
    }
    assert!(
        errors.is_empty(),
        "{} failures:\n{}",
        errors.len(),
        errors.join("\n")
    );
    for outcome in OUTCOMES {
        assert!(
            outcomes.contains_key(outcome),
            "no corpus mail for outcome {outcome}"
        );
    }
}

#[test]
fn placeholders_are_all_known() {
    for eml in eml_files() {
        let raw = std::fs::read(&eml).unwrap();
        let substituted = substitute_bytes(&raw);
        assert!(
            !substituted.windows(2).any(|w| w == b"{{"),
            "{}: unknown placeholder left",
            eml.display()
        );
    }
}

/// Cheap deterministic pseudo-random numbers (xorshift), so that failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[test]
fn never_panics_on_truncated_or_damaged_corpus_mail() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for eml in eml_files() {
        let raw = substitute_bytes(&std::fs::read(&eml).unwrap());
        // Every prefix, in steps that give about 150 cuts per file.
        let step = (raw.len() / 150).max(1);
        let mut len = 0;
        while len <= raw.len() {
            let _ = parse::parse(&raw[..len]);
            len += step;
        }
        // Damaged copies: random bytes overwritten, lines dropped, bytes duplicated.
        for round in 0..20 {
            let mut damaged = raw.clone();
            if damaged.is_empty() {
                break;
            }
            for _ in 0..(1 + round * 3) {
                let at = (rng.next() as usize) % damaged.len();
                match rng.next() % 4 {
                    0 => damaged[at] = rng.next() as u8,
                    1 => damaged[at] = b"\n-<>=:;\"\\"[(rng.next() % 9) as usize],
                    2 => {
                        let end = (at + (rng.next() % 200) as usize).min(damaged.len());
                        damaged.drain(at..end);
                    }
                    _ => {
                        let end = (at + (rng.next() % 100) as usize).min(damaged.len());
                        let copy = damaged[at..end].to_vec();
                        damaged.splice(at..at, copy);
                    }
                }
                if damaged.is_empty() {
                    break;
                }
            }
            let _ = parse::parse(&damaged);
        }
    }
}

#[test]
fn never_panics_on_pathological_input() {
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\0".to_vec(),
        b":".to_vec(),
        b"a:".to_vec(),
        b"Subject:".to_vec(),
        b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--\n".to_vec(),
        b"Content-Type: multipart/mixed\n\nno boundary at all".to_vec(),
        b"Content-Type: message/rfc822\n\n".to_vec(),
        b"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n".to_vec(),
        b"Content-Type: text/plain; charset=\"\"\nContent-Transfer-Encoding: base64\n\n====".to_vec(),
        b"Content-Type: text/html\n\n<".to_vec(),
        b"Content-Type: text/html\n\n<a href='".to_vec(),
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\nContent-Type: message/delivery-status\n\n\n\n--x--".to_vec(),
        b"From: <>\nReturn-Path:\nReferences: <<<>>>\nIn-Reply-To: <\n\n".to_vec(),
        b"From: MAILER-DAEMON\n\n".to_vec(),
    ];

    // 5000 nested multiparts.
    let mut deep = String::from("Content-Type: multipart/mixed; boundary=\"b0\"\n\n");
    for i in 0..5000 {
        deep.push_str(&format!(
            "--b{i}\nContent-Type: multipart/mixed; boundary=\"b{}\"\n\n",
            i + 1
        ));
    }
    deep.push_str("--b5000\nContent-Type: text/plain\n\ndeep\n");
    inputs.push(deep.into_bytes());

    // 20 000 nested attached messages, and 5 000 nested digests (whose parts are messages
    // without saying so): mail-parser nests them without limit.
    let mut digests = String::new();
    for i in 0..5000 {
        digests.push_str(&format!(
            "Subject: {i}\nContent-Type: multipart/digest; boundary=d{i}\n\n--d{i}\n"
        ));
    }
    digests.push_str("Subject: innermost\n\nbody\n");
    inputs.push(digests.into_bytes());
    let mut nested = String::new();
    for _ in 0..20_000 {
        nested.push_str("Subject: x\nContent-Type: message/rfc822\n\n");
    }
    nested.push_str("Subject: innermost\n\nbody\n");
    inputs.push(nested.into_bytes());

    // A huge header line, a huge HTML tag soup and many tiny parts.
    inputs.push(format!("Subject: {}\n\nx", "a".repeat(1_000_000)).into_bytes());
    inputs.push(
        format!(
            "Content-Type: text/html\n\n{}",
            "<div><blockquote type=cite><p>&#x1F600;&amp".repeat(20_000)
        )
        .into_bytes(),
    );
    let mut many = String::from("Content-Type: multipart/mixed; boundary=m\n\n");
    for _ in 0..20_000 {
        many.push_str("--m\nContent-Type: text/plain\n\nx\n");
    }
    inputs.push(many.into_bytes());

    let mut rng = XorShift(42);
    for _ in 0..200 {
        let len = (rng.next() % 600) as usize;
        let mut bytes: Vec<u8> = b"Content-Type: multipart/mixed; boundary=z\n\n".to_vec();
        bytes.extend((0..len).map(|_| {
            b"--z\nContent-Type: text/html\n\n<>&;=?QB\r\x80\xff"[(rng.next() % 40) as usize]
        }));
        inputs.push(bytes);
    }

    for input in &inputs {
        let _ = parse::parse(input);
    }
    assert_eq!(parse::parse(b""), Err(ParseError::Empty));
}
