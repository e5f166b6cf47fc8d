//! The ticket detail and the mail desk in the web UI (issue 14, points 5 and 6): anonymising
//! after a confirmation, forwarding with the target picker, the stale-version message naming
//! the person, the ticket actions, "zuordnen" of an inbound mail by a responder, the outbox
//! for responders with "erneut senden". Each action: status, body and the state left behind;
//! another tenant's user (404, unchanged), the wrong role (403/404, unchanged), no CSRF token
//! (403, unchanged). Each test on SQLite and PostgreSQL.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use verbund_schema::{inbound_mail, outbox_mail, ticket, ticket_event};

use crate::helpers::{Backend, DEMO_PASSWORD, TestApp, assert_problem};
use crate::mail::{ingest_ok, mail_app};

fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie_of(resp: &Response, name: &str) -> Option<String> {
    resp.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let raw = v.to_str().ok()?;
        let (pair, _) = raw.split_once(';').unwrap_or((raw, ""));
        let (k, val) = pair.split_once('=')?;
        (k == name).then(|| val.to_owned())
    })
}

/// The value of the first `name="<field>" value="…"` of a page.
fn field_in(html: &str, field: &str) -> String {
    let needle = format!("name=\"{field}\" value=\"");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {field} in {html}"));
    let rest = &html[at + needle.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

struct Ui {
    client: Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Ui {
    async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn html(&self, path: &str) -> String {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.text().await.unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts `form` with this session's CSRF token.
    async fn send(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let mut all = form.to_vec();
        all.push(("csrf", &self.csrf));
        self.post(path, &all).await
    }
}

/// Logs in through the form; the CSRF token comes from `page` (every page carries it).
async fn login(app: &TestApp, email: &str, page: &str) -> Ui {
    let client = browser();
    let form = client.get(app.url("/")).send().await.unwrap();
    let nonce = cookie_of(&form, "vb_login").expect("login cookie");
    let html = form.text().await.unwrap();
    let resp = client
        .post(app.url("/anmelden"))
        .header(COOKIE, format!("vb_login={nonce}"))
        .form(&[
            ("email", email),
            ("password", DEMO_PASSWORD),
            ("csrf", &field_in(&html, "csrf")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login of {email}");
    let token = cookie_of(&resp, "vb_session").expect("session cookie");
    let mut ui = Ui {
        client,
        base: app.base.clone(),
        cookie: format!("vb_session={token}"),
        csrf: String::new(),
    };
    let html = ui.get(page).await.text().await.unwrap();
    ui.csrf = field_in(&html, "csrf");
    ui
}

fn citizen_mail(from: &str, message_id: &str, subject: &str, body: &str) -> String {
    format!(
        "From: Anna Schmidt <{from}>\nTo: buergerservice@stadt-koblenz.demo\nSubject: {subject}\n\
Message-ID: <{message_id}>\nDate: Sat, 28 Nov 2026 10:00:00 +0100\nMIME-Version: 1.0\n\
Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n"
    )
}

async fn ticket_row(app: &TestApp, number: &str) -> ticket::Model {
    ticket::Entity::find()
        .filter(ticket::Column::Number.eq(number))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn events(app: &TestApp, t: &ticket::Model, kind: &str) -> u64 {
    ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(t.id))
        .filter(ticket_event::Column::Kind.eq(kind))
        .count(&app.db)
        .await
        .unwrap()
}

async fn inbound_row(app: &TestApp, id: &str) -> inbound_mail::Model {
    inbound_mail::Entity::find_by_id(uuid::Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

/// A callback ticket of Stadt Koblenz, opened by the Koblenz agent through the API.
async fn koblenz_ticket(app: &TestApp, subject: &str) -> Value {
    let agent = app.token("agent@sc-koblenz.demo").await;
    let resp = app
        .post(
            &agent,
            "/api/v1/tenants/stadt-koblenz/tickets",
            &json!({
                "subject": subject,
                "question": "Welche Unterlagen brauche ich?",
                "citizen": {"name": "Erika Mustermann", "phone": "+49 261 123456"},
                "answer_channel": "callback",
                "callback_windows": [{"from": "2026-12-01T08:00:00Z", "to": "2026-12-01T10:00:00Z"}],
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

/// Point 5 (a): the admin of the holding tenant anonymises a ticket after a confirmation
/// step; the page afterwards shows the anonymised ticket. Nobody else can, nothing changes
/// on a refusal.
async fn an_admin_anonymises_a_ticket_after_confirming(backend: Backend) {
    let app = mail_app(backend).await;
    let body = ingest_ok(
        &app,
        &citizen_mail(
            "anna@buerger.example",
            "anon1@b",
            "Hundesteuer",
            "Guten Tag, wie melde ich meinen Hund an?",
        ),
    )
    .await;
    let number = body["ticket_number"].as_str().unwrap().to_owned();
    let page = format!("/vorgaenge/{number}");
    let confirm = format!("{page}/anonymisieren");
    let untouched = |t: &ticket::Model| {
        assert!(t.anonymized_at.is_none());
        assert_eq!(t.citizen_email.as_deref(), Some("anna@buerger.example"));
    };

    let admin = login(&app, "admin@stadt-koblenz.demo", &page).await;
    let html = admin.html(&page).await;
    assert!(html.contains(&format!("href=\"{confirm}\"")), "{html}");
    assert!(html.contains("Anonymisieren …"));
    let html = admin.html(&confirm).await;
    assert!(html.contains("Das lässt sich nicht rückgängig machen."));
    assert!(html.contains(">Endgültig anonymisieren</button>"));
    assert!(html.contains("name=\"bestaetigt\" value=\"ja\""));

    // The agent sees no link and may not; another tenant's admin does not find the ticket.
    let agent = login(&app, "agent@sc-koblenz.demo", &page).await;
    assert!(!agent.html(&page).await.contains("anonymisieren"));
    assert_eq!(agent.get(&confirm).await.status(), StatusCode::FORBIDDEN);
    let resp = agent
        .send(
            &confirm,
            &[("grund", "Löschersuchen"), ("bestaetigt", "ja")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("Keine Berechtigung"));
    let mainz = login(&app, "admin@stadt-mainz.demo", "/desk").await;
    assert_eq!(mainz.get(&confirm).await.status(), StatusCode::NOT_FOUND);
    let resp = mainz
        .send(
            &confirm,
            &[("grund", "Löschersuchen"), ("bestaetigt", "ja")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    untouched(&ticket_row(&app, &number).await);

    // Without the CSRF token: 403. Without the confirmation: back to the confirmation page.
    let resp = admin
        .post(
            &confirm,
            &[("grund", "Löschersuchen"), ("bestaetigt", "ja")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = admin.send(&confirm, &[("grund", "Löschersuchen")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], confirm.as_str());
    // Without a reason: 422, the message next to the field.
    let resp = admin
        .send(&confirm, &[("grund", "  "), ("bestaetigt", "ja")])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("aria-describedby=\"anon-grund-fehler\""),
        "{html}"
    );
    assert!(html.contains("Bitte geben Sie einen Grund an"));
    untouched(&ticket_row(&app, &number).await);

    let resp = admin
        .send(
            &confirm,
            &[
                ("grund", "Löschersuchen vom 28.11.2026"),
                ("bestaetigt", "ja"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(to, format!("{page}?ok=anonymisiert"));
    let html = admin.html(&to).await;
    assert!(html.contains("Der Vorgang wurde anonymisiert."), "{html}");
    assert!(html.contains("id=\"anonymisiert\""));
    assert!(html.contains("Anonymisiert (persönliche Daten entfernt)"));
    assert!(!html.contains("anna@buerger.example"));
    assert!(!html.contains("Hundesteuer"));
    assert!(!html.contains("Anonymisieren …"), "no second time");
    let t = ticket_row(&app, &number).await;
    assert!(t.anonymized_at.is_some());
    assert!(t.citizen_email.is_none());
    assert_eq!(events(&app, &t, "anonymized").await, 1);
    // Again: a conflict page, nothing new.
    let resp = admin
        .send(&confirm, &[("grund", "nochmal"), ("bestaetigt", "ja")])
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(events(&app, &t, "anonymized").await, 1);
}

/// Point 5 (b): the forward form lists the targets by name (the other tenants and the
/// holder's back-office units, from the domain's `forward::targets`, also in the API), with
/// a required reason.
async fn an_agent_forwards_with_the_target_picker_and_a_required_reason(backend: Backend) {
    let app = mail_app(backend).await;
    let agent_token = app.token("agent@sc-koblenz.demo").await;
    // A back-office unit the tenant already uses.
    let first = koblenz_ticket(&app, "Gewerbe").await;
    let resp = app
        .post(
            &agent_token,
            &format!("/api/v1/tickets/{}/forward", first["number"].as_str().unwrap()),
            &json!({"queue": "backoffice:gewerbeamt", "reason": "Fachfrage", "version": first["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let t = koblenz_ticket(&app, "Ummeldung nach Mainz").await;
    let number = t["number"].as_str().unwrap().to_owned();
    let page = format!("/vorgaenge/{number}");
    let action = format!("{page}/weiterleiten");

    // The API gives the same targets.
    let targets: Value = app
        .get(
            &agent_token,
            &format!("/api/v1/tickets/{number}/forward-targets"),
        )
        .await
        .json()
        .await
        .unwrap();
    let slugs: Vec<&str> = targets["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert!(slugs.contains(&"stadt-mainz"), "{targets}");
    assert!(
        !slugs.contains(&"stadt-koblenz"),
        "not to itself: {targets}"
    );
    assert_eq!(targets["queues"], json!(["backoffice:gewerbeamt"]));
    let mainz_token = app.token("agent@sc-mainz.demo").await;
    let resp = app
        .get(
            &mainz_token,
            &format!("/api/v1/tickets/{number}/forward-targets"),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let editor_token = app.token("editor@stadt-koblenz.demo").await;
    let resp = app
        .get(
            &editor_token,
            &format!("/api/v1/tickets/{number}/forward-targets"),
        )
        .await;
    assert!([StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&resp.status()));

    let agent = login(&app, "agent@sc-koblenz.demo", &page).await;
    let html = agent.html(&page).await;
    assert!(
        html.contains("<select id=\"ziel\" name=\"ziel\" required"),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"stadt-mainz\">Stadt Mainz</option>"),
        "{html}"
    );
    assert!(!html.contains("<option value=\"stadt-koblenz\""));
    assert!(html.contains("<option value=\"backoffice:gewerbeamt\">gewerbeamt</option>"));
    assert!(html.contains("id=\"weiter-grund\" name=\"grund\" type=\"text\" required"));
    let version = field_in(
        &html[html.find("id=\"weiterleitenform\"").unwrap()..],
        "version",
    );

    let unchanged = || async {
        let row = ticket_row(&app, &number).await;
        assert_eq!(row.forward_state, verbund_schema::types::ForwardState::None);
        assert_eq!(row.version.to_string(), version);
    };
    // Without a reason: 422 next to the field, the choice kept.
    let resp = agent
        .send(
            &action,
            &[
                ("ziel", "stadt-mainz"),
                ("grund", ""),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("aria-describedby=\"weiter-grund-fehler\""),
        "{html}"
    );
    assert!(html.contains("<option value=\"stadt-mainz\" selected>"));
    unchanged().await;
    // Without CSRF; by Mainz's agent; by the editor: refused, unchanged.
    let form = [
        ("ziel", "stadt-mainz"),
        ("grund", "Zuständigkeit"),
        ("version", &version),
    ];
    assert_eq!(
        agent.post(&action, &form).await.status(),
        StatusCode::FORBIDDEN
    );
    let mainz = login(&app, "agent@sc-mainz.demo", "/desk").await;
    assert_eq!(
        mainz.send(&action, &form).await.status(),
        StatusCode::NOT_FOUND
    );
    let editor = login(&app, "editor@stadt-koblenz.demo", "/desk").await;
    let status = editor.send(&action, &form).await.status();
    assert!([StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&status));
    unchanged().await;

    let resp = agent.send(&action, &form).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let row = ticket_row(&app, &number).await;
    assert_eq!(
        row.forward_state,
        verbund_schema::types::ForwardState::Pending
    );
    let html = agent.html(&page).await;
    assert!(html.contains("stadt-mainz"), "{html}");
}

/// Point 5 (c): a stale version names the person who changed the ticket meanwhile (the
/// domain's `last_change`, also in the API) and keeps the typed text, with the new version.
async fn a_stale_answer_names_the_person_and_keeps_the_text(backend: Backend) {
    let app = mail_app(backend).await;
    let t = koblenz_ticket(&app, "Personalausweis").await;
    let number = t["number"].as_str().unwrap().to_owned();
    let page = format!("/vorgaenge/{number}");
    let agent = login(&app, "agent@sc-koblenz.demo", &page).await;
    let html = agent.html(&page).await;
    let seen = field_in(&html[html.find("id=\"antwortform\"").unwrap()..], "version");

    // Meanwhile the responder changes the priority.
    let responder = app.token("responder@stadt-koblenz.demo").await;
    let resp = app
        .patch(
            &responder,
            &format!("/api/v1/tickets/{number}"),
            &json!({"version": t["version"], "priority": "high"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let last: Value = app
        .get(&responder, &format!("/api/v1/tickets/{number}/last-change"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(last["by"], "E-Mail-Bearbeitung Stadt Koblenz", "{last}");
    assert_eq!(last["by_you"], true);
    let other = app
        .get(
            &app.token("agent@sc-mainz.demo").await,
            &format!("/api/v1/tickets/{number}/last-change"),
        )
        .await;
    assert_problem(other, StatusCode::NOT_FOUND, "not-found").await;

    let typed = "Guten Tag, Sie brauchen ein biometrisches Foto.";
    let resp = agent
        .send(
            &format!("{page}/antwort"),
            &[("text", typed), ("version", &seen)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("inzwischen von E-Mail-Bearbeitung Stadt Koblenz geändert"),
        "{html}"
    );
    assert!(
        html.contains(&format!(">{typed}</textarea>")),
        "the text is kept: {html}"
    );
    let now = field_in(&html[html.find("id=\"antwortform\"").unwrap()..], "version");
    assert_ne!(now, seen, "the form carries the new version");
    let row = ticket_row(&app, &number).await;
    assert_eq!(events(&app, &row, "message_sent").await, 0);
    // Sending again from the reloaded form works.
    let resp = agent
        .send(
            &format!("{page}/antwort"),
            &[("text", typed), ("version", &now)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(agent.html(&page).await.contains(typed));
}

/// Point 5: a text module with placeholders, call attempts up to "anderer Kanal nötig",
/// accept and return of a forwarded ticket, close.
async fn reply_call_attempts_accept_return_and_close_work(backend: Backend) {
    let app = mail_app(backend).await;
    let t = koblenz_ticket(&app, "Wohngeld").await;
    let number = t["number"].as_str().unwrap().to_owned();
    let page = format!("/vorgaenge/{number}");
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let module: Value = app
        .post(
            &admin,
            "/api/v1/tenants/stadt-koblenz/templates",
            &json!({"name": "Rückruf", "body": "Guten Tag {name}, zu {nummer} ({betreff}) bis {frist}."}),
        )
        .await
        .json()
        .await
        .unwrap();
    let agent = login(&app, "agent@sc-koblenz.demo", &page).await;
    let html = agent
        .html(&format!(
            "{page}?baustein={}",
            module["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        html.contains(&format!(
            "Guten Tag Erika Mustermann, zu {number} (Wohngeld) bis "
        )),
        "{html}"
    );
    assert!(!html.contains("{frist}"));

    // Call attempts: not reached three times sets "anderer Kanal nötig".
    for outcome in ["not_reached", "mailbox", "not_reached"] {
        let resp = agent
            .send(&format!("{page}/anruf"), &[("ergebnis", outcome)])
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    let row = ticket_row(&app, &number).await;
    assert_eq!(row.failed_call_attempts, 3);
    assert!(row.needs_other_channel);
    assert!(
        agent
            .html(&page)
            .await
            .contains("<strong>anderer Kanal nötig</strong>")
    );
    let resp = agent
        .send(&format!("{page}/anruf"), &[("ergebnis", "")])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(ticket_row(&app, &number).await.failed_call_attempts, 3);

    // Forwarded to Mainz: Mainz returns it, Koblenz forwards again, Mainz accepts, closes.
    let forward = |version: String| {
        let agent = &agent;
        let page = page.clone();
        async move {
            let resp = agent
                .send(
                    &format!("{page}/weiterleiten"),
                    &[
                        ("ziel", "stadt-mainz"),
                        ("grund", "Zuständigkeit"),
                        ("version", &version),
                    ],
                )
                .await;
            assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        }
    };
    forward(ticket_row(&app, &number).await.version.to_string()).await;
    let mainz = login(&app, "agent@sc-mainz.demo", &page).await;
    let html = mainz.html(&page).await;
    assert!(html.contains(">Weiterleitung annehmen</button>"), "{html}");
    let v = ticket_row(&app, &number).await.version.to_string();
    let resp = mainz
        .send(
            &format!("{page}/zurueckgeben"),
            &[("grund", "Nicht unser Ort"), ("version", &v)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        ticket_row(&app, &number).await.forward_state,
        verbund_schema::types::ForwardState::Returned
    );
    forward(ticket_row(&app, &number).await.version.to_string()).await;
    let v = ticket_row(&app, &number).await.version.to_string();
    // Koblenz (the forwarder) cannot accept for Mainz.
    let resp = agent
        .send(&format!("{page}/annehmen"), &[("version", &v)])
        .await;
    assert!(
        [
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
            StatusCode::CONFLICT
        ]
        .contains(&resp.status())
    );
    assert_eq!(
        ticket_row(&app, &number).await.forward_state,
        verbund_schema::types::ForwardState::Pending
    );
    let resp = mainz
        .send(&format!("{page}/annehmen"), &[("version", &v)])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let row = ticket_row(&app, &number).await;
    assert_eq!(
        row.forward_state,
        verbund_schema::types::ForwardState::Accepted
    );
    let v = row.version.to_string();
    assert_eq!(
        agent
            .send(&format!("{page}/schliessen"), &[("version", &v)])
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "the forwarder does not close Mainz's ticket"
    );
    let resp = mainz
        .send(&format!("{page}/schliessen"), &[("version", &v)])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        ticket_row(&app, &number).await.state,
        verbund_schema::types::TicketState::Closed
    );
}

/// Point 6 (a): a responder assigns a mail waiting for review to an open ticket of the
/// tenant by its number ("zuordnen"); it joins the conversation, flagged. Through the API
/// too. Others cannot; a wrong number or a closed ticket is said next to the field.
async fn a_responder_assigns_an_inbound_mail_to_a_ticket(backend: Backend) {
    let app = mail_app(backend).await;
    let body = ingest_ok(
        &app,
        &citizen_mail(
            "anna@buerger.example",
            "as1@b",
            "Kita-Platz",
            "Wann bekomme ich Bescheid?",
        ),
    )
    .await;
    let number = body["ticket_number"].as_str().unwrap().to_owned();
    // A mail without an address to answer to waits for a person.
    let review = ingest_ok(
        &app,
        &citizen_mail(
            "anna@localhost",
            "as2@b",
            "Nachtrag Kita",
            "Hier noch meine Telefonnummer.",
        ),
    )
    .await;
    assert_eq!(review["outcome"], "review", "{review}");
    let mail_id = review["id"].as_str().unwrap().to_owned();
    let action = format!("/post/eingang/{mail_id}/zuordnen");
    let waiting = || async {
        let m = inbound_row(&app, &mail_id).await;
        assert!(m.ticket_id.is_none());
        assert_eq!(
            m.outcome,
            Some(verbund_schema::types::InboundOutcome::Review)
        );
    };

    let responder = login(&app, "responder@stadt-koblenz.demo", "/post").await;
    let html = responder.html("/post").await;
    assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
    assert!(html.contains(&format!(
        "<label for=\"zv-{mail_id}\">Vorgangsnummer</label>"
    )));

    // Without CSRF; by Mainz's responder; by Koblenz's agent and editor: refused, unchanged.
    let form = [("vorgang", number.as_str()), ("zurueck", "stadt-koblenz")];
    assert_eq!(
        responder.post(&action, &form).await.status(),
        StatusCode::FORBIDDEN
    );
    let mainz = login(&app, "responder@stadt-mainz.demo", "/post").await;
    assert_eq!(
        mainz.send(&action, &form).await.status(),
        StatusCode::NOT_FOUND
    );
    let agent = login(&app, "agent@sc-koblenz.demo", "/desk").await;
    assert_eq!(
        agent.send(&action, &form).await.status(),
        StatusCode::NOT_FOUND
    );
    let editor = login(&app, "editor@stadt-koblenz.demo", "/desk").await;
    assert_eq!(
        editor.send(&action, &form).await.status(),
        StatusCode::NOT_FOUND
    );
    // A number that does not exist: 404, said next to the field, the number kept.
    let resp = responder
        .send(
            &action,
            &[("vorgang", "KO-1999-999999"), ("zurueck", "stadt-koblenz")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(&format!("aria-describedby=\"zv-{mail_id}-fehler\"")),
        "{html}"
    );
    assert!(html.contains("value=\"KO-1999-999999\""));
    // A Mainz ticket is not the Koblenz responder's.
    let mainz_ticket = app
        .post(
            &app.token("agent@sc-mainz.demo").await,
            "/api/v1/tenants/stadt-mainz/tickets",
            &json!({"subject": "x", "question": "y", "answer_channel": "callback",
                    "citizen": {"phone": "+49 6131 1"},
                    "callback_windows": [{"from": "2026-12-01T08:00:00Z", "to": "2026-12-01T10:00:00Z"}]}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let resp = responder
        .send(
            &action,
            &[("vorgang", mainz_ticket["number"].as_str().unwrap())],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    waiting().await;

    let resp = responder.send(&action, &form).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()[LOCATION],
        "/post?mandant=stadt-koblenz&ok=zugeordnet"
    );
    let m = inbound_row(&app, &mail_id).await;
    let t = ticket_row(&app, &number).await;
    assert_eq!(m.ticket_id, Some(t.id));
    assert_eq!(
        m.outcome,
        Some(verbund_schema::types::InboundOutcome::ReplyFlagged)
    );
    assert!(m.sender_mismatch);
    let html = responder.html(&format!("/vorgaenge/{number}/post")).await;
    assert!(html.contains("Hier noch meine Telefonnummer."), "{html}");
    assert!(html.contains("Absender weicht ab"));
    // Twice: a conflict page.
    let resp = responder.send(&action, &form).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    // The API: the responder assigns by number; a closed ticket and a tenant are refused.
    let second = ingest_ok(
        &app,
        &citizen_mail("bob@localhost", "as3@b", "Noch was", "Zweiter Nachtrag."),
    )
    .await;
    let second_id = second["id"].as_str().unwrap();
    let token = app.token("responder@stadt-koblenz.demo").await;
    let resp = app
        .post(
            &token,
            &format!("/api/v1/inbound/{second_id}/assign"),
            &json!({"tenant": "stadt-mainz"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .post(
            &token,
            &format!("/api/v1/inbound/{second_id}/assign"),
            &json!({}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let closed = koblenz_ticket(&app, "Erledigt").await;
    let resp = app
        .post(
            &token,
            &format!(
                "/api/v1/tickets/{}/close",
                closed["number"].as_str().unwrap()
            ),
            &json!({"version": closed["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .post(
            &token,
            &format!("/api/v1/inbound/{second_id}/assign"),
            &json!({"ticket": closed["number"]}),
        )
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "ticket-closed").await;
    assert!(inbound_row(&app, second_id).await.ticket_id.is_none());
    let resp = app
        .post(
            &token,
            &format!("/api/v1/inbound/{second_id}/assign"),
            &json!({"ticket": number}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["outcome"], "reply_flagged");
    assert_eq!(view["ticket_id"], json!(t.id.to_string()));
    assert_eq!(view["tenant"], "stadt-koblenz");
}

/// Point 6 (b): the tenant's responders see the outbox with the state of each mail, in the
/// list and in the conversation, and send a failed one again. Others cannot.
async fn a_responder_sees_the_outbox_and_sends_a_failed_mail_again(backend: Backend) {
    let app = mail_app(backend).await;
    let body = ingest_ok(
        &app,
        &citizen_mail(
            "anna@buerger.example",
            "ob1@b",
            "Parkausweis",
            "Wie beantrage ich ihn?",
        ),
    )
    .await;
    let number = body["ticket_number"].as_str().unwrap().to_owned();
    let receipt = outbox_mail::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let id = receipt.id;
    let mut failed: outbox_mail::ActiveModel = receipt.into();
    failed.state = Set(verbund_schema::types::OutboxState::Failed);
    failed.attempts = Set(8);
    failed.last_error = Set(Some("550 mailbox unavailable".into()));
    failed.update(&app.db).await.unwrap();
    let state = || async {
        outbox_mail::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .state
    };

    let responder = login(&app, "responder@stadt-koblenz.demo", "/post").await;
    let html = responder.html("/post?mandant=stadt-koblenz").await;
    assert!(
        html.contains("<h2 id=\"ausgang-titel\">Ausgang</h2>"),
        "{html}"
    );
    assert!(html.contains("fehlgeschlagen"));
    assert!(html.contains("550 mailbox unavailable"));
    let action = format!("/post/ausgang/stadt-koblenz/{id}/erneut");
    assert!(html.contains(&format!("action=\"{action}\"")));
    let thread = responder.html(&format!("/vorgaenge/{number}/post")).await;
    assert!(thread.contains("Versand: fehlgeschlagen"), "{thread}");
    assert!(thread.contains(">erneut senden</button>"));

    // Without CSRF, by Mainz's responder, by the Koblenz agent: refused, unchanged.
    assert_eq!(
        responder.post(&action, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let mainz = login(&app, "responder@stadt-mainz.demo", "/post").await;
    assert_eq!(
        mainz.send(&action, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = mainz
        .send(&format!("/post/ausgang/stadt-mainz/{id}/erneut"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let agent = login(&app, "agent@sc-koblenz.demo", "/desk").await;
    assert_eq!(
        agent.send(&action, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(agent.get("/post").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(state().await, verbund_schema::types::OutboxState::Failed);

    let resp = responder.send(&action, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    let row = outbox_mail::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, verbund_schema::types::OutboxState::Queued);
    assert_eq!(row.attempts, 0);
    let t = ticket_row(&app, &number).await;
    assert_eq!(events(&app, &t, "mail_retried").await, 1);
    let html = responder.html(&to).await;
    assert!(html.contains("wieder in der Warteschlange"), "{html}");
    // Not failed any more: a second retry is refused.
    let resp = responder.send(&action, &[]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(events(&app, &t, "mail_retried").await, 1);

    // The API: the responder lists and retries too; another tenant's responder does not.
    let token = app.token("responder@stadt-koblenz.demo").await;
    let list: Value = app
        .get(&token, "/api/v1/tenants/stadt-koblenz/outbox?state=queued")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], json!(id.to_string()));
    let resp = app
        .get(
            &app.token("responder@stadt-mainz.demo").await,
            "/api/v1/tenants/stadt-koblenz/outbox",
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
}

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

per_backend!(
    an_admin_anonymises_a_ticket_after_confirming,
    an_agent_forwards_with_the_target_picker_and_a_required_reason,
    a_stale_answer_names_the_person_and_keeps_the_text,
    reply_call_attempts_accept_return_and_close_work,
    a_responder_assigns_an_inbound_mail_to_a_ticket,
    a_responder_sees_the_outbox_and_sends_a_failed_mail_again,
);
