//! Every mail of the corpus (`crates/email/tests/corpus`, written by us) through the MTA
//! pipe, checked against its expected outcome: new ticket with or without receipt, reply,
//! flagged reply, bounce, unparseable, catch-all — and the tenant it was routed to.

use std::path::Path;

use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::Backend;
use crate::mail::{citizen_mail, ingest, ingest_ok, mail_app};

const CITIZEN: &str = "anna.schmidt@buerger.example";

async fn corpus_outcomes(backend: Backend) {
    let app = mail_app(backend).await;
    let operator = app.token("operator@verbund.demo").await;
    for (slug, addresses) in [
        (
            "stadt-koblenz",
            json!([
                "buergerservice@stadt-koblenz.demo",
                "buergerservice@koblenz.example"
            ]),
        ),
        (
            "stadt-mainz",
            json!(["buergerservice@stadt-mainz.demo", "service@mainz.example"]),
        ),
    ] {
        // The operator assigns the extra domain first: tenants claim addresses only there.
        let extra = addresses[1].as_str().unwrap().split('@').nth(1).unwrap();
        let resp = app
            .post(
                &operator,
                &format!("/api/v1/tenants/{slug}/mail-domains"),
                &json!({ "domain": extra }),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let resp = app
            .patch(
                &operator,
                &format!("/api/v1/tenants/{slug}"),
                &json!({
                    "mail_addresses": addresses,
                    // The corpus has many mails per sender; the rate limit is tested elsewhere.
                    "settings": {"receipts_per_sender_per_hour": 1000, "max_attachment_bytes": 200000}
                }),
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "{}",
            resp.text().await.unwrap()
        );
    }
    let tenants: Value = app
        .get(&operator, "/api/v1/tenants")
        .await
        .json()
        .await
        .unwrap();
    let tenant_id = |slug: &str| -> String {
        tenants
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["slug"] == format!("stadt-{slug}").as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // The ticket that replies in the corpus refer to, and our receipt for it.
    let seed = ingest_ok(
        &app,
        &citizen_mail(
            CITIZEN,
            "buergerservice@koblenz.example",
            "Personalausweis",
            "seed@buerger.example",
            "Frage",
        ),
    )
    .await;
    let number = seed["ticket_number"].as_str().unwrap().to_owned();
    let seed_ticket = seed["ticket_id"].as_str().unwrap().to_owned();
    let receipt = verbund_schema::outbox_mail::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/email/tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "only {} corpus mails", files.len());
    let mut failures = Vec::new();
    let mut empty = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let expect: Value = serde_json::from_str(
            &std::fs::read_to_string(path.with_extension("expect.json")).unwrap(),
        )
        .unwrap();
        // Placeholders are ASCII; they are replaced on the bytes so other charsets stay intact.
        let mut raw = std::fs::read(path).unwrap();
        for (k, v) in [
            ("{{TICKET_NUMBER}}", number.as_str()),
            ("{{TICKET_MESSAGE_ID}}", receipt.message_id.as_str()),
            ("{{OUTBOUND_MESSAGE_ID}}", receipt.message_id.as_str()),
            ("{{CITIZEN}}", CITIZEN),
        ] {
            raw = replace_bytes(&raw, k.as_bytes(), v.as_bytes());
        }
        if raw.iter().all(u8::is_ascii_whitespace) {
            // The MTA pipe refuses an empty message outright (nothing to keep).
            assert_eq!(expected_of(&expect), "unparseable", "{name}");
            let resp = ingest(&app, "").await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{name}");
            empty += 1;
            continue;
        }
        let resp = app
            .client
            .post(app.url("/api/v1/inbound/raw"))
            .bearer_auth(crate::mail::INGEST_TOKEN)
            .header("content-type", "message/rfc822")
            .body(raw)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status != StatusCode::CREATED {
            failures.push(format!("{name}: HTTP {status} {body}"));
            continue;
        }
        let outcome = body["outcome"].as_str().unwrap_or("");
        let suppressed = !body["receipt_suppressed"].is_null();
        let expected = expect["outcome"].as_str().unwrap();
        let ok = match expected {
            "new_ticket" => outcome == "new_ticket" && !suppressed,
            "new_ticket_no_receipt" => outcome == "new_ticket" && suppressed,
            "reply" | "reply_flagged" => {
                outcome == expected && body["ticket_id"] == seed_ticket.as_str()
            }
            other => outcome == other,
        };
        if !ok {
            failures.push(format!("{name}: expected {expected}, got {body}"));
            continue;
        }
        if let Some(slug) = expect["tenant"].as_str()
            && body["tenant_id"] != tenant_id(slug).as_str()
        {
            failures.push(format!("{name}: expected tenant {slug}, got {body}"));
        }
        if expect["tenant"].is_null()
            && expect.get("tenant").is_some()
            && !body["tenant_id"].is_null()
            && expected == "catchall"
        {
            failures.push(format!("{name}: expected no tenant, got {body}"));
        }
        if let Some(reason) = expect["auto"].as_str()
            && expected == "new_ticket_no_receipt"
            && body["receipt_suppressed"] != reason
        {
            failures.push(format!("{name}: expected suppression {reason}, got {body}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus mails:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    // Nothing is lost: every mail is stored (plus the seed).
    assert_eq!(
        app.count("inbound_mails").await,
        files.len() as i64 + 1 - empty
    );
    // The same corpus again changes nothing.
    let again = ingest(
        &app,
        &std::fs::read_to_string(&files[0]).unwrap_or_default(),
    )
    .await;
    assert!(again.status() == StatusCode::OK || again.status() == StatusCode::CREATED);
}

fn expected_of(expect: &Value) -> &str {
    expect["outcome"].as_str().unwrap_or("")
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

crate::per_backend!(corpus_outcomes);
