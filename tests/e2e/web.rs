//! The web UI over HTTP: login, session cookie, CSRF, isolation and role pages, security
//! headers, assets. Each test on SQLite and PostgreSQL.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{DEMO_PASSWORD, TestApp};

/// A browser-like client that follows no redirects (the tests look at each answer).
fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie_of(resp: &Response, name: &str) -> Option<(String, String)> {
    resp.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let raw = v.to_str().ok()?;
        let (pair, _) = raw.split_once(';').unwrap_or((raw, ""));
        let (k, val) = pair.split_once('=')?;
        (k == name).then(|| (val.to_owned(), raw.to_owned()))
    })
}

/// The value of the first `name="csrf"` field of a page.
fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

struct Ui {
    client: Client,
    base: String,
    /// `vb_session=…`
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

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

/// Posts the login form as a browser would: GET the form (login cookie + token), POST it.
async fn login_form(app: &TestApp, email: &str, password: &str) -> Response {
    let client = browser();
    let page = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let (nonce, _) = cookie_of(&page, "vb_login").expect("login cookie");
    let html = page.text().await.unwrap();
    client
        .post(app.url("/anmelden"))
        .header(COOKIE, format!("vb_login={nonce}"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf_in(&html)),
        ])
        .send()
        .await
        .unwrap()
}

async fn ui_login(app: &TestApp, email: &str) -> Ui {
    let resp = login_form(app, email, DEMO_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login of {email}");
    let (token, _) = cookie_of(&resp, "vb_session").expect("session cookie");
    let mut ui = Ui {
        client: browser(),
        base: app.base.clone(),
        cookie: format!("vb_session={token}"),
        csrf: String::new(),
    };
    let page = ui.get("/vorgaenge").await;
    assert_eq!(page.status(), StatusCode::OK);
    ui.csrf = csrf_in(&page.text().await.unwrap());
    ui
}

async fn login_page_and_one_answer_for_unknown_user_and_wrong_password(app: TestApp) {
    let page = browser().get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for needle in [
        "<label for=\"email\">E-Mail</label>",
        "<label for=\"password\">Passwort</label>",
        ">Anmelden</button>",
        "lang=\"de\"",
    ] {
        assert!(html.contains(needle), "login page lacks {needle}");
    }

    let unknown = login_form(&app, "niemand@example.org", "irgendwas-langes").await;
    let wrong = login_form(&app, "agent@sc-koblenz.demo", "falsches-passwort").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(cookie_of(&unknown, "vb_session").is_none());
    assert!(cookie_of(&wrong, "vb_session").is_none());
    let alert = |html: String| {
        let at = html.find("role=\"alert\">").expect("an error message");
        html[at..at + html[at..].find("</p>").unwrap()].to_owned()
    };
    let (a, b) = (
        alert(unknown.text().await.unwrap()),
        alert(wrong.text().await.unwrap()),
    );
    assert_eq!(a, b, "the answer must not tell whether the account exists");
    assert!(a.contains("Anmeldung fehlgeschlagen"));

    let good = login_form(&app, "agent@sc-koblenz.demo", DEMO_PASSWORD).await;
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
    assert_eq!(good.headers()[LOCATION], "/");
    let (_, raw) = cookie_of(&good, "vb_session").expect("session cookie");
    assert!(raw.contains("HttpOnly"), "{raw}");
    assert!(raw.contains("SameSite=Strict"), "{raw}");
    assert!(!raw.contains("Secure"), "plain HTTP on loopback: {raw}");

    // The login form without its token changes nothing and says so.
    let resp = browser()
        .post(app.url("/anmelden"))
        .form(&[
            ("email", "agent@sc-koblenz.demo"),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(cookie_of(&resp, "vb_session").is_none());
}

async fn a_form_without_the_csrf_token_is_403_and_bad_input_400_and_neither_changes_anything(
    app: TestApp,
) {
    let ui = ui_login(&app, "agent@sc-koblenz.demo").await;
    let before = app.count("contacts").await;
    for token in [None, Some("falsch"), Some("")] {
        let mut form = vec![("mandant", "stadt-koblenz"), ("thema", "Test")];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let resp = ui.post("/kontakte", &form).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "token {token:?}");
        assert!(
            resp.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("Sicherheitsprüfung fehlgeschlagen")
        );
    }
    // Another session's token is not this session's.
    let other = ui_login(&app, "agent@sc-koblenz.demo").await;
    let resp = ui
        .post(
            "/kontakte",
            &[("mandant", "stadt-koblenz"), ("csrf", &other.csrf)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("contacts").await, before);

    // Control characters are refused before anything happens, in forms and in queries.
    let resp = ui
        .post(
            "/kontakte",
            &[
                ("mandant", "stadt-koblenz"),
                ("thema", "a\u{0}b"),
                ("csrf", &ui.csrf),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("Ungültige Eingabe"));
    assert_eq!(
        ui.get("/desk?q=Perso%00").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.count("contacts").await, before);

    // With the session's token the same form logs the contact.
    let resp = ui
        .post(
            "/kontakte",
            &[
                ("mandant", "stadt-koblenz"),
                ("thema", "Test"),
                ("csrf", &ui.csrf),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("contacts").await, before + 1);
}

async fn another_tenants_ticket_is_a_404_page_and_a_wrong_role_a_403_page(app: TestApp) {
    let agent = app.token("agent@sc-koblenz.demo").await;
    let resp = app
        .post(
            &agent,
            "/api/v1/contacts",
            &json!({
                "tenant": "stadt-koblenz", "channel": "phone", "solved": false, "duration_seconds": 60,
                "ticket": {"subject": "Wohnsitz ummelden", "question": "Wie melde ich mich um?",
                           "citizen": {"phone": "+49 261 1"}, "answer_channel": "callback"}
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    let number = body["ticket"]["number"].as_str().unwrap().to_owned();
    let path = format!("/vorgaenge/{number}");

    let koblenz = ui_login(&app, "agent@sc-koblenz.demo").await;
    let own = koblenz.get(&path).await;
    assert_eq!(own.status(), StatusCode::OK);
    assert!(own.text().await.unwrap().contains("Wohnsitz ummelden"));

    let mainz = ui_login(&app, "agent@sc-mainz.demo").await;
    let other = mainz.get(&path).await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    assert!(
        other.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = other.text().await.unwrap();
    assert!(html.contains("Nicht gefunden"));
    assert!(!html.contains("Wohnsitz ummelden"));
    // Nor can Mainz act on it: 404, the ticket unchanged.
    let version = app.snapshot(&format!("/api/v1/tickets/{number}")).await;
    let resp = mainz
        .post(
            &format!("{path}/notiz"),
            &[("text", "fremd"), ("csrf", &mainz.csrf)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.snapshot(&format!("/api/v1/tickets/{number}")).await,
        version
    );

    // The editor is no agent: the desk and the ticket queue of the tenant are 403 pages.
    let editor = ui_login(&app, "editor@stadt-koblenz.demo").await;
    let desk = editor.get("/desk").await;
    assert_eq!(desk.status(), StatusCode::FORBIDDEN);
    assert!(desk.text().await.unwrap().contains("Keine Berechtigung"));
    let queue = editor
        .get("/vorgaenge?ansicht=mandant&mandant=stadt-koblenz")
        .await;
    assert_eq!(queue.status(), StatusCode::FORBIDDEN);
    let before = app.count("contacts").await;
    let resp = editor
        .post(
            "/kontakte",
            &[("mandant", "stadt-koblenz"), ("csrf", &editor.csrf)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("contacts").await, before);
}

fn assert_security_headers(resp: &Response, what: &str) {
    let h = resp.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert!(h.get("referrer-policy").is_some(), "{what}");
}

async fn every_ui_response_has_the_security_headers_and_assets_are_cached(app: TestApp) {
    let anon = browser();
    for path in ["/", "/anmelden", "/gibt-es-nicht"] {
        let resp = anon.get(app.url(path)).send().await.unwrap();
        assert_security_headers(&resp, path);
    }
    let missing = anon.get(app.url("/gibt-es-nicht")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        missing
            .text()
            .await
            .unwrap()
            .contains("Seite nicht gefunden")
    );
    // Unknown API paths stay problem+json.
    let api = anon
        .get(app.url("/api/v1/gibt-es-nicht"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(
        api.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    // A page without a session leads to the login.
    let resp = anon.get(app.url("/desk")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/anmelden");

    let ui = ui_login(&app, "agent@sc-koblenz.demo").await;
    for path in ["/desk", "/vorgaenge", "/anliegen/neu?mandant=stadt-koblenz"] {
        let resp = ui.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_security_headers(&resp, path);
        assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
    }
    let html = ui.get("/desk").await.text().await.unwrap();
    for (ext, mime) in [("css", "text/css"), ("js", "text/javascript")] {
        let at = html.find(&format!(".{ext}\"")).unwrap();
        let start = html[..at].rfind("/assets/").unwrap();
        let path = format!("{}.{ext}", &html[start..at]);
        let resp = anon.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert!(
            resp.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(mime)
        );
        assert_eq!(
            resp.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_security_headers(&resp, &path);
        // Another hash is not served (a stale name never gets new content).
        let wrong = anon
            .get(app.url(&format!("/assets/app.0000000000000000.{ext}")))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    }
    // No page loads anything from another host.
    assert!(!html.contains("http://") && !html.contains("https://"));
}

async fn logout_ends_the_session_and_an_expired_one_leads_to_login(app: TestApp) {
    let ui = ui_login(&app, "agent@sc-koblenz.demo").await;
    // Without the token the logout is refused and the session lives on.
    let resp = ui.post("/abmelden", &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(ui.get("/desk").await.status(), StatusCode::OK);

    let resp = ui.post("/abmelden", &[("csrf", &ui.csrf)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, raw) = cookie_of(&resp, "vb_session").expect("cookie removed");
    assert!(raw.contains("Max-Age=0"));
    let after = ui.get("/desk").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()[LOCATION], "/anmelden?grund=abgelaufen");
    let page = browser()
        .get(app.url("/anmelden?grund=abgelaufen"))
        .send()
        .await
        .unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Ihre Sitzung ist abgelaufen")
    );
}

async fn a_stale_answer_keeps_the_text_and_a_text_module_fills_the_reply(app: TestApp) {
    let agent = app.token("agent@sc-koblenz.demo").await;
    let resp = app
        .post(
            &agent,
            "/api/v1/contacts",
            &json!({
                "tenant": "stadt-koblenz", "channel": "phone", "solved": false, "duration_seconds": 60,
                "ticket": {"subject": "Hund anmelden", "question": "Wie melde ich meinen Hund an?",
                           "citizen": {"name": "Erika Mustermann", "phone": "+49 261 1"}, "answer_channel": "callback"}
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let ticket: Value = resp.json().await.unwrap();
    let number = ticket["ticket"]["number"].as_str().unwrap().to_owned();
    let version = ticket["ticket"]["version"].as_i64().unwrap().to_string();
    let ui = ui_login(&app, "agent@sc-koblenz.demo").await;
    let path = format!("/vorgaenge/{number}");
    let page = ui.get(&path).await.text().await.unwrap();
    assert!(page.contains(&format!("name=\"version\" value=\"{version}\"")));

    // Someone else changes the ticket meanwhile.
    let resp = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{number}"),
            &json!({"version": version.parse::<i64>().unwrap(), "priority": "high"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let notes = app.count("ticket_notes").await;
    let resp = ui
        .post(
            &format!("{path}/antwort"),
            &[
                ("text", "Meine getippte Antwort"),
                ("version", &version),
                ("csrf", &ui.csrf),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.unwrap();
    assert!(html.contains("inzwischen von"), "{html}");
    assert!(html.contains(">Meine getippte Antwort</textarea>"));
    assert_eq!(app.count("ticket_notes").await, notes);

    // A text module of the tenant, its placeholders filled in for this ticket.
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .post(
            &admin,
            "/api/v1/tenants/stadt-koblenz/templates",
            &json!({"name": "Eingang", "body": "Guten Tag {name}, zu {nummer} ({betreff}) antworten wir bis {frist}. {behoerde}"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let module: Value = resp.json().await.unwrap();
    let html = ui
        .get(&format!(
            "{path}?baustein={}",
            module["id"].as_str().unwrap()
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!(
            "Guten Tag Erika Mustermann, zu {number} (Hund anmelden) antworten wir bis "
        )),
        "{html}"
    );
    assert!(html.contains("Uhr. Stadt Koblenz</textarea>"));
}

async fn the_report_page_draws_the_numbers_and_downloads_them_as_csv(app: TestApp) {
    let agent = app.token("agent@sc-koblenz.demo").await;
    for solved in [true, true, false] {
        let mut body = json!({"tenant": "stadt-koblenz", "channel": "phone", "solved": solved, "duration_seconds": 30});
        if !solved {
            body["ticket"] = json!({"subject": "Bericht", "question": "Frage",
                "citizen": {"phone": "+49 261 1"}, "answer_channel": "callback"});
        }
        let resp = app.post(&agent, "/api/v1/contacts", &body).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let resp = admin.get("/berichte?mandant=stadt-koblenz").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<svg") && html.contains("role=\"img\""));
    // The data table has the total: 3 contacts, 2 solved (67 %), 1 ticket.
    let total = &html[html.find("<tr class=\"total\">").unwrap()..];
    let total = &total[..total.find("</tr>").unwrap()];
    for cell in [">3</td>", ">2</td>", ">67 %</td>", ">1</td>"] {
        assert!(total.contains(cell), "{cell} in {total}");
    }
    let csv = admin
        .get("/berichte?mandant=stadt-koblenz&format=csv")
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let body = csv.text().await.unwrap();
    assert!(body.starts_with("period,contacts,"));
    let total = body.lines().find(|l| l.starts_with("total,")).unwrap();
    assert!(total.starts_with("total,3,3,0,0,0,2,"), "{total}");

    // An agent has no reports; another tenant's admin gets none of Koblenz's.
    let agent_ui = ui_login(&app, "agent@sc-koblenz.demo").await;
    assert_eq!(
        agent_ui.get("/berichte").await.status(),
        StatusCode::FORBIDDEN
    );
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    let other = mainz.get("/berichte?mandant=stadt-koblenz").await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&other.status()),
        "{}",
        other.status()
    );
    assert!(!other.text().await.unwrap().contains("<svg"));
}

crate::both_backends!(
    login_page_and_one_answer_for_unknown_user_and_wrong_password,
    a_form_without_the_csrf_token_is_403_and_bad_input_400_and_neither_changes_anything,
    another_tenants_ticket_is_a_404_page_and_a_wrong_role_a_403_page,
    every_ui_response_has_the_security_headers_and_assets_are_cached,
    logout_ends_the_session_and_an_expired_one_leads_to_login,
    a_stale_answer_keeps_the_text_and_a_text_module_fills_the_reply,
    the_report_page_draws_the_numbers_and_downloads_them_as_csv,
);

/// Logs in and takes the CSRF token from `page` (any page of the session carries it).
async fn mail_desk_login(app: &TestApp, email: &str, page: &str) -> Ui {
    let resp = login_form(app, email, DEMO_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login of {email}");
    let (token, _) = cookie_of(&resp, "vb_session").expect("session cookie");
    let mut ui = Ui {
        client: browser(),
        base: app.base.clone(),
        cookie: format!("vb_session={token}"),
        csrf: String::new(),
    };
    // Any page of the session carries its CSRF token (the logout form), a 403 page too.
    let resp = ui.get(page).await;
    ui.csrf = csrf_in(&resp.text().await.unwrap());
    ui
}

/// The mail desk (`/post`, `/vorgaenge/{n}/post`): conversation, attachments, reply with a
/// text module, outbox retry, assigning a catch-all mail; isolation, roles and CSRF.
mod mail_desk {
    use reqwest::StatusCode;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    use serde_json::{Value, json};
    use verbund_schema::{inbound_mail, outbox_mail};

    use super::mail_desk_login as login_at;
    use crate::helpers::{Backend, TestApp};
    use crate::mail::{ingest_ok, mail_app};

    const CITIZEN_MAIL: &str = "From: Anna Schmidt <anna@buerger.example>\nTo: buergerservice@stadt-koblenz.demo\n\
Subject: Antrag <b>Hund</b>\nMessage-ID: <desk1@buerger.example>\nMIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"X\"\n\n--X\nContent-Type: text/plain; charset=utf-8\n\n\
Guten Tag, <script>alert(1)</script> mein Antrag anbei.\n\n-- \nAnna Schmidt, Koblenz\n--X\n\
Content-Type: text/html\nContent-Disposition: attachment; filename=\"seite \\\"x\\\".html\"\n\n\
<html><script>alert(2)</script></html>\n--X--\n";

    async fn outbox(app: &TestApp) -> Vec<outbox_mail::Model> {
        outbox_mail::Entity::find().all(&app.db).await.unwrap()
    }

    async fn the_mail_desk_shows_the_conversation_safely_and_replies_with_a_text_module(
        backend: Backend,
    ) {
        let app = mail_app(backend).await;
        let body = ingest_ok(&app, CITIZEN_MAIL).await;
        let number = body["ticket_number"].as_str().unwrap().to_owned();
        // Someone else writes into the ticket: flagged.
        let stranger = format!(
            "From: mallory@elsewhere.example\nTo: buergerservice@stadt-koblenz.demo\n\
Subject: WG: [{number}]\nMessage-ID: <desk2@elsewhere.example>\n\nIch mische mich ein.\n\n\
> Guten Tag, zitiert\n> noch mehr Zitat\n"
        );
        let flagged = ingest_ok(&app, &stranger).await;
        assert_eq!(flagged["outcome"], "reply_flagged");

        let ui = login_at(&app, "responder@stadt-koblenz.demo", "/post").await;
        let desk = ui.get("/post").await;
        assert_eq!(desk.status(), StatusCode::OK);
        let html = desk.text().await.unwrap();
        assert!(
            html.contains("Antrag &#60;b&#62;Hund&#60;/b&#62;"),
            "{html}"
        );
        assert!(!html.contains("<b>Hund"));
        assert!(html.contains("anna@buerger.example"));

        let path = format!("/vorgaenge/{number}/post");
        let html = ui.get(&path).await.text().await.unwrap();
        // Text only: the markup of the mail is escaped, never passed through.
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{html}"
        );
        assert!(!html.contains("<script>alert"));
        // The signature is visible apart; the quote is collapsed; the stranger flagged.
        assert!(html.contains("class=\"pre signature\""));
        assert!(html.contains("Anna Schmidt, Koblenz"));
        assert!(
            html.contains("<details class=\"quoted\"><summary>Zitierten Text anzeigen</summary>")
        );
        assert!(html.contains("Absender weicht ab"));
        // The attachment is a download link.
        let mails: Value = app
            .get(
                &app.token("responder@stadt-koblenz.demo").await,
                &format!("/api/v1/tickets/{number}/mails"),
            )
            .await
            .json()
            .await
            .unwrap();
        let aid = mails[0]["attachments"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let link = format!("/vorgaenge/{number}/anhaenge/{aid}");
        assert!(html.contains(&format!("href=\"{link}\" download")));
        let file = ui.get(&link).await;
        assert_eq!(file.status(), StatusCode::OK);
        let h = file.headers().clone();
        assert_eq!(h["content-type"], "application/octet-stream");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let cd = h["content-disposition"].to_str().unwrap();
        assert!(cd.starts_with("attachment;"), "{cd}");
        assert!(
            !cd.contains("\"x\""),
            "quotes of the name must not break out: {cd}"
        );
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("sandbox")
        );
        assert!(file.text().await.unwrap().contains("<script>alert(2)"));

        // A text module fills the reply; sending queues a mail to the citizen.
        let admin = app.token("admin@stadt-koblenz.demo").await;
        let resp = app
            .post(
                &admin,
                "/api/v1/tenants/stadt-koblenz/templates",
                &json!({"name": "Antwort Hund", "body": "Guten Tag {name}, zu {nummer}: Die Hundesteuer melden Sie online an."}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let module: Value = resp.json().await.unwrap();
        let html = ui
            .get(&format!(
                "{path}?baustein={}",
                module["id"].as_str().unwrap()
            ))
            .await
            .text()
            .await
            .unwrap();
        let filled =
            format!("Guten Tag Anna Schmidt, zu {number}: Die Hundesteuer melden Sie online an.");
        assert!(html.contains(&format!(">{filled}</textarea>")), "{html}");
        let version = {
            let at = html.find("name=\"version\" value=\"").unwrap() + 23;
            html[at..at + html[at..].find('"').unwrap()].to_owned()
        };
        let before = outbox(&app).await.len();
        // Without the CSRF token: 403, nothing queued.
        let resp = ui
            .post(
                &format!("{path}/antwort"),
                &[("text", &filled), ("version", &version)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(outbox(&app).await.len(), before);
        let resp = ui
            .post(
                &format!("{path}/antwort"),
                &[("text", &filled), ("version", &version), ("csrf", &ui.csrf)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let out = outbox(&app).await;
        assert_eq!(out.len(), before + 1);
        let reply = out
            .iter()
            .find(|m| m.kind == "reply")
            .expect("a reply mail");
        assert_eq!(reply.to_address, "anna@buerger.example");
        assert!(reply.body.starts_with(&filled), "{}", reply.body);
        let html = ui.get(&path).await.text().await.unwrap();
        assert!(html.contains("Versand: in Warteschlange"), "{html}");

        // Another tenant's responder: 404 pages, nothing sent; an editor: 403.
        let mainz = login_at(&app, "responder@stadt-mainz.demo", "/post").await;
        assert_eq!(mainz.get(&path).await.status(), StatusCode::NOT_FOUND);
        let other = mainz.get(&link).await;
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
        assert!(!other.text().await.unwrap().contains("alert(2)"));
        let resp = mainz
            .post(
                &format!("{path}/antwort"),
                &[
                    ("text", "fremd"),
                    ("version", &version),
                    ("csrf", &mainz.csrf),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(outbox(&app).await.len(), before + 1);
        let editor = login_at(&app, "editor@stadt-koblenz.demo", "/desk").await;
        assert_eq!(editor.get("/post").await.status(), StatusCode::FORBIDDEN);
        assert!(
            [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND]
                .contains(&editor.get(&path).await.status())
        );
        let resp = editor
            .post(
                &format!("{path}/antwort"),
                &[
                    ("text", "Redaktion"),
                    ("version", &version),
                    ("csrf", &editor.csrf),
                ],
            )
            .await;
        assert!([StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&resp.status()));
        assert_eq!(outbox(&app).await.len(), before + 1);
    }

    async fn outbox_state_and_retry_and_assigning_a_catchall_mail(backend: Backend) {
        let app = mail_app(backend).await;
        let body = ingest_ok(&app, CITIZEN_MAIL).await;
        let number = body["ticket_number"].as_str().unwrap().to_owned();
        // The receipt failed to go out.
        let receipt = outbox(&app).await.remove(0);
        let id = receipt.id;
        let mut failed: outbox_mail::ActiveModel = receipt.into();
        failed.state = Set(verbund_schema::types::OutboxState::Failed);
        failed.last_error = Set(Some("550 mailbox unavailable".into()));
        failed.update(&app.db).await.unwrap();

        let admin = login_at(&app, "admin@stadt-koblenz.demo", "/post").await;
        let html = admin
            .get("/post?mandant=stadt-koblenz")
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("fehlgeschlagen"), "{html}");
        assert!(html.contains("550 mailbox unavailable"));
        let action = format!("/post/ausgang/stadt-koblenz/{id}/erneut");
        assert!(html.contains(&format!("action=\"{action}\"")));
        let state = || async {
            outbox_mail::Entity::find_by_id(id)
                .one(&app.db)
                .await
                .unwrap()
                .unwrap()
                .state
                .as_str()
        };
        // The conversation shows the state too.
        let thread = admin
            .get(&format!("/vorgaenge/{number}/post"))
            .await
            .text()
            .await
            .unwrap();
        assert!(thread.contains("Versand: fehlgeschlagen"), "{thread}");

        // Without CSRF, by another tenant's admin, by an agent (no outbox rights): unchanged.
        // (The tenant's responders work the outbox too: `web_desk_mail`.)
        assert_eq!(
            admin.post(&action, &[]).await.status(),
            StatusCode::FORBIDDEN
        );
        let mainz = login_at(&app, "admin@stadt-mainz.demo", "/post").await;
        let resp = mainz.post(&action, &[("csrf", &mainz.csrf)]).await;
        assert!([StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&resp.status()));
        let mainz_path = format!("/post/ausgang/stadt-mainz/{id}/erneut");
        let resp = mainz.post(&mainz_path, &[("csrf", &mainz.csrf)]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let responder = login_at(&app, "responder@stadt-koblenz.demo", "/post").await;
        let agent = login_at(&app, "agent@sc-koblenz.demo", "/desk").await;
        let resp = agent.post(&action, &[("csrf", &agent.csrf)]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(state().await, "failed");

        let resp = admin.post(&action, &[("csrf", &admin.csrf)]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(state().await, "queued");

        // A mail for no tenant waits in the operators' catch-all; "zuordnen" hands it over.
        let catchall = "From: otto@buerger.example\nTo: info@unbekannt.example\nSubject: Wohin?\n\
Message-ID: <desk3@buerger.example>\n\nAn wen geht das?\n";
        let stored = ingest_ok(&app, catchall).await;
        assert_eq!(stored["outcome"], "catchall");
        let mail_id = stored["id"].as_str().unwrap().to_owned();
        let operator = login_at(&app, "operator@verbund.demo", "/post").await;
        let html = operator.get("/post").await.text().await.unwrap();
        let assign = format!("/post/eingang/{mail_id}/zuordnen");
        assert!(html.contains(&format!("action=\"{assign}\"")), "{html}");
        let ticket_of = || async {
            inbound_mail::Entity::find()
                .filter(inbound_mail::Column::Id.eq(uuid::Uuid::parse_str(&mail_id).unwrap()))
                .one(&app.db)
                .await
                .unwrap()
                .unwrap()
                .ticket_id
        };
        // Without CSRF, and by a tenant's responder (the catch-all is not theirs to read):
        // refused, unchanged.
        let resp = operator
            .post(&assign, &[("mandant", "stadt-koblenz")])
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let resp = responder
            .post(
                &assign,
                &[("mandant", "stadt-koblenz"), ("csrf", &responder.csrf)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(ticket_of().await.is_none());
        let resp = operator
            .post(
                &assign,
                &[("mandant", "stadt-koblenz"), ("csrf", &operator.csrf)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(ticket_of().await.is_some());
    }

    crate::per_backend!(
        the_mail_desk_shows_the_conversation_safely_and_replies_with_a_text_module,
        outbox_state_and_retry_and_assigning_a_catchall_mail,
    );
}

/// The editor's pages (`/redaktion`): list with status filter, module-by-module editing with
/// lists, publish, archive, versions side by side; isolation, roles, CSRF and bad input.
mod editor {
    use reqwest::StatusCode;
    use serde_json::Value;

    use super::mail_desk_login as login_at;
    use crate::helpers::TestApp;

    async fn service(app: &TestApp, token: &str, id: &str) -> Value {
        app.get(
            token,
            &format!("/api/v1/tenants/stadt-koblenz/services/{id}"),
        )
        .await
        .json()
        .await
        .unwrap()
    }

    async fn the_editor_changes_publishes_and_compares_a_description(app: TestApp) {
        let token = app.token("editor@stadt-koblenz.demo").await;
        let resp = app
            .post(
                &token,
                "/api/v1/tenants/stadt-koblenz/services",
                &serde_json::json!({"leika": "99102013000000", "title": "Personalausweis beantragen",
                    "modules": {"kurztext": "Alter Kurztext", "unterlagen": ["Foto"]}}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let first: Value = resp.json().await.unwrap();
        let first = &first;
        let id = first["id"].as_str().unwrap().to_owned();
        let title = first["title"].as_str().unwrap().to_owned();

        let ui = login_at(&app, "editor@stadt-koblenz.demo", "/redaktion").await;
        let html = ui
            .get("/redaktion?status=draft")
            .await
            .text()
            .await
            .unwrap();
        let api: Value = app
            .get(
                &token,
                "/api/v1/tenants/stadt-koblenz/services?status=draft",
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(html.contains(&title), "{} {api} {html}", first["status"]);
        assert!(html.contains("class=\"leika\""));
        let path = format!("/redaktion/stadt-koblenz/{id}");
        let html = ui.get(&path).await.text().await.unwrap();
        assert!(html.contains("id=\"m-unterlagen\"") && html.contains("id=\"m-formulare\""));
        let before = service(&app, &token, &id).await;
        let version = before["version"].as_i64().unwrap().to_string();

        let form = |csrf: &str, links: &str| {
            vec![
                ("csrf".to_owned(), csrf.to_owned()),
                ("version".to_owned(), version.clone()),
                ("titel".to_owned(), title.clone()),
                (
                    "kurztext".to_owned(),
                    "Neuer Kurztext\nzweite Zeile".to_owned(),
                ),
                (
                    "unterlagen".to_owned(),
                    "Personalausweis\n\nMeldebescheinigung\n".to_owned(),
                ),
                ("formulare".to_owned(), links.to_owned()),
            ]
        };
        let post = |ui: &super::Ui, path: String, form: Vec<(String, String)>| {
            let client = ui.client.clone();
            let url = format!("{}{path}", ui.base);
            let cookie = ui.cookie.clone();
            async move {
                client
                    .post(url)
                    .header(reqwest::header::COOKIE, cookie)
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let good_links = "Antrag | https://example.org/antrag.pdf";
        // Without the CSRF token: 403, unchanged.
        let resp = post(&ui, format!("{path}/speichern"), form("", good_links)).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            service(&app, &token, &id).await["version"],
            before["version"]
        );
        // A form link that is no web address: 422 with the field named, unchanged.
        let resp = post(
            &ui,
            format!("{path}/speichern"),
            form(&ui.csrf, "Böse | javascript:alert(1)"),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(resp.text().await.unwrap().contains("formulare"));
        assert_eq!(
            service(&app, &token, &id).await["version"],
            before["version"]
        );

        let resp = post(&ui, format!("{path}/speichern"), form(&ui.csrf, good_links)).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let after = service(&app, &token, &id).await;
        assert_eq!(after["modules"]["kurztext"], "Neuer Kurztext\nzweite Zeile");
        assert_eq!(
            after["modules"]["unterlagen"],
            serde_json::json!(["Personalausweis", "Meldebescheinigung"])
        );
        assert_eq!(
            after["modules"]["formulare"][0]["url"],
            "https://example.org/antrag.pdf"
        );
        let resp = post(
            &ui,
            format!("{path}/veroeffentlichen"),
            vec![("csrf".into(), ui.csrf.clone())],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let published = service(&app, &token, &id).await;
        assert_eq!(published["status"], "published");

        // Side by side: the new lines marked.
        let v = after["version"].as_i64().unwrap();
        let html = ui
            .get(&format!("{path}/vergleich?von={}&bis={v}", v - 1))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("<ins><span class=\"visually-hidden\">neu: </span>zweite Zeile</ins>"),
            "{html}"
        );
        assert!(html.contains("Meldebescheinigung"));

        // Another tenant's editor: 404, unchanged; an agent and a responder: 403.
        let mainz = login_at(&app, "editor@stadt-mainz.demo", "/redaktion").await;
        assert_eq!(mainz.get(&path).await.status(), StatusCode::NOT_FOUND);
        let resp = post(
            &mainz,
            format!("{path}/archivieren"),
            vec![("csrf".into(), mainz.csrf.clone())],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(service(&app, &token, &id).await["status"], "published");
        let agent = login_at(&app, "agent@sc-koblenz.demo", "/desk").await;
        assert_eq!(
            agent.get("/redaktion").await.status(),
            StatusCode::FORBIDDEN
        );
        let responder = login_at(&app, "responder@stadt-koblenz.demo", "/post").await;
        assert_eq!(responder.get(&path).await.status(), StatusCode::FORBIDDEN);
        let resp = post(
            &responder,
            format!("{path}/archivieren"),
            vec![("csrf".into(), responder.csrf.clone())],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(service(&app, &token, &id).await["status"], "published");

        let resp = post(
            &ui,
            format!("{path}/archivieren"),
            vec![("csrf".into(), ui.csrf.clone())],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(service(&app, &token, &id).await["status"], "archived");
        let html = ui
            .get("/redaktion?status=archived")
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains(&title));
    }

    crate::both_backends!(the_editor_changes_publishes_and_compares_a_description);
}
#[path = "web_live.rs"]
mod live;

#[path = "web_admin.rs"]
mod admin;
