//! Mail that must not kill or mislead the server, through the real MTA pipe
//! (`POST /api/v1/inbound/raw`): 100,000 levels of nested messages in every spelling
//! mail-parser accepts, 100,000-deep multipart trees and HTML, mail whose processing failed or
//! crashed twice (quarantined), answer addresses that are no mailbox, noreply senders, and
//! mail longer than the tenant's caps.

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use verbund_schema::{inbound_mail, ticket_event};

use crate::helpers::{Backend, TestApp};
use crate::mail::{INGEST_TOKEN, mail_app};

const LEVELS: usize = 100_000;

async fn post_raw(app: &TestApp, raw: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url("/api/v1/inbound/raw"))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "message/rfc822")
        .body(raw)
        .timeout(std::time::Duration::from_secs(120))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn alive(app: &TestApp) {
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn question(app: &TestApp, number: &str) -> Value {
    let responder = app.token("responder@stadt-koblenz.demo").await;
    app.get(&responder, &format!("/api/v1/tickets/{number}"))
        .await
        .json()
        .await
        .unwrap()
}

fn head(subject: &str, id: &str, content_type: &str) -> String {
    format!(
        "From: Anna Schmidt <anna@buerger.example>\r\nTo: buergerservice@stadt-koblenz.demo\r\n\
Subject: {subject}\r\nMessage-ID: <{id}@buerger.example>\r\nDate: Thu, 3 Dec 2026 10:00:00 +0100\r\n\
MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    )
}

/// A mail with the citizen's text and, attached, a message nested `LEVELS` times.
fn nested_mail(spelling: &str, n: usize) -> Vec<u8> {
    let mut raw = head(
        &format!("Verschachtelt {n}"),
        &format!("nest{n}"),
        "multipart/mixed; boundary=\"aussen\"",
    );
    raw.push_str(
        "--aussen\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBitte prüfen Sie die angehängte Nachricht.\r\n--aussen\r\n",
    );
    let level = format!("Content-Type: {spelling}\r\n\r\n");
    raw.reserve(level.len() * LEVELS + 100);
    for _ in 0..LEVELS {
        raw.push_str(&level);
    }
    raw.push_str("Subject: ganz innen\r\n\r\nInnen\r\n--aussen--\r\n");
    raw.into_bytes()
}

/// 100,000 levels of nested messages, in every spelling mail-parser reads as a nested
/// message, and once inside a base64-encoded attached message: each mail is stored and
/// becomes a ticket with the citizen's text; the server stays up.
async fn deeply_nested_messages_do_not_kill_the_server(backend: Backend) {
    let app = mail_app(backend).await;
    let spellings = [
        "message/rfc822",
        "message/ rfc822",
        "message/(c)rfc822",
        "MESSAGE/RFC822",
        "message/global",
        "message/(nested (comment))rfc822; x=y",
        "multipart/digest; boundary=d",
    ];
    for (n, spelling) in spellings.iter().enumerate() {
        let (status, body) = post_raw(&app, nested_mail(spelling, n)).await;
        assert_eq!(status, StatusCode::CREATED, "{spelling}: {body}");
        assert_eq!(body["outcome"], "new_ticket", "{spelling}: {body}");
        let t = question(&app, body["ticket_number"].as_str().unwrap()).await;
        assert!(
            t["question"]
                .as_str()
                .unwrap()
                .contains("Bitte prüfen Sie die angehängte Nachricht."),
            "{spelling}: {t}"
        );
        alive(&app).await;
    }

    // The nesting inside a base64-encoded attached message.
    let mut inner = String::new();
    for _ in 0..LEVELS {
        inner.push_str("Content-Type: message/ rfc822\r\n\r\n");
    }
    inner.push_str("Subject: innen\r\n\r\nText\r\n");
    let mut raw = head(
        "Verschachtelt base64",
        "nest-b64",
        "multipart/mixed; boundary=\"aussen\"",
    );
    raw.push_str(
        "--aussen\r\nContent-Type: text/plain\r\n\r\nAnhang anbei.\r\n--aussen\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    raw.push_str(&base64_lines(inner.as_bytes()));
    raw.push_str("--aussen--\r\n");
    let (status, body) = post_raw(&app, raw.into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["outcome"], "new_ticket", "{body}");
    alive(&app).await;

    assert_eq!(app.count("inbound_mails").await, spellings.len() as i64 + 1);
    assert_eq!(app.count("tickets").await, spellings.len() as i64 + 1);
    // Every raw message is kept whole.
    let rows = inbound_mail::Entity::find().all(&app.db).await.unwrap();
    assert!(
        rows.iter()
            .all(|r| r.raw.as_ref().is_some_and(|raw| raw.len() as i64 == r.size))
    );
}

fn base64_lines(data: &[u8]) -> String {
    use base64::Engine as _;
    // 57 bytes make a 76-character line.
    data.chunks(57)
        .map(|line| base64::engine::general_purpose::STANDARD.encode(line) + "\r\n")
        .collect()
}

/// A multipart tree 100,000 levels deep and HTML nested 100,000 levels deep: stored, a ticket
/// with the text the server could read, marked as cut where parts were left out; the server
/// stays up.
async fn deep_multipart_and_html_do_not_kill_the_server(backend: Backend) {
    let app = mail_app(backend).await;
    let mut raw = head(
        "Tiefer Baum",
        "deep-multipart",
        "multipart/mixed; boundary=\"b0\"",
    );
    raw.push_str("--b0\r\nContent-Type: text/plain\r\n\r\nOben steht meine Frage.\r\n");
    for i in 1..LEVELS {
        raw.push_str(&format!(
            "--b{}\r\nContent-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n",
            i - 1
        ));
    }
    raw.push_str(&format!(
        "--b{}\r\nContent-Type: text/plain\r\n\r\nGanz unten\r\n",
        LEVELS - 1
    ));
    for i in (0..LEVELS).rev() {
        raw.push_str(&format!("--b{i}--\r\n"));
    }
    let (status, body) = post_raw(&app, raw.into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["outcome"], "new_ticket", "{body}");
    let number = body["ticket_number"].as_str().unwrap().to_owned();
    let t = question(&app, &number).await;
    let q = t["question"].as_str().unwrap();
    assert!(q.contains("Oben steht meine Frage."), "{q}");
    assert!(
        q.contains("[Gekürzt:"),
        "the ticket says that parts were left out: {q}"
    );
    let cut = ticket_event::Entity::find()
        .filter(ticket_event::Column::Kind.eq("mail_truncated"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(cut, 1);
    alive(&app).await;

    let mut html = String::from("<html><body><p>Meine Frage zum Wohngeld.</p>");
    for _ in 0..LEVELS {
        html.push_str("<div><blockquote><a href=\"https://x.example/\"><ul><li><table><tr><td>");
    }
    html.push_str("innen");
    for _ in 0..LEVELS {
        html.push_str("</td></tr></table></li></ul></a></blockquote></div>");
    }
    html.push_str("</body></html>");
    let mut raw = head("Tiefes HTML", "deep-html", "text/html; charset=utf-8");
    raw.push_str(&html);
    let started = std::time::Instant::now();
    let (status, body) = post_raw(&app, raw.into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["outcome"], "new_ticket", "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let t = question(&app, body["ticket_number"].as_str().unwrap()).await;
    let q = t["question"].as_str().unwrap();
    assert!(q.contains("Meine Frage zum Wohngeld."), "{q}");
    assert!(q.chars().count() <= 20_000);
    alive(&app).await;
}

fn citizen(id: &str, from: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: buergerservice@stadt-koblenz.demo\r\nSubject: Frage {id}\r\n\
Message-ID: <{id}@buerger.example>\r\nDate: Thu, 3 Dec 2026 10:00:00 +0100\r\n{extra_headers}\
Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn backdate(app: &TestApp, id: uuid::Uuid) {
    inbound_mail::Entity::update_many()
        .col_expr(
            inbound_mail::Column::ReceivedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(5)),
        )
        .col_expr(
            inbound_mail::Column::ClaimedUntil,
            sea_orm::sea_query::Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(inbound_mail::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
}

async fn row(app: &TestApp, id: uuid::Uuid) -> inbound_mail::Model {
    inbound_mail::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

/// A stored mail whose processing was interrupted twice (a process abort: the attempt was
/// counted, nothing was recorded) is quarantined as `unparseable` with its raw message, and
/// never processed again; the MTA sending it again changes nothing.
async fn crashed_twice_is_quarantined(backend: Backend) {
    use verbund_email::ingest::{self, Claim, Source};
    let app = mail_app(backend).await;
    let raw = citizen("crash", "anna@buerger.example", "", "Meine Frage.");
    let (stored, _) = ingest::store_raw(&app.db, &raw, Source::Mta).await.unwrap();
    assert_eq!(stored.attempts, 0);
    // Two attempts that died: each was counted in the database before anything was parsed.
    for n in 1..=2 {
        backdate(&app, stored.id).await;
        assert_eq!(
            ingest::claim(&app.db, stored.id).await.unwrap(),
            Claim::Mine
        );
        let r = row(&app, stored.id).await;
        assert_eq!((r.attempts, r.state.as_str()), (n, "stored"));
    }
    backdate(&app, stored.id).await;
    // The recovery job (at start-up and every interval) quarantines it instead.
    ingest::process_pending(&app.db).await.unwrap();
    let r = row(&app, stored.id).await;
    assert_eq!(r.state, "processed");
    assert_eq!(r.outcome.map(|o| o.as_str()), Some("unparseable"));
    assert_eq!(r.error.as_deref(), Some(ingest::QUARANTINED));
    assert_eq!(r.raw.as_deref(), Some(raw.as_slice()));
    assert_eq!(r.attempts, 2);
    assert_eq!(app.count("tickets").await, 0);
    // It never loops: nothing more happens to it.
    assert_eq!(ingest::process_pending(&app.db).await.unwrap(), 0);
    let (status, body) = post_raw(&app, raw.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "unparseable");
    assert_eq!(body["duplicate"], true);
    assert_eq!(row(&app, stored.id).await.attempts, 2);
    assert_eq!(app.count("tickets").await, 0);
    // It waits for a human in the operators' queue, raw message and all.
    let operator = app.token("operator@verbund.demo").await;
    let list: Value = app
        .get(&operator, "/api/v1/inbound?outcome=unparseable")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let got = app
        .get(&operator, &format!("/api/v1/inbound/{}/raw", stored.id))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), raw.as_slice());
}

/// Processing that fails twice (here: a tenant calendar without service hours) is
/// quarantined on the third run, and stays so.
async fn failed_twice_is_quarantined(backend: Backend) {
    use sea_orm::{ActiveModelTrait, Set};
    use verbund_schema::tenant;
    let app = mail_app(backend).await;
    let koblenz = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq("stadt-koblenz"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut broken = koblenz.settings.clone();
    broken["service_hours"] = json!({});
    tenant::ActiveModel {
        id: Set(koblenz.id),
        settings: Set(broken),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .unwrap();

    let (status, body) = post_raw(&app, citizen("fail2", "anna@buerger.example", "", "?")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["state"], "stored", "{body}");
    let id = uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap();
    assert_eq!(row(&app, id).await.attempts, 1);
    backdate(&app, id).await;
    verbund_email::ingest::process_pending(&app.db)
        .await
        .unwrap();
    let r = row(&app, id).await;
    assert_eq!((r.attempts, r.state.as_str()), (2, "stored"));
    backdate(&app, id).await;
    verbund_email::ingest::process_pending(&app.db)
        .await
        .unwrap();
    let r = row(&app, id).await;
    assert_eq!(r.state, "processed");
    assert_eq!(r.outcome.map(|o| o.as_str()), Some("unparseable"));
    assert!(r.raw.is_some());
    backdate(&app, id).await;
    assert_eq!(
        verbund_email::ingest::process_pending(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("outbox_mails").await, 0);
}

/// Only a valid RFC 5321 mailbox that stands in the header as written is answered: an encoded
/// word inside the address or garbage goes to review with a clear reason and gets no receipt.
/// `noreply@` senders and `List-Unsubscribe` mail get a ticket but no receipt.
async fn answer_addresses_are_checked(backend: Backend) {
    let app = mail_app(backend).await;
    for (id, from) in [
        ("ew1", "=?utf-8?Q?attacker?Q?agent?=@victim.example"),
        (
            "ew2",
            "<=?utf-8?q?attacker=40evil.example?=@victim.example>",
        ),
        ("bad1", "Anna <anna@@buerger.example>"),
        ("bad2", "anna@localhost"),
    ] {
        let (status, body) = post_raw(&app, citizen(id, from, "", "Hallo")).await;
        assert_eq!(status, StatusCode::CREATED, "{from}: {body}");
        assert_eq!(body["outcome"], "review", "{from}: {body}");
        assert!(body["ticket_id"].is_null(), "{from}: {body}");
        let r = row(
            &app,
            uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap(),
        )
        .await;
        assert!(
            r.error
                .as_deref()
                .unwrap_or("")
                .contains("not a valid mailbox")
                || r.error
                    .as_deref()
                    .unwrap_or("")
                    .contains("no sender address"),
            "{from}: {:?}",
            r.error
        );
    }
    assert_eq!(app.count("outbox_mails").await, 0);
    assert_eq!(app.count("tickets").await, 0);

    // SMTPUTF8 mailboxes are answered.
    let (_, body) = post_raw(
        &app,
        citizen("utf8", "Jörg <jörg@müller.example>", "", "Hallo"),
    )
    .await;
    assert_eq!(body["outcome"], "new_ticket", "{body}");
    assert!(body["receipt_suppressed"].is_null(), "{body}");

    for (id, from, extra, reason) in [
        ("nr1", "Amt <noreply@amt.example>", "", "no_reply_sender"),
        ("nr2", "no-reply@shop.example", "", "no_reply_sender"),
        (
            "lu",
            "info@verein.example",
            "List-Unsubscribe: <mailto:leave@verein.example>\r\n",
            "list_unsubscribe",
        ),
    ] {
        let (_, body) = post_raw(&app, citizen(id, from, extra, "Hallo")).await;
        assert_eq!(body["outcome"], "new_ticket", "{from}: {body}");
        assert_eq!(body["receipt_suppressed"], reason, "{from}: {body}");
    }
    assert_eq!(app.count("outbox_mails").await, 1);
}

/// A text longer than the tenant's `max_mail_body_chars` and more attachments than
/// `max_attachments_per_mail` are cut, and the ticket says so (question note and history).
async fn caps_cut_and_mark_the_ticket(backend: Backend) {
    let app = mail_app(backend).await;
    let operator = app.token("operator@verbund.demo").await;
    let resp = app
        .patch(
            &operator,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"settings": {"max_mail_body_chars": 1000, "max_attachments_per_mail": 2}}),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    let bad = app
        .patch(
            &operator,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"settings": {"max_mail_body_chars": 50_000}}),
        )
        .await;
    crate::helpers::assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed")
        .await;

    let long = "Ich habe eine lange Frage. ".repeat(100);
    let (_, body) = post_raw(&app, citizen("long", "anna@buerger.example", "", &long)).await;
    assert_eq!(body["outcome"], "new_ticket", "{body}");
    let t = question(&app, body["ticket_number"].as_str().unwrap()).await;
    let q = t["question"].as_str().unwrap();
    assert!(
        q.contains("Der Text wurde nach 1000 Zeichen gekürzt."),
        "{q}"
    );
    assert!(q.chars().count() < 1200, "{}", q.chars().count());

    let mut raw = head("Viele Anhänge", "many", "multipart/mixed; boundary=\"m\"");
    raw.push_str("--m\r\nContent-Type: text/plain\r\n\r\nAnbei fünf Dateien.\r\n");
    for i in 0..5 {
        raw.push_str(&format!(
            "--m\r\nContent-Type: application/pdf; name=\"d{i}.pdf\"\r\nContent-Disposition: attachment; filename=\"d{i}.pdf\"\r\n\r\n%PDF-{i}\r\n"
        ));
    }
    raw.push_str("--m--\r\n");
    let (_, body) = post_raw(&app, raw.into_bytes()).await;
    assert_eq!(body["outcome"], "new_ticket", "{body}");
    let t = question(&app, body["ticket_number"].as_str().unwrap()).await;
    assert!(
        t["question"]
            .as_str()
            .unwrap()
            .contains("3 Anhänge wurden nicht übernommen."),
        "{t}"
    );
    let kept = verbund_schema::mail_attachment::Entity::find()
        .filter(verbund_schema::mail_attachment::Column::Omitted.eq(false))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(kept, 2);
    let cut = ticket_event::Entity::find()
        .filter(ticket_event::Column::Kind.eq("mail_truncated"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(cut, 2);
}

crate::per_backend!(
    deeply_nested_messages_do_not_kill_the_server,
    deep_multipart_and_html_do_not_kill_the_server,
    crashed_twice_is_quarantined,
    failed_twice_is_quarantined,
    answer_addresses_are_checked,
    caps_cut_and_mark_the_ticket,
);
