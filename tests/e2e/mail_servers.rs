//! The e-mail channel against real servers started by `scripts/test`: Dovecot (IMAP) and an
//! SMTP server that delivers into Dovecot's mailboxes.
//!
//! 1. A citizen's mail is put into the tenant's IMAP mailbox and becomes a ticket.
//! 2. The receipt arrives at the citizen's mailbox through SMTP.
//! 3. An agent replies through the API.
//! 4. The citizen receives the reply with correct threading headers.
//! 5. The citizen's answer to it joins the same ticket.
//!
//! And: with the SMTP server down, mail is kept and sent once it is up.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::{Value, json};
use verbund_email::delivery::SmtpSecurity;
use verbund_email::imap::{self, ImapConfig, Security};
use verbund_schema::{inbound_mail, outbox_mail};
use verbund_server::settings::SmtpSettings;

use crate::helpers::{Backend, spawn_app_with};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with ./scripts/test, which starts Dovecot and the SMTP server")
    })
}

fn imap_port() -> u16 {
    env("VERBUND_TEST_IMAP_PORT").parse().unwrap()
}

fn mailbox_of(user: &str) -> ImapConfig {
    ImapConfig {
        host: "127.0.0.1".into(),
        port: imap_port(),
        security: Security::Plain,
        username: user.into(),
        password: SecretString::from(env("VERBUND_TEST_MAIL_PASSWORD")),
        folder: "INBOX".into(),
        processed_folder: None,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(10),
    }
}

fn smtp_to(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::Plain,
        retry_base_seconds: 1,
        poll_ms: 200,
        ..SmtpSettings::default()
    }
}

async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The messages in a user's INBOX, as text.
async fn inbox(user: &str) -> Vec<String> {
    imap::fetch_all(&mailbox_of(user), "INBOX")
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|m| String::from_utf8_lossy(&m).into_owned())
        .collect()
}

/// A header's value, with folded lines joined.
fn header(mail: &str, name: &str) -> Option<String> {
    let head = mail.split("\r\n\r\n").next().unwrap_or(mail);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .split("\r\n")
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l[name.len()..].starts_with(':')
        })
        .map(|l| l[name.len() + 1..].trim().to_owned())
}

async fn full_round_trip(backend: Backend) {
    let smtp_port: u16 = env("VERBUND_TEST_SMTP_PORT").parse().unwrap();
    let app = spawn_app_with(backend, |s| {
        s.smtp = smtp_to(smtp_port);
        s.mailbox_tick_seconds = 1;
    })
    .await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let tenant_box = format!("koblenz-{suffix}@stadt-koblenz.demo");
    let citizen = format!("anna-{suffix}@buerger.example");
    let admin = app.token("admin@stadt-koblenz.demo").await;

    // The tenant's mailbox on Dovecot, polled every ten seconds (the least allowed) and at
    // once when IDLE reports news.
    let resp = app
        .post(&admin, "/api/v1/tenants/stadt-koblenz/mailboxes", &json!({
            "name": "Bürgerservice", "host": "127.0.0.1", "port": imap_port(), "security": "plain",
            "username": tenant_box, "secret": env("VERBUND_TEST_MAIL_PASSWORD"), "interval_seconds": 10
        }))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );

    // 1. The citizen's mail lands in the tenant's mailbox and becomes a ticket.
    let first = format!(
        "From: Anna Schmidt <{citizen}>\r\nTo: buergerservice@stadt-koblenz.demo\r\n\
Subject: Kfz-Zulassung =?utf-8?q?f=C3=BCr?= Anh\u{e4}nger\r\nMessage-ID: <first-{suffix}@buerger.example>\r\n\
Date: Sat, 28 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
Welche Unterlagen brauche ich f\u{fc}r die Zulassung eines Anh\u{e4}ngers?\r\n"
    );
    imap::append(&mailbox_of(&tenant_box), "INBOX", first.as_bytes())
        .await
        .unwrap();
    let responder = app.token("responder@stadt-koblenz.demo").await;
    let ticket: Value = wait_for("the ticket", || async {
        let page: Value = app
            .get(&responder, "/api/v1/tenants/stadt-koblenz/tickets")
            .await
            .json()
            .await
            .ok()?;
        page["items"].as_array()?.first().cloned()
    })
    .await;
    let number = ticket["number"].as_str().unwrap().to_owned();
    assert_eq!(ticket["answer_channel"], "email");
    // Stored before it was marked: the message is \Seen on the server, so a second poll
    // brings nothing new.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.count("inbound_mails").await, 1);

    // 2. The receipt arrives in the citizen's mailbox.
    let receipt = wait_for("the receipt", || async {
        inbox(&citizen)
            .await
            .into_iter()
            .find(|m| m.contains(&number))
    })
    .await;
    assert_eq!(
        header(&receipt, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        header(&receipt, "In-Reply-To"),
        Some(format!("<first-{suffix}@buerger.example>"))
    );
    assert!(
        header(&receipt, "From")
            .unwrap()
            .contains("buergerservice@stadt-koblenz.demo")
    );
    let receipt_id = header(&receipt, "Message-ID").unwrap().to_owned();

    // 3. The agent replies through the API.
    let resp = app
        .post(
            &responder,
            &format!("/api/v1/tickets/{number}/messages"),
            &json!({
                "body": "Sie brauchen die Zulassungsbescheinigung Teil II und Ihren Ausweis."
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    // 4. The citizen receives it, threaded to her mail and the receipt.
    let reply = wait_for("the reply", || async {
        inbox(&citizen)
            .await
            .into_iter()
            .find(|m| m.contains("Zulassungsbescheinigung"))
    })
    .await;
    let reply_id = header(&reply, "Message-ID").unwrap().to_owned();
    assert_eq!(
        header(&reply, "In-Reply-To"),
        Some(format!("<first-{suffix}@buerger.example>"))
    );
    let refs = header(&reply, "References").unwrap();
    assert!(
        refs.contains(&format!("<first-{suffix}@buerger.example>")),
        "{refs}"
    );
    assert!(refs.contains(&receipt_id), "{refs}");
    assert!(header(&reply, "Auto-Submitted").is_none());
    assert!(header(&reply, "Subject").unwrap().contains(&number));
    // The worker marks a mail sent after the SMTP server took it, so the citizen can hold it
    // a moment before its outbox row says so: wait for the state, then check nothing else is
    // in the outbox.
    wait_for("both outbox mails marked sent", || async {
        let sent = outbox_mail::Entity::find()
            .filter(outbox_mail::Column::State.eq("sent"))
            .count(&app.db)
            .await
            .unwrap();
        (sent == 2).then_some(())
    })
    .await;
    assert_eq!(app.count("outbox_mails").await, 2);

    // 5. Her answer joins the same ticket (and reopens it).
    let answer = format!(
        "From: {citizen}\r\nTo: buergerservice@stadt-koblenz.demo\r\nSubject: AW: Ihre Anfrage\r\n\
Message-ID: <answer-{suffix}@buerger.example>\r\nIn-Reply-To: {reply_id}\r\nReferences: <first-{suffix}@buerger.example> {reply_id}\r\n\r\n\
Vielen Dank, reicht eine Kopie?\r\n\r\n> Sie brauchen die Zulassungsbescheinigung Teil II\r\n"
    );
    imap::append(&mailbox_of(&tenant_box), "INBOX", answer.as_bytes())
        .await
        .unwrap();
    let joined = wait_for("the answer to join", || async {
        inbound_mail::Entity::find()
            .filter(inbound_mail::Column::Outcome.eq("reply"))
            .one(&app.db)
            .await
            .ok()
            .flatten()
    })
    .await;
    assert_eq!(
        joined.ticket_id.unwrap().to_string(),
        ticket["id"].as_str().unwrap()
    );
    let t: Value = app
        .get(&responder, &format!("/api/v1/tickets/{number}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["state"], "in_progress");
    assert_eq!(app.count("tickets").await, 1);
}

/// A free loopback port with nothing listening on it.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

struct Sink(Child);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts another instance of the SMTP server (the one scripts/test uses) on `port`.
fn start_sink(port: u16) -> Sink {
    let root = env("VERBUND_TEST_MAIL_ROOT");
    let home = format!("{root}/home");
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/smtp-sink.py"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--maildir-root",
            &home,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let owner = Command::new("stat")
        .args(["-c", "%U", &home])
        .output()
        .unwrap();
    let owner = String::from_utf8_lossy(&owner.stdout).trim().to_owned();
    let me = Command::new("id").arg("-un").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() == "root" && owner != "root" {
        cmd.args(["--user", &owner]);
    }
    Sink(cmd.spawn().unwrap())
}

async fn smtp_down_keeps_mail(backend: Backend) {
    let port = free_port();
    let app = spawn_app_with(backend, |s| {
        s.smtp = smtp_to(port);
        s.ingest_token = Some(crate::mail::INGEST_TOKEN.to_owned().into());
    })
    .await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let citizen = format!("bernd-{suffix}@buerger.example");
    let body = crate::mail::ingest_ok(
        &app,
        &crate::mail::citizen_mail(
            &citizen,
            "buergerservice@stadt-mainz.demo",
            "Wohngeld",
            &format!("w-{suffix}@b"),
            "Wie beantrage ich Wohngeld?",
        ),
    )
    .await;
    let number = body["ticket_number"].as_str().unwrap().to_owned();
    // The server is down: the receipt stays in the outbox, with the error and a retry time.
    let failed = wait_for("a failed attempt", || async {
        outbox_mail::Entity::find()
            .one(&app.db)
            .await
            .ok()
            .flatten()
            .filter(|m| m.attempts >= 1)
    })
    .await;
    assert_eq!(failed.state, "queued");
    assert!(failed.last_error.is_some());
    assert!(failed.sent_at.is_none());
    let admin = app.token("admin@stadt-mainz.demo").await;
    let out: Value = app
        .get(&admin, "/api/v1/tenants/stadt-mainz/outbox")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(out[0]["state"], "queued");
    assert!(out[0]["last_error"].is_string());

    // The server comes up: the mail goes out and is recorded as sent, once.
    let _sink = start_sink(port);
    let received = wait_for("the receipt after the outage", || async {
        inbox(&citizen)
            .await
            .into_iter()
            .find(|m| m.contains(&number))
    })
    .await;
    assert_eq!(
        header(&received, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    let sent = wait_for("the sent state", || async {
        outbox_mail::Entity::find()
            .one(&app.db)
            .await
            .ok()
            .flatten()
            .filter(|m| m.state == "sent")
    })
    .await;
    assert!(sent.attempts >= 2);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(inbox(&citizen).await.len(), 1);
}

/// Two instances deliver one outbox: every mail arrives exactly once. A mail whose delivery
/// crashed mid-way (claimed, never recorded) is sent again after its claim ran out.
async fn two_instances_send_each_mail_once(backend: Backend) {
    let smtp_port: u16 = env("VERBUND_TEST_SMTP_PORT").parse().unwrap();
    // The first instance does not deliver; mail is queued while the second one is not up.
    let a = spawn_app_with(backend, |_| {}).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let citizen = format!("viele-{suffix}@buerger.example");
    let tenant = verbund_tenant::directory::find_tenant(&a.db, "stadt-trier")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in 0..30 {
        let m = verbund_ticketing::mail::enqueue(
            &a.db,
            &tenant,
            verbund_ticketing::mail::NewMail {
                ticket_id: None,
                kind: verbund_ticketing::mail::MailKind::Reply,
                from: None,
                to: citizen.clone(),
                subject: format!("Antwort {n}"),
                body: format!("Text {n}"),
                in_reply_to: None,
                references: Vec::new(),
                created_by: None,
            },
        )
        .await
        .unwrap();
        ids.push(m.id);
    }
    // One of them was claimed by an instance that crashed before recording the result.
    outbox_mail::Entity::update_many()
        .col_expr(
            outbox_mail::Column::State,
            sea_orm::sea_query::Expr::value("sending"),
        )
        .col_expr(
            outbox_mail::Column::ClaimedUntil,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .col_expr(
            outbox_mail::Column::ClaimToken,
            sea_orm::sea_query::Expr::value(uuid::Uuid::new_v4()),
        )
        .filter(outbox_mail::Column::Id.eq(ids[0]))
        .exec(&a.db)
        .await
        .unwrap();
    let b = a
        .second_instance_with(|s| s.smtp = smtp_to(smtp_port))
        .await;
    let c = a
        .second_instance_with(|s| s.smtp = smtp_to(smtp_port))
        .await;
    wait_for("all mail sent", || async {
        let left = outbox_mail::Entity::find()
            .filter(outbox_mail::Column::State.ne("sent"))
            .all(&b.db)
            .await
            .ok()?;
        left.is_empty().then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = inbox(&citizen).await;
    assert_eq!(received.len(), 30);
    let mut seen: Vec<String> = received
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 30);
    drop(c);
}

crate::per_backend!(
    full_round_trip,
    smtp_down_keeps_mail,
    two_instances_send_each_mail_once
);
