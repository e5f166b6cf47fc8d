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

#[path = "web_live.rs"]
mod live;

#[path = "web_admin.rs"]
mod admin;
