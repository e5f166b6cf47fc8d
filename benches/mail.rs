//! E-mail channel benchmark (issue "E-mail channel", point 11).
//!
//! ```sh
//! cargo bench --bench mail -- --mails 3000 --clients 8 --deliver 3000 --connections 8
//! VERBUND_BENCH_PG_URL=postgres://postgres@127.0.0.1:<port> cargo bench --bench mail
//! ```
//!
//! 1. Ingest: the app in-process on a fresh SQLite file (and on a fresh PostgreSQL database
//!    created on the server of `VERBUND_BENCH_PG_URL` / `--pg`), demo seeded, no SMTP host (so
//!    receipts stay queued). N generated citizen mails (plain text, multipart/alternative with
//!    HTML, small base64 attachments, ~10 % replies with `[TICKET-NUMBER]` in the subject) are
//!    posted to `POST /api/v1/inbound/raw` by C concurrent clients. Afterwards the database must
//!    hold exactly N inbound mails, the expected tickets, receipts and attachments.
//!    On PostgreSQL with `pg_stat_statements` preloaded, the statements per mail are listed.
//!    Then a sequential, in-process breakdown (parse / store raw / process / answer) of a few
//!    hundred more mails shows where the time of one mail goes.
//! 2. Delivery: M queued receipts (ingested into a fresh SQLite file first, untimed), then the
//!    app with `smtp` pointing at a local SMTP sink, measured from start until every outbox row
//!    is `sent`. Sinks: `scripts/smtp-sink.py` (aiosmtpd, delivers into Maildirs; every file is
//!    checked: each receipt arrived exactly once) and a minimal Rust sink in this binary, run
//!    as a child process (`--smtp-sink <port>`), to separate Verbund's rate from the sink's.
//!
//! Options (or environment): `--mails N` (`VERBUND_BENCH_MAILS`, 3000), `--clients C`
//! (`VERBUND_BENCH_CLIENTS`, 8), `--deliver M` (`VERBUND_BENCH_DELIVER`, 3000; 0 skips delivery),
//! `--connections K` (`VERBUND_BENCH_SMTP_CONNECTIONS`, 8), `--poll-ms` (50), `--sink
//! python|rust|both` (both), `--phases S` (200; 0 skips), `--pg URL` (`VERBUND_BENCH_PG_URL`),
//! `--no-sqlite`. Only loopback traffic; every wait is bounded.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]
#![allow(
    clippy::disallowed_methods,
    reason = "the benchmark prepares and checks its data directly in the tables"
)]

mod support;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use support::machine::{machine_busy_since, machine_jiffies};
use support::rng::Rng;

use sea_orm::{ConnectionTrait, Database, EntityTrait, Statement};
use verbund_server::settings::SmtpSettings;
use verbund_server::{Application, Settings};
use verbund_tenant::db::Db;

const INGEST_TOKEN: &str = "bench-ingest-token-0123456789abcdef";
const JWT_SECRET: &str = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const SLUGS: [&str; 4] = [
    "stadt-trier",
    "kreis-trier-saarburg",
    "stadt-koblenz",
    "stadt-mainz",
];

// ---------------------------------------------------------------------------------------------
// Arguments, small helpers

struct Args {
    mails: usize,
    clients: usize,
    deliver: usize,
    connections: u32,
    poll_ms: u64,
    sink: String,
    phases: usize,
    pg: Option<String>,
    sqlite: bool,
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn num(name: &str, env: &str, default: usize) -> usize {
    arg(name)
        .or_else(|| std::env::var(env).ok())
        .map_or(default, |v| v.parse().expect(name))
}

impl Args {
    fn parse() -> Self {
        Self {
            mails: num("--mails", "VERBUND_BENCH_MAILS", 3000),
            clients: num("--clients", "VERBUND_BENCH_CLIENTS", 8).max(1),
            deliver: num("--deliver", "VERBUND_BENCH_DELIVER", 3000),
            connections: num("--connections", "VERBUND_BENCH_SMTP_CONNECTIONS", 8) as u32,
            poll_ms: num("--poll-ms", "VERBUND_BENCH_POLL_MS", 50) as u64,
            sink: arg("--sink").unwrap_or_else(|| "both".into()),
            phases: num("--phases", "VERBUND_BENCH_PHASES", 200),
            pg: arg("--pg").or_else(|| std::env::var("VERBUND_BENCH_PG_URL").ok()),
            sqlite: !flag("--no-sqlite"),
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn ms_fine(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut Child) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the SMTP sink exited before it listened: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the SMTP sink did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// User + system CPU seconds of a process (`self` or a pid), children not included.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs one phase in its own runtime and shuts it down afterwards, which ends the background
/// tasks (delivery worker, watchers) of the apps started in it.
fn in_runtime<F: std::future::Future>(f: F) -> F::Output {
    let rt = runtime();
    let out = rt.block_on(f);
    rt.shutdown_timeout(Duration::from_secs(2));
    out
}

async fn count(db: &Db, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {sql}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// The URL of database `db` on the server of `url` (whatever database `url` names).
fn pg_with_db(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{db}?{q}"),
        None => format!("{server}/{db}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Mail generation

fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn base64_lines(data: &[u8]) -> String {
    use base64::Engine as _;
    // 57 bytes make a 76-character line.
    data.chunks(57)
        .map(|line| base64::engine::general_purpose::STANDARD.encode(line) + "\r\n")
        .collect()
}

/// RFC 2047 for header words with non-ASCII characters.
fn encode_word(s: &str) -> String {
    if s.is_ascii() {
        s.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", base64(s.as_bytes()))
    }
}

/// Quoted-printable with soft line breaks (CRLF line ends in, CRLF out).
fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for line in text.split("\r\n") {
        let mut width = 0;
        for &b in line.as_bytes() {
            let piece = if (b == b' ' || (33..=126).contains(&b)) && b != b'=' {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            if width + piece.len() > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            width += piece.len();
            out.push_str(&piece);
        }
        out.push_str("\r\n");
    }
    out
}

const FIRST: &[&str] = &[
    "Anna", "Bernd", "Claudia", "Deniz", "Elena", "Felix", "Gül", "Hannes", "Ines", "Jonas",
    "Katrin", "Lukas", "Maria", "Nils", "Olga", "Paul", "Rita", "Stefan", "Tanja", "Ümit", "Vera",
    "Wolfgang", "Yasemin", "Zoë", "Jürgen", "Sören",
];
const LAST: &[&str] = &[
    "Schmidt",
    "Müller",
    "Becker",
    "Hoffmann",
    "Yılmaz",
    "Wagner",
    "Schäfer",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Krüger",
    "Hartmann",
    "Lange",
    "Werner",
    "Krause",
    "Meier",
    "Öztürk",
    "Weiß",
];
const DOMAINS: &[&str] = &[
    "web.de",
    "gmx.de",
    "t-online.de",
    "gmail.com",
    "posteo.de",
    "outlook.de",
    "mailbox.org",
    "freenet.de",
    "icloud.com",
    "yahoo.de",
];
const TOPICS: &[(&str, &str)] = &[
    (
        "Termin für Personalausweis",
        "mein Personalausweis läuft im nächsten Monat ab. Wann kann ich einen Termin für den neuen Ausweis bekommen, und welche Unterlagen muss ich mitbringen? Reicht ein biometrisches Foto vom Automaten?",
    ),
    (
        "Ummeldung nach Umzug",
        "ich bin am 1. des Monats innerhalb der Stadt umgezogen. Muss ich für die Ummeldung persönlich vorbeikommen oder geht das auch schriftlich? Die Wohnungsgeberbestätigung liegt mir vor.",
    ),
    (
        "Frage zur Hundesteuer",
        "wir haben seit zwei Wochen einen Hund aus dem Tierheim. Wie melde ich ihn zur Hundesteuer an, und gibt es eine Ermäßigung für Hunde aus dem Tierheim?",
    ),
    (
        "Sperrmüll anmelden",
        "ich möchte Sperrmüll anmelden (ein altes Sofa, zwei Schränke und eine Matratze). Wie lange dauert es bis zur Abholung und kostet das etwas?",
    ),
    (
        "Elterngeld – fehlende Unterlagen",
        "ich habe vor drei Wochen Elterngeld beantragt und einen Brief bekommen, dass noch Unterlagen fehlen. Welche Nachweise werden genau benötigt und an wen schicke ich sie?",
    ),
    (
        "Führerschein umtauschen",
        "ich habe noch einen grauen Papierführerschein von 1994. Bis wann muss ich ihn umtauschen, und brauche ich dafür einen Termin bei der Führerscheinstelle?",
    ),
    (
        "Zulassung eines Anhängers",
        "ich habe einen gebrauchten Anhänger gekauft. Welche Papiere brauche ich für die Zulassung und kann ich das Wunschkennzeichen online reservieren?",
    ),
    (
        "Gewerbe anmelden",
        "ich möchte nebenberuflich ein Gewerbe (Hausmeisterservice) anmelden. Geht das online, und welche Gebühren fallen an?",
    ),
    (
        "Geburtsurkunde beantragen",
        "für meine Eheschließung brauche ich eine aktuelle Geburtsurkunde. Ich bin hier geboren, wohne aber inzwischen in Bayern. Kann ich die Urkunde per Post bekommen?",
    ),
    (
        "Wohngeldantrag – Bearbeitungsstand",
        "ich habe im letzten Monat einen Antrag auf Wohngeld gestellt und noch nichts gehört. Können Sie mir sagen, wie der Stand ist? Das Aktenzeichen habe ich leider nicht mehr.",
    ),
    (
        "Briefwahlunterlagen",
        "ich bin am Wahltag im Urlaub. Wie kann ich Briefwahlunterlagen beantragen und bis wann müssen sie zurück sein?",
    ),
    (
        "Carport – brauche ich eine Baugenehmigung?",
        "wir möchten neben dem Haus einen Carport (3 x 6 m) bauen. Ist dafür eine Baugenehmigung nötig oder reicht eine Anzeige?",
    ),
    (
        "Kita-Platz ab August",
        "wir suchen für unsere Tochter (2 Jahre) einen Kita-Platz ab August. Wie läuft die Anmeldung und gibt es eine Warteliste?",
    ),
    (
        "Führungszeugnis für Ehrenamt",
        "ich brauche für meine ehrenamtliche Tätigkeit im Sportverein ein erweitertes Führungszeugnis. Ist das gebührenfrei und wie beantrage ich es?",
    ),
    (
        "Geldbörse verloren",
        "ich habe gestern in der Innenstadt meine Geldbörse (braun, Leder) verloren. Wurde sie beim Fundbüro abgegeben?",
    ),
    (
        "Bewohnerparkausweis",
        "ich bin neu in die Altstadt gezogen. Wie beantrage ich einen Bewohnerparkausweis und was kostet er im Jahr?",
    ),
];
const GREETINGS: &[&str] = &[
    "Sehr geehrte Damen und Herren,",
    "Guten Tag,",
    "Hallo,",
    "Sehr geehrte Damen und Herren des Bürgerservice,",
];
const CLOSINGS: &[&str] = &[
    "Mit freundlichen Grüßen",
    "Viele Grüße",
    "Freundliche Grüße",
    "MfG",
];
const STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Am Moselufer",
    "Schillerstraße",
    "Lindenallee",
];
const MAILERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0",
    "Apple Mail (2.3826.200.121)",
    "Microsoft Outlook 16.0",
    "WEB.DE Mailer",
    "Roundcube Webmail/1.6.9",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Plain8bit,
    PlainQp,
    Alternative,
    Attachment,
    Reply,
}

struct Citizen {
    name: String,
    address: String,
}

/// One planned mail: new ones are ready to send; replies are built when their ticket number
/// is known.
struct Planned {
    kind: Kind,
    citizen: Citizen,
    slug: &'static str,
    to: String,
    subject: String,
    message_id: String,
    /// Replies: the index of the new mail they answer.
    target: Option<usize>,
    raw: Vec<u8>,
}

fn citizen(rng: &mut Rng, serial: usize) -> Citizen {
    let first = *rng.pick(FIRST);
    let last = *rng.pick(LAST);
    let ascii = |s: &str| {
        s.to_lowercase()
            .replace('ä', "ae")
            .replace('ö', "oe")
            .replace('ü', "ue")
            .replace('ß', "ss")
            .replace('ı', "i")
            .replace('ë', "e")
    };
    Citizen {
        name: format!("{first} {last}"),
        address: format!(
            "{}.{}{serial}@{}",
            ascii(first),
            ascii(last),
            rng.pick(DOMAINS)
        ),
    }
}

fn text_body(rng: &mut Rng, c: &Citizen, topic: &str) -> String {
    let mut t = format!("{}\r\n\r\n{topic}\r\n", rng.pick(GREETINGS));
    if rng.below(2) == 0 {
        t.push_str("\r\nVielen Dank im Voraus für Ihre Hilfe.\r\n");
    }
    t.push_str(&format!(
        "\r\n{}\r\n{}\r\n{} {}\r\n{} Trier\r\n",
        rng.pick(CLOSINGS),
        c.name,
        rng.pick(STREETS),
        1 + rng.below(120),
        54290 + rng.below(40)
    ));
    if rng.below(3) == 0 {
        t.push_str(&format!("Tel. 0651 {}\r\n", 100_000 + rng.below(899_999)));
    }
    if rng.below(5) == 0 {
        t.push_str("\r\n-- \r\nVon meinem iPhone gesendet\r\n");
    }
    t
}

fn html_body(text: &str) -> String {
    let paras: Vec<String> = text
        .split("\r\n\r\n")
        .map(|p| {
            format!(
                "<p>{}</p>",
                p.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace("\r\n", "<br>\r\n")
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html>\r\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"></head>\r\n\
<body style=\"font-family: Arial, sans-serif; font-size: 11pt\">\r\n<div dir=\"ltr\">\r\n{}\r\n</div>\r\n</body></html>\r\n",
        paras.join("\r\n")
    )
}

fn head(p: &Planned, rng: &mut Rng, extra: &str, date: &str) -> String {
    let host = p
        .citizen
        .address
        .rsplit_once('@')
        .map_or("mx.example", |(_, d)| d);
    format!(
        "Return-Path: <{addr}>\r\nDelivered-To: {delivered}\r\n\
Received: from mout.{host} (mout.{host} [203.0.113.{ip}])\r\n\tby mx.verbund.example (Postfix) with ESMTPS id 4Z{id:X}\r\n\tfor <{delivered}>; {date}\r\n\
From: {name} <{addr}>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{mid}>\r\n\
{extra}User-Agent: {ua}\r\nMIME-Version: 1.0\r\n",
        addr = p.citizen.address,
        delivered =
            p.to.rsplit_once('<')
                .map_or(p.to.as_str(), |(_, a)| a.trim_end_matches('>')),
        host = host,
        ip = 1 + rng.below(250),
        id = rng.next() & 0xFFFF_FFFF,
        date = date,
        name = encode_word(&p.citizen.name),
        to = p.to,
        subject = encode_word(&p.subject),
        mid = p.message_id,
        extra = extra,
        ua = rng.pick(MAILERS),
    )
}

/// Builds the raw bytes of a planned mail (for replies: with the ticket number).
fn render(p: &Planned, rng: &mut Rng, reply: Option<(&str, &str)>) -> Vec<u8> {
    let date = chrono::Utc::now().to_rfc2822();
    let topic = TOPICS
        .iter()
        .find(|(s, _)| p.subject.ends_with(s))
        .map_or(TOPICS[0].1, |(_, b)| b);
    let boundary = format!("----=_Part_{:016x}", rng.next());
    let raw = match p.kind {
        Kind::Plain8bit => format!(
            "{}Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
            head(p, rng, "", &date),
            text_body(rng, &p.citizen, topic)
        ),
        Kind::PlainQp => format!(
            "{}Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}",
            head(p, rng, "", &date),
            quoted_printable(&text_body(rng, &p.citizen, topic))
        ),
        Kind::Alternative => {
            let text = text_body(rng, &p.citizen, topic);
            format!(
                "{}Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\
--{b}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\
--{b}\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\
--{b}--\r\n",
                head(p, rng, "", &date),
                quoted_printable(&text),
                quoted_printable(&html_body(&text)),
                b = boundary
            )
        }
        Kind::Attachment => {
            let (name, ctype, magic): (&str, &str, &[u8]) = match rng.below(3) {
                0 => (
                    "Meldebescheinigung.pdf",
                    "application/pdf",
                    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
                ),
                1 => (
                    "Foto_Ausweis.jpg",
                    "image/jpeg",
                    b"\xff\xd8\xff\xe0\x00\x10JFIF",
                ),
                _ => ("Scan_Antrag.pdf", "application/pdf", b"%PDF-1.7\n"),
            };
            let size = 2048 + rng.below(10 * 1024);
            let mut data = magic.to_vec();
            while data.len() < size {
                data.extend_from_slice(&rng.next().to_le_bytes());
            }
            data.truncate(size);
            format!(
                "{}Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n\
--{b}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\
--{b}\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}--{b}--\r\n",
                head(p, rng, "", &date),
                quoted_printable(&format!(
                    "{}\r\nAnbei der Scan, um den Sie gebeten hatten.\r\n",
                    text_body(rng, &p.citizen, topic)
                )),
                base64_lines(&data),
                b = boundary,
            )
        }
        Kind::Reply => {
            let (number, original_id) = reply.expect("reply data");
            let subject = format!("AW: Eingangsbestätigung: {} [{number}]", p.subject);
            let threading = if rng.below(2) == 0 {
                format!("In-Reply-To: <{original_id}>\r\nReferences: <{original_id}>\r\n")
            } else {
                String::new()
            };
            let q = Planned {
                subject,
                kind: p.kind,
                citizen: Citizen {
                    name: p.citizen.name.clone(),
                    address: p.citizen.address.clone(),
                },
                slug: p.slug,
                to: p.to.clone(),
                message_id: p.message_id.clone(),
                target: p.target,
                raw: Vec::new(),
            };
            format!(
                "{}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
Guten Tag,\r\n\r\nich habe noch eine Ergänzung zu meiner Anfrage: Ich bin nur vormittags erreichbar.\r\n\r\n\
{}\r\n{}\r\n\r\nAm {date} schrieb Bürgerservice:\r\n> Guten Tag,\r\n>\r\n> vielen Dank für Ihre Nachricht. Wir haben Ihr Anliegen unter der\r\n\
> Vorgangsnummer {number} erfasst.\r\n",
                head(&q, rng, &threading, &date),
                rng.pick(CLOSINGS),
                p.citizen.name,
            )
        }
    };
    raw.into_bytes()
}

/// The plan of `n` mails; `serial` keeps senders and Message-IDs distinct across runs.
/// `replies`: ~10 % replies to earlier new mails (only from index `reply_gap` on).
fn plan(n: usize, serial: usize, seed: u64, replies: bool, reply_gap: usize) -> Vec<Planned> {
    let mut rng = Rng(seed | 1);
    let mut out: Vec<Planned> = Vec::with_capacity(n);
    let mut new_ones: Vec<usize> = Vec::new();
    for i in 0..n {
        let eligible: Vec<usize> = new_ones
            .iter()
            .copied()
            .take_while(|j| j + reply_gap <= i)
            .collect();
        if replies && !eligible.is_empty() && rng.below(10) == 0 {
            let j = *rng.pick(&eligible);
            let t = &out[j];
            out.push(Planned {
                kind: Kind::Reply,
                citizen: Citizen {
                    name: t.citizen.name.clone(),
                    address: t.citizen.address.clone(),
                },
                slug: t.slug,
                to: t.to.clone(),
                subject: t.subject.clone(),
                message_id: format!("{:x}.{}.reply@{}", rng.next(), serial + i, "mail.example"),
                target: Some(j),
                raw: Vec::new(),
            });
            continue;
        }
        let kind = match rng.below(100) {
            0..=24 => Kind::Plain8bit,
            25..=49 => Kind::PlainQp,
            50..=79 => Kind::Alternative,
            _ => Kind::Attachment,
        };
        let c = citizen(&mut rng, serial + i);
        let slug = SLUGS[rng.below(SLUGS.len())];
        let to = match rng.below(20) {
            0 => format!("buergerservice+anfrage@{slug}.demo"),
            1 | 2 => format!("buergerservice@{slug}.demo"),
            _ => format!(
                "{} <buergerservice@{slug}.demo>",
                encode_word("Bürgerservice")
            ),
        };
        let (subject, _) = *rng.pick(TOPICS);
        let domain = c.address.rsplit_once('@').unwrap().1.to_owned();
        let mut p = Planned {
            kind,
            citizen: c,
            slug,
            to,
            subject: subject.to_owned(),
            message_id: format!("{:016x}.{}@{domain}", rng.next(), serial + i),
            target: None,
            raw: Vec::new(),
        };
        p.raw = render(&p, &mut rng, None);
        new_ones.push(i);
        out.push(p);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The app

struct Running {
    base: String,
    db: Db,
}

fn settings(dir: &Path, url: &str) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database_url: Some(url.to_owned()),
        jwt_secret: Some(JWT_SECRET.to_owned().into()),
        ingest_token: Some(INGEST_TOKEN.to_owned().into()),
        ..Settings::default()
    }
}

async fn start_app(settings: Settings, seed: bool) -> Running {
    let app = Application::build(settings.clone())
        .await
        .expect("build app");
    if seed {
        verbund_tenant::demo::seed(app.db()).await.expect("seed");
    }
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let db = verbund_server::db::connect(&Settings {
        database_max_connections: 4,
        ..settings
    })
    .await
    .expect("bench connection");
    Running {
        base: format!("http://127.0.0.1:{port}"),
        db,
    }
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("verbund.db").display())
}

async fn create_pg_database(server: &str) -> String {
    let admin = Database::connect(pg_with_db(server, "postgres"))
        .await
        .expect("connect to PostgreSQL");
    let name = format!("verbund_mailbench_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create bench database");
    let _ = admin.close().await;
    pg_with_db(server, &name)
}

async fn drop_pg_database(server: &str, url: &str) {
    let name = url
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    if let Ok(admin) = Database::connect(pg_with_db(server, "postgres")).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        let _ = admin.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Ingest

#[derive(Default)]
struct Sent {
    latencies: Vec<Duration>,
    errors: Vec<String>,
}

/// Posts all planned mails with `clients` concurrent clients; replies wait for the ticket
/// number of their target. Returns the latencies and unexpected answers.
async fn post_all(base: &str, planned: Vec<Planned>, clients: usize, seed: u64) -> Sent {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let planned = Arc::new(planned);
    let numbers: Arc<Vec<OnceLock<String>>> =
        Arc::new((0..planned.len()).map(|_| OnceLock::new()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("{base}/api/v1/inbound/raw");
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, planned, numbers, next, url) = (
            http.clone(),
            planned.clone(),
            numbers.clone(),
            next.clone(),
            url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ ((c as u64 + 1) * 0x9e37_79b9_7f4a_7c15));
            let mut out = Sent::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = planned.get(i) else { break };
                let body = match p.target {
                    None => p.raw.clone(),
                    Some(j) => {
                        let waited = Instant::now();
                        let number = loop {
                            if let Some(n) = numbers[j].get() {
                                break n.clone();
                            }
                            assert!(
                                waited.elapsed() < Duration::from_secs(120),
                                "no ticket number for mail {j}"
                            );
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        };
                        render(p, &mut rng, Some((&number, &planned[j].message_id)))
                    }
                };
                let started = Instant::now();
                let resp = http
                    .post(&url)
                    .bearer_auth(INGEST_TOKEN)
                    .header("content-type", "message/rfc822")
                    .body(body)
                    .send()
                    .await;
                let resp = match resp {
                    Ok(r) => r,
                    Err(e) => {
                        out.errors.push(format!("mail {i}: {e}"));
                        continue;
                    }
                };
                let status = resp.status();
                let json: serde_json::Value = resp.json().await.unwrap_or_default();
                out.latencies.push(started.elapsed());
                let expected = if p.target.is_some() {
                    "reply"
                } else {
                    "new_ticket"
                };
                if status != reqwest::StatusCode::CREATED
                    || json["outcome"] != expected
                    || (p.target.is_none() && !json["receipt_suppressed"].is_null())
                {
                    out.errors
                        .push(format!("mail {i} ({:?}): {status} {json}", p.kind));
                }
                if p.target.is_none()
                    && let Some(n) = json["ticket_number"].as_str()
                {
                    let _ = numbers[i].set(n.to_owned());
                }
            }
            out
        }));
    }
    let mut all = Sent::default();
    for t in tasks {
        let s = t.await.unwrap();
        all.latencies.extend(s.latencies);
        all.errors.extend(s.errors);
    }
    all
}

struct Counts {
    inbound: i64,
    processed: i64,
    new_ticket: i64,
    reply: i64,
    tickets: i64,
    receipts_queued: i64,
    attachments: i64,
    events_received: i64,
}

async fn counts(db: &Db) -> Counts {
    Counts {
        inbound: count(db, "inbound_mails").await,
        processed: count(db, "inbound_mails WHERE state = 'processed'").await,
        new_ticket: count(db, "inbound_mails WHERE outcome = 'new_ticket'").await,
        reply: count(db, "inbound_mails WHERE outcome = 'reply'").await,
        tickets: count(db, "tickets").await,
        receipts_queued: count(
            db,
            "outbox_mails WHERE kind = 'receipt' AND state = 'queued'",
        )
        .await,
        attachments: count(db, "mail_attachments WHERE omitted = false").await,
        events_received: count(db, "ticket_events WHERE kind = 'mail_received'").await,
    }
}

struct IngestResult {
    backend: &'static str,
    n: usize,
    new: usize,
    replies: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    cpu: f64,
    machine: f64,
}

/// pg_stat_statements, when the server preloads it: reset before the run, read after.
async fn pg_stats_reset(db: &Db) -> bool {
    db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .is_ok()
        && db
            .execute_unprepared("SELECT pg_stat_statements_reset()")
            .await
            .is_ok()
}

async fn pg_stats_print(db: &Db, mails: usize) {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT calls::bigint AS calls, total_exec_time::float8 AS total_ms, rows::bigint AS nrows, \
             query FROM pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             ORDER BY calls DESC",
        ))
        .await;
    let Ok(rows) = rows else {
        println!(
            "(pg_stat_statements not available: start PostgreSQL with shared_preload_libraries=pg_stat_statements)"
        );
        return;
    };
    let mut all: Vec<(i64, f64, i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get::<i64>("", "calls").unwrap_or(0),
                r.try_get::<f64>("", "total_ms").unwrap_or(0.0),
                r.try_get::<i64>("", "nrows").unwrap_or(0),
                r.try_get::<String>("", "query")
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })
        .filter(|(_, _, _, q)| !q.contains("pg_stat_statements"))
        .collect();
    let calls: i64 = all.iter().map(|r| r.0).sum();
    let time: f64 = all.iter().map(|r| r.1).sum();
    println!(
        "\nPostgreSQL statements during the timed ingest: {calls} ({:.1} per mail), server execution time {:.0} ms ({:.2} ms per mail)",
        calls as f64 / mails as f64,
        time,
        time / mails as f64
    );
    println!("\n| calls/mail | total ms | mean ms | statement |\n|---|---|---|---|");
    all.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)));
    for (c, t, _, q) in all.iter().take(40) {
        let q: String = q.chars().take(140).collect();
        println!(
            "| {:.2} | {:.0} | {:.3} | `{}` |",
            *c as f64 / mails as f64,
            t,
            t / (*c).max(1) as f64,
            q.replace('|', "\\|")
        );
    }
}

async fn run_ingest(
    backend: &'static str,
    url: String,
    dir: &Path,
    args: &Args,
    serial: usize,
) -> IngestResult {
    let app = start_app(settings(dir, &url), true).await;
    // Warm-up: pools, caches, the first pages of every table.
    let warm = plan(50.min(args.mails).max(8), serial + 9_000_000, 7, false, 0);
    let s = post_all(&app.base, warm, args.clients, 7).await;
    assert!(s.errors.is_empty(), "warm-up: {:?}", &s.errors[..1]);
    let before = counts(&app.db).await;

    let planned = plan(args.mails, serial, 0x5eed_1234, true, 4 * args.clients + 8);
    let replies = planned.iter().filter(|p| p.kind == Kind::Reply).count();
    let new = planned.len() - replies;
    let expected_attachments = planned
        .iter()
        .filter(|p| p.kind == Kind::Attachment)
        .count() as i64;
    let stats = backend == "PostgreSQL" && pg_stats_reset(&app.db).await;
    let cpu0 = cpu_seconds("self");
    let machine0 = machine_jiffies();
    // Probe: every 20 ms an empty write transaction; how long it waits for its turn shows
    // how busy the writer is (on SQLite all writers of the process share one slot).
    let probing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let probe = {
        let (db, probing) = (app.db.clone(), probing.clone());
        tokio::spawn(async move {
            let mut waits = Vec::new();
            while probing.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let t = Instant::now();
                let txn = verbund_tenant::db::begin_write(&db).await.unwrap();
                txn.commit().await.unwrap();
                waits.push(t.elapsed());
            }
            waits
        })
    };
    let started = Instant::now();
    let sent = post_all(&app.base, planned, args.clients, 11).await;
    let elapsed = started.elapsed();
    probing.store(false, Ordering::Relaxed);
    let mut waits = probe.await.unwrap();
    waits.sort();
    println!(
        "{backend}: empty write transaction during the run ({} probes, every 20 ms): p50 {}, p90 {}, p99 {}",
        waits.len(),
        ms_fine(pct(&waits, 0.5)),
        ms_fine(pct(&waits, 0.9)),
        ms_fine(pct(&waits, 0.99))
    );
    let cpu = cpu_seconds("self") - cpu0;
    let machine = machine_busy_since(machine0);
    if !sent.errors.is_empty() {
        for e in sent.errors.iter().take(5) {
            println!("unexpected answer: {e}");
        }
        panic!("{} unexpected answers on {backend}", sent.errors.len());
    }
    if stats {
        pg_stats_print(&app.db, args.mails).await;
    }

    // The database must hold exactly what was sent.
    let after = counts(&app.db).await;
    let d = |f: fn(&Counts) -> i64| f(&after) - f(&before);
    let checks = [
        ("inbound mails", d(|c| c.inbound), args.mails as i64),
        ("processed", d(|c| c.processed), args.mails as i64),
        ("outcome new_ticket", d(|c| c.new_ticket), new as i64),
        ("outcome reply", d(|c| c.reply), replies as i64),
        ("tickets", d(|c| c.tickets), new as i64),
        ("queued receipts", d(|c| c.receipts_queued), new as i64),
        (
            "kept attachments",
            d(|c| c.attachments),
            expected_attachments,
        ),
        (
            "mail_received events",
            d(|c| c.events_received),
            args.mails as i64,
        ),
    ];
    for (what, got, want) in checks {
        assert_eq!(got, want, "{backend}: {what}");
    }
    println!(
        "{backend}: verified {} inbound mails, {new} tickets, {new} queued receipts, {replies} replies joined, {expected_attachments} attachments",
        args.mails
    );

    if args.phases > 0 {
        phases(backend, &app, args.phases, serial + 5_000_000).await;
    }
    IngestResult {
        backend,
        n: args.mails,
        new,
        replies,
        elapsed,
        latencies: sent.latencies,
        cpu,
        machine,
    }
}

/// Sequential, in-process: where the time of one mail goes.
async fn phases(backend: &str, app: &Running, n: usize, serial: usize) {
    use verbund_email::ingest::{self, Source};
    let planned = plan(n, serial, 99, false, 0);
    let (mut parse, mut store, mut process, mut answer, mut total) =
        (vec![], vec![], vec![], vec![], vec![]);
    for p in &planned {
        let t = Instant::now();
        let parsed = verbund_email::parse::parse(&p.raw).unwrap();
        parse.push(t.elapsed());
        std::hint::black_box(parsed);
        let t0 = Instant::now();
        let (row, existed) = ingest::store_raw(&app.db, &p.raw, Source::Mta)
            .await
            .unwrap();
        assert!(!existed);
        store.push(t0.elapsed());
        let t = Instant::now();
        ingest::process(&app.db, row.id, None).await.unwrap();
        process.push(t.elapsed());
        let t = Instant::now();
        let row = verbund_schema::inbound_mail::Entity::find_by_id(row.id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let _ = verbund_schema::ticket::Entity::find_by_id(row.ticket_id.unwrap())
            .one(&app.db)
            .await
            .unwrap();
        answer.push(t.elapsed());
        total.push(t0.elapsed());
    }
    // The same amount of new mail through `ingest` (the MTA path: one transaction per mail).
    let mut one_call = Vec::new();
    for p in plan(n, serial + 1_000_000, 98, false, 0) {
        let t = Instant::now();
        let done = ingest::ingest(&app.db, &p.raw, Source::Mta).await.unwrap();
        assert!(!done.duplicate);
        one_call.push(t.elapsed());
    }
    for v in [
        &mut parse,
        &mut store,
        &mut process,
        &mut answer,
        &mut total,
        &mut one_call,
    ] {
        v.sort();
    }
    // Fixed costs: one statement round trip through the pool, one empty writer turn.
    let mut select_one = Vec::new();
    for _ in 0..1000 {
        let t = Instant::now();
        app.db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT 1 AS n",
            ))
            .await
            .unwrap();
        select_one.push(t.elapsed());
    }
    let mut empty_write = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let txn = verbund_tenant::db::begin_write(&app.db).await.unwrap();
        txn.commit().await.unwrap();
        empty_write.push(t.elapsed());
    }
    select_one.sort();
    empty_write.sort();
    println!(
        "\n{backend}, one mail at a time in-process ({n} new mails, {:.0} mails/s sequential):\n\n\
| phase | p50 | p99 |\n|---|---|---|",
        n as f64 / total.iter().sum::<Duration>().as_secs_f64()
    );
    println!(
        "| `SELECT 1` round trip through the pool (1000×) | {} | {} |",
        ms_fine(pct(&select_one, 0.5)),
        ms_fine(pct(&select_one, 0.99))
    );
    println!(
        "| empty write transaction: `begin_write` + `COMMIT` (200×) | {} | {} |",
        ms_fine(pct(&empty_write, 0.5)),
        ms_fine(pct(&empty_write, 0.99))
    );
    for (name, v) in [
        ("parse only (CPU, not part of the sum)", &parse),
        (
            "IMAP path: store raw (`store_raw`: insert in its own write transaction)",
            &store,
        ),
        (
            "IMAP path: process (`process`: claim, load, parse, look-ups, one write transaction)",
            &process,
        ),
        ("IMAP path: re-read mail and ticket", &answer),
        ("IMAP path: store + process + re-read", &total),
        (
            "MTA path: `ingest` (raw row with its first attempt counted, then processing)",
            &one_call,
        ),
    ] {
        println!("| {name} | {} | {} |", ms(pct(v, 0.5)), ms(pct(v, 0.99)));
    }
}

// ---------------------------------------------------------------------------------------------
// Delivery

/// What the minimal sink saw; times in microseconds.
#[derive(Default)]
struct SinkStats {
    messages: u64,
    ids: HashSet<String>,
    connections: u64,
    noops: u64,
    rsets: u64,
    /// From the first line of the message to the terminating `.` line: the transfer of one
    /// small message, which takes a delayed-ACK period when the client's final write waits
    /// in Nagle's algorithm.
    body_transfer: Vec<u64>,
    /// From `MAIL FROM` to the end of `DATA`.
    transaction: Vec<u64>,
    /// From our 250 after `DATA` to the next `MAIL FROM` on the same connection.
    gap: Vec<u64>,
}

fn p_us(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    v.get(((v.len().max(1) - 1) as f64 * p).round() as usize)
        .copied()
        .unwrap_or(0)
}

/// The minimal SMTP sink: thread per connection, accepts everything, answers 250 after the
/// end of DATA, stores nothing. `XSTATS` answers `250` and the figures of [`SinkStats`].
fn smtp_sink(port: u16) -> ! {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let stats: Arc<Mutex<SinkStats>> = Arc::default();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let stats = stats.clone();
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut out = stream.try_clone().unwrap();
            let mut input = BufReader::with_capacity(64 * 1024, stream);
            let _ = out.write_all(b"220 sink.bench ESMTP\r\n");
            let mut line = Vec::new();
            let mut last_done: Option<Instant> = None;
            let mut mail_from: Option<Instant> = None;
            loop {
                line.clear();
                if input.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                    return;
                }
                let cmd = String::from_utf8_lossy(&line).to_ascii_uppercase();
                let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                    stats.lock().unwrap().connections += 1;
                    b"250-sink.bench\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n"
                } else if cmd.starts_with("MAIL") {
                    let now = Instant::now();
                    if let Some(done) = last_done.take() {
                        stats
                            .lock()
                            .unwrap()
                            .gap
                            .push((now - done).as_micros() as u64);
                    }
                    mail_from = Some(now);
                    b"250 OK\r\n"
                } else if cmd.starts_with("DATA") {
                    let _ = out.write_all(b"354 go ahead\r\n");
                    let mut id = None;
                    let mut in_head = true;
                    let mut first_line = None;
                    loop {
                        line.clear();
                        if input.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == b".\r\n" || line == b".\n" {
                            break;
                        }
                        first_line.get_or_insert_with(Instant::now);
                        if in_head {
                            if line == b"\r\n" || line == b"\n" {
                                in_head = false;
                            } else if line.len() > 11
                                && line[..11].eq_ignore_ascii_case(b"message-id:")
                            {
                                id = Some(String::from_utf8_lossy(&line[11..]).trim().to_owned());
                            }
                        }
                    }
                    let now = Instant::now();
                    let mut s = stats.lock().unwrap();
                    s.messages += 1;
                    s.ids.insert(id.unwrap_or_default());
                    s.body_transfer
                        .push((now - first_line.unwrap_or(now)).as_micros() as u64);
                    if let Some(from) = mail_from.take() {
                        s.transaction.push((now - from).as_micros() as u64);
                    }
                    last_done = Some(now);
                    b"250 2.0.0 OK\r\n"
                } else if cmd.starts_with("QUIT") {
                    let _ = out.write_all(b"221 bye\r\n");
                    return;
                } else if cmd.starts_with("XSTATS") {
                    let mut s = stats.lock().unwrap();
                    let s = &mut *s;
                    let figures = [
                        s.messages,
                        s.ids.len() as u64,
                        s.connections,
                        s.noops,
                        s.rsets,
                        p_us(&mut s.body_transfer, 0.5),
                        p_us(&mut s.body_transfer, 0.9),
                        p_us(&mut s.transaction, 0.5),
                        p_us(&mut s.transaction, 0.9),
                        p_us(&mut s.gap, 0.5),
                        p_us(&mut s.gap, 0.9),
                    ];
                    let text: Vec<String> = figures.iter().map(u64::to_string).collect();
                    let _ = out.write_all(format!("250 {}\r\n", text.join(" ")).as_bytes());
                    continue;
                } else {
                    let mut s = stats.lock().unwrap();
                    if cmd.starts_with("NOOP") {
                        s.noops += 1;
                    } else if cmd.starts_with("RSET") {
                        s.rsets += 1;
                    }
                    b"250 OK\r\n"
                };
                if out.write_all(reply).is_err() {
                    return;
                }
            }
        });
    }
    unreachable!("the listener ended")
}

/// The figures of the minimal sink, in the order of its `XSTATS` answer.
fn rust_sink_stats(port: u16) -> Vec<u64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    s.write_all(b"XSTATS\r\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    let _ = s.write_all(b"QUIT\r\n");
    line.split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect()
}

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct DeliveryResult {
    sink: &'static str,
    m: usize,
    elapsed: Duration,
    verbund_cpu: f64,
    sink_cpu: f64,
    verified: String,
}

/// Fills a fresh SQLite database with `m` queued receipts (untimed) and returns its folder.
fn prepare_outbox(args: &Args, m: usize, serial: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    in_runtime(async {
        let app = start_app(settings(dir.path(), &sqlite_url(dir.path())), true).await;
        let sent = post_all(&app.base, plan(m, serial, 4242, false, 0), args.clients, 3).await;
        assert!(sent.errors.is_empty(), "{:?}", &sent.errors[..1]);
        let queued = count(&app.db, "outbox_mails WHERE state = 'queued'").await;
        assert_eq!(queued, m as i64, "queued receipts");
        let _ = app.db.close().await;
    });
    dir
}

/// Every delivered file in the Maildir tree, by Message-ID.
fn maildir_ids(root: &Path) -> (usize, HashMap<String, usize>) {
    let mut files = 0;
    let mut ids: HashMap<String, usize> = HashMap::new();
    for rcpt in std::fs::read_dir(root).unwrap().flatten() {
        for sub in ["new", "cur", "tmp"] {
            let dir = rcpt.path().join("Maildir").join(sub);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for f in entries.flatten() {
                files += 1;
                let text = std::fs::read_to_string(f.path()).unwrap_or_default();
                let id = text
                    .lines()
                    .take_while(|l| !l.is_empty())
                    .find(|l| l.len() > 11 && l[..11].eq_ignore_ascii_case("message-id:"))
                    .map(|l| l[11..].trim().trim_matches(['<', '>']).to_owned())
                    .unwrap_or_default();
                *ids.entry(id).or_default() += 1;
            }
        }
    }
    (files, ids)
}

fn run_delivery(args: &Args, sink: &'static str, serial: usize) -> DeliveryResult {
    let m = args.deliver;
    let dir = prepare_outbox(args, m, serial);
    let maildirs = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = if sink == "python" {
        Command::new("/usr/bin/python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/smtp-sink.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--maildir-root")
            .arg(maildirs.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scripts/smtp-sink.py (needs python3-aiosmtpd)")
    } else {
        Command::new(std::env::current_exe().unwrap())
            .args(["--smtp-sink", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    wait_for_port(port, &mut child);
    let child = KillOnDrop(child);
    let pid = child.0.id().to_string();

    let (elapsed, verbund_cpu, sink_cpu, outbox_ids) = in_runtime(async {
        let mut s = settings(dir.path(), &sqlite_url(dir.path()));
        s.smtp = SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: verbund_email::delivery::SmtpSecurity::Plain,
            connections: args.connections,
            poll_ms: args.poll_ms,
            retry_base_seconds: 1,
            ..SmtpSettings::default()
        };
        let sink0 = cpu_seconds(&pid);
        let cpu0 = cpu_seconds("self");
        let started = Instant::now();
        let app = start_app(s, false).await;
        loop {
            let left = count(&app.db, "outbox_mails WHERE state <> 'sent'").await;
            if left == 0 {
                break;
            }
            let failed = count(
                &app.db,
                "outbox_mails WHERE state = 'failed' OR attempts > 1",
            )
            .await;
            assert_eq!(failed, 0, "delivery attempts failed");
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "{left} mails still not sent"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = started.elapsed();
        let verbund_cpu = cpu_seconds("self") - cpu0;
        let sink_cpu = cpu_seconds(&pid) - sink0;
        assert_eq!(
            count(
                &app.db,
                "outbox_mails WHERE state = 'sent' AND attempts = 1"
            )
            .await,
            m as i64
        );
        let ids: Vec<String> = app
            .db
            .query_all_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT message_id FROM outbox_mails",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "message_id").unwrap())
            .collect();
        (elapsed, verbund_cpu, sink_cpu, ids)
    });

    let verified = if sink == "python" {
        // Give the sink a moment for the last files, then check each arrived exactly once.
        std::thread::sleep(Duration::from_millis(300));
        let (files, ids) = maildir_ids(maildirs.path());
        let want: HashSet<&String> = outbox_ids.iter().collect();
        let once = outbox_ids
            .iter()
            .filter(|id| ids.get(*id) == Some(&1))
            .count();
        let extra = ids.keys().filter(|k| !want.contains(k)).count();
        assert_eq!(files, m, "delivered files in the Maildirs");
        assert_eq!(once, m, "receipts delivered exactly once");
        assert_eq!(extra, 0, "unknown mails in the Maildirs");
        format!("{files} Maildir files, each of the {m} receipts exactly once")
    } else {
        let f = rust_sink_stats(port);
        assert_eq!(f[0], m as u64, "messages at the Rust sink");
        assert_eq!(f[1], m as u64, "distinct Message-IDs at the Rust sink");
        let msf = |us: u64| format!("{:.1}", us as f64 / 1000.0);
        println!(
            "minimal Rust sink: {} SMTP connections, {} NOOP, {} RSET; per message: first line of the message → final \".\" p50 {} ms / p90 {} ms, MAIL FROM → end of DATA p50 {} ms / p90 {} ms, idle between messages on a connection p50 {} ms / p90 {} ms",
            f[2],
            f[3],
            f[4],
            msf(f[5]),
            msf(f[6]),
            msf(f[7]),
            msf(f[8]),
            msf(f[9]),
            msf(f[10])
        );
        format!("{} messages, {} distinct Message-IDs", f[0], f[1])
    };
    drop(child);
    DeliveryResult {
        sink,
        m,
        elapsed,
        verbund_cpu,
        sink_cpu,
        verified,
    }
}

// ---------------------------------------------------------------------------------------------

fn main() {
    if let Some(port) = arg("--smtp-sink") {
        smtp_sink(port.parse().unwrap());
    }
    let args = Args::parse();
    println!(
        "# mail_bench: {} mails, {} clients, {} receipts to deliver over {} SMTP connections (poll {} ms), {} CPUs",
        args.mails,
        args.clients,
        args.deliver,
        args.connections,
        args.poll_ms,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut ingests = Vec::new();
    if args.sqlite && args.mails > 0 {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(dir.path());
        ingests.push(in_runtime(run_ingest(
            "SQLite",
            url,
            dir.path(),
            &args,
            1_000_000,
        )));
    }
    if let Some(server) = args.pg.clone()
        && args.mails > 0
    {
        let dir = tempfile::tempdir().unwrap();
        let url = in_runtime(create_pg_database(&server));
        ingests.push(in_runtime(run_ingest(
            "PostgreSQL",
            url.clone(),
            dir.path(),
            &args,
            2_000_000,
        )));
        in_runtime(drop_pg_database(&server, &url));
    }
    let mut deliveries = Vec::new();
    if args.deliver > 0 {
        if args.sink == "python" || args.sink == "both" {
            deliveries.push(run_delivery(&args, "python", 3_000_000));
        }
        if args.sink == "rust" || args.sink == "both" {
            deliveries.push(run_delivery(&args, "rust", 4_000_000));
        }
    }

    if !ingests.is_empty() {
        println!(
            "\n| ingest over HTTP | mails (new + replies) | clients | time | mails/s | p50 | p99 | max | CPU of the bench process (app + client) | machine busy (2 cores = 100 %) |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for r in &mut ingests {
            r.latencies.sort();
            println!(
                "| {} | {} ({} + {}) | {} | {:.2} s | **{:.0}** | {} | {} | {} | {:.0} % | {:.0} % |",
                r.backend,
                r.n,
                r.new,
                r.replies,
                args.clients,
                r.elapsed.as_secs_f64(),
                r.n as f64 / r.elapsed.as_secs_f64(),
                ms(pct(&r.latencies, 0.5)),
                ms(pct(&r.latencies, 0.99)),
                ms(*r.latencies.last().unwrap_or(&Duration::ZERO)),
                r.cpu / r.elapsed.as_secs_f64() * 100.0,
                r.machine * 100.0
            );
        }
    }
    if !deliveries.is_empty() {
        println!(
            "\n| delivery (SQLite) | receipts | SMTP connections | time | mails/s | CPU Verbund | CPU sink | verified |\n|---|---|---|---|---|---|---|---|"
        );
        for r in &deliveries {
            let name = if r.sink == "python" {
                "scripts/smtp-sink.py (aiosmtpd → Maildir)"
            } else {
                "minimal Rust sink (no storage)"
            };
            println!(
                "| {name} | {} | {} | {:.2} s | **{:.0}** | {:.0} % | {:.0} % | {} |",
                r.m,
                args.connections,
                r.elapsed.as_secs_f64(),
                r.m as f64 / r.elapsed.as_secs_f64(),
                r.verbund_cpu / r.elapsed.as_secs_f64() * 100.0,
                r.sink_cpu / r.elapsed.as_secs_f64() * 100.0,
                r.verified
            );
        }
    }
}
