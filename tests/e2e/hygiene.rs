//! Input hygiene: control and invisible characters in any text field, out-of-range numbers and
//! dates, and look-alike e-mail addresses get a 422 problem+json naming the field, and change
//! nothing. The rule lives in `verbund_tenant::text`; the server's `Json`/`Query` extractors
//! apply it to every request.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{Backend, DEMO_PASSWORD, TestApp, assert_problem};
use crate::mail::{ingest_ok, mail_app};

/// Row counts of every table of the database: any insert or delete shows here.
async fn table_counts(app: &TestApp) -> BTreeMap<String, i64> {
    let backend = app.db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema()"
        }
        _ => {
            "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
    };
    let rows = app
        .db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for row in rows {
        let table: String = row.try_get("", "t").unwrap();
        let n = app.count(&format!("\"{table}\"")).await;
        out.insert(table, n);
    }
    out
}

async fn body_of(app: &TestApp, token: &str, path: &str) -> Value {
    let resp = app.get(token, path).await;
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    resp.json().await.unwrap()
}

async fn created(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// One request of the table: a valid request with one string made bad.
struct Case {
    method: Method,
    /// The route as the OpenAPI document names it.
    route: &'static str,
    /// The concrete path, with the query for GET cases.
    path: String,
    body: Option<Value>,
    token: String,
    /// The field the problem must name: a JSON pointer, or the query parameter.
    field: &'static str,
}

async fn send(app: &TestApp, case: &Case) -> reqwest::Response {
    let mut req = app.client.request(case.method.clone(), app.url(&case.path));
    if !case.token.is_empty() {
        req = req.bearer_auth(&case.token);
    }
    if let Some(body) = &case.body {
        req = req.json(body);
    }
    req.send().await.unwrap()
}

/// Normalises `{slug}`, `{id}`, `{ticket}` ... to `{}`.
fn shape(route: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in route.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Every operation of the OpenAPI document that takes a JSON body or query parameters.
async fn routes_with_input(app: &TestApp) -> Vec<(String, String)> {
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let json_body = op["requestBody"]["content"].as_object().is_some_and(|c| {
                c.keys()
                    .any(|k| k.contains("json") && !k.contains("ndjson"))
            });
            // A parameter that is not in the path template is read from the query, whatever
            // the document says about it.
            let query = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter().any(|p| {
                    let in_path = p["name"]
                        .as_str()
                        .is_some_and(|name| path.contains(&format!("{{{name}}}")));
                    p["in"] == "query" || !in_path
                })
            });
            if json_body || query {
                out.push((method.to_uppercase(), shape(path)));
            }
        }
    }
    out.sort();
    out
}

async fn a_nul_in_any_text_field_of_any_route_is_refused_and_changes_nothing(backend: Backend) {
    let app = mail_app(backend).await;
    let op = app.token("operator@verbund.demo").await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let agent = app.token("agent@sc-koblenz.demo").await;
    let ko = "/api/v1/tenants/stadt-koblenz";

    // Something of every kind to change.
    let contact = created(
        app.post(&agent, "/api/v1/contacts", &json!({
            "tenant": "stadt-koblenz", "channel": "phone", "solved": false, "duration_seconds": 60,
            "ticket": {"subject": "Personalausweis", "question": "Welche Unterlagen?",
                "citizen": {"name": "Erika Mustermann", "phone": "+49 261 123456"},
                "answer_channel": "callback"}
        }))
        .await,
    )
    .await;
    let ticket = contact["ticket"]["id"].as_str().unwrap().to_owned();
    let version = contact["ticket"]["version"].as_i64().unwrap();
    let service = created(
        app.post(&editor, &format!("{ko}/services"), &json!({
            "leika": "99102014001000", "title": "Personalausweis beantragen", "synonyms": ["Perso"],
            "modules": {"kurztext": "Persönlich beantragen.", "unterlagen": ["Passfoto"]}
        }))
        .await,
    )
    .await;
    let service = service["id"].as_str().unwrap().to_owned();
    let base = created(
        app.post(
            &op,
            "/api/v1/catalog/services",
            &json!({
                "leika": "99019001001000", "level": "bund", "title": "Führungszeugnis beantragen",
                "modules": {"kurztext": "Bundestext", "unterlagen": ["Ausweis"]}
            }),
        )
        .await,
    )
    .await;
    let base = base["id"].as_str().unwrap().to_owned();
    let office = created(
        app.post(
            &editor,
            &format!("{ko}/org-units"),
            &json!({
                "name": "Bürgeramt Koblenz", "street": "Willi-Hörter-Platz", "city": "Koblenz",
                "opening_hours": {"mon": [{"start": "08:00", "end": "12:00"}]}
            }),
        )
        .await,
    )
    .await;
    let office = office["id"].as_str().unwrap().to_owned();
    let template = created(
        app.post(
            &editor,
            &format!("{ko}/templates"),
            &json!({"name": "Unterlagen", "body": "Bitte Passfoto mitbringen."}),
        )
        .await,
    )
    .await;
    let template = template["id"].as_str().unwrap().to_owned();
    let mailbox = created(
        app.post(&admin, &format!("{ko}/mailboxes"), &json!({
            "name": "Bürgerservice", "host": "imap.koblenz.example", "port": 993, "security": "tls",
            "username": "buergerservice", "secret": "geheim-123", "interval_seconds": 120
        }))
        .await,
    )
    .await;
    let mailbox = mailbox["id"].as_str().unwrap().to_owned();
    let mail = ingest_ok(
        &app,
        "From: anna@buerger.example\nTo: niemand@unbekannt.example\nSubject: Frage\n\
         Message-ID: <hygiene@b>\n\nHallo\n",
    )
    .await;
    let mail = mail["id"].as_str().unwrap().to_owned();
    let user = app
        .user_id("stadt-koblenz", "editor@stadt-koblenz.demo")
        .await;
    let until = (chrono::Utc::now() + chrono::Duration::hours(4)).to_rfc3339();

    let nul = "\u{0}";
    let json_case =
        |method: Method, route: &'static str, path: String, token: &str, body: Value, field| Case {
            method,
            route,
            path,
            body: Some(body),
            token: token.to_owned(),
            field,
        };
    let query_case = |route: &'static str, path: String, token: &str, field| Case {
        method: Method::GET,
        route,
        path,
        body: None,
        token: token.to_owned(),
        field,
    };
    let t = format!("/api/v1/tickets/{ticket}");
    let cases = vec![
        json_case(
            Method::POST,
            "/api/v1/auth/login",
            "/api/v1/auth/login".into(),
            "",
            json!({"email": "operator@verbund.demo", "password": format!("{DEMO_PASSWORD}{nul}")}),
            "/password",
        ),
        json_case(
            Method::POST,
            "/api/v1/contacts",
            "/api/v1/contacts".into(),
            &agent,
            json!({"tenant": "stadt-koblenz", "channel": "phone", "solved": true, "duration_seconds": 10, "topic": format!("Ausweis{nul}")}),
            "/topic",
        ),
        json_case(
            Method::POST,
            "/api/v1/tenants",
            "/api/v1/tenants".into(),
            &op,
            json!({"slug": "neustadt", "name": format!("Neu{nul}stadt"), "ags": "07111001", "ticket_prefix": "NE"}),
            "/name",
        ),
        json_case(
            Method::PATCH,
            "/api/v1/tenants/{}",
            ko.into(),
            &op,
            json!({"name": format!("Stadt Koblenz{nul}")}),
            "/name",
        ),
        json_case(
            Method::POST,
            "/api/v1/tenants/{}/mail-domains",
            format!("{ko}/mail-domains"),
            &op,
            json!({"domain": format!("koblenz{nul}.example")}),
            "/domain",
        ),
        json_case(
            Method::POST,
            "/api/v1/tenants/{}/users",
            format!("{ko}/users"),
            &admin,
            json!({"email": "neu@stadt-koblenz.demo", "display_name": format!("Neu{nul}"), "password": "ein-sehr-langes-passwort"}),
            "/display_name",
        ),
        json_case(
            Method::PATCH,
            "/api/v1/tenants/{}/users/{}",
            format!("{ko}/users/{user}"),
            &admin,
            json!({"display_name": format!("Redaktion{nul}")}),
            "/display_name",
        ),
        json_case(
            Method::POST,
            "/api/v1/tenants/{}/tickets",
            format!("{ko}/tickets"),
            &agent,
            json!({"subject": "Ausweis", "question": "Was brauche ich?", "citizen": {"name": format!("Erika{nul}")}, "answer_channel": "callback"}),
            "/citizen/name",
        ),
        json_case(
            Method::POST,
            "/api/v1/tenants/{}/coverages",
            format!("{ko}/coverages"),
            &admin,
            json!({"center": "sc-mainz", "until": until, "reason": format!("Versammlung{nul}")}),
            "/reason",
        ),
        json_case(
            Method::POST,
            "/api/v1/tenants/{}/templates",
            format!("{ko}/templates"),
            &editor,
            json!({"name": "Kosten", "body": format!("37 Euro{nul}")}),
            "/body",
        ),
        json_case(
            Method::PUT,
            "/api/v1/tenants/{}/templates/{}",
            format!("{ko}/templates/{template}"),
            &editor,
            json!({"name": format!("Unterlagen{nul}"), "body": "Text"}),
            "/name",
        ),
        json_case(
            Method::POST,
            "/api/v1/tickets/{}/anonymize",
            format!("{t}/anonymize"),
            &admin,
            json!({"reason": format!("Antrag{nul}")}),
            "/reason",
        ),
        json_case(
            Method::PATCH,
            "/api/v1/tickets/{}",
            t.clone(),
            &agent,
            json!({"version": version, "subject": format!("Neu{nul}")}),
            "/subject",
        ),
        json_case(
            Method::POST,
            "/api/v1/tickets/{}/notes",
            format!("{t}/notes"),
            &agent,
            json!({"kind": "internal", "body": format!("Notiz{nul}")}),
            "/body",
        ),
        json_case(
            Method::POST,
            "/api/v1/tickets/{}/call-attempts",
            format!("{t}/call-attempts"),
            &agent,
            json!({"outcome": "not_reached", "note": format!("besetzt{nul}")}),
            "/note",
        ),
        json_case(
            Method::POST,
            "/api/v1/tickets/{}/forward",
            format!("{t}/forward"),
            &agent,
            json!({"tenant": "stadt-mainz", "reason": format!("zuständig{nul}"), "version": version}),
            "/reason",
        ),
        json_case(
            Method::POST,
            "/api/v1/tickets/{}/accept",
            format!("{t}/accept"),
            &agent,
            json!({"version": version, "reason": format!("ok{nul}")}),
            "/reason",
        ),
        json_case(
            Method::POST,
            "/api/v1/tickets/{}/messages",
            format!("{t}/messages"),
            &agent,
            json!({"body": format!("Antwort{nul}")}),
            "/body",
        ),
        // The close request has no text field: its only string is the key.
        json_case(
            Method::POST,
            "/api/v1/tickets/{}/close",
            format!("{t}/close"),
            &agent,
            {
                let mut body = json!({"version": version});
                body[nul] = json!(1);
                body
            },
            "/\u{0}",
        ),
        json_case(
            Method::POST,
            "/api/v1/tickets/{}/return",
            format!("{t}/return"),
            &agent,
            json!({"version": version, "reason": format!("falsch{nul}")}),
            "/reason",
        ),
        json_case(
            Method::POST,
            "/api/v1/centers",
            "/api/v1/centers".into(),
            &op,
            json!({"slug": "sc-neu", "name": format!("SC{nul}"), "tenants": ["stadt-koblenz"]}),
            "/name",
        ),
        json_case(
            Method::PUT,
            "/api/v1/centers/{}/tenants",
            "/api/v1/centers/sc-koblenz/tenants".into(),
            &op,
            json!({"tenants": [format!("stadt-koblenz{nul}")]}),
            "/tenants/0",
        ),
        json_case(
            Method::POST,
            "/api/v1/tenants/{}/services",
            format!("{ko}/services"),
            &editor,
            json!({"leika": "99102014002000", "title": "Reisepass", "modules": {"kurztext": format!("Kurz{nul}")}}),
            "/modules/kurztext",
        ),
        json_case(
            Method::PATCH,
            "/api/v1/tenants/{}/services/{}",
            format!("{ko}/services/{service}"),
            &editor,
            json!({"version": 1, "synonyms": [format!("Perso{nul}")]}),
            "/synonyms/0",
        ),
        json_case(
            Method::POST,
            "/api/v1/catalog/services",
            "/api/v1/catalog/services".into(),
            &op,
            json!({"leika": "99019001002000", "level": "bund", "title": format!("Zeugnis{nul}")}),
            "/title",
        ),
        json_case(
            Method::PATCH,
            "/api/v1/catalog/services/{}",
            format!("/api/v1/catalog/services/{base}"),
            &op,
            json!({"revision": 1, "modules": {"unterlagen": [format!("Ausweis{nul}")]}}),
            "/modules/unterlagen/0",
        ),
        json_case(
            Method::POST,
            "/api/v1/tenants/{}/org-units",
            format!("{ko}/org-units"),
            &editor,
            json!({"name": "Standesamt", "street": format!("Markt{nul}")}),
            "/street",
        ),
        json_case(
            Method::PATCH,
            "/api/v1/tenants/{}/org-units/{}",
            format!("{ko}/org-units/{office}"),
            &editor,
            json!({"version": 1, "special_days": [{"date": "2027-02-08", "intervals": [], "note": format!("Rosenmontag{nul}")}]}),
            "/special_days/0/note",
        ),
        json_case(
            Method::POST,
            "/api/v1/inbound/{}/assign",
            format!("/api/v1/inbound/{mail}/assign"),
            &op,
            json!({"tenant": format!("stadt-koblenz{nul}")}),
            "/tenant",
        ),
        json_case(
            Method::POST,
            "/api/v1/tenants/{}/mailboxes",
            format!("{ko}/mailboxes"),
            &admin,
            json!({"name": "Zweites Postfach", "host": "imap.koblenz.example", "port": 993, "security": "tls",
                "username": "zwei", "secret": format!("geheim{nul}")}),
            "/secret",
        ),
        json_case(
            Method::PATCH,
            "/api/v1/tenants/{}/mailboxes/{}",
            format!("{ko}/mailboxes/{mailbox}"),
            &admin,
            json!({"folder": format!("INBOX{nul}")}),
            "/folder",
        ),
        query_case(
            "/api/v1/search",
            "/api/v1/search?q=Ausweis%00".into(),
            &agent,
            "q",
        ),
        query_case(
            "/api/v1/tickets",
            "/api/v1/tickets?q=%00".into(),
            &agent,
            "q",
        ),
        query_case(
            "/api/v1/tenants/{}/tickets",
            format!("{ko}/tickets?queue=front%00"),
            &agent,
            "queue",
        ),
        query_case(
            "/api/v1/tenants/{}/calendar/due",
            format!("{ko}/calendar/due?from=2026-11-16T08:00:00Z%00"),
            &agent,
            "from",
        ),
        query_case(
            "/api/v1/tenants/{}/services",
            format!("{ko}/services?status=draft%00"),
            &editor,
            "status",
        ),
        query_case(
            "/api/v1/tenants/{}/export",
            format!("{ko}/export?format=xzufi%00"),
            &editor,
            "format",
        ),
        query_case(
            "/api/v1/tenants/{}/services/{}/versions/compare",
            format!("{ko}/services/{service}/versions/compare?from=1&to=1%00"),
            &editor,
            "to",
        ),
        query_case(
            "/api/v1/tenants/{}/org-units/{}/opening",
            format!("{ko}/org-units/{office}/opening?at=%00"),
            &agent,
            "at",
        ),
        query_case(
            "/api/v1/tenants/{}/reports",
            format!("{ko}/reports?from=2026-01-01&to=2026-01-31&group=day%00"),
            &admin,
            "group",
        ),
        query_case(
            "/api/v1/centers/{}/reports",
            "/api/v1/centers/sc-koblenz/reports?from=2026-01-01&to=2026-01-31&group=%00".into(),
            &op,
            "group",
        ),
        query_case(
            "/api/v1/verbund/forwards",
            "/api/v1/verbund/forwards?from=2026-01-01%00&to=2026-01-31".into(),
            &op,
            "from",
        ),
        query_case(
            "/api/v1/tenants/{}/access-log",
            format!("{ko}/access-log?ticket=%00"),
            &admin,
            "ticket",
        ),
        query_case(
            "/api/v1/notifications",
            "/api/v1/notifications?unread=true%00".into(),
            &agent,
            "unread",
        ),
        query_case(
            "/api/v1/inbound",
            "/api/v1/inbound?outcome=catchall%00".into(),
            &op,
            "outcome",
        ),
        query_case(
            "/api/v1/tenants/{}/outbox",
            format!("{ko}/outbox?state=%00"),
            &admin,
            "state",
        ),
        query_case(
            "/api/v1/tenants/{}/audit-log",
            format!("{ko}/audit-log?from=2026-01-01%00"),
            &admin,
            "from",
        ),
    ];

    // The table covers every route of the API that takes a JSON body or a query.
    let covered: Vec<(String, String)> = cases
        .iter()
        .map(|c| (c.method.to_string(), shape(c.route)))
        .collect();
    let routes = routes_with_input(&app).await;
    for route in &routes {
        assert!(covered.contains(route), "no NUL case for {route:?}");
    }
    for route in &covered {
        assert!(
            routes.contains(route),
            "{route:?} takes no JSON body or query"
        );
    }
    assert_eq!(covered.len(), routes.len(), "one case per route");

    let views = [
        (op.clone(), ko.to_owned()),
        (op.clone(), format!("{ko}/users/{user}")),
        (op.clone(), "/api/v1/centers/sc-koblenz/tenants".to_owned()),
        (op.clone(), format!("/api/v1/catalog/services/{base}")),
        (op.clone(), "/api/v1/inbound".to_owned()),
        (agent.clone(), format!("{t}/notes")),
        (agent.clone(), format!("{t}/history")),
        (editor.clone(), format!("{ko}/services/{service}")),
        (editor.clone(), format!("{ko}/org-units/{office}")),
        (editor.clone(), format!("{ko}/templates")),
        (admin.clone(), format!("{ko}/mailboxes")),
        (admin.clone(), format!("{ko}/coverages")),
    ];
    let mut before = Vec::new();
    for (token, path) in &views {
        before.push(body_of(&app, token, path).await);
    }
    let counts = table_counts(&app).await;

    for case in &cases {
        let resp = send(&app, case).await;
        let what = format!("{} {}", case.method, case.path);
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], case.field, "{what}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("U+0000"),
            "{what}: {body}"
        );
    }

    assert_eq!(table_counts(&app).await, counts);
    for ((token, path), old) in views.iter().zip(before) {
        assert_eq!(body_of(&app, token, path).await, old, "{path}");
    }
}

async fn long_texts_take_line_breaks_single_lines_take_no_control_or_invisible_characters(
    app: TestApp,
) {
    let agent = app.token("agent@sc-koblenz.demo").await;
    let ticket = |subject: &str, question: &str| {
        json!({"subject": subject, "question": question,
            "citizen": {"name": "Erika Mustermann", "phone": "+49 261 123456",
                "address": "Markt 1\r\n56068 Koblenz"},
            "answer_channel": "callback"})
    };
    let url = "/api/v1/tenants/stadt-koblenz/tickets";
    // A question may have lines and tabs, an address CR LF line ends.
    let resp = app
        .post(&agent, url, &ticket("Ausweis", "Zeile 1\nZeile 2\tmit Tab"))
        .await;
    let ok = created(resp).await;
    assert_eq!(ok["question"], "Zeile 1\nZeile 2\tmit Tab");
    let tickets = app.count("tickets").await;
    for (subject, question, field, shows) in [
        ("Aus\nweis", "Frage", "/subject", "U+000A"),
        ("Aus\tweis", "Frage", "/subject", "U+0009"),
        ("Aus\u{200B}weis", "Frage", "/subject", "U+200B"),
        ("Aus\u{202E}weis", "Frage", "/subject", "U+202E"),
        ("Aus\u{2028}weis", "Frage", "/subject", "U+2028"),
        ("Ausweis", "Frage\u{1b}[31m", "/question", "U+001B"),
        ("Ausweis", "Frage\rohne LF", "/question", "U+000D"),
        ("Ausweis", "Frage\u{7f}", "/question", "U+007F"),
        ("Ausweis", "Frage\u{FFFF}", "/question", "U+FFFF"),
    ] {
        let resp = app.post(&agent, url, &ticket(subject, question)).await;
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], field, "{subject:?} {question:?}");
        assert!(body["detail"].as_str().unwrap().contains(shows), "{body}");
    }
    // A key twice in one object is refused (which one would count?).
    let resp = app
        .client
        .post(app.url(url))
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body(r#"{"subject": "a", "subject": "b", "question": "q", "citizen": {"phone": "+49 261 1"}, "answer_channel": "callback"}"#)
        .send()
        .await
        .unwrap();
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "/subject");
    assert_eq!(app.count("tickets").await, tickets);
}

async fn out_of_range_numbers_and_dates_are_refused(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let agent = app.token("agent@sc-koblenz.demo").await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let ko = "/api/v1/tenants/stadt-koblenz";
    let counts = table_counts(&app).await;

    for offset in ["9223372036854775808", "18446744073709551615", "1000001"] {
        let resp = app
            .get(&editor, &format!("{ko}/services?offset={offset}"))
            .await;
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], "offset", "{offset}");
    }
    let resp = app
        .get(
            &editor,
            &format!("{ko}/services?offset=18446744073709551616"),
        )
        .await;
    assert_problem(resp, StatusCode::BAD_REQUEST, "invalid-query").await;
    let page: Value = app
        .get(&editor, &format!("{ko}/services?offset=1000000"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"], json!([]));

    // Dates: four-digit years from 1970; results that RFC 3339 can write.
    for from in [
        "%2B262142-12-31T23:59:59Z",
        "-262143-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-30T12:00:00Z",
        "1969-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
    ] {
        let resp = app
            .get(&agent, &format!("{ko}/calendar/due?from={from}"))
            .await;
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], "from", "{from}: {body}");
    }
    let due: Value = app
        .get(
            &agent,
            &format!("{ko}/calendar/due?from=9999-12-01T08:00:00Z"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        due["due_at"].as_str().unwrap().starts_with("9999-12-0"),
        "{due}"
    );

    for (query, field) in [
        ("from=%2B262142-01-01&to=%2B262142-01-02", "from"),
        ("from=1900-01-01&to=1900-01-31", "from"),
        ("from=9999-12-01&to=%2B10000-01-01", "to"),
    ] {
        let resp = app.get(&admin, &format!("{ko}/reports?{query}")).await;
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let report = app
        .get(
            &admin,
            &format!("{ko}/reports?from=9999-12-01&to=9999-12-31"),
        )
        .await;
    assert_eq!(report.status(), StatusCode::OK);

    // Dates in bodies: a callback window, a coverage, a closing day.
    let resp = app
        .post(&agent, &format!("{ko}/tickets"), &json!({
            "subject": "Ausweis", "question": "Frage", "citizen": {"phone": "+49 261 1"},
            "answer_channel": "callback",
            "callback_windows": [{"from": "+262142-12-31T08:00:00Z", "to": "+262142-12-31T10:00:00Z"}]
        }))
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "/callback_windows/0/from");
    let resp = app
        .post(
            &agent,
            &format!("{ko}/tickets"),
            &json!({
                "subject": "Ausweis", "question": "Frage", "citizen": {"phone": "+49 261 1"},
                "answer_channel": "callback",
                "callback_windows": [{"from": "1960-01-01T08:00:00Z", "to": "1960-01-01T10:00:00Z"}]
            }),
        )
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "callback_windows[0].from");
    let resp = app
        .post(
            &admin,
            &format!("{ko}/coverages"),
            &json!({
                "center": "sc-mainz", "until": "9999-12-31T12:00:00Z", "reason": "lange"
            }),
        )
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "until");
    let resp = app
        .patch(
            &admin,
            ko,
            &json!({"settings": {"closing_days": ["1900-01-01"]}}),
        )
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "settings.closing_days[0]");
    assert_eq!(table_counts(&app).await, counts);
    let office = created(
        app.post(
            &editor,
            &format!("{ko}/org-units"),
            &json!({
                "name": "Bürgeramt", "opening_hours": {"mon": [{"start": "08:00", "end": "12:00"}]}
            }),
        )
        .await,
    )
    .await;
    let counts = table_counts(&app).await;
    let opening = format!("{ko}/org-units/{}/opening", office["id"].as_str().unwrap());
    for at in ["9999-12-31T23:59:59-23:59", "1960-01-01T08:00:00Z"] {
        let resp = app
            .get(&agent, &format!("{opening}?at={}", at.replace('+', "%2B")))
            .await;
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], "at", "{at}");
    }
    // The last week of 9999: the next opening would be in 10000, so there is none.
    let late: Value = app
        .get(&agent, &format!("{opening}?at=9999-12-30T20:00:00Z"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(late["next_opening"], Value::Null, "{late}");
    assert_eq!(table_counts(&app).await, counts);
}

async fn email_addresses_with_invisible_or_lookalike_characters_are_refused(app: TestApp) {
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let op = app.token("operator@verbund.demo").await;
    let users = "/api/v1/tenants/stadt-koblenz/users";
    let count = app.count("users").await;
    let tenant = app.snapshot("/api/v1/tenants/stadt-koblenz").await;
    // Invisible characters are refused by the general rule (single-line field) ...
    for (email, shows) in [
        ("redak\u{200B}tion@stadt-koblenz.demo", "U+200B"),
        ("redaktion\u{202E}@stadt-koblenz.demo", "U+202E"),
        ("\u{2066}redaktion\u{2069}@stadt-koblenz.demo", "U+2066"),
    ] {
        let resp = app
            .post(&admin, users, &json!({"email": email, "display_name": "Neu", "password": "ein-sehr-langes-passwort"}))
            .await;
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], "/email", "{email:?}");
        assert!(body["detail"].as_str().unwrap().contains(shows), "{body}");
    }
    // ... look-alikes by the e-mail rule.
    for email in [
        "\u{0430}dmin@stadt-koblenz.demo",
        "admin@st\u{0430}dt-koblenz.demo",
        "\u{0430}\u{0501}m\u{0456}n@stadt-koblenz.demo",
        "adm\u{0131}n@stadt-koblenz.demo",
        "\u{FF41}dmin@stadt-koblenz.demo",
    ] {
        let resp = app
            .post(&admin, users, &json!({"email": email, "display_name": "Neu", "password": "ein-sehr-langes-passwort"}))
            .await;
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], "email", "{email:?}: {body}");
        let resp = app
            .patch(
                &op,
                "/api/v1/tenants/stadt-koblenz",
                &json!({"mail_addresses": [email]}),
            )
            .await;
        assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    }
    assert_eq!(app.count("users").await, count);
    assert_eq!(app.snapshot("/api/v1/tenants/stadt-koblenz").await, tenant);
    // Umlauts are fine.
    let resp = app
        .post(&admin, users, &json!({"email": "m\u{00FC}ller@stadt-koblenz.demo", "display_name": "Müller", "password": "ein-sehr-langes-passwort"}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(app.count("users").await, count + 1);
}

async fn imports_refuse_control_characters_per_item(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let ndjson = concat!(
        r#"{"leika": "99102014001000", "title": "Personalausweis", "modules": {"kurztext": "Gut.\nZweite Zeile"}}"#,
        "\n",
        r#"{"leika": "99102014002000", "title": "Reise\u0000pass"}"#,
        "\n",
        r#"{"leika": "99102014003000", "title": "Kinderpass", "modules": {"volltext": "Text\u0007"}}"#,
        "\n"
    );
    let resp = app
        .client
        .post(app.url("/api/v1/tenants/stadt-koblenz/import"))
        .bearer_auth(&editor)
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let report: Value = resp.json().await.unwrap();
    let text = report.to_string();
    assert!(text.contains("U+0000"), "{report}");
    assert!(text.contains("U+0007"), "{report}");
    let list: Value = app
        .get(&editor, "/api/v1/tenants/stadt-koblenz/services")
        .await
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Personalausweis"]);
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_nul_in_any_text_field_of_any_route_is_refused_and_changes_nothing() {
        super::a_nul_in_any_text_field_of_any_route_is_refused_and_changes_nothing(
            crate::helpers::Backend::Sqlite,
        )
        .await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_nul_in_any_text_field_of_any_route_is_refused_and_changes_nothing() {
        super::a_nul_in_any_text_field_of_any_route_is_refused_and_changes_nothing(
            crate::helpers::Backend::Postgres,
        )
        .await;
    }
}

mod both {
    use super::*;
    crate::both_backends!(
        long_texts_take_line_breaks_single_lines_take_no_control_or_invisible_characters,
        out_of_range_numbers_and_dates_are_refused,
        email_addresses_with_invisible_or_lookalike_characters_are_refused,
        imports_refuse_control_characters_per_item,
    );
}
