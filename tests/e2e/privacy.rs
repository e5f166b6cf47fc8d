//! Data protection: anonymisation leaves no personal datum anywhere in the database (checked by
//! scanning every column of every table from the catalog, not a list of known fields), and the
//! smaller leaks: the access log as a ticket counter, a forwarder's view of the history, the
//! `q` filter as an oracle, and service references to another tenant's drafts.

use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use verbund_schema::ticket;

use crate::helpers::{Backend, TestApp, assert_problem, job};
use crate::mail::{ingest_ok, mail_app};
use verbund_tenant::access::Job;

/// Every (table, column) of the database whose value contains `needle` somewhere, found by
/// enumerating the catalog: `sqlite_master` and `pragma table_info` on SQLite,
/// `information_schema.columns` on PostgreSQL. Text and JSON are searched case-insensitively,
/// blobs (`bytea`) byte for byte; other columns as their text form.
pub async fn scan(app: &TestApp, needle: &str) -> Vec<String> {
    let db = &app.db;
    let backend = db.get_database_backend();
    let needle = needle.to_lowercase();
    let mut columns: Vec<(String, String, String)> = Vec::new();
    match backend {
        DbBackend::Sqlite => {
            let tables = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT name FROM sqlite_master WHERE type = 'table'",
                ))
                .await
                .unwrap();
            for t in tables {
                let table: String = t.try_get("", "name").unwrap();
                let cols = db
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("PRAGMA table_info(\"{table}\")"),
                    ))
                    .await
                    .unwrap();
                for c in cols {
                    let name: String = c.try_get("", "name").unwrap();
                    let ty: String = c.try_get("", "type").unwrap();
                    columns.push((table.clone(), name, ty.to_lowercase()));
                }
            }
        }
        _ => {
            let cols = db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty \
                     FROM information_schema.columns WHERE table_schema = current_schema()",
                ))
                .await
                .unwrap();
            for c in cols {
                columns.push((
                    c.try_get("", "t").unwrap(),
                    c.try_get("", "c").unwrap(),
                    c.try_get("", "ty").unwrap(),
                ));
            }
        }
    }
    assert!(
        columns.iter().any(|(t, _, _)| t == "tickets")
            && columns.iter().any(|(t, _, _)| t == "inbound_mails"),
        "the catalog lists the tables"
    );
    let mut hits = Vec::new();
    for (table, column, ty) in columns {
        let condition = match backend {
            DbBackend::Sqlite => format!(
                "instr(CAST(\"{column}\" AS BLOB), CAST($1 AS BLOB)) > 0 \
                 OR instr(lower(CAST(\"{column}\" AS TEXT)), $1) > 0"
            ),
            _ if ty == "bytea" => format!("position(convert_to($1, 'UTF8') in \"{column}\") > 0"),
            _ => format!("strpos(lower(\"{column}\"::text), $1) > 0"),
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE {condition}"),
                [needle.clone().into()],
            ))
            .await
            .unwrap_or_else(|e| panic!("scanning {table}.{column}: {e}"))
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        if n > 0 {
            hits.push(format!("{table}.{column}"));
        }
    }
    hits
}

fn tables_of(hits: &[String]) -> std::collections::BTreeSet<&str> {
    hits.iter()
        .filter_map(|h| h.split_once('.').map(|(t, _)| t))
        .collect()
}

async fn ok(resp: reqwest::Response, status: StatusCode) -> Value {
    let got = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn ticket_row(app: &TestApp, id: &str) -> ticket::Model {
    ticket::Entity::find_by_id(uuid::Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

/// A citizen's data goes everywhere a ticket's life takes it; after anonymisation (on request
/// and by the retention job) no trace of it is left in any column of any table.
async fn anonymisation_leaves_no_personal_datum_anywhere(backend: Backend) {
    let app = mail_app(backend).await;
    let m = format!("zq{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let digits = format!("{}", 70_000_000 + rand_digits());
    let agent = app.token("agent@sc-koblenz.demo").await;
    let mainz_agent = app.token("agent@sc-mainz.demo").await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let mainz_admin = app.token("admin@stadt-mainz.demo").await;
    let responder = app.token("responder@stadt-koblenz.demo").await;

    // A. A phone contact that opens a callback ticket: every citizen field carries the marker.
    let contact = ok(
        app.post(&agent, "/api/v1/contacts", &json!({
            "tenant": "stadt-koblenz", "channel": "phone", "solved": false, "duration_seconds": 300,
            "topic": format!("{m}topic"),
            "ticket": {
                "subject": format!("{m}subject"),
                "question": format!("Frage von {m}question"),
                "citizen": {
                    "name": format!("{m}name"), "phone": format!("+49 261 {digits}"),
                    "email": format!("{m}mail@buerger.example"), "address": format!("{m}strasse 1, Koblenz")
                },
                "answer_channel": "callback",
                "callback_windows": [{"from": "2026-12-01T08:00:00Z", "to": "2026-12-01T10:00:00Z"}]
            }
        }))
        .await,
        StatusCode::CREATED,
    )
    .await;
    let a = contact["ticket"].clone();
    let a_number = a["number"].as_str().unwrap().to_owned();
    let a_id = a["id"].as_str().unwrap().to_owned();
    let v = ok(
        app.post(
            &agent,
            &format!("/api/v1/tickets/{a_number}/call-attempts"),
            &json!({"outcome": "not_reached", "note": format!("{m}callnote")}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["version"]
        .clone();
    ok(
        app.post(
            &agent,
            &format!("/api/v1/tickets/{a_number}/notes"),
            &json!({"kind": "internal", "body": format!("{m}note")}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let v = ok(
        app.patch(
            &agent,
            &format!("/api/v1/tickets/{a_number}"),
            &json!({"version": v, "subject": format!("{m}subject2")}),
        )
        .await,
        StatusCode::OK,
    )
    .await["version"]
        .clone();
    let v = ok(
        app.post(
            &agent,
            &format!("/api/v1/tickets/{a_number}/forward"),
            &json!({"tenant": "stadt-mainz", "reason": format!("{m}forward"), "version": v}),
        )
        .await,
        StatusCode::OK,
    )
    .await["version"]
        .clone();
    ok(
        app.post(
            &mainz_agent,
            &format!("/api/v1/tickets/{a_number}/return"),
            &json!({"reason": format!("{m}return"), "version": v}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app.get(&agent, &format!("/api/v1/tickets/{a_number}"))
            .await,
        StatusCode::OK,
    )
    .await;

    // B. A citizen's mail with an attachment; another sender writes to the ticket; it is
    // assigned and escalated; the answer goes out and bounces.
    let raw = format!(
        "From: {m}anna <{m}from@buerger.example>\nTo: buergerservice@stadt-koblenz.demo\n\
Subject: {m}mailsubject\nMessage-ID: <{m}msgid@buerger.example>\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"X\"\n\n--X\nContent-Type: text/plain; charset=utf-8\n\n\
Mein Anliegen: {m}mailbody\n--X\nContent-Type: text/plain; name=\"{m}file.txt\"\n\
Content-Disposition: attachment; filename=\"{m}file.txt\"\n\nAnlage {m}attachment\n--X--\n"
    );
    let b_mail = ingest_ok(&app, &raw).await;
    assert_eq!(b_mail["outcome"], "new_ticket", "{b_mail}");
    let b_number = b_mail["ticket_number"].as_str().unwrap().to_owned();
    let b_id = b_mail["ticket_id"].as_str().unwrap().to_owned();
    let other = format!(
        "From: {m}other@elsewhere.example\nTo: buergerservice@stadt-koblenz.demo\n\
Subject: Re: [{b_number}]\nMessage-ID: <{m}msgid2@elsewhere.example>\nMIME-Version: 1.0\n\
Content-Type: text/plain; charset=utf-8\n\nIch schreibe für {m}replybody\n"
    );
    assert_eq!(ingest_ok(&app, &other).await["outcome"], "reply_flagged");
    let responder_id = app
        .user_id("stadt-koblenz", "responder@stadt-koblenz.demo")
        .await;
    let b = ok(
        app.get(&responder, &format!("/api/v1/tickets/{b_number}"))
            .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app.patch(
            &responder,
            &format!("/api/v1/tickets/{b_number}"),
            &json!({"version": b["version"], "assignee_id": responder_id}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let pass = verbund_ticketing::escalation::run_once(
        &app.db,
        &job(Job::Escalation),
        Utc::now() + chrono::Duration::days(30),
    )
    .await
    .unwrap();
    let _ = pass;
    ok(
        app.post(
            &responder,
            &format!("/api/v1/tickets/{b_number}/messages"),
            &json!({"body": format!("Antwort an {m}answer")}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let reply = verbund_schema::outbox_mail::Entity::find()
        .filter(
            verbund_schema::outbox_mail::Column::TicketId.eq(uuid::Uuid::parse_str(&b_id).unwrap()),
        )
        .filter(verbund_schema::outbox_mail::Column::Kind.eq("reply"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let dsn = format!(
        "From: MAILER-DAEMON@mx.buerger.example\nTo: buergerservice@stadt-koblenz.demo\nReturn-Path: <>\n\
Subject: Undelivered Mail Returned to Sender\nMessage-ID: <{m}dsn@mx>\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\n\
Content-Type: text/plain\n\nThe mail to {m}from@buerger.example could not be delivered.\n--B\n\
Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.buerger.example\n\n\
Final-Recipient: rfc822; {m}from@buerger.example\nAction: failed\nStatus: 5.1.1\n\
Diagnostic-Code: smtp; 550 5.1.1 <{m}from@buerger.example> user unknown\n\n--B\n\
Content-Type: text/rfc822-headers\n\nFrom: buergerservice@stadt-koblenz.demo\n\
To: {m}from@buerger.example\nMessage-ID: <{}>\nSubject: {m}mailsubject\n\n--B--\n",
        reply.message_id
    );
    assert_eq!(ingest_ok(&app, &dsn).await["outcome"], "bounce");

    // The marker is everywhere a ticket's life took it: the scan sees it.
    let before = scan(&app, &m).await;
    let seen = tables_of(&before);
    for table in [
        "tickets",
        "contacts",
        "ticket_notes",
        "call_attempts",
        "ticket_forwards",
        "ticket_events",
        "notifications",
        "inbound_mails",
        "mail_attachments",
        "outbox_mails",
    ] {
        assert!(seen.contains(table), "{table} holds the marker: {before:?}");
    }
    assert!(
        before.contains(&"ticket_events.after".to_owned())
            && before.contains(&"ticket_events.before".to_owned()),
        "{before:?}"
    );
    assert_eq!(scan(&app, &digits).await, ["tickets.citizen_phone"]);

    // Nobody else may anonymise: another tenant's admin, an agent.
    let req = json!({"reason": "Löschersuchen vom 1.12."});
    assert_problem(
        app.post(
            &mainz_admin,
            &format!("/api/v1/tickets/{a_number}/anonymize"),
            &req,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_problem(
        app.post(
            &agent,
            &format!("/api/v1/tickets/{a_number}/anonymize"),
            &req,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        scan(&app, &m).await,
        before,
        "refused requests change nothing"
    );

    // A on request, B by the retention job.
    let anon = ok(
        app.post(
            &admin,
            &format!("/api/v1/tickets/{a_number}/anonymize"),
            &req,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(anon["subject"], "[anonymisiert]");
    let b = ok(
        app.get(&responder, &format!("/api/v1/tickets/{b_number}"))
            .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app.post(
            &responder,
            &format!("/api/v1/tickets/{b_number}/close"),
            &json!({"version": b["version"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    ticket::Entity::update_many()
        .col_expr(
            ticket::Column::ClosedAt,
            Expr::value(Utc::now() - chrono::Duration::days(31)),
        )
        .filter(ticket::Column::Id.eq(uuid::Uuid::parse_str(&b_id).unwrap()))
        .exec(&app.db)
        .await
        .unwrap();
    let done = verbund_ticketing::privacy::run_due_anonymization(
        &app.db,
        &job(Job::PrivacyRetention),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(done, 1);

    let after = scan(&app, &m).await;
    assert!(
        after.is_empty(),
        "personal data left after anonymisation: {after:?}"
    );
    assert!(scan(&app, &digits).await.is_empty());
    // The numbers for statistics stay.
    assert_eq!(ticket_row(&app, &a_id).await.number, a_number);
    assert!(ticket_row(&app, &b_id).await.anonymized_at.is_some());
    let history = ok(
        app.get(&responder, &format!("/api/v1/tickets/{b_number}/history"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "mail_received" && e["after"]["mail_id"].is_string())
    );
    // The answer that bounced cannot be sent again to nobody.
    let retry = app
        .post(
            &admin,
            &format!("/api/v1/tenants/stadt-koblenz/outbox/{}/retry", reply.id),
            &json!({}),
        )
        .await;
    assert_problem(retry, StatusCode::CONFLICT, "personal-data-removed").await;
}

/// Tickets anonymised by an earlier version (subject and history left behind) are completed by
/// the retention job.
async fn earlier_anonymisations_are_completed(backend: Backend) {
    let app = mail_app(backend).await;
    let m = format!("zq{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let raw = format!(
        "From: <{m}from@buerger.example>\nTo: buergerservice@stadt-mainz.demo\nSubject: {m}subject\n\
Message-ID: <{m}id@buerger.example>\nMIME-Version: 1.0\nContent-Type: text/plain\n\nFrage\n"
    );
    let mail = ingest_ok(&app, &raw).await;
    let id = uuid::Uuid::parse_str(mail["ticket_id"].as_str().unwrap()).unwrap();
    // What an earlier version left: the ticket marked anonymised, the rest untouched.
    ticket::Entity::update_many()
        .col_expr(ticket::Column::AnonymizedAt, Expr::value(Some(Utc::now())))
        .col_expr(ticket::Column::State, Expr::value("closed"))
        .filter(ticket::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
    assert!(!scan(&app, &m).await.is_empty());
    let done = verbund_ticketing::privacy::run_due_anonymization(
        &app.db,
        &job(Job::PrivacyRetention),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(done, 1);
    assert!(scan(&app, &m).await.is_empty());
    let again = verbund_ticketing::privacy::run_due_anonymization(
        &app.db,
        &job(Job::PrivacyRetention),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(again, 0);
}

fn rand_digits() -> u64 {
    u64::from(uuid::Uuid::new_v4().as_u128() as u32 % 20_000_000)
}

async fn contact_ticket(
    app: &TestApp,
    token: &str,
    tenant: &str,
    subject: &str,
    question: &str,
    name: &str,
) -> Value {
    ok(
        app.post(
            token,
            "/api/v1/contacts",
            &json!({
                "tenant": tenant, "channel": "phone", "solved": false, "duration_seconds": 60,
                "ticket": {
                    "subject": subject, "question": question,
                    "citizen": {"name": name, "phone": "0261 55555"},
                    "answer_channel": "callback"
                }
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["ticket"]
        .clone()
}

/// `access-log?ticket=` answers the same for another tenant's ticket and for a number that
/// names no ticket, so it cannot count another tenant's tickets.
async fn the_access_log_does_not_count_foreign_tickets(backend: Backend) {
    let app = mail_app(backend).await;
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let mainz = app.token("agent@sc-mainz.demo").await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let own = contact_ticket(
        &app,
        &koblenz,
        "stadt-koblenz",
        "Meldebescheinigung",
        "?",
        "Eva",
    )
    .await;
    let foreign = contact_ticket(&app, &mainz, "stadt-mainz", "Wohngeld", "?", "Udo").await;
    let own_number = own["number"].as_str().unwrap();
    ok(
        app.get(&koblenz, &format!("/api/v1/tickets/{own_number}"))
            .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app.get(
            &mainz,
            &format!("/api/v1/tickets/{}", foreign["number"].as_str().unwrap()),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let log_rows = app.count("personal_data_access").await;

    let log = |key: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let resp = app
                .client
                .get(app.url("/api/v1/tenants/stadt-koblenz/access-log"))
                .query(&[("ticket", key.as_str())])
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let year = Utc::now().format("%Y");
    let existing_foreign = log(foreign["number"].as_str().unwrap().to_owned()).await;
    let missing = log(format!("MZ-{year}-999999")).await;
    let garbage = log("x".repeat(40)).await;
    let foreign_id = log(foreign["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(existing_foreign, (StatusCode::OK, "[]".to_owned()));
    assert_eq!(
        missing, existing_foreign,
        "same answer for a number that names no ticket"
    );
    assert_eq!(garbage, existing_foreign);
    assert_eq!(foreign_id, existing_foreign);
    // The own ticket's reads are there.
    let (status, body) = log(own_number.to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Another tenant's admin and an agent may not read the log at all.
    for token in [app.token("admin@stadt-mainz.demo").await, koblenz.clone()] {
        let resp = app
            .get(
                &token,
                &format!("/api/v1/tenants/stadt-koblenz/access-log?ticket={own_number}"),
            )
            .await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(
        app.count("personal_data_access").await,
        log_rows,
        "reading the log logs nothing"
    );
}

/// A tenant that forwarded a ticket sees how it goes on, but not the addresses of people who
/// write to it later, nor the mail diagnostics; the tenant holding it sees everything.
async fn a_forwarder_sees_no_later_senders_in_the_history(backend: Backend) {
    let app = mail_app(backend).await;
    let m = format!("zq{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let first = ingest_ok(
        &app,
        &crate::mail::citizen_mail(
            &format!("{m}first@buerger.example"),
            "buergerservice@stadt-koblenz.demo",
            "Gewerbe anmelden",
            &format!("{m}1@buerger.example"),
            "Ich möchte ein Gewerbe in Mainz anmelden.",
        ),
    )
    .await;
    let number = first["ticket_number"].as_str().unwrap().to_owned();
    let koblenz = app.token("responder@stadt-koblenz.demo").await;
    let mainz = app.token("responder@stadt-mainz.demo").await;
    let t = ok(
        app.get(&koblenz, &format!("/api/v1/tickets/{number}"))
            .await,
        StatusCode::OK,
    )
    .await;
    let t = ok(
        app.post(&koblenz, &format!("/api/v1/tickets/{number}/forward"),
            &json!({"tenant": "stadt-mainz", "reason": "Zuständig ist Mainz", "version": t["version"]}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["access"], "forwarder");
    ok(
        app.post(
            &mainz,
            &format!("/api/v1/tickets/{number}/accept"),
            &json!({"version": t["version"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // Later, the citizen's lawyer writes to the ticket.
    let later = format!(
        "From: {m}kanzlei@anwalt.example\nTo: buergerservice@stadt-mainz.demo\nSubject: Re: [{number}]\n\
Message-ID: <{m}2@anwalt.example>\nMIME-Version: 1.0\nContent-Type: text/plain\n\nIn Vertretung.\n"
    );
    assert_eq!(ingest_ok(&app, &later).await["outcome"], "reply_flagged");

    let seen_by = |token: String| {
        let app = &app;
        let number = number.clone();
        async move {
            ok(
                app.get(&token, &format!("/api/v1/tickets/{number}/history"))
                    .await,
                StatusCode::OK,
            )
            .await
        }
    };
    let holder = seen_by(mainz.clone()).await;
    let holder_text = holder.to_string();
    assert!(
        holder_text.contains(&format!("{m}kanzlei@anwalt.example")),
        "{holder_text}"
    );
    let forwarder = seen_by(koblenz.clone()).await;
    let text = forwarder.to_string();
    assert!(
        !text.contains(&m),
        "a forwarder sees no sender addresses: {text}"
    );
    // The trail itself stays: the same events, the forward with its reason, the flag.
    assert_eq!(
        forwarder.as_array().unwrap().len(),
        holder.as_array().unwrap().len()
    );
    let kinds: Vec<&str> = forwarder
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"forwarded") && kinds.contains(&"mail_received"),
        "{kinds:?}"
    );
    let fwd = forwarder
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "forwarded")
        .unwrap();
    assert_eq!(fwd["after"]["reason"], "Zuständig ist Mainz");
    assert_eq!(fwd["after"]["tenant"], "stadt-mainz");
    let flagged = forwarder
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["kind"] == "mail_received")
        .unwrap();
    assert_eq!(flagged["after"]["flagged"], true);
    assert!(flagged["after"].get("from").is_none());
    // A tenant that never had the ticket sees nothing.
    let trier = app.token("responder@stadt-trier.demo").await;
    assert_problem(
        app.get(&trier, &format!("/api/v1/tickets/{number}/history"))
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}

/// `q` matches the question and the citizen's name only on tickets the user may read in full;
/// on a ticket its tenant merely forwarded, it would answer what the view hides.
async fn the_q_filter_is_no_oracle_for_forwarders(backend: Backend) {
    let app = mail_app(backend).await;
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let mainz = app.token("agent@sc-mainz.demo").await;
    let t = contact_ticket(
        &app,
        &koblenz,
        "stadt-koblenz",
        "Wohnsitz ummelden",
        "Geheimfrage Xylophon",
        "Zacharias Quell",
    )
    .await;
    let number = t["number"].as_str().unwrap().to_owned();
    let search = |token: String, q: &'static str| {
        let app = &app;
        async move {
            let page: Value = app
                .client
                .get(app.url("/api/v1/tickets"))
                .query(&[("q", q)])
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            page["items"].as_array().unwrap().len()
        }
    };
    // Before the forward Koblenz holds it and finds it by everything.
    assert_eq!(search(koblenz.clone(), "xylophon").await, 1);
    assert_eq!(search(koblenz.clone(), "zacharias").await, 1);
    ok(
        app.post(
            &koblenz,
            &format!("/api/v1/tickets/{number}/forward"),
            &json!({"tenant": "stadt-mainz", "reason": "Mainz", "version": t["version"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // Now Koblenz only forwarded it: the subject and number still find it, the hidden
    // question and name do not.
    assert_eq!(search(koblenz.clone(), "xylophon").await, 0);
    assert_eq!(search(koblenz.clone(), "zacharias").await, 0);
    assert_eq!(search(koblenz.clone(), "ummelden").await, 1);
    assert_eq!(search(mainz.clone(), "xylophon").await, 1);
    assert_eq!(search(mainz.clone(), "zacharias").await, 1);
    // A third tenant finds nothing by any of it.
    let trier = app.token("agent@sc-trier.demo").await;
    assert_eq!(search(trier.clone(), "ummelden").await, 0);
    assert_eq!(search(trier, "xylophon").await, 0);
}

/// A ticket or contact may refer to a published description of any tenant or to its own
/// tenant's drafts; another tenant's draft gets the same 422 as an id that does not exist.
async fn tickets_refer_only_to_published_or_own_descriptions(backend: Backend) {
    let app = mail_app(backend).await;
    let mainz_editor = app.token("editor@stadt-mainz.demo").await;
    let koblenz_editor = app.token("editor@stadt-koblenz.demo").await;
    let agent = app.token("agent@sc-koblenz.demo").await;
    let service = |leika: &str, title: &str| json!({"leika": leika, "title": title, "modules": {"kurztext": "Text."}});
    let foreign_draft = ok(
        app.post(
            &mainz_editor,
            "/api/v1/tenants/stadt-mainz/services",
            &service("99102013001000", "Entwurf Mainz"),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let foreign_published = ok(
        app.post(
            &mainz_editor,
            "/api/v1/tenants/stadt-mainz/services",
            &service("99102013002000", "Veröffentlicht Mainz"),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let published_id = foreign_published["id"].as_str().unwrap();
    ok(
        app.post(
            &mainz_editor,
            &format!("/api/v1/tenants/stadt-mainz/services/{published_id}/publish"),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let own_draft = ok(
        app.post(
            &koblenz_editor,
            "/api/v1/tenants/stadt-koblenz/services",
            &service("99102013003000", "Entwurf Koblenz"),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let ticket = |service_id: &Value| {
        json!({
            "subject": "Anfrage", "question": "?", "citizen": {"phone": "0261 1234"},
            "answer_channel": "callback", "service_id": service_id
        })
    };
    let counts = || async {
        (
            app.count("tickets").await,
            app.count("contacts").await,
            app.count("ticket_events").await,
        )
    };
    let start = counts().await;
    let unknown = json!(uuid::Uuid::now_v7());
    let mut details = Vec::new();
    for bad in [&foreign_draft["id"], &unknown] {
        let resp = app
            .post(
                &agent,
                "/api/v1/tenants/stadt-koblenz/tickets",
                &ticket(bad),
            )
            .await;
        let p = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        details.push(p["detail"].clone());
        let resp = app
            .post(&agent, "/api/v1/contacts", &json!({
                "tenant": "stadt-koblenz", "channel": "phone", "solved": true, "duration_seconds": 30,
                "service_id": bad
            }))
            .await;
        assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        let resp = app
            .post(&agent, "/api/v1/contacts", &json!({
                "tenant": "stadt-koblenz", "channel": "phone", "solved": false, "duration_seconds": 30,
                "ticket": ticket(bad)
            }))
            .await;
        assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    }
    assert_eq!(
        details[0], details[1],
        "a foreign draft answers like an unknown id"
    );
    assert_eq!(counts().await, start, "nothing was written");
    for good in [&foreign_published["id"], &own_draft["id"]] {
        let t = ok(
            app.post(
                &agent,
                "/api/v1/tenants/stadt-koblenz/tickets",
                &ticket(good),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(&t["service_id"], good);
    }
    ok(
        app.post(&agent, "/api/v1/contacts", &json!({
            "tenant": "stadt-koblenz", "channel": "phone", "solved": true, "duration_seconds": 30,
            "service_id": own_draft["id"]
        }))
        .await,
        StatusCode::CREATED,
    )
    .await;
    // Mainz's own draft is fine for a Mainz ticket.
    let mainz_agent = app.token("agent@sc-mainz.demo").await;
    ok(
        app.post(
            &mainz_agent,
            "/api/v1/tenants/stadt-mainz/tickets",
            &ticket(&foreign_draft["id"]),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
}

crate::per_backend!(
    anonymisation_leaves_no_personal_datum_anywhere,
    earlier_anonymisations_are_completed,
    the_access_log_does_not_count_foreign_tickets,
    a_forwarder_sees_no_later_senders_in_the_history,
    the_q_filter_is_no_oracle_for_forwarders,
    tickets_refer_only_to_published_or_own_descriptions,
);
