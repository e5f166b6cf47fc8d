//! The administration area of the web UI (issue 14, points 8 and 9): navigation by role, users
//! and roles, the receipt template with its preview, the audit and access logs (and the audit
//! log's API route), the operator's tenants and mail domains, the center report. Each action:
//! status, body and the state left behind; another tenant's admin gets 404, an agent or editor
//! 403, a form without CSRF token 403, bad input the form again with German errors next to the
//! fields; none of them changes anything. Each test on SQLite and PostgreSQL.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{DEMO_PASSWORD, TestApp};

fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie_of(resp: &Response, name: &str) -> Option<String> {
    resp.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let raw = v.to_str().ok()?;
        let (k, rest) = raw.split_once('=')?;
        (k == name).then(|| rest.split(';').next().unwrap_or("").to_owned())
    })
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
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

    async fn html(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        let status = r.status();
        (status, r.text().await.unwrap())
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

    /// Posts with this session's CSRF token added.
    async fn submit(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let mut all = form.to_vec();
        all.push(("csrf", &self.csrf));
        self.post(path, &all).await
    }
}

async fn ui_login(app: &TestApp, email: &str) -> Ui {
    let client = browser();
    let page = client.get(app.url("/")).send().await.unwrap();
    let nonce = cookie_of(&page, "vb_login").expect("login cookie");
    let html = page.text().await.unwrap();
    let resp = client
        .post(app.url("/anmelden"))
        .header(COOKIE, format!("vb_login={nonce}"))
        .form(&[
            ("email", email),
            ("password", DEMO_PASSWORD),
            ("csrf", &csrf_in(&html)),
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
    // Every page of a logged-in user carries the token (the logout form): the start page.
    let start = ui.get("/").await;
    let to = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, html) = ui.html(&to).await;
    ui.csrf = csrf_in(&html);
    ui
}

/// The main navigation's links on a page.
fn nav_of(html: &str) -> Vec<String> {
    let start = html
        .find("aria-label=\"Hauptnavigation\"")
        .expect("main navigation");
    let end = start + html[start..].find("</nav>").unwrap();
    html[start..end]
        .split("<a href=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

async fn navigation_shows_what_each_role_may_use(app: TestApp) {
    let cases: [(&str, &[&str]); 5] = [
        ("agent@sc-koblenz.demo", &["/desk", "/vorgaenge"]),
        ("responder@stadt-koblenz.demo", &["/vorgaenge", "/post"]),
        ("editor@stadt-koblenz.demo", &["/redaktion"]),
        (
            "admin@stadt-koblenz.demo",
            &[
                "/vorgaenge",
                "/post",
                "/redaktion",
                "/verwaltung",
                "/berichte",
            ],
        ),
        ("operator@verbund.demo", &["/berichte", "/betrieb"]),
    ];
    for (email, expected) in cases {
        let ui = ui_login(&app, email).await;
        let (status, html) = ui.html("/vorgaenge").await;
        assert!(
            status == StatusCode::OK || status == StatusCode::FORBIDDEN,
            "{email}: {status}"
        );
        assert_eq!(nav_of(&html), *expected, "{email}");
    }
    // The admin's Verwaltung leads to the one tenant it administers, with the sub-navigation.
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let resp = admin.get("/verwaltung").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()[LOCATION],
        "/verwaltung/stadt-koblenz/benutzer"
    );
    let (status, html) = admin.html("/verwaltung/stadt-koblenz/benutzer").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("aria-label=\"Verwaltung\""));
    for tab in [
        "Benutzer und Rollen",
        "Einstellungen",
        "Eingangsbestätigung",
        "Änderungsprotokoll",
        "Zugriffsprotokoll",
    ] {
        assert!(html.contains(tab), "{tab}");
    }
    // The settings page carries it too.
    let (_, html) = admin.html("/verwaltung/stadt-koblenz/einstellungen").await;
    assert!(html.contains("href=\"/verwaltung/stadt-koblenz/protokoll\""));
    // An agent has nothing to administer: 403, and no Betrieb.
    let agent = ui_login(&app, "agent@sc-koblenz.demo").await;
    assert_eq!(
        agent.get("/verwaltung").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(agent.get("/betrieb").await.status(), StatusCode::FORBIDDEN);
}

async fn users_of(app: &TestApp, tenant: &str) -> Value {
    app.snapshot(&format!("/api/v1/tenants/{tenant}/users"))
        .await
}

fn find<'a>(users: &'a Value, email: &str) -> Option<&'a Value> {
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
}

async fn the_admin_creates_a_user_changes_its_role_and_deactivates_it(app: TestApp) {
    let path = "/verwaltung/stadt-koblenz/benutzer";
    let before = users_of(&app, "stadt-koblenz").await;
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let (status, html) = admin.html(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Benutzer und Rollen: Stadt Koblenz"));
    assert!(html.contains("editor@stadt-koblenz.demo"));
    assert!(
        !html.contains("editor@stadt-mainz.demo"),
        "only the own tenant's accounts"
    );
    let new_user = [
        ("name", "Erika Neu"),
        ("email", "erika.neu@stadt-koblenz.demo"),
        ("passwort", "ein-langes-passwort-2026"),
        ("rolle", "editor"),
    ];

    // Another tenant's admin: 404; an agent and an editor: 403; without CSRF: 403.
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    assert_eq!(mainz.get(path).await.status(), StatusCode::NOT_FOUND);
    let resp = mainz.submit(path, &new_user).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.text().await.unwrap().contains("Nicht gefunden"));
    for email in ["agent@sc-koblenz.demo", "editor@stadt-koblenz.demo"] {
        let other = ui_login(&app, email).await;
        assert_eq!(
            other.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{email}"
        );
        let resp = other.submit(path, &new_user).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{email}");
        assert!(resp.text().await.unwrap().contains("Keine Berechtigung"));
    }
    assert_eq!(
        admin.post(path, &new_user).await.status(),
        StatusCode::FORBIDDEN
    );
    // Bad input: German errors next to the fields, linked, the typed values stay.
    let resp = admin
        .submit(
            path,
            &[
                ("name", " "),
                ("email", "kein-at"),
                ("passwort", "kurz"),
                ("rolle", "kaiser"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    for field in ["name", "email", "passwort", "rolle"] {
        assert!(
            html.contains(&format!("aria-describedby=\"{field}-fehler\"")),
            "{field}"
        );
        assert!(html.contains(&format!("id=\"{field}-fehler\"")), "{field}");
    }
    assert!(html.contains("mindestens 12 Zeichen"));
    assert!(html.contains("value=\"kein-at\""));
    // The domain's own check (an address it refuses) lands next to the field too.
    let resp = admin
        .submit(
            path,
            &[
                ("name", "X"),
                ("email", "a@@b"),
                ("passwort", "ein-langes-passwort-2026"),
                ("rolle", "editor"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("id=\"email-fehler\""));
    assert_eq!(
        users_of(&app, "stadt-koblenz").await,
        before,
        "nothing stored"
    );

    // The admin creates the account: 303 to the list, which shows it.
    let resp = admin.submit(path, &new_user).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], format!("{path}?ok=angelegt"));
    let (_, html) = admin.html(&format!("{path}?ok=angelegt")).await;
    assert!(html.contains("Das Benutzerkonto wurde angelegt."));
    assert!(html.contains("erika.neu@stadt-koblenz.demo"));
    let users = users_of(&app, "stadt-koblenz").await;
    let erika = find(&users, "erika.neu@stadt-koblenz.demo").expect("created");
    assert_eq!(erika["display_name"], "Erika Neu");
    assert_eq!(erika["roles"][0]["role"], "editor");
    assert_eq!(erika["roles"][0]["tenant"], "stadt-koblenz");
    let id = erika["id"].as_str().unwrap().to_owned();
    // The same address again: 409 with the message at the field.
    let resp = admin.submit(path, &new_user).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("gibt es schon"));

    // Role change: others cannot, the admin can.
    let role_path = format!("{path}/{id}/rolle");
    assert_eq!(
        mainz
            .submit(&role_path, &[("rolle", "tenant_admin")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let agent = ui_login(&app, "agent@sc-koblenz.demo").await;
    assert_eq!(
        agent
            .submit(&role_path, &[("rolle", "tenant_admin")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin
            .post(&role_path, &[("rolle", "tenant_admin")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let resp = admin.submit(&role_path, &[("rolle", "kaiser")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Bitte wählen Sie eine der angebotenen Rollen.")
    );
    // A center role outside the admin's tenants: refused, nothing changes.
    let resp = admin
        .submit(&role_path, &[("rolle", "agent@sc-mainz")])
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let users = users_of(&app, "stadt-koblenz").await;
    assert_eq!(
        find(&users, "erika.neu@stadt-koblenz.demo").unwrap()["roles"][0]["role"],
        "editor"
    );

    let resp = admin.submit(&role_path, &[("rolle", "responder")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], format!("{path}?ok=rolle"));
    let users = users_of(&app, "stadt-koblenz").await;
    let erika = find(&users, "erika.neu@stadt-koblenz.demo").unwrap();
    assert_eq!(erika["roles"].as_array().unwrap().len(), 1);
    assert_eq!(erika["roles"][0]["role"], "responder");
    let (_, html) = admin.html(path).await;
    assert!(html.contains("E-Mail-Bearbeitung (stadt-koblenz)"));

    // Deactivate: others cannot; the admin can, and not its own account.
    let status_path = format!("{path}/{id}/status");
    assert_eq!(
        mainz.submit(&status_path, &[("aktiv", "0")]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.post(&status_path, &[("aktiv", "0")]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin
            .submit(&status_path, &[("aktiv", "vielleicht")])
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        find(
            &users_of(&app, "stadt-koblenz").await,
            "erika.neu@stadt-koblenz.demo"
        )
        .unwrap()["active"],
        true
    );
    let resp = admin.submit(&status_path, &[("aktiv", "0")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, html) = admin.html(&format!("{path}?ok=deaktiviert")).await;
    assert!(html.contains("Das Benutzerkonto wurde deaktiviert."));
    assert!(html.contains("deaktiviert</td>"));
    assert_eq!(
        find(
            &users_of(&app, "stadt-koblenz").await,
            "erika.neu@stadt-koblenz.demo"
        )
        .unwrap()["active"],
        false
    );
    // The deactivated account cannot log in.
    assert!(
        !app.login_raw("erika.neu@stadt-koblenz.demo", "ein-langes-passwort-2026")
            .await
            .status()
            .is_success()
    );
    let me = app
        .user_id("stadt-koblenz", "admin@stadt-koblenz.demo")
        .await;
    let resp = admin
        .submit(&format!("{path}/{me}/status"), &[("aktiv", "0")])
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Ihr eigenes Konto können Sie nicht deaktivieren.")
    );
    assert_eq!(
        find(
            &users_of(&app, "stadt-koblenz").await,
            "admin@stadt-koblenz.demo"
        )
        .unwrap()["active"],
        true
    );
    // An unknown or foreign account id: 404.
    let foreign = app.user_id("stadt-mainz", "editor@stadt-mainz.demo").await;
    assert_eq!(
        admin
            .submit(&format!("{path}/{foreign}/status"), &[("aktiv", "0")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .submit(&format!("{path}/kein-konto/status"), &[("aktiv", "0")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        find(
            &users_of(&app, "stadt-mainz").await,
            "editor@stadt-mainz.demo"
        )
        .unwrap()["active"],
        true
    );
}

async fn tenant(app: &TestApp, slug: &str) -> Value {
    app.snapshot(&format!("/api/v1/tenants/{slug}")).await
}

async fn the_admin_edits_the_receipt_with_a_preview(app: TestApp) {
    let path = "/verwaltung/stadt-koblenz/eingangsbestaetigung";
    let before = tenant(&app, "stadt-koblenz").await["settings"].clone();
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let (status, html) = admin.html(path).await;
    assert_eq!(status, StatusCode::OK);
    // The stored text, and its preview with the placeholders filled.
    assert!(html.contains("Eingangsbestätigung: Stadt Koblenz"));
    assert!(
        html.contains(
            "id=\"vorschau-betreff\">Eingangsbestätigung: Frage zum Personalausweis [KO-"
        ),
        "{html}"
    );
    let form = [
        ("betreff", "Ihre Nachricht {nummer} an {behoerde}"),
        ("text", "Guten Tag {name},\nwir antworten bis {frist}."),
        ("signatur", "Mit freundlichen Grüßen\nIhre {behoerde}"),
    ];
    // Preview only: the filled text, nothing stored.
    let mut preview = form.to_vec();
    preview.push(("aktion", "vorschau"));
    let resp = admin.submit(path, &preview).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Ihre Nachricht KO-"), "{html}");
    assert!(html.contains(" an Stadt Koblenz</span>"));
    assert!(html.contains("Guten Tag Erika Mustermann,\nwir antworten bis "));
    assert!(html.contains("Ihre Stadt Koblenz</pre>"));
    assert!(
        html.contains("value=\"Ihre Nachricht {nummer} an {behoerde}\""),
        "the typed text stays"
    );
    assert_eq!(tenant(&app, "stadt-koblenz").await["settings"], before);

    // Others: 404 / 403; no CSRF: 403; bad input: errors at the fields; nothing stored.
    let mut save = form.to_vec();
    save.push(("aktion", "speichern"));
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    assert_eq!(mainz.get(path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        mainz.submit(path, &save).await.status(),
        StatusCode::NOT_FOUND
    );
    for email in ["agent@sc-koblenz.demo", "editor@stadt-koblenz.demo"] {
        let other = ui_login(&app, email).await;
        assert_eq!(
            other.submit(path, &save).await.status(),
            StatusCode::FORBIDDEN,
            "{email}"
        );
    }
    assert_eq!(
        admin.post(path, &save).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = admin
        .submit(
            path,
            &[
                ("betreff", ""),
                ("text", "  "),
                ("signatur", "x"),
                ("aktion", "speichern"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("aria-describedby=\"betreff-fehler\""));
    assert!(html.contains("aria-describedby=\"text-fehler\""));
    assert!(html.contains("Bitte geben Sie den Text ein"));
    assert_eq!(tenant(&app, "stadt-koblenz").await["settings"], before);

    let resp = admin.submit(path, &save).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], format!("{path}?ok=gespeichert"));
    let after = tenant(&app, "stadt-koblenz").await["settings"].clone();
    assert_eq!(
        after["receipt_subject"],
        "Ihre Nachricht {nummer} an {behoerde}"
    );
    assert_eq!(
        after["receipt_body"],
        "Guten Tag {name},\nwir antworten bis {frist}."
    );
    assert_eq!(
        after["reply_signature"],
        "Mit freundlichen Grüßen\nIhre {behoerde}"
    );
    assert_eq!(
        after["at_risk_hours"], before["at_risk_hours"],
        "the rest stays"
    );
    let (_, html) = admin.html(&format!("{path}?ok=gespeichert")).await;
    assert!(html.contains("Gespeichert."));
    assert!(html.contains("id=\"vorschau-betreff\">Ihre Nachricht KO-"));
}

async fn the_audit_log_shows_admin_actions_by_date_and_page(app: TestApp) {
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    // Two admin actions: a new account, then a settings change.
    let resp = admin
        .submit(
            "/verwaltung/stadt-koblenz/benutzer",
            &[
                ("name", "Max Protokoll"),
                ("email", "max.protokoll@stadt-koblenz.demo"),
                ("passwort", "ein-langes-passwort-2026"),
                ("rolle", "editor"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let path = "/verwaltung/stadt-koblenz/protokoll";
    let (status, html) = admin.html(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Änderungsprotokoll: Stadt Koblenz"));
    assert!(html.contains("Benutzerkonto angelegt"));
    assert!(html.contains("Benutzerkonto max.protokoll@stadt-koblenz.demo"));
    assert!(html.contains("admin@stadt-koblenz.demo"), "who did it");
    // Today (Berlin) includes it, a past range does not; dates in both forms.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let (_, html) = admin.html(&format!("{path}?von={today}&bis={today}")).await;
    assert!(html.contains("max.protokoll@stadt-koblenz.demo"));
    let (_, html) = admin
        .html(&format!("{path}?von=01.01.2020&bis=31.12.2020"))
        .await;
    assert!(!html.contains("max.protokoll@stadt-koblenz.demo"));
    assert!(html.contains("Keine Einträge in diesem Zeitraum."));
    // Bad dates: 422 with the message at the field.
    let (status, html) = admin.html(&format!("{path}?von=31.02.2026")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("aria-describedby=\"von-fehler\""));
    assert!(html.contains("„31.02.2026“ ist kein Datum"));
    let (status, html) = admin
        .html(&format!("{path}?von=2026-12-24&bis=2026-12-01"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Das Ende darf nicht vor dem Anfang liegen."));
    // Another tenant's admin, an agent, an editor.
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    assert_eq!(mainz.get(path).await.status(), StatusCode::NOT_FOUND);
    let (_, html) = mainz.html("/verwaltung/stadt-mainz/protokoll").await;
    assert!(
        !html.contains("max.protokoll"),
        "Mainz does not see Koblenz's log"
    );
    for email in ["agent@sc-koblenz.demo", "editor@stadt-koblenz.demo"] {
        let other = ui_login(&app, email).await;
        assert_eq!(
            other.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{email}"
        );
    }

    // The API route: paged, newest first, same rules.
    let token = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .get(&token, "/api/v1/tenants/stadt-koblenz/audit-log?limit=200")
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let all: Value = resp.json().await.unwrap();
    let created = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["action"] == "user.create"
                && e["detail"]["email"] == "max.protokoll@stadt-koblenz.demo"
        })
        .expect("the account creation is logged");
    assert_eq!(created["actor_email"], "admin@stadt-koblenz.demo");
    assert_eq!(created["target_type"], "user");
    assert_eq!(all["more"], false);
    // `detail` is an object as documented, also for actions recorded without one (a
    // login): schemathesis found `null` against the `object` schema.
    let entries = all["entries"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["detail"].is_object()), "{all}");
    let resp = app
        .get(&token, "/api/v1/tenants/stadt-koblenz/audit-log?limit=1")
        .await;
    let page: Value = resp.json().await.unwrap();
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["entries"][0]["id"], all["entries"][0]["id"],
        "newest first"
    );
    assert_eq!(page["more"], true);
    let resp = app
        .get(
            &token,
            "/api/v1/tenants/stadt-koblenz/audit-log?limit=1&page=2",
        )
        .await;
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["entries"][0]["id"], all["entries"][1]["id"]);
    let resp = app
        .get(
            &token,
            "/api/v1/tenants/stadt-koblenz/audit-log?from=2020-01-01&to=2020-12-31",
        )
        .await;
    let past: Value = resp.json().await.unwrap();
    assert_eq!(past["entries"], serde_json::json!([]));
    let resp = app
        .get(&token, "/api/v1/tenants/stadt-koblenz/audit-log?limit=0")
        .await;
    crate::helpers::assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed")
        .await;
    let mainz_token = app.token("admin@stadt-mainz.demo").await;
    let resp = app
        .get(&mainz_token, "/api/v1/tenants/stadt-koblenz/audit-log")
        .await;
    assert!(resp.status() == StatusCode::NOT_FOUND || resp.status() == StatusCode::FORBIDDEN);
    let agent_token = app.token("agent@sc-koblenz.demo").await;
    let resp = app
        .get(&agent_token, "/api/v1/tenants/stadt-koblenz/audit-log")
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // The access log page: the admin sees it (empty in a fresh database), others do not.
    let (status, html) = admin.html("/verwaltung/stadt-koblenz/zugriffe").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Zugriffsprotokoll: Stadt Koblenz"));
    assert_eq!(
        mainz
            .get("/verwaltung/stadt-koblenz/zugriffe")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let agent = ui_login(&app, "agent@sc-koblenz.demo").await;
    assert_eq!(
        agent
            .get("/verwaltung/stadt-koblenz/zugriffe")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

async fn the_operator_creates_a_tenant_and_assigns_a_mail_domain(app: TestApp) {
    let op = ui_login(&app, "operator@verbund.demo").await;
    let (status, html) = op.html("/betrieb").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Betrieb: Mandanten"));
    assert!(html.contains("Stadt Mainz"));
    let before = app.snapshot("/api/v1/tenants").await;
    let form = [
        ("name", "Stadt Bonn"),
        ("kennung", "stadt-bonn"),
        ("ags", "05314000"),
        ("praefix", "BN"),
        ("adresse", "buergerservice@stadt-bonn.demo"),
    ];
    // A tenant admin, an agent: 403; no CSRF: 403; bad input: errors at the fields.
    for email in ["admin@stadt-koblenz.demo", "agent@sc-koblenz.demo"] {
        let other = ui_login(&app, email).await;
        assert_eq!(
            other.get("/betrieb").await.status(),
            StatusCode::FORBIDDEN,
            "{email}"
        );
        assert_eq!(
            other.submit("/betrieb/mandanten", &form).await.status(),
            StatusCode::FORBIDDEN,
            "{email}"
        );
        assert_eq!(
            other.get("/betrieb/mandanten/stadt-mainz").await.status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        op.post("/betrieb/mandanten", &form).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = op
        .submit(
            "/betrieb/mandanten",
            &[
                ("name", ""),
                ("kennung", "Stadt Bonn!"),
                ("ags", "1"),
                ("praefix", "BN"),
                ("adresse", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("aria-describedby=\"name-fehler\""));
    assert!(html.contains("Bitte geben Sie den Namen der Kommune ein."));
    let resp = op
        .submit(
            "/betrieb/mandanten",
            &[
                ("name", "Stadt Bonn"),
                ("kennung", "Stadt Bonn!"),
                ("ags", "05314000"),
                ("praefix", "BN"),
                ("adresse", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("aria-describedby=\"kennung-fehler\"")
    );
    assert_eq!(
        app.snapshot("/api/v1/tenants").await,
        before,
        "nothing stored"
    );

    let resp = op.submit("/betrieb/mandanten", &form).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()[LOCATION],
        "/betrieb/mandanten/stadt-bonn?ok=mandant"
    );
    let (status, html) = op.html("/betrieb/mandanten/stadt-bonn?ok=mandant").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Der Mandant wurde angelegt."));
    assert!(html.contains("buergerservice@stadt-bonn.demo"));
    let bonn = tenant(&app, "stadt-bonn").await;
    assert_eq!(bonn["name"], "Stadt Bonn");
    assert_eq!(bonn["ticket_prefix"], "BN");
    assert_eq!(bonn["mail_domains"], serde_json::json!(["stadt-bonn.demo"]));
    // The same slug again: 409 at the field.
    let resp = op.submit("/betrieb/mandanten", &form).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    // A mail domain: others cannot, bad and taken domains are refused at the field.
    let dpath = "/betrieb/mandanten/stadt-bonn/domains";
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    assert_eq!(
        admin.submit(dpath, &[("domain", "bonn.de")]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        op.post(dpath, &[("domain", "bonn.de")]).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = op.submit(dpath, &[("domain", "kein domain")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("aria-describedby=\"domain-fehler\"")
    );
    let resp = op.submit(dpath, &[("domain", "stadt-bonn.demo")]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Diese Domain ist dem Mandanten schon zugeordnet.")
    );
    assert_eq!(
        tenant(&app, "stadt-bonn").await["mail_domains"],
        serde_json::json!(["stadt-bonn.demo"])
    );
    assert_eq!(
        tenant(&app, "stadt-mainz").await["mail_domains"],
        serde_json::json!(["stadt-mainz.demo"])
    );

    let resp = op.submit(dpath, &[("domain", "bonn.de")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, html) = op.html("/betrieb/mandanten/stadt-bonn?ok=domain").await;
    assert!(html.contains("Die Mail-Domain wurde zugeordnet."));
    assert!(html.contains("bonn.de"));
    assert_eq!(
        tenant(&app, "stadt-bonn").await["mail_domains"],
        serde_json::json!(["bonn.de", "stadt-bonn.demo"])
    );
    // Removing: a domain in use stays (409), a free one goes.
    let resp = op
        .submit(&format!("{dpath}/stadt-bonn.demo/entfernen"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let resp = op.submit(&format!("{dpath}/bonn.de/entfernen"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        tenant(&app, "stadt-bonn").await["mail_domains"],
        serde_json::json!(["stadt-bonn.demo"])
    );
    // The new tenant is in the list.
    let (_, html) = op.html("/betrieb").await;
    assert!(html.contains("href=\"/betrieb/mandanten/stadt-bonn\""));
}

async fn the_center_report_with_chart_table_and_csv(app: TestApp) {
    // One solved contact for Koblenz through the API.
    let agent = app.token("agent@sc-koblenz.demo").await;
    let resp = app
        .post(
            &agent,
            "/api/v1/contacts",
            &serde_json::json!({"tenant": "stadt-koblenz", "channel": "phone", "topic": "Personalausweis", "solved": true, "duration_seconds": 30}),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let (status, html) = admin.html("/berichte").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Je Servicecenter"));
    assert!(html.contains("href=\"/berichte?zentrum=sc-koblenz\""));
    assert!(
        !html.contains("sc-mainz"),
        "only centers all of whose tenants the admin sees"
    );
    let (status, html) = admin
        .html("/berichte?zentrum=sc-koblenz&gruppe=month")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Servicecenter 115 Koblenz"));
    assert!(html.contains("<svg"));
    assert!(html.contains("<caption>"));
    assert!(html.contains("data-label=\"Kontakte\">1</td>"), "{html}");
    assert!(html.contains("zentrum=sc-koblenz&amp;") || html.contains("zentrum=sc-koblenz&"));
    let resp = admin.get("/berichte?zentrum=sc-koblenz&format=csv").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("bericht-sc-koblenz-")
    );
    let csv = resp.text().await.unwrap();
    assert!(csv.lines().count() >= 2, "{csv}");
    // Mainz's admin: the Koblenz center's report is refused; an agent has no reports.
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    assert_eq!(
        mainz.get("/berichte?zentrum=sc-koblenz").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        mainz
            .get("/berichte?zentrum=sc-koblenz&format=csv")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let agent_ui = ui_login(&app, "agent@sc-koblenz.demo").await;
    assert_eq!(
        agent_ui.get("/berichte?zentrum=sc-koblenz").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        mainz.get("/berichte?zentrum=gibt-es-nicht").await.status(),
        StatusCode::NOT_FOUND
    );
    // The operator sees every center.
    let op = ui_login(&app, "operator@verbund.demo").await;
    let (status, html) = op.html("/berichte?zentrum=sc-trier").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Servicecenter 115 Trier"));
}

mod mailbox {
    use super::*;

    fn env(name: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with ./scripts/test, which starts Dovecot and the SMTP server")
    })
    }

    async fn mailboxes_of(app: &TestApp) -> Value {
        app.snapshot("/api/v1/tenants/stadt-koblenz/mailboxes")
            .await
    }

    async fn the_admin_sets_up_a_mailbox_and_tests_the_connection(app: TestApp) {
        let path = "/verwaltung/stadt-koblenz/postfaecher";
        let port = env("VERBUND_TEST_IMAP_PORT");
        let password = env("VERBUND_TEST_MAIL_PASSWORD");
        let user = format!("ui-{}@stadt-koblenz.demo", uuid::Uuid::new_v4().simple());
        let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
        let (status, html) = admin.html(path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Noch kein Postfach eingerichtet."));
        let good = [
            ("name", "Bürgerservice"),
            ("server", "127.0.0.1"),
            ("port", port.as_str()),
            ("sicherheit", "plain"),
            ("benutzer", user.as_str()),
            ("kennwort", password.as_str()),
            ("ordner", "INBOX"),
        ];
        // Others: 404 / 403; no CSRF: 403; bad input at the fields; nothing stored.
        let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
        assert_eq!(mainz.get(path).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            mainz.submit(path, &good).await.status(),
            StatusCode::NOT_FOUND
        );
        for email in ["agent@sc-koblenz.demo", "editor@stadt-koblenz.demo"] {
            let other = ui_login(&app, email).await;
            assert_eq!(
                other.get(path).await.status(),
                StatusCode::FORBIDDEN,
                "{email}"
            );
            assert_eq!(
                other.submit(path, &good).await.status(),
                StatusCode::FORBIDDEN,
                "{email}"
            );
        }
        assert_eq!(
            admin.post(path, &good).await.status(),
            StatusCode::FORBIDDEN
        );
        let resp = admin
            .submit(
                path,
                &[
                    ("name", "X"),
                    ("server", "imap.example.org"),
                    ("port", "143"),
                    ("sicherheit", "plain"),
                    ("benutzer", "x"),
                    ("kennwort", "geheim"),
                    ("ordner", "INBOX"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = resp.text().await.unwrap();
        assert!(html.contains("aria-describedby=\"sicherheit-fehler\""));
        assert!(
            html.contains("Unverschlüsselt ist nur zu einem Server auf diesem Rechner erlaubt.")
        );
        let resp = admin
            .submit(
                path,
                &[
                    ("name", ""),
                    ("server", "127.0.0.1"),
                    ("port", "null"),
                    ("sicherheit", "tls"),
                    ("benutzer", "x"),
                    ("kennwort", ""),
                    ("ordner", "INBOX"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = resp.text().await.unwrap();
        for field in ["name", "port", "kennwort"] {
            assert!(
                html.contains(&format!("aria-describedby=\"{field}-fehler\"")),
                "{field}"
            );
        }
        assert_eq!(mailboxes_of(&app).await, serde_json::json!([]));

        // Created; the password is not shown again.
        let resp = admin.submit(path, &good).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let (_, html) = admin.html(&format!("{path}?ok=postfach")).await;
        assert!(html.contains("Das Postfach wurde angelegt."));
        assert!(html.contains(&user));
        assert!(!html.contains(&password));
        let boxes = mailboxes_of(&app).await;
        let id = boxes[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(boxes[0]["username"], user.as_str());
        // The same mailbox with a wrong password, and one on a port where nothing listens.
        let token = app.token("admin@stadt-koblenz.demo").await;
        let wrong = app
        .post(&token, "/api/v1/tenants/stadt-koblenz/mailboxes", &serde_json::json!({
            "name": "Falsches Passwort", "host": "127.0.0.1", "port": port.parse::<u16>().unwrap(), "security": "plain",
            "username": user, "secret": "falsch-falsch", "enabled": false
        }))
        .await;
        assert_eq!(wrong.status(), StatusCode::CREATED);
        let wrong: Value = wrong.json().await.unwrap();
        let closed = app
            .post(
                &token,
                "/api/v1/tenants/stadt-koblenz/mailboxes",
                &serde_json::json!({
                    "name": "Kein Server", "host": "127.0.0.1", "port": 9, "security": "plain",
                    "username": user, "secret": "egal", "enabled": false
                }),
            )
            .await;
        let closed: Value = closed.json().await.unwrap();
        let before = mailboxes_of(&app).await;

        // "Verbindung testen": success against Dovecot, German errors otherwise.
        let test = |id: &str| format!("{path}/{id}/test");
        let resp = admin.submit(&test(&id), &[]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let html = resp.text().await.unwrap();
        assert!(html.contains("<strong>Verbindung erfolgreich: "), "{html}");
        assert!(html.contains(&format!(
            "Anmeldung als {user} auf 127.0.0.1:{port} und Ordner INBOX geöffnet."
        )));
        let resp = admin
            .submit(&test(wrong["id"].as_str().unwrap()), &[])
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let html = resp.text().await.unwrap();
        assert!(html.contains("Verbindung fehlgeschlagen."));
        assert!(html.contains(
            "Die Anmeldung wurde abgelehnt. Bitte prüfen Sie Benutzername und Passwort."
        ));
        let html = admin
            .submit(&test(closed["id"].as_str().unwrap()), &[])
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("Der Server lehnt die Verbindung ab."));
        // Others cannot test; no CSRF: 403.
        assert_eq!(
            mainz.submit(&test(&id), &[]).await.status(),
            StatusCode::NOT_FOUND
        );
        let agent = ui_login(&app, "agent@sc-koblenz.demo").await;
        assert_eq!(
            agent.submit(&test(&id), &[]).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            admin.post(&test(&id), &[]).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            admin.submit(&test("kein-postfach"), &[]).await.status(),
            StatusCode::NOT_FOUND
        );
        // The API route answers the same.
        let resp = app
            .post(
                &token,
                &format!("/api/v1/tenants/stadt-koblenz/mailboxes/{id}/test"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["ok"], true);
        let resp = app
            .post(
                &token,
                &format!(
                    "/api/v1/tenants/stadt-koblenz/mailboxes/{}/test",
                    wrong["id"].as_str().unwrap()
                ),
                &serde_json::json!({}),
            )
            .await;
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["ok"], false);
        assert_eq!(body["error"], "authentication failed");
        let mainz_token = app.token("admin@stadt-mainz.demo").await;
        let resp = app
            .post(
                &mainz_token,
                &format!("/api/v1/tenants/stadt-koblenz/mailboxes/{id}/test"),
                &serde_json::json!({}),
            )
            .await;
        assert!(
            resp.status() == StatusCode::NOT_FOUND || resp.status() == StatusCode::FORBIDDEN,
            "{}",
            resp.status()
        );
        let agent_token = app.token("agent@sc-koblenz.demo").await;
        let resp = app
            .post(
                &agent_token,
                &format!("/api/v1/tenants/stadt-koblenz/mailboxes/{id}/test"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        // Testing changed nothing (the disabled mailboxes are not polled either).
        let after = mailboxes_of(&app).await;
        for (b, a) in before
            .as_array()
            .unwrap()
            .iter()
            .zip(after.as_array().unwrap())
        {
            if b["enabled"] == false {
                assert_eq!(a, b);
            }
        }
        // Removing: others cannot, the admin can.
        let remove = format!("{path}/{}/entfernen", closed["id"].as_str().unwrap());
        assert_eq!(
            mainz.submit(&remove, &[]).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            admin.post(&remove, &[]).await.status(),
            StatusCode::FORBIDDEN
        );
        let resp = admin.submit(&remove, &[]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(mailboxes_of(&app).await.as_array().unwrap().len(), 2);
    }

    crate::both_backends!(the_admin_sets_up_a_mailbox_and_tests_the_connection);
}

async fn modules_of(app: &TestApp) -> Value {
    app.snapshot("/api/v1/tenants/stadt-koblenz/templates")
        .await
}

async fn the_admin_keeps_text_modules(app: TestApp) {
    let path = "/verwaltung/stadt-koblenz/textbausteine";
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let (status, html) = admin.html(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Textbausteine: Stadt Koblenz"));
    let before = modules_of(&app).await;
    let good = [
        ("name", "Unterlagen Personalausweis"),
        (
            "text",
            "Guten Tag {name},\nbitte bringen Sie ein Passbild mit.",
        ),
    ];
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    assert_eq!(mainz.get(path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        mainz.submit(path, &good).await.status(),
        StatusCode::NOT_FOUND
    );
    for email in ["agent@sc-koblenz.demo", "editor@stadt-koblenz.demo"] {
        let other = ui_login(&app, email).await;
        assert_eq!(
            other.submit(path, &good).await.status(),
            StatusCode::FORBIDDEN,
            "{email}"
        );
    }
    assert_eq!(
        admin.post(path, &good).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = admin.submit(path, &[("name", ""), ("text", " ")]).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("aria-describedby=\"name-fehler\""));
    assert!(html.contains("aria-describedby=\"text-fehler\""));
    assert_eq!(modules_of(&app).await, before);

    let resp = admin.submit(path, &good).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let modules = modules_of(&app).await;
    let m = modules
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Unterlagen Personalausweis")
        .expect("stored");
    assert_eq!(
        m["body"],
        "Guten Tag {name},\nbitte bringen Sie ein Passbild mit."
    );
    let id = m["id"].as_str().unwrap().to_owned();
    // The same name again: 409 at the field.
    let resp = admin.submit(path, &good).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Einen Textbaustein mit diesem Namen gibt es schon.")
    );
    // Editing: the form filled, then saved.
    let (_, html) = admin.html(&format!("{path}?bearbeiten={id}")).await;
    assert!(html.contains("Textbaustein bearbeiten"));
    assert!(html.contains(&format!("action=\"{path}/{id}\"")));
    assert!(html.contains("value=\"Unterlagen Personalausweis\""));
    assert_eq!(
        mainz
            .submit(&format!("{path}/{id}"), &[("name", "X"), ("text", "Y")])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let resp = admin
        .submit(
            &format!("{path}/{id}"),
            &[
                ("name", "Unterlagen Ausweis"),
                ("text", "Bitte ein Passbild."),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let modules = modules_of(&app).await;
    let m = modules
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str())
        .unwrap();
    assert_eq!(m["name"], "Unterlagen Ausweis");
    assert_eq!(m["body"], "Bitte ein Passbild.");
    // Deleting.
    let del = format!("{path}/{id}/loeschen");
    assert_eq!(
        mainz.submit(&del, &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(admin.post(&del, &[]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        modules_of(&app).await.as_array().unwrap().len(),
        before.as_array().unwrap().len() + 1
    );
    assert_eq!(
        admin.submit(&del, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(modules_of(&app).await, before);
}

async fn coverages_of(app: &TestApp) -> Value {
    app.snapshot("/api/v1/tenants/stadt-koblenz/coverages")
        .await
}

async fn the_admin_sets_up_coverage_by_another_center(app: TestApp) {
    let path = "/verwaltung/stadt-koblenz/vertretung";
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let (status, html) = admin.html(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Keine Vertretungen."));
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let last = (today + chrono::Duration::days(2))
        .format("%d.%m.%Y")
        .to_string();
    let far = (today + chrono::Duration::days(60)).to_string();
    let good = [
        ("zentrum", "sc-mainz"),
        ("von", ""),
        ("bis", last.as_str()),
        ("grund", "Rosenmontag"),
    ];
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    assert_eq!(mainz.get(path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        mainz.submit(path, &good).await.status(),
        StatusCode::NOT_FOUND
    );
    for email in ["agent@sc-koblenz.demo", "editor@stadt-koblenz.demo"] {
        let other = ui_login(&app, email).await;
        assert_eq!(
            other.submit(path, &good).await.status(),
            StatusCode::FORBIDDEN,
            "{email}"
        );
    }
    assert_eq!(
        admin.post(path, &good).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = admin
        .submit(
            path,
            &[
                ("zentrum", ""),
                ("von", "gestern"),
                ("bis", ""),
                ("grund", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    for field in ["zentrum", "von", "bis", "grund"] {
        assert!(
            html.contains(&format!("aria-describedby=\"{field}-fehler\"")),
            "{field}"
        );
    }
    let resp = admin
        .submit(
            path,
            &[
                ("zentrum", "sc-gibt-es-nicht"),
                ("von", ""),
                ("bis", last.as_str()),
                ("grund", "Test"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Dieses Servicecenter gibt es nicht")
    );
    let resp = admin
        .submit(
            path,
            &[
                ("zentrum", "sc-mainz"),
                ("von", ""),
                ("bis", far.as_str()),
                ("grund", "Test"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("höchstens 31 Tage"));
    assert_eq!(coverages_of(&app).await, serde_json::json!([]));

    let resp = admin.submit(path, &good).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let list = coverages_of(&app).await;
    assert_eq!(list[0]["center"], "sc-mainz");
    assert_eq!(list[0]["reason"], "Rosenmontag");
    assert_eq!(list[0]["active"], true);
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let (_, html) = admin.html(&format!("{path}?ok=vertretung")).await;
    assert!(html.contains("Die Vertretung wurde eingerichtet."));
    assert!(html.contains("gilt jetzt"));
    assert!(
        html.contains(&format!("{last}, 00:00 Uhr"))
            || html.contains(&format!(
                "{}, 00:00 Uhr",
                (today + chrono::Duration::days(3)).format("%d.%m.%Y")
            ))
    );
    // Ending it: others cannot.
    let end = format!("{path}/{id}/beenden");
    assert_eq!(
        mainz.submit(&end, &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(admin.post(&end, &[]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(coverages_of(&app).await[0]["revoked_at"], Value::Null);
    assert_eq!(
        admin.submit(&end, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_ne!(coverages_of(&app).await[0]["revoked_at"], Value::Null);
    // Twice: 409, nothing more changes.
    assert_eq!(admin.submit(&end, &[]).await.status(), StatusCode::CONFLICT);
    // The audit log has the end, recorded without detail: `detail` is `{}` as documented,
    // not `null` (schemathesis found `null` against the `object` schema).
    let token = app.token("admin@stadt-koblenz.demo").await;
    let log: Value = app
        .get(&token, "/api/v1/tenants/stadt-koblenz/audit-log?limit=200")
        .await
        .json()
        .await
        .unwrap();
    let revoked = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "coverage.revoke")
        .expect("the end of the coverage is logged");
    assert_eq!(revoked["detail"], json!({}), "{log}");
}

async fn the_admin_changes_service_hours(app: TestApp) {
    let path = "/verwaltung/stadt-koblenz/einstellungen";
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let (status, html) = admin.html(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Servicezeiten"));
    assert!(
        html.contains(
            "id=\"stunden_mon\" name=\"stunden_mon\" type=\"text\" value=\"08:00-18:00\""
        ),
        "{html}"
    );
    let before = tenant(&app, "stadt-koblenz").await["settings"].clone();
    let form = |mon: &'static str, sat: &'static str| {
        vec![
            ("gefaehrdet_stunden", "3"),
            ("anonymisieren_tage", "30"),
            ("schliesstage", ""),
            ("stunden", "1"),
            ("stunden_mon", mon),
            ("stunden_tue", "08:00-18:00"),
            ("stunden_wed", "08:00-18:00"),
            ("stunden_thu", "08:00-18:00"),
            ("stunden_fri", "08:00-18:00"),
            ("stunden_sat", sat),
            ("stunden_sun", ""),
        ]
    };
    // Others cannot; bad input: the error next to the day, nothing stored.
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    assert_eq!(
        mainz.submit(path, &form("07:00-12:00", "")).await.status(),
        StatusCode::NOT_FOUND
    );
    let editor = ui_login(&app, "editor@stadt-koblenz.demo").await;
    assert_eq!(
        editor.submit(path, &form("07:00-12:00", "")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.post(path, &form("07:00-12:00", "")).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = admin.submit(path, &form("morgens", "12:00-09:00")).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("aria-describedby=\"stunden_mon-fehler\""));
    assert!(html.contains("„morgens“ ist keine Zeitspanne."));
    assert!(html.contains("aria-describedby=\"stunden_sat-fehler\""));
    assert!(html.contains("muss das Ende nach dem Anfang liegen"));
    let closed: Vec<(&str, &str)> = form("", "")
        .into_iter()
        .map(|(k, v)| {
            if k.starts_with("stunden_") {
                (k, "")
            } else {
                (k, v)
            }
        })
        .collect();
    let resp = admin.submit(path, &closed).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("nicht an allen Tagen leer")
    );
    assert_eq!(tenant(&app, "stadt-koblenz").await["settings"], before);

    let resp = admin
        .submit(path, &form("07:30-12:00, 13:00-18:00", "09:00-12:00"))
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let after = tenant(&app, "stadt-koblenz").await["settings"].clone();
    assert_eq!(
        after["service_hours"]["mon"],
        serde_json::json!([{"start": "07:30", "end": "12:00"}, {"start": "13:00", "end": "18:00"}])
    );
    assert_eq!(
        after["service_hours"]["sat"],
        serde_json::json!([{"start": "09:00", "end": "12:00"}])
    );
    assert_eq!(after["service_hours"]["sun"], serde_json::json!([]));
    let (_, html) = admin.html(path).await;
    assert!(html.contains("value=\"07:30-12:00, 13:00-18:00\""));
}

async fn the_operator_keeps_centers_and_base_texts(app: TestApp) {
    let op = ui_login(&app, "operator@verbund.demo").await;
    let (status, html) = op.html("/betrieb/zentren").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Servicecenter 115 Trier"));
    assert!(html.contains("id=\"m-sc-trier-kreis-trier-saarburg\" name=\"mandant_kreis-trier-saarburg\" value=\"1\" checked"));
    let centers_before = app.snapshot("/api/v1/centers").await;
    // A tenant admin and an agent cannot; no CSRF: 403.
    let new_center = [
        ("name", "Servicecenter 115 Bonn"),
        ("kennung", "sc-bonn"),
        ("mandant_stadt-mainz", "1"),
    ];
    for email in ["admin@stadt-koblenz.demo", "agent@sc-koblenz.demo"] {
        let other = ui_login(&app, email).await;
        assert_eq!(
            other.get("/betrieb/zentren").await.status(),
            StatusCode::FORBIDDEN,
            "{email}"
        );
        assert_eq!(
            other.submit("/betrieb/zentren", &new_center).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            other
                .submit(
                    "/betrieb/zentren/sc-koblenz/mandanten",
                    &[("mandant_stadt-mainz", "1")]
                )
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            other.get("/betrieb/stammtexte").await.status(),
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        op.post("/betrieb/zentren", &new_center).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = op
        .submit("/betrieb/zentren", &[("name", ""), ("kennung", "")])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("aria-describedby=\"name-fehler\""));
    assert!(html.contains("aria-describedby=\"kennung-fehler\""));
    let resp = op
        .submit(
            "/betrieb/zentren",
            &[("name", "X"), ("kennung", "SC Bonn!")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("id=\"kennung-fehler\""));
    assert_eq!(app.snapshot("/api/v1/centers").await, centers_before);

    let resp = op.submit("/betrieb/zentren", &new_center).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let bonn = app.snapshot("/api/v1/centers/sc-bonn").await;
    assert_eq!(bonn["name"], "Servicecenter 115 Bonn");
    assert_eq!(bonn["tenants"][0]["slug"], "stadt-mainz");
    // Which tenants it serves: replaced by the ticked boxes.
    let resp = op
        .submit(
            "/betrieb/zentren/sc-bonn/mandanten",
            &[("mandant_stadt-koblenz", "1"), ("mandant_stadt-mainz", "1")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let bonn = app.snapshot("/api/v1/centers/sc-bonn").await;
    let served: Vec<&str> = bonn["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(served, ["stadt-koblenz", "stadt-mainz"]);
    assert_eq!(
        op.submit("/betrieb/zentren/sc-gibt-es-nicht/mandanten", &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // The base-text catalogue.
    let (status, html) = op.html("/betrieb/stammtexte").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Stammtext-Katalog"));
    let before = app.snapshot("/api/v1/catalog/services").await;
    let good = [
        ("leika", "99999999999901"),
        ("titel", "Hundesteuer anmelden"),
        ("ebene", "land"),
        ("kurztext", "Wer einen Hund hält, meldet ihn an."),
        ("volltext", ""),
    ];
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    assert_eq!(
        admin.submit("/betrieb/stammtexte", &good).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        op.post("/betrieb/stammtexte", &good).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = op
        .submit(
            "/betrieb/stammtexte",
            &[
                ("leika", "12345"),
                ("titel", "X"),
                ("ebene", "land"),
                ("kurztext", ""),
                ("volltext", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("aria-describedby=\"leika-fehler\"")
    );
    let resp = op
        .submit(
            "/betrieb/stammtexte",
            &[
                ("leika", ""),
                ("titel", ""),
                ("ebene", "kreis"),
                ("kurztext", ""),
                ("volltext", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    for field in ["leika", "titel", "ebene"] {
        assert!(
            html.contains(&format!("aria-describedby=\"{field}-fehler\"")),
            "{field}"
        );
    }
    assert_eq!(app.snapshot("/api/v1/catalog/services").await, before);
    let resp = op.submit("/betrieb/stammtexte", &good).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let all = app.snapshot("/api/v1/catalog/services").await;
    let b = all
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["leika"] == "99999999999901")
        .expect("stored")
        .clone();
    assert_eq!(b["title"], "Hundesteuer anmelden");
    assert_eq!(b["level"], "land");
    assert_eq!(
        b["modules"]["kurztext"],
        "Wer einen Hund hält, meldet ihn an."
    );
    let id = b["id"].as_str().unwrap().to_owned();
    let rev = b["revision"].as_i64().unwrap().to_string();
    // Editing: a stale revision is refused with the typed text kept; the current one saves.
    let (_, html) = op
        .html(&format!("/betrieb/stammtexte?bearbeiten={id}"))
        .await;
    assert!(html.contains("Stammtext bearbeiten"));
    assert!(html.contains(&format!("name=\"revision\" value=\"{rev}\"")));
    let edit = |r: &str| {
        vec![
            ("leika", "99999999999901".to_owned()),
            ("titel", "Hundesteuer: Anmeldung".to_owned()),
            ("ebene", "land".to_owned()),
            ("kurztext", "Neu.".to_owned()),
            ("volltext", "Lang.".to_owned()),
            ("revision", r.to_owned()),
        ]
    };
    let stale: Vec<(&str, String)> = edit("0");
    let stale: Vec<(&str, &str)> = stale.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = op
        .submit(&format!("/betrieb/stammtexte/{id}"), &stale)
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let html = resp.text().await.unwrap();
    assert!(html.contains("inzwischen geändert"));
    assert!(html.contains("value=\"Hundesteuer: Anmeldung\""));
    let fresh: Vec<(&str, String)> = edit(&rev);
    let fresh: Vec<(&str, &str)> = fresh.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        admin
            .submit(&format!("/betrieb/stammtexte/{id}"), &fresh)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let resp = op
        .submit(&format!("/betrieb/stammtexte/{id}"), &fresh)
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let b = app
        .snapshot(&format!("/api/v1/catalog/services/{id}"))
        .await;
    assert_eq!(b["title"], "Hundesteuer: Anmeldung");
    assert_eq!(b["modules"]["kurztext"], "Neu.");
    assert_eq!(b["modules"]["volltext"], "Lang.");
    assert_eq!(
        b["revision"].as_i64().unwrap(),
        rev.parse::<i64>().unwrap() + 1
    );
}

async fn the_access_log_by_date_and_page(app: TestApp) {
    // A Koblenz ticket with a citizen, read once by the agent.
    let agent = app.token("agent@sc-koblenz.demo").await;
    let resp = app
        .post(&agent, "/api/v1/contacts", &serde_json::json!({
            "tenant": "stadt-koblenz", "channel": "phone", "solved": false, "duration_seconds": 60,
            "ticket": {"subject": "Personalausweis", "question": "Welche Unterlagen?",
                "citizen": {"name": "Erika Mustermann", "phone": "+49 261 123456"},
                "answer_channel": "callback"}
        }))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
    let body: Value = resp.json().await.unwrap();
    let number = body["ticket"]["number"]
        .as_str()
        .expect("ticket number")
        .to_owned();
    assert_eq!(
        app.get(&agent, &format!("/api/v1/tickets/{number}"))
            .await
            .status(),
        StatusCode::OK
    );

    let path = "/verwaltung/stadt-koblenz/zugriffe";
    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let (status, html) = admin.html(path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("persönliche Daten angesehen"), "{html}");
    assert!(html.contains(&format!("Vorgang {number}")));
    assert!(html.contains("agent@sc-koblenz.demo"));
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let (_, html) = admin
        .html(&format!("{path}?von={today}&bis={today}&vorgang={number}"))
        .await;
    assert!(html.contains(&format!("Vorgang {number}")));
    let (_, html) = admin
        .html(&format!("{path}?von=2020-01-01&bis=2020-12-31"))
        .await;
    assert!(!html.contains(&format!("Vorgang {number}")));
    assert!(html.contains("Keine Einträge in diesem Zeitraum."));
    let (status, html) = admin.html(&format!("{path}?bis=kein-datum")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("aria-describedby=\"bis-fehler\""));
    let (_, html) = admin.html(&format!("{path}?seite=2")).await;
    assert!(
        html.contains("Keine Einträge"),
        "one entry: page 2 is empty"
    );
    // The API takes the same window and page.
    let token = app.token("admin@stadt-koblenz.demo").await;
    let all: Value = app
        .get(&token, "/api/v1/tenants/stadt-koblenz/access-log")
        .await
        .json()
        .await
        .unwrap();
    assert!(!all.as_array().unwrap().is_empty());
    let past: Value = app
        .get(
            &token,
            "/api/v1/tenants/stadt-koblenz/access-log?from=2020-01-01&to=2020-12-31",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(past, serde_json::json!([]));
    let resp = app
        .get(
            &token,
            "/api/v1/tenants/stadt-koblenz/access-log?from=2026-12-24&to=2026-12-01",
        )
        .await;
    crate::helpers::assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed")
        .await;
    let paged: Value = app
        .get(
            &token,
            &format!(
                "/api/v1/tenants/stadt-koblenz/access-log?limit=1&page={}",
                all.as_array().unwrap().len() + 1
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paged, serde_json::json!([]));
    // Others do not see it.
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    let (_, html) = mainz.html("/verwaltung/stadt-mainz/zugriffe").await;
    assert!(!html.contains(&number));
    let editor = ui_login(&app, "editor@stadt-koblenz.demo").await;
    assert_eq!(editor.get(path).await.status(), StatusCode::FORBIDDEN);
}

crate::both_backends!(
    navigation_shows_what_each_role_may_use,
    the_access_log_by_date_and_page,
    the_operator_keeps_centers_and_base_texts,
    the_admin_changes_service_hours,
    the_admin_keeps_text_modules,
    the_admin_sets_up_coverage_by_another_center,
    the_admin_creates_a_user_changes_its_role_and_deactivates_it,
    the_admin_edits_the_receipt_with_a_preview,
    the_audit_log_shows_admin_actions_by_date_and_page,
    the_operator_creates_a_tenant_and_assigns_a_mail_domain,
    the_center_report_with_chart_table_and_csv,
);
