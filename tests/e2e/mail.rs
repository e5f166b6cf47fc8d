//! The e-mail channel through the MTA pipe: routing, threading, receipts and loop protection,
//! bounces, idempotency, the mail queues, the outbox API and its isolation. Delivery to a real
//! SMTP server and IMAP polling are in `mail_servers.rs`.

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use verbund_schema::{inbound_mail, outbox_mail, ticket, ticket_event};

use crate::helpers::{Backend, TestApp, assert_problem, job, spawn_app_with};
use verbund_tenant::access::Job;

pub const INGEST_TOKEN: &str = "ingest-secret-for-tests";

pub async fn mail_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.ingest_token = Some(INGEST_TOKEN.to_owned().into());
    })
    .await
}

pub async fn ingest(app: &TestApp, raw: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/inbound/raw"))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "message/rfc822")
        .body(raw.replace('\n', "\r\n"))
        .send()
        .await
        .unwrap()
}

pub async fn ingest_ok(app: &TestApp, raw: &str) -> Value {
    let resp = ingest(app, raw).await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "{status}: {body}"
    );
    body
}

pub fn citizen_mail(from: &str, to: &str, subject: &str, message_id: &str, body: &str) -> String {
    format!(
        "From: Anna Schmidt <{from}>\nTo: {to}\nSubject: {subject}\nMessage-ID: <{message_id}>\n\
Date: Sat, 28 Nov 2026 10:00:00 +0100\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\
Content-Transfer-Encoding: 8bit\n\n{body}\n"
    )
}

async fn outbox_of(app: &TestApp, ticket_id: &str) -> Vec<outbox_mail::Model> {
    outbox_mail::Entity::find()
        .filter(outbox_mail::Column::TicketId.eq(uuid::Uuid::parse_str(ticket_id).unwrap()))
        .all(&app.db)
        .await
        .unwrap()
}

async fn events(app: &TestApp, ticket_id: &str, kind: &str) -> usize {
    ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(uuid::Uuid::parse_str(ticket_id).unwrap()))
        .filter(ticket_event::Column::Kind.eq(kind))
        .count(&app.db)
        .await
        .unwrap() as usize
}

/// A citizen's mail becomes an e-mail ticket due in one working day, with a German receipt
/// in the outbox that carries the ticket number and threads to the citizen's mail.
async fn new_mail_becomes_ticket_with_receipt(backend: Backend) {
    let app = mail_app(backend).await;
    let raw = citizen_mail(
        "anna@buerger.example",
        "Bürgerservice Koblenz <buergerservice@stadt-koblenz.demo>",
        "Termin für Personalausweis",
        "m1@buerger.example",
        "Guten Tag, wann kann ich meinen Personalausweis beantragen?",
    );
    let resp = ingest(&app, &raw).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["outcome"], "new_ticket");
    assert_eq!(body["duplicate"], false);
    let number = body["ticket_number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("KO-"), "{number}");

    let responder = app.token("responder@stadt-koblenz.demo").await;
    let t: Value = app
        .get(&responder, &format!("/api/v1/tickets/{number}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["answer_channel"], "email");
    assert_eq!(t["subject"], "Termin für Personalausweis");
    assert_eq!(t["citizen"]["email"], "anna@buerger.example");
    assert_eq!(t["citizen"]["name"], "Anna Schmidt");
    assert!(
        t["question"]
            .as_str()
            .unwrap()
            .contains("Personalausweis beantragen")
    );
    // Due one working day after arrival, from the service calendar.
    let created = chrono::DateTime::parse_from_rfc3339(t["created_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(t["due_at"].as_str().unwrap()).unwrap();
    assert!(
        due > created + chrono::Duration::hours(9),
        "{created} → {due}"
    );

    let out = outbox_of(&app, t["id"].as_str().unwrap()).await;
    assert_eq!(out.len(), 1);
    let receipt = &out[0];
    assert_eq!(receipt.kind, "receipt");
    assert_eq!(receipt.state, "queued");
    assert_eq!(receipt.to_address, "anna@buerger.example");
    assert_eq!(receipt.from_address, "buergerservice@stadt-koblenz.demo");
    assert!(
        receipt.subject.contains(&format!("[{number}]")),
        "{}",
        receipt.subject
    );
    assert!(receipt.subject.starts_with("Eingangsbestätigung"));
    assert!(receipt.body.contains(&number));
    assert!(receipt.body.contains("Stadt Koblenz"));
    assert!(receipt.auto_submitted);
    assert_eq!(receipt.in_reply_to.as_deref(), Some("m1@buerger.example"));

    // The conversation shows the citizen's mail and the receipt.
    let mails: Value = app
        .get(&responder, &format!("/api/v1/tickets/{number}/mails"))
        .await
        .json()
        .await
        .unwrap();
    let mails = mails.as_array().unwrap();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0]["direction"], "in");
    assert_eq!(mails[0]["from"], "anna@buerger.example");
    assert_eq!(mails[1]["direction"], "out");
    assert_eq!(mails[1]["kind"], "receipt");
    assert_eq!(mails[1]["state"], "queued");
    assert_eq!(
        events(&app, t["id"].as_str().unwrap(), "mail_received").await,
        1
    );
}

/// The same message twice is one ticket message; a different message is not.
async fn same_message_twice_is_one(backend: Backend) {
    let app = mail_app(backend).await;
    let raw = citizen_mail(
        "bernd@buerger.example",
        "buergerservice@stadt-mainz.demo",
        "Ummeldung",
        "dup@buerger.example",
        "Ich bin umgezogen.",
    );
    let first = ingest_ok(&app, &raw).await;
    let resp = ingest(&app, &raw).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["ticket_id"], first["ticket_id"]);
    assert_eq!(app.count("inbound_mails").await, 1);
    assert_eq!(app.count("tickets").await, 1);
    assert_eq!(app.count("outbox_mails").await, 1);
}

/// Token, media type and empty body are checked before anything is stored.
async fn ingest_is_guarded(backend: Backend) {
    let app = mail_app(backend).await;
    let raw = citizen_mail(
        "x@buerger.example",
        "buergerservice@stadt-mainz.demo",
        "a",
        "g@x",
        "b",
    );
    let no_token = app
        .client
        .post(app.url("/api/v1/inbound/raw"))
        .header("content-type", "message/rfc822")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_problem(no_token, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let wrong = app
        .client
        .post(app.url("/api/v1/inbound/raw"))
        .bearer_auth("nope")
        .header("content-type", "message/rfc822")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_problem(wrong, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // A user's JWT is not an ingest token.
    let admin = app.token("operator@verbund.demo").await;
    let jwt = app
        .client
        .post(app.url("/api/v1/inbound/raw"))
        .bearer_auth(&admin)
        .header("content-type", "message/rfc822")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_problem(jwt, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let json_body = app
        .client
        .post(app.url("/api/v1/inbound/raw"))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(
        json_body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    let empty = app
        .client
        .post(app.url("/api/v1/inbound/raw"))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "message/rfc822")
        .send()
        .await
        .unwrap();
    assert_problem(empty, StatusCode::BAD_REQUEST, "empty-body").await;
    assert_eq!(app.count("inbound_mails").await, 0);

    // Without a configured token the pipe is closed.
    let closed = spawn_app_with(backend, |_| {}).await;
    let resp = closed
        .client
        .post(closed.url("/api/v1/inbound/raw"))
        .bearer_auth(INGEST_TOKEN)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::SERVICE_UNAVAILABLE, "ingest-disabled").await;
    assert_eq!(closed.count("inbound_mails").await, 0);
}

/// Recipients select the tenant: To, Cc, Delivered-To, plus-addressing; anything else goes to
/// the operators' catch-all, which an operator can hand to a tenant.
async fn routing_and_catchall(backend: Backend) {
    let app = mail_app(backend).await;
    let plus = ingest_ok(
        &app,
        &citizen_mail(
            "c1@buerger.example",
            "buergerservice+kfz@stadt-mainz.demo",
            "Zulassung",
            "r1@b",
            "Frage zur Zulassung",
        ),
    )
    .await;
    assert_eq!(plus["outcome"], "new_ticket");
    assert!(plus["ticket_number"].as_str().unwrap().starts_with("MZ-"));

    let cc = "From: c2@buerger.example\nTo: freunde@liste.example\nCc: buergerservice@stadt-trier.demo\n\
Subject: Elterngeld\nMessage-ID: <r2@b>\n\nWie beantrage ich Elterngeld?\n";
    let cc = ingest_ok(&app, cc).await;
    assert!(cc["ticket_number"].as_str().unwrap().starts_with("TR-"));

    let delivered = "Delivered-To: buergerservice@kreis-trier-saarburg.demo\nFrom: c3@buerger.example\n\
To: undisclosed-recipients:;\nSubject: Hund anmelden\nMessage-ID: <r3@b>\n\nHundesteuer?\n";
    let delivered = ingest_ok(&app, delivered).await;
    assert!(
        delivered["ticket_number"]
            .as_str()
            .unwrap()
            .starts_with("TS-")
    );

    let lost = ingest_ok(
        &app,
        &citizen_mail(
            "c4@buerger.example",
            "someone@unknown.example",
            "Hallo",
            "r4@b",
            "?",
        ),
    )
    .await;
    assert_eq!(lost["outcome"], "catchall");
    assert!(lost["ticket_id"].is_null());
    assert!(lost["tenant_id"].is_null());

    let operator = app.token("operator@verbund.demo").await;
    let admin = app.token("admin@stadt-mainz.demo").await;
    let queue: Value = app
        .get(&operator, "/api/v1/inbound?outcome=catchall")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 1);
    assert_eq!(queue[0]["from"], "c4@buerger.example");
    // Tenant staff see nothing of the catch-all, nor another tenant's mail.
    let resp = app.get(&admin, "/api/v1/inbound").await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app.get(&admin, "/api/v1/inbound?tenant=stadt-trier").await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let id = lost["id"].as_str().unwrap();
    let resp = app.get(&admin, &format!("/api/v1/inbound/{id}/raw")).await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let resp = app
        .post(
            &admin,
            &format!("/api/v1/inbound/{id}/assign"),
            &json!({"tenant": "stadt-mainz"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("tickets").await, 3);

    let raw = app
        .get(&operator, &format!("/api/v1/inbound/{id}/raw"))
        .await;
    assert_eq!(raw.status(), StatusCode::OK);
    assert_eq!(raw.headers()["content-type"], "message/rfc822");
    assert!(raw.text().await.unwrap().contains("Message-ID: <r4@b>"));

    let bad = app
        .post(
            &operator,
            &format!("/api/v1/inbound/{id}/assign"),
            &json!({"tenant": "gibt-es-nicht"}),
        )
        .await;
    assert_problem(bad, StatusCode::NOT_FOUND, "not-found").await;
    let assigned = app
        .post(
            &operator,
            &format!("/api/v1/inbound/{id}/assign"),
            &json!({"tenant": "stadt-mainz"}),
        )
        .await;
    assert_eq!(assigned.status(), StatusCode::OK);
    let assigned: Value = assigned.json().await.unwrap();
    assert_eq!(assigned["outcome"], "new_ticket");
    assert_eq!(assigned["tenant"], "stadt-mainz");
    assert_eq!(app.count("tickets").await, 4);
    let again = app
        .post(
            &operator,
            &format!("/api/v1/inbound/{id}/assign"),
            &json!({"tenant": "stadt-trier"}),
        )
        .await;
    assert_problem(again, StatusCode::CONFLICT, "already-assigned").await;
    let mine: Value = app
        .get(&admin, "/api/v1/inbound?tenant=stadt-mainz")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 2);
}

/// Replies join their ticket by our Message-ID or by the number in the subject; a reply to
/// an answered ticket reopens it; another sender is flagged, not silently attached.
async fn replies_join_their_ticket(backend: Backend) {
    let app = mail_app(backend).await;
    let first = ingest_ok(
        &app,
        &citizen_mail(
            "anna@buerger.example",
            "buergerservice@stadt-koblenz.demo",
            "Führerschein umschreiben",
            "t1@buerger.example",
            "Wie lange dauert das?",
        ),
    )
    .await;
    let number = first["ticket_number"].as_str().unwrap().to_owned();
    let ticket_id = first["ticket_id"].as_str().unwrap().to_owned();
    let receipt_id = outbox_of(&app, &ticket_id).await[0].message_id.clone();

    // The agent answers: the reply goes to the outbox and the ticket is answered.
    let responder = app.token("responder@stadt-koblenz.demo").await;
    let resp = app
        .post(
            &responder,
            &format!("/api/v1/tickets/{number}/messages"),
            &json!({"body": "Etwa drei Wochen."}),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
    let out = outbox_of(&app, &ticket_id).await;
    let reply = out.iter().find(|m| m.kind == "reply").unwrap();
    assert_eq!(reply.to_address, "anna@buerger.example");
    assert!(reply.subject.contains(&format!("[{number}]")));
    assert!(reply.body.starts_with("Etwa drei Wochen."));
    assert!(!reply.auto_submitted);
    assert_eq!(reply.in_reply_to.as_deref(), Some("t1@buerger.example"));
    let refs = reply.references.clone().unwrap();
    assert!(refs.contains("<t1@buerger.example>") && refs.contains(&format!("<{receipt_id}>")));
    let t = ticket::Entity::find_by_id(uuid::Uuid::parse_str(&ticket_id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.state, "answered");

    // The citizen answers the reply (In-Reply-To our Message-ID): joins and reopens.
    let answer = format!(
        "From: anna@buerger.example\nTo: buergerservice@stadt-koblenz.demo\nSubject: AW: {}\n\
Message-ID: <t2@buerger.example>\nIn-Reply-To: <{}>\nReferences: <t1@buerger.example> <{}>\n\n\
Danke! Und was kostet es?\n\nAm 28.11.2026 schrieb Stadt Koblenz:\n> Etwa drei Wochen.\n",
        reply.subject, reply.message_id, reply.message_id
    );
    let joined = ingest_ok(&app, &answer).await;
    assert_eq!(joined["outcome"], "reply");
    assert_eq!(joined["ticket_id"], ticket_id.as_str());
    let t = ticket::Entity::find_by_id(t.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.state, "in_progress");
    assert_eq!(events(&app, &ticket_id, "reopened").await, 1);
    // No receipt for a reply.
    assert_eq!(
        outbox_of(&app, &ticket_id)
            .await
            .iter()
            .filter(|m| m.kind == "receipt")
            .count(),
        1
    );

    // Only the number in the subject, from the citizen: joins.
    let by_number = format!(
        "From: Anna <ANNA@buerger.example>\nTo: buergerservice@stadt-koblenz.demo\n\
Subject: Nachtrag [{number}]\nMessage-ID: <t3@buerger.example>\n\nIch habe noch eine Frage.\n"
    );
    let joined = ingest_ok(&app, &by_number).await;
    assert_eq!(joined["outcome"], "reply");
    assert_eq!(joined["ticket_id"], ticket_id.as_str());

    // Someone else with the number: flagged, the ticket not reopened by it.
    let stranger = format!(
        "From: mallory@elsewhere.example\nTo: buergerservice@stadt-koblenz.demo\n\
Subject: WG: [{number}]\nMessage-ID: <t4@elsewhere.example>\n\nIch mische mich ein.\n"
    );
    let flagged = ingest_ok(&app, &stranger).await;
    assert_eq!(flagged["outcome"], "reply_flagged");
    assert_eq!(flagged["ticket_id"], ticket_id.as_str());
    let mails: Value = app
        .get(&responder, &format!("/api/v1/tickets/{number}/mails"))
        .await
        .json()
        .await
        .unwrap();
    let inbound: Vec<&Value> = mails
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .collect();
    assert_eq!(inbound.len(), 4);
    assert_eq!(inbound[3]["sender_mismatch"], true);
    assert_eq!(inbound[1]["sender_mismatch"], false);
    // The quoted part of the citizen's answer is collapsed, not in the new text.
    assert!(
        inbound[1]["text"]
            .as_str()
            .unwrap()
            .contains("was kostet es")
    );
    assert!(
        !inbound[1]["text"]
            .as_str()
            .unwrap()
            .contains("> Etwa drei Wochen")
    );
    assert_eq!(app.count("tickets").await, 1);
    let notes = verbund_schema::notification::Entity::find()
        .filter(verbund_schema::notification::Column::Kind.eq("mail_flagged"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(notes, 1);
}

/// No receipt to robots, lists, bounces, our own addresses, or beyond N per sender and hour.
async fn loop_protection(backend: Backend) {
    let app = mail_app(backend).await;
    let admin = app.token("admin@stadt-trier.demo").await;
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-trier",
            &json!({"settings": {"receipts_per_sender_per_hour": 2}}),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    let to = "buergerservice@stadt-trier.demo";
    let cases = [
        ("Auto-Submitted: auto-replied\n", "auto_submitted"),
        ("Precedence: bulk\n", "precedence"),
        ("List-Id: <news.liste.example>\n", "list_id"),
        ("X-Autoreply: yes\n", "x_autoreply"),
        ("Return-Path: <>\n", "empty_return_path"),
    ];
    for (n, (header, reason)) in cases.iter().enumerate() {
        let raw = format!(
            "{header}From: robot{n}@buerger.example\nTo: {to}\nSubject: Abwesend\nMessage-ID: <auto{n}@b>\n\nIch bin nicht da.\n"
        );
        let body = ingest_ok(&app, &raw).await;
        assert_eq!(body["outcome"], "new_ticket", "{header}");
        assert_eq!(body["receipt_suppressed"], *reason, "{header}");
    }
    let daemon = format!(
        "From: MAILER-DAEMON@mx.example\nTo: {to}\nSubject: Hinweis\nMessage-ID: <md@b>\n\nText\n"
    );
    assert_eq!(
        ingest_ok(&app, &daemon).await["receipt_suppressed"],
        "mailer_daemon"
    );
    let own = format!(
        "From: buergerservice@stadt-mainz.demo\nTo: {to}\nSubject: Weiterleitung\nMessage-ID: <own@b>\n\nText\n"
    );
    assert_eq!(
        ingest_ok(&app, &own).await["receipt_suppressed"],
        "own_address"
    );
    let not_auto = format!(
        "Auto-Submitted: no\nFrom: human@buerger.example\nTo: {to}\nSubject: Frage\nMessage-ID: <h@b>\n\nText\n"
    );
    assert!(ingest_ok(&app, &not_auto).await["receipt_suppressed"].is_null());
    assert_eq!(app.count("outbox_mails").await, 1);

    // Rate: two receipts per sender and hour (set above), the third is suppressed.
    for n in 0..3 {
        let raw = citizen_mail(
            "eager@buerger.example",
            to,
            &format!("Frage {n}"),
            &format!("e{n}@b"),
            "?",
        );
        let body = ingest_ok(&app, &raw).await;
        if n < 2 {
            assert!(body["receipt_suppressed"].is_null());
        } else {
            assert_eq!(body["receipt_suppressed"], "rate_limit");
        }
    }
    assert_eq!(app.count("outbox_mails").await, 3);
    // Everything became a ticket nonetheless: nothing is lost.
    assert_eq!(app.count("tickets").await, 11);
}

/// A delivery status notification is matched to our mail and shown on the ticket; it never
/// becomes a ticket. An unmatched one waits for a human.
async fn bounces_are_matched(backend: Backend) {
    let app = mail_app(backend).await;
    let first = ingest_ok(
        &app,
        &citizen_mail(
            "gone@buerger.example",
            "buergerservice@stadt-mainz.demo",
            "Frage",
            "b1@b",
            "?",
        ),
    )
    .await;
    let ticket_id = first["ticket_id"].as_str().unwrap().to_owned();
    let receipt = outbox_of(&app, &ticket_id).await.remove(0);
    let dsn = format!(
        "From: MAILER-DAEMON@mx.buerger.example\nTo: buergerservice@stadt-mainz.demo\nReturn-Path: <>\n\
Subject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn1@mx>\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\n\
Content-Type: text/plain\n\nThe mail could not be delivered.\n--B\nContent-Type: message/delivery-status\n\n\
Reporting-MTA: dns; mx.buerger.example\n\nFinal-Recipient: rfc822; gone@buerger.example\nAction: failed\n\
Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--B\nContent-Type: text/rfc822-headers\n\n\
From: buergerservice@stadt-mainz.demo\nTo: gone@buerger.example\nMessage-ID: <{}>\nSubject: x\n\n--B--\n",
        receipt.message_id
    );
    let body = ingest_ok(&app, &dsn).await;
    assert_eq!(body["outcome"], "bounce");
    assert!(body["ticket_id"].is_null());
    assert_eq!(app.count("tickets").await, 1);
    let receipt = outbox_mail::Entity::find_by_id(receipt.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(receipt.state, "bounced");
    assert!(receipt.last_error.unwrap().contains("5.1.1"));
    assert_eq!(events(&app, &ticket_id, "mail_bounced").await, 1);
    let admin = app.token("admin@stadt-mainz.demo").await;
    let out: Value = app
        .get(&admin, "/api/v1/tenants/stadt-mainz/outbox?state=bounced")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(out.as_array().unwrap().len(), 1);

    let unmatched = dsn
        .replace(&receipt.message_id, "unknown-id@nowhere")
        .replace("dsn1@mx", "dsn2@mx");
    let body = ingest_ok(&app, &unmatched).await;
    assert_eq!(body["outcome"], "bounce_unmatched");
    assert_eq!(app.count("tickets").await, 1);
    assert_eq!(app.count("outbox_mails").await, 1);
}

/// Unparseable input is kept raw and listed for a human; nothing is dropped.
async fn unparseable_is_kept(backend: Backend) {
    let app = mail_app(backend).await;
    let garbage = "\u{1}\u{2}\u{3} kein Mailkopf, nur Müll ohne Leerzeile";
    let body = ingest_ok(&app, garbage).await;
    assert_eq!(body["outcome"], "unparseable");
    let row = inbound_mail::Entity::find_by_id(
        uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap(),
    )
    .one(&app.db)
    .await
    .unwrap()
    .unwrap();
    assert!(row.raw.is_some());
    assert!(row.error.is_some());
    let operator = app.token("operator@verbund.demo").await;
    let list: Value = app
        .get(&operator, "/api/v1/inbound?outcome=unparseable")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(app.count("tickets").await, 0);
}

/// The outbox API: admins and responders of the tenant see it and retry failed mail; other
/// tenants' admins and agents get nothing and change nothing.
async fn outbox_api_and_isolation(backend: Backend) {
    let app = mail_app(backend).await;
    let first = ingest_ok(
        &app,
        &citizen_mail(
            "o@buerger.example",
            "buergerservice@stadt-koblenz.demo",
            "Frage",
            "o1@b",
            "?",
        ),
    )
    .await;
    let ticket_id = first["ticket_id"].as_str().unwrap().to_owned();
    let mail = outbox_of(&app, &ticket_id).await.remove(0);
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let other = app.token("admin@stadt-mainz.demo").await;
    let agent = app.token("agent@sc-koblenz.demo").await;
    let responder = app.token("responder@stadt-koblenz.demo").await;

    let list: Value = app
        .get(&admin, "/api/v1/tenants/stadt-koblenz/outbox")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["state"], "queued");
    for token in [&other, &agent] {
        let resp = app.get(token, "/api/v1/tenants/stadt-koblenz/outbox").await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // The tenant's responders work its outbox too (`Permission::WorkOutbox`).
    let theirs: Value = app
        .get(&responder, "/api/v1/tenants/stadt-koblenz/outbox")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs, list);
    let bad = app
        .get(&admin, "/api/v1/tenants/stadt-koblenz/outbox?state=lost")
        .await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;

    // Retry only works on failed mail.
    let path = format!("/api/v1/tenants/stadt-koblenz/outbox/{}/retry", mail.id);
    let resp = app.post(&admin, &path, &json!({})).await;
    assert_problem(resp, StatusCode::CONFLICT, "invalid-state-transition").await;
    outbox_mail::Entity::update_many()
        .col_expr(
            outbox_mail::Column::State,
            sea_orm::sea_query::Expr::value("failed"),
        )
        .col_expr(
            outbox_mail::Column::Attempts,
            sea_orm::sea_query::Expr::value(8),
        )
        .filter(outbox_mail::Column::Id.eq(mail.id))
        .exec(&app.db)
        .await
        .unwrap();
    for token in [&other, &agent] {
        let resp = app.post(token, &path, &json!({})).await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let wrong_tenant = app
        .post(
            &other,
            &format!("/api/v1/tenants/stadt-mainz/outbox/{}/retry", mail.id),
            &json!({}),
        )
        .await;
    assert_problem(wrong_tenant, StatusCode::NOT_FOUND, "not-found").await;
    let row = outbox_mail::Entity::find_by_id(mail.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "failed");
    let resp = app.post(&admin, &path, &json!({})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let row = outbox_mail::Entity::find_by_id(mail.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "queued");
    assert_eq!(row.attempts, 0);
    assert_eq!(events(&app, &ticket_id, "mail_retried").await, 1);

    // The ticket's mails: other tenants see nothing.
    let number = first["ticket_number"].as_str().unwrap();
    let resp = app
        .get(&other, &format!("/api/v1/tickets/{number}/mails"))
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let resp = app
        .get(&agent, &format!("/api/v1/tickets/{number}/mails"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

/// Mailboxes: tenant admins manage them, secrets never come back, plain IMAP only on
/// loopback, other tenants and other roles are refused.
async fn mailbox_admin(backend: Backend) {
    let app = mail_app(backend).await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let other = app.token("admin@stadt-mainz.demo").await;
    let responder = app.token("responder@stadt-koblenz.demo").await;
    let input = json!({
        "name": "Bürgerservice", "host": "imap.koblenz.example", "port": 993, "security": "tls",
        "username": "buergerservice", "secret": "geheim-123", "interval_seconds": 120
    });
    for token in [&other, &responder] {
        let resp = app
            .post(token, "/api/v1/tenants/stadt-koblenz/mailboxes", &input)
            .await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(app.count("mailboxes").await, 0);
    let resp = app
        .post(&admin, "/api/v1/tenants/stadt-koblenz/mailboxes", &input)
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    assert!(created.get("secret").is_none());
    assert_eq!(created["folder"], "INBOX");
    let text = app
        .get(&admin, "/api/v1/tenants/stadt-koblenz/mailboxes")
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains("geheim-123"));
    let mut plain = input.clone();
    plain["security"] = json!("plain");
    let resp = app
        .post(&admin, "/api/v1/tenants/stadt-koblenz/mailboxes", &plain)
        .await;
    let p = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert!(p["detail"].as_str().unwrap().contains("security"));
    let mut bad = input.clone();
    bad["interval_seconds"] = json!(0);
    let resp = app
        .post(&admin, "/api/v1/tenants/stadt-koblenz/mailboxes", &bad)
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(app.count("mailboxes").await, 1);

    let id = created["id"].as_str().unwrap();
    let resp = app
        .patch(
            &other,
            &format!("/api/v1/tenants/stadt-mainz/mailboxes/{id}"),
            &json!({"enabled": false}),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tenants/stadt-koblenz/mailboxes/{id}"),
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/stadt-koblenz/mailboxes/{id}")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/stadt-koblenz/mailboxes/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count("mailboxes").await, 0);
}

/// Anonymising a ticket removes the raw mail, its text and attachments.
async fn anonymising_removes_mail(backend: Backend) {
    let app = mail_app(backend).await;
    let raw = "From: anna@buerger.example\nTo: buergerservice@stadt-koblenz.demo\nSubject: Antrag\n\
Message-ID: <an@b>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"X\"\n\n--X\n\
Content-Type: text/plain; charset=utf-8\n\nMein Antrag anbei.\n--X\nContent-Type: application/pdf\n\
Content-Disposition: attachment; filename=\"antrag.pdf\"\nContent-Transfer-Encoding: base64\n\n\
JVBERi0xLjQKJcOkw7zDtsOfCg==\n--X--\n";
    let body = ingest_ok(&app, raw).await;
    let number = body["ticket_number"].as_str().unwrap().to_owned();
    let responder = app.token("responder@stadt-koblenz.demo").await;
    let mails: Value = app
        .get(&responder, &format!("/api/v1/tickets/{number}/mails"))
        .await
        .json()
        .await
        .unwrap();
    let att = &mails[0]["attachments"][0];
    assert_eq!(att["filename"], "antrag.pdf");
    let aid = att["id"].as_str().unwrap();
    let file = app
        .get(
            &responder,
            &format!("/api/v1/tickets/{number}/attachments/{aid}"),
        )
        .await;
    assert_eq!(file.status(), StatusCode::OK);
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF-1.4"));
    let other = app.token("responder@stadt-mainz.demo").await;
    let resp = app
        .get(
            &other,
            &format!("/api/v1/tickets/{number}/attachments/{aid}"),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;

    let admin = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .post(
            &admin,
            &format!("/api/v1/tickets/{number}/anonymize"),
            &json!({"reason": "Antrag des Bürgers"}),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    let row = inbound_mail::Entity::find_by_id(
        uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap(),
    )
    .one(&app.db)
    .await
    .unwrap()
    .unwrap();
    assert!(row.raw.is_none());
    assert!(row.from_address.is_none());
    assert_eq!(app.count("mail_attachments").await, 0);
}

/// Escalation notices go into the outbox in the escalation's transaction, to the tenant's
/// escalation address; they are not part of the citizen's conversation.
async fn escalation_notices_are_mailed(backend: Backend) {
    let app = mail_app(backend).await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-koblenz",
            &json!({"settings": {"escalation_mail_to": "leitung@stadt-koblenz.demo", "escalation_quiet_hours": false}}),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    let body = ingest_ok(
        &app,
        &citizen_mail(
            "late@buerger.example",
            "buergerservice@stadt-koblenz.demo",
            "Eilig",
            "late@b",
            "?",
        ),
    )
    .await;
    let ticket_id = body["ticket_id"].as_str().unwrap().to_owned();
    ticket::Entity::update_many()
        .col_expr(
            ticket::Column::DueAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::hours(1)),
        )
        .filter(ticket::Column::Id.eq(uuid::Uuid::parse_str(&ticket_id).unwrap()))
        .exec(&app.db)
        .await
        .unwrap();
    let pass =
        verbund_ticketing::escalation::run_once(&app.db, &job(Job::Escalation), chrono::Utc::now())
            .await
            .unwrap();
    assert_eq!(pass.overdue, 1);
    let out = outbox_of(&app, &ticket_id).await;
    let notice = out.iter().find(|m| m.kind == "escalation").unwrap();
    assert_eq!(notice.to_address, "leitung@stadt-koblenz.demo");
    assert!(notice.subject.starts_with("Überfällig"));
    assert!(notice.auto_submitted);
    assert_eq!(events(&app, &ticket_id, "overdue").await, 1);
    // A second pass escalates nothing and mails nothing.
    verbund_ticketing::escalation::run_once(&app.db, &job(Job::Escalation), chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(outbox_of(&app, &ticket_id).await.len(), out.len());
    let responder = app.token("responder@stadt-koblenz.demo").await;
    let number = body["ticket_number"].as_str().unwrap();
    let mails: Value = app
        .get(&responder, &format!("/api/v1/tickets/{number}/mails"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        mails
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["kind"] != "escalation")
    );
}

/// A crash after storing and before processing loses nothing: the stored mail is processed
/// later, once.
async fn stored_mail_survives_a_crash(backend: Backend) {
    let app = mail_app(backend).await;
    let raw = citizen_mail(
        "crash@buerger.example",
        "buergerservice@stadt-trier.demo",
        "Frage",
        "crash@b",
        "?",
    );
    let wire = raw.replace('\n', "\r\n");
    let (row, existed) = verbund_email::ingest::store_raw(
        &app.db,
        wire.as_bytes(),
        verbund_email::ingest::Source::Mta,
    )
    .await
    .unwrap();
    assert!(!existed);
    assert_eq!(row.state, "stored");
    assert_eq!(app.count("tickets").await, 0);
    // The MTA retries after the crash: the same message is the same row, processed once.
    let again = ingest_ok(&app, &raw).await;
    assert_eq!(again["id"], row.id.to_string());
    assert_eq!(again["outcome"], "new_ticket");
    assert_eq!(app.count("tickets").await, 1);
    assert_eq!(app.count("inbound_mails").await, 1);

    // Another stored row nobody retries: the recovery job picks it up once it is old enough.
    let raw2 = wire.replace("crash@b", "crash2@b");
    let (row2, _) = verbund_email::ingest::store_raw(
        &app.db,
        raw2.as_bytes(),
        verbund_email::ingest::Source::Mta,
    )
    .await
    .unwrap();
    assert_eq!(
        verbund_email::ingest::process_pending(&app.db)
            .await
            .unwrap(),
        0
    );
    inbound_mail::Entity::update_many()
        .col_expr(
            inbound_mail::Column::ReceivedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(inbound_mail::Column::Id.eq(row2.id))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        verbund_email::ingest::process_pending(&app.db)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        verbund_email::ingest::process_pending(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.count("tickets").await, 2);
}

/// Processing that fails (here: a tenant whose service calendar has no hours, so no due date)
/// keeps the raw message, stored and acknowledged, with no half-written ticket or receipt;
/// once the cause is fixed the recovery job processes it.
async fn failed_processing_keeps_the_mail(backend: Backend) {
    use sea_orm::{ActiveModelTrait, Set};
    use verbund_schema::tenant;
    let app = mail_app(backend).await;
    let trier = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq("stadt-trier"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let good = trier.settings.clone();
    let mut broken = good.clone();
    broken["service_hours"] = json!({});
    let set_settings = |settings: Value| {
        let db = app.db.clone();
        let id = trier.id;
        async move {
            tenant::ActiveModel {
                id: Set(id),
                settings: Set(settings),
                ..Default::default()
            }
            .update(&db)
            .await
            .unwrap();
        }
    };
    set_settings(broken).await;

    let raw = citizen_mail(
        "fail@buerger.example",
        "buergerservice@stadt-trier.demo",
        "Frage zum Ausweis",
        "fail@b",
        "Wann hat das Bürgerbüro geöffnet?",
    );
    let resp = ingest(&app, &raw).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["state"], "stored", "{body}");
    assert!(body["ticket_number"].is_null(), "{body}");
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("ticket_events").await, 0);
    assert_eq!(app.count("outbox_mails").await, 0);
    let id = uuid::Uuid::parse_str(body["id"].as_str().unwrap()).unwrap();
    let row = inbound_mail::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "stored");
    assert_eq!(
        row.raw.as_deref(),
        Some(raw.replace('\n', "\r\n").as_bytes())
    );
    assert!(row.ticket_id.is_none());

    // The calendar is fixed; the recovery job processes the stored mail once.
    set_settings(good).await;
    inbound_mail::Entity::update_many()
        .col_expr(
            inbound_mail::Column::ReceivedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(inbound_mail::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        verbund_email::ingest::process_pending(&app.db)
            .await
            .unwrap(),
        1
    );
    let row = inbound_mail::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "processed");
    assert_eq!(row.outcome.map(|o| o.as_str()), Some("new_ticket"));
    assert_eq!(app.count("tickets").await, 1);
    assert_eq!(app.count("outbox_mails").await, 1);
    // The MTA sending it again changes nothing.
    let again = ingest_ok(&app, &raw).await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(app.count("tickets").await, 1);
}

/// The inbound mail of a tenant is read by its own responders and admins (and operators), and
/// by nobody of another tenant or of the wrong role: the repository's visibility condition.
async fn tenant_mail_is_read_by_its_tenant_only(backend: Backend) {
    let app = mail_app(backend).await;
    let mail = ingest_ok(
        &app,
        &citizen_mail(
            "c9@buerger.example",
            "buergerservice@stadt-mainz.demo",
            "Parkausweis",
            "iso1@b",
            "Wie bekomme ich einen Parkausweis?",
        ),
    )
    .await;
    assert_eq!(mail["outcome"], "new_ticket");
    let id = mail["id"].as_str().unwrap();
    let raw_url = format!("/api/v1/inbound/{id}/raw");
    for user in [
        "responder@stadt-mainz.demo",
        "admin@stadt-mainz.demo",
        "operator@verbund.demo",
    ] {
        let token = app.token(user).await;
        let resp = app.get(&token, &raw_url).await;
        assert_eq!(resp.status(), StatusCode::OK, "{user}");
        assert!(resp.text().await.unwrap().contains("Message-ID: <iso1@b>"));
        let list: Value = app
            .get(&token, "/api/v1/inbound?tenant=stadt-mainz")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1, "{user}");
        assert_eq!(list[0]["id"], id);
        assert_eq!(list[0]["tenant"], "stadt-mainz");
    }
    // Another tenant's responder and the tenant's own editor see nothing of it.
    for user in ["responder@stadt-koblenz.demo", "editor@stadt-mainz.demo"] {
        let token = app.token(user).await;
        let resp = app.get(&token, &raw_url).await;
        assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
        let resp = app.get(&token, "/api/v1/inbound?tenant=stadt-mainz").await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // Koblenz's responder lists Koblenz's queue: the Mainz mail is not in it.
    let koblenz = app.token("responder@stadt-koblenz.demo").await;
    let list: Value = app
        .get(&koblenz, "/api/v1/inbound?tenant=stadt-koblenz")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    // Nothing changed.
    assert_eq!(app.count("tickets").await, 1);
    assert_eq!(app.count("inbound_mails").await, 1);
}

/// One test per backend for each `async fn(Backend)`.
#[macro_export]
macro_rules! per_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}

crate::per_backend!(
    new_mail_becomes_ticket_with_receipt,
    same_message_twice_is_one,
    ingest_is_guarded,
    routing_and_catchall,
    replies_join_their_ticket,
    loop_protection,
    bounces_are_matched,
    unparseable_is_kept,
    outbox_api_and_isolation,
    mailbox_admin,
    anonymising_removes_mail,
    tenant_mail_is_read_by_its_tenant_only,
    escalation_notices_are_mailed,
    stored_mail_survives_a_crash,
    failed_processing_keeps_the_mail,
);
