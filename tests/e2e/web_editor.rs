//! The editor's web pages over HTTP (issue 14, point 7): every FIM module incl. Kosten and
//! Suchbegriffe with list rows and errors beside the fields; adopting and reviewing a base
//! text; offices with hours, closing and special days; import by upload and export by
//! download. Each action with its status, its body and the state left behind (read through
//! the API), and the negative cases: another tenant's editor (404), an agent (403), no CSRF
//! token (403), bad input (the form again with German errors). SQLite and PostgreSQL.

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
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
        let (pair, _) = raw.split_once(';').unwrap_or((raw, ""));
        let (k, val) = pair.split_once('=')?;
        (k == name).then(|| val.to_owned())
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

type Pairs = Vec<(String, String)>;

fn pairs(p: &[(&str, &str)]) -> Pairs {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
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

    /// Posts a form with this session's CSRF token (first).
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let mut all = pairs(&[("csrf", &self.csrf)]);
        all.extend(pairs(form));
        self.post_raw(path, all).await
    }

    async fn post_raw(&self, path: &str, form: Pairs) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// A multipart upload as a browser sends it (fields in this order).
    async fn upload(&self, path: &str, csrf: &str, file_name: &str, body: &[u8]) -> Response {
        let boundary = "----verbundtestgrenze7MA4YWxk";
        let mut data = Vec::new();
        for (name, value) in [("csrf", csrf), ("format", "")] {
            data.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        data.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"datei\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        data.extend_from_slice(body);
        data.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(data)
            .send()
            .await
            .unwrap()
    }
}

async fn login(app: &TestApp, email: &str) -> Ui {
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
        client: browser(),
        base: app.base.clone(),
        cookie: format!("vb_session={token}"),
        csrf: String::new(),
    };
    // Every page of a session carries its token (the logout form), a 403 page too.
    let html = ui.get("/redaktion").await.text().await.unwrap();
    ui.csrf = csrf_in(&html);
    ui
}

const KOBLENZ: &str = "/api/v1/tenants/stadt-koblenz";

async fn api(app: &TestApp, token: &str, path: &str) -> Value {
    let resp = app.get(token, path).await;
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.json().await.unwrap()
}

async fn new_service(app: &TestApp, token: &str, title: &str) -> (String, Value) {
    let resp = app
        .post(
            token,
            &format!("{KOBLENZ}/services"),
            &json!({"title": title, "modules": {"kurztext": "Kurz", "unterlagen": ["Foto"]}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let v: Value = resp.json().await.unwrap();
    (v["id"].as_str().unwrap().to_owned(), v)
}

async fn count(app: &TestApp, token: &str) -> usize {
    api(app, token, &format!("{KOBLENZ}/services?limit=500")).await["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn offices(app: &TestApp, token: &str) -> Vec<Value> {
    api(app, token, &format!("{KOBLENZ}/org-units"))
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// The text of the `field-error` paragraph of input `id`, checking that the input points at
/// it with `aria-describedby` and is marked invalid.
fn field_error(html: &str, id: &str) -> String {
    let input_at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no input {id}"));
    let tag = &html[input_at..input_at + html[input_at..].find('>').unwrap()];
    assert!(
        tag.contains(&format!("{id}-fehler")) && tag.contains("aria-invalid=\"true\""),
        "{id} does not point at its error: {tag}"
    );
    let at = html
        .find(&format!("class=\"field-error\" id=\"{id}-fehler\">"))
        .unwrap_or_else(|| panic!("no error beside {id}"));
    let rest = &html[at..];
    rest[rest.find('>').unwrap() + 1..rest.find("</p>").unwrap()].to_owned()
}

async fn the_editor_edits_every_module_with_costs_synonyms_and_list_rows(app: TestApp) {
    let token = app.token("editor@stadt-koblenz.demo").await;
    let (id, first) = new_service(&app, &token, "Hundesteuer anmelden").await;
    let path = format!("/redaktion/stadt-koblenz/{id}");
    let ui = login(&app, "editor@stadt-koblenz.demo").await;

    let html = ui.get(&path).await.text().await.unwrap();
    for needle in [
        "id=\"suchbegriffe\"",
        "id=\"kosten-text\"",
        "id=\"kosten-betrag-0\"",
        "id=\"unterlagen-0\"",
        "id=\"unterlagen-1\"",
        "id=\"formular-url-0\"",
        "id=\"m-online_dienst\"",
        "id=\"m-zustaendige_stelle\"",
        "id=\"m-ansprechpunkt\"",
        ">Weitere Unterlage</button>",
    ] {
        assert!(html.contains(needle), "edit page lacks {needle}");
    }
    let version = first["version"].as_i64().unwrap().to_string();

    // A row button shows the form again with one more row and stores nothing.
    let resp = ui
        .post(
            &format!("{path}/speichern"),
            &[
                ("version", &version),
                ("titel", "Hundesteuer anmelden"),
                ("unterlagen", "Foto"),
                ("unterlagen", "Nachweis"),
                ("zeile", "unterlagen"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"unterlagen-2\"") && html.contains("value=\"Nachweis\""));
    assert!(html.contains("Noch nicht gespeichert"));
    let after = api(&app, &token, &format!("{KOBLENZ}/services/{id}")).await;
    assert_eq!(after["version"], first["version"]);

    let full = |amount: &'static str, url: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("titel", "Hundesteuer anmelden"),
            ("suchbegriffe", "Hund\nHundemarke\nhund"),
            ("kurztext", "Melden Sie Ihren Hund an."),
            (
                "kosten_text",
                "Die Steuer richtet sich nach der Zahl der Hunde.",
            ),
            ("kosten_bezeichnung", "erster Hund"),
            ("kosten_betrag", amount),
            ("kosten_bezeichnung", ""),
            ("kosten_betrag", ""),
            ("unterlagen", "Foto"),
            ("unterlagen", ""),
            ("unterlagen", "Nachweis der Haftpflicht"),
            ("formular_titel", "Anmeldung"),
            ("formular_url", url),
            ("online_dienst", "https://example.org/online"),
        ]
    };
    let with_version = |form: Vec<(&'static str, &'static str)>| {
        let mut p = pairs(&[("csrf", &ui.csrf), ("version", &version)]);
        p.extend(pairs(&form));
        p
    };

    // Bad amount: the form again, the German error beside the amount, nothing stored.
    let resp = ui
        .post_raw(
            &format!("{path}/speichern"),
            with_version(full("viel", "https://example.org/a.pdf")),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(field_error(&html, "kosten-betrag-0").contains("Betrag in Euro"));
    assert!(html.contains("Nichts wurde gespeichert"));
    assert!(
        html.contains("value=\"Nachweis der Haftpflicht\""),
        "typed rows kept"
    );
    // Bad form address (found by the domain): beside the address of its row.
    let resp = ui
        .post_raw(
            &format!("{path}/speichern"),
            with_version(full("37,00", "javascript:alert(1)")),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(field_error(&html, "formular-url-0").contains("keine gültige Adresse"));
    // Empty title: beside the title.
    let mut empty_title = with_version(full("37,00", "https://example.org/a.pdf"));
    empty_title.retain(|(k, _)| k != "titel");
    empty_title.push(("titel".into(), "  ".into()));
    let resp = ui.post_raw(&format!("{path}/speichern"), empty_title).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&resp.text().await.unwrap(), "titel").contains("darf nicht leer sein"));
    let unchanged = api(&app, &token, &format!("{KOBLENZ}/services/{id}")).await;
    assert_eq!(unchanged["version"], first["version"]);
    assert_eq!(unchanged["modules"], first["modules"]);

    // Without the CSRF token: 403, nothing stored.
    let mut no_csrf = with_version(full("37,00", "https://example.org/a.pdf"));
    no_csrf.retain(|(k, _)| k != "csrf");
    let resp = ui.post_raw(&format!("{path}/speichern"), no_csrf).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Another tenant's editor: 404; an agent: 403. Nothing stored.
    let mainz = login(&app, "editor@stadt-mainz.demo").await;
    let mut theirs = with_version(full("37,00", "https://example.org/a.pdf"));
    theirs[0].1 = mainz.csrf.clone();
    let resp = mainz
        .post_raw(&format!("{path}/speichern"), theirs.clone())
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(mainz.get(&path).await.status(), StatusCode::NOT_FOUND);
    let agent = login(&app, "agent@sc-koblenz.demo").await;
    theirs[0].1 = agent.csrf.clone();
    let resp = agent.post_raw(&format!("{path}/speichern"), theirs).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let unchanged = api(&app, &token, &format!("{KOBLENZ}/services/{id}")).await;
    assert_eq!(unchanged["version"], first["version"]);

    // The good form: stored through the domain, every module as typed.
    let resp = ui
        .post_raw(
            &format!("{path}/speichern"),
            with_version(full("37,00", "https://example.org/a.pdf")),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let saved = api(&app, &token, &format!("{KOBLENZ}/services/{id}")).await;
    assert_eq!(saved["version"], first["version"].as_i64().unwrap() + 1);
    assert_eq!(saved["synonyms"], json!(["Hund", "Hundemarke"]));
    assert_eq!(
        saved["modules"]["kosten"],
        json!({"text": "Die Steuer richtet sich nach der Zahl der Hunde.",
               "amounts": [{"label": "erster Hund", "eur_cents": 3700}]})
    );
    assert_eq!(
        saved["modules"]["unterlagen"],
        json!(["Foto", "Nachweis der Haftpflicht"])
    );
    assert_eq!(
        saved["modules"]["formulare"],
        json!([{"title": "Anmeldung", "url": "https://example.org/a.pdf"}])
    );
    assert_eq!(
        saved["modules"]["online_dienst"],
        "https://example.org/online"
    );
    let html = ui.get(&path).await.text().await.unwrap();
    assert!(
        html.contains("value=\"37,00\""),
        "the amount in German form"
    );
    assert!(html.contains("Hundemarke"));

    // Removing a row removes that entry once saved.
    let v = saved["version"].as_i64().unwrap().to_string();
    let resp = ui
        .post(
            &format!("{path}/speichern"),
            &[
                ("version", &v),
                ("titel", "Hundesteuer anmelden"),
                ("unterlagen", "Foto"),
                ("unterlagen", "Nachweis der Haftpflicht"),
                ("entfernen", "unterlagen:0"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(!html.contains("value=\"Foto\""));
    let resp = ui
        .post(
            &format!("{path}/speichern"),
            &[
                ("version", &v),
                ("titel", "Hundesteuer anmelden"),
                ("unterlagen", "Nachweis der Haftpflicht"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let saved = api(&app, &token, &format!("{KOBLENZ}/services/{id}")).await;
    assert_eq!(
        saved["modules"]["unterlagen"],
        json!(["Nachweis der Haftpflicht"])
    );
}

async fn a_base_text_is_adopted_and_its_change_reviewed(app: TestApp) {
    let operator = app.token("operator@verbund.demo").await;
    let resp = app
        .post(
            &operator,
            "/api/v1/catalog/services",
            &json!({"leika": "99050012104000", "level": "land", "title": "Fischereischein erteilen",
                    "modules": {"kurztext": "Den Fischereischein erhalten Sie nach der Prüfung."}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let base: Value = resp.json().await.unwrap();
    let base_id = base["id"].as_str().unwrap().to_owned();
    let token = app.token("editor@stadt-koblenz.demo").await;
    let before = count(&app, &token).await;

    let ui = login(&app, "editor@stadt-koblenz.demo").await;
    let html = ui
        .get("/redaktion/stadt-koblenz/stammtexte")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Fischereischein erteilen") && html.contains("Stammtext übernehmen"));

    // Negative first: no token, another tenant's editor, an agent, an unknown base text.
    let adopt = format!("/redaktion/stadt-koblenz/stammtexte/{base_id}");
    let resp = ui.post_raw(&adopt, Vec::new()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let mainz = login(&app, "editor@stadt-mainz.demo").await;
    assert_eq!(
        mainz.post(&adopt, &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        mainz
            .get("/redaktion/stadt-koblenz/stammtexte")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let agent = login(&app, "agent@sc-koblenz.demo").await;
    assert_eq!(
        agent.post(&adopt, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let resp = ui
        .post(
            &format!(
                "/redaktion/stadt-koblenz/stammtexte/{}",
                uuid::Uuid::new_v4()
            ),
            &[],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(count(&app, &token).await, before);

    // Adopted: a new draft with the base text, opened for editing.
    let resp = ui.post(&adopt, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    let id = location
        .trim_start_matches("/redaktion/stadt-koblenz/")
        .trim_end_matches("?ok=1")
        .to_owned();
    assert_eq!(count(&app, &token).await, before + 1);
    let sv = api(&app, &token, &format!("{KOBLENZ}/services/{id}")).await;
    assert_eq!(sv["base"]["id"], base_id.as_str());
    assert_eq!(sv["title"], "Fischereischein erteilen");
    assert_eq!(sv["status"], "draft");
    assert_eq!(sv["base_changed"], false);
    // The edit form shows the base text's module where the description has none.
    let html = ui
        .get(&format!("/redaktion/stadt-koblenz/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("aria-describedby=\"m-kurztext-stamm\""));
    assert!(html.contains(
        "id=\"m-kurztext-stamm\">Aus dem Stammtext (gilt, solange Sie hier nichts eintragen): Den Fischereischein erhalten Sie nach der Prüfung.</p>"
    ));

    // The operator changes the base text: the description shows "Stammtext geändert".
    let resp = app
        .patch(
            &operator,
            &format!("/api/v1/catalog/services/{base_id}"),
            &json!({"revision": base["revision"], "modules": {"kurztext": "Den Fischereischein erhalten Sie nach der Fischerprüfung.\nNeu: auch online."}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let sv = api(&app, &token, &format!("{KOBLENZ}/services/{id}")).await;
    assert_eq!(sv["base_changed"], true);
    let edit = format!("/redaktion/stadt-koblenz/{id}");
    let html = ui.get(&edit).await.text().await.unwrap();
    assert!(html.contains("Stammtext geändert"));
    let html = ui
        .get(&format!("{edit}/stammtext-pruefen"))
        .await
        .text()
        .await
        .unwrap();
    // What changed since the confirmed revision: the old line struck out, the new ones
    // marked, the revisions named.
    assert!(html.contains("zuletzt geprüft: Stand 1"), "{html}");
    assert!(html.contains(
        "<del><span class=\"visually-hidden\">alt: </span>Den Fischereischein erhalten Sie nach der Prüfung.</del>"
    ));
    assert!(
        html.contains("<ins><span class=\"visually-hidden\">neu: </span>Neu: auch online.</ins>")
    );
    assert!(
        !html.contains("<h2>Leistungsbezeichnung"),
        "the title did not change"
    );
    // Another tenant's editor cannot see or confirm it.
    assert_eq!(
        mainz
            .get(&format!("{edit}/stammtext-pruefen"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        mainz.post(&format!("{edit}/stammtext"), &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api(&app, &token, &format!("{KOBLENZ}/services/{id}")).await["base_changed"],
        true
    );
    let resp = ui.post(&format!("{edit}/stammtext"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        api(&app, &token, &format!("{KOBLENZ}/services/{id}")).await["base_changed"],
        false
    );
    let html = ui
        .get(&format!("{edit}/stammtext-pruefen"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("bereits geprüft") && html.contains("Keine Unterschiede"));
    // A description without a base text has nothing to review: 409, nothing changed.
    let (own, _) = new_service(&app, &token, "Eigene Leistung").await;
    let resp = ui
        .get(&format!("/redaktion/stadt-koblenz/{own}/stammtext-pruefen"))
        .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
}

async fn offices_are_created_and_edited_with_hours_closing_and_special_days(app: TestApp) {
    let token = app.token("editor@stadt-koblenz.demo").await;
    let before = offices(&app, &token).await.len();
    let ui = login(&app, "editor@stadt-koblenz.demo").await;
    let html = ui
        .get("/redaktion/stadt-koblenz/stellen")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Neue Stelle anlegen"));
    assert_eq!(
        ui.get("/redaktion/stadt-koblenz/stellen/neu")
            .await
            .status(),
        StatusCode::OK
    );
    let form = |hours: &'static str, plz: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("name", "Bürgerbüro Lützel"),
            ("strasse", "Brenderweg"),
            ("hausnummer", "12"),
            ("plz", plz),
            ("ort", "Koblenz"),
            ("telefon", "0261 129-0"),
            ("email", "buergerbuero@example.org"),
            ("mo", hours),
            ("di", "08:00–12:00"),
            ("schliesstage", "24.12.2026\n2026-12-31"),
            ("sondertag_datum", "16.02.2026"),
            ("sondertag_zeiten", "08:00-11:00"),
            ("sondertag_hinweis", "Rosenmontag: nur vormittags"),
            ("sondertag_datum", ""),
            ("sondertag_zeiten", ""),
            ("sondertag_hinweis", ""),
        ]
    };
    // Bad hours and a bad postal code: German errors beside the fields, nothing stored.
    let resp = ui
        .post(
            "/redaktion/stadt-koblenz/stellen",
            &form("morgens", "56070"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(field_error(&html, "tag-mo").contains("Montag"));
    assert!(html.contains("value=\"Bürgerbüro Lützel\""));
    let resp = ui
        .post(
            "/redaktion/stadt-koblenz/stellen",
            &form("08:00–12:00, 14:00–18:00", "5607"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_error(&resp.text().await.unwrap(), "plz").contains("fünf Ziffern"),
        "postal code error"
    );
    // No token, another tenant's editor, an agent: nothing created.
    let mut no_csrf = pairs(&form("08:00–12:00", "56070"));
    no_csrf.retain(|(k, _)| k != "csrf");
    assert_eq!(
        ui.post_raw("/redaktion/stadt-koblenz/stellen", no_csrf)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let mainz = login(&app, "editor@stadt-mainz.demo").await;
    assert_eq!(
        mainz
            .post(
                "/redaktion/stadt-koblenz/stellen",
                &form("08:00–12:00", "56070")
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let agent = login(&app, "agent@sc-koblenz.demo").await;
    assert_eq!(
        agent
            .post(
                "/redaktion/stadt-koblenz/stellen",
                &form("08:00–12:00", "56070")
            )
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(offices(&app, &token).await.len(), before);

    let resp = ui
        .post(
            "/redaktion/stadt-koblenz/stellen",
            &form("08:00–12:00, 14:00–18:00", "56070"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    let all = offices(&app, &token).await;
    assert_eq!(all.len(), before + 1);
    let o = all
        .iter()
        .find(|o| o["name"] == "Bürgerbüro Lützel")
        .unwrap()
        .clone();
    assert_eq!(o["address"]["postal_code"], "56070");
    assert_eq!(o["phone"], "0261 129-0");
    assert_eq!(
        o["opening_hours"]["mon"],
        json!([{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}])
    );
    assert_eq!(o["opening_hours"]["wed"], json!([]));
    assert_eq!(o["closing_days"], json!(["2026-12-24", "2026-12-31"]));
    assert_eq!(
        o["special_days"],
        json!([{"date": "2026-02-16", "intervals": [{"start": "08:00", "end": "11:00"}], "note": "Rosenmontag: nur vormittags"}])
    );
    let page = location.trim_end_matches("?ok=1").to_owned();
    // A description naming the office as responsible is listed on the office's page.
    let resp = app
        .post(
            &token,
            &format!("{KOBLENZ}/services"),
            &json!({"title": "Bewohnerparkausweis beantragen", "org_unit_id": o["id"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let html = ui.get(&location).await.text().await.unwrap();
    assert!(
        html.contains(">Bewohnerparkausweis beantragen</a> (Entwurf)"),
        "{html}"
    );
    assert!(html.contains("Gespeichert.") && html.contains("08:00–12:00, 14:00–18:00"));
    assert!(html.contains("value=\"16.02.2026\"") && html.contains("Jetzt "));

    // Edit: a special day added by its row button, then saved; a bad date refused.
    let version = o["version"].as_i64().unwrap().to_string();
    let edit = |sonder: &'static str| -> Vec<(&'static str, &'static str)> {
        let mut f = form("08:00–12:00, 14:00–18:00", "56070");
        f.retain(|(k, _)| !k.starts_with("sondertag"));
        f.extend([
            ("sondertag_datum", sonder),
            ("sondertag_zeiten", ""),
            ("sondertag_hinweis", "Betriebsausflug"),
        ]);
        f
    };
    let mut with_version = edit("02.07.2026");
    with_version.push(("version", &version));
    let mut row = with_version.clone();
    row.push(("zeile", "sondertage"));
    let resp = ui.post(&page, &row).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("id=\"sondertag-datum-1\"")
    );
    let mut bad = edit("32.07.2026");
    bad.push(("version", &version));
    let resp = ui.post(&page, &bad).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&resp.text().await.unwrap(), "sondertag-datum-0").contains("Datum"));
    assert_eq!(
        mainz.post(&page, &with_version).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(agent.get(&page).await.status(), StatusCode::FORBIDDEN);
    let unchanged = api(
        &app,
        &token,
        &format!("{KOBLENZ}/org-units/{}", o["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(unchanged["version"], o["version"]);
    let resp = ui.post(&page, &with_version).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let saved = api(
        &app,
        &token,
        &format!("{KOBLENZ}/org-units/{}", o["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(saved["version"], o["version"].as_i64().unwrap() + 1);
    assert_eq!(
        saved["special_days"],
        json!([{"date": "2026-07-02", "intervals": [], "note": "Betriebsausflug"}])
    );
}

async fn import_by_upload_and_export_by_download(app: TestApp) {
    let token = app.token("editor@stadt-koblenz.demo").await;
    let before = count(&app, &token).await;
    let ui = login(&app, "editor@stadt-koblenz.demo").await;
    let html = ui
        .get("/redaktion/stadt-koblenz/austausch")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("enctype=\"multipart/form-data\"") && html.contains("format=xzufi"));

    let file = "{\"title\":\"Angelkarte kaufen\",\"external_id\":\"web-1\",\"modules\":{\"kurztext\":\"Am Rhein.\"}}\n\
                {\"title\":\"\",\"external_id\":\"web-2\"}\n\
                {\"title\":\"Bootsliegeplatz mieten\",\"external_id\":\"web-3\"}\n";
    // Without the token, as another tenant's editor, as an agent: nothing imported.
    let resp = ui
        .upload(
            "/redaktion/stadt-koblenz/import",
            "",
            "a.ndjson",
            file.as_bytes(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let mainz = login(&app, "editor@stadt-mainz.demo").await;
    let resp = mainz
        .upload(
            "/redaktion/stadt-koblenz/import",
            &mainz.csrf,
            "a.ndjson",
            file.as_bytes(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let agent = login(&app, "agent@sc-koblenz.demo").await;
    let resp = agent
        .upload(
            "/redaktion/stadt-koblenz/import",
            &agent.csrf,
            "a.ndjson",
            file.as_bytes(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // A file that is no XZuFi document and one that is not text: the error, nothing stored.
    let resp = ui
        .upload(
            "/redaktion/stadt-koblenz/import",
            &ui.csrf,
            "b.xml",
            b"<kein xml",
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = ui
        .upload(
            "/redaktion/stadt-koblenz/import",
            &ui.csrf,
            "c.ndjson",
            &[0xff, 0xfe, 0x00, 0x41],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("keine UTF-8-Textdatei"));
    let resp = ui
        .upload(
            "/redaktion/stadt-koblenz/import",
            &ui.csrf,
            "d.txt",
            file.as_bytes(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("Format der Datei"));
    assert_eq!(count(&app, &token).await, before);
    // Not a multipart form at all: 400, nothing stored.
    let resp = ui
        .post("/redaktion/stadt-koblenz/import", &[("datei", file)])
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Nichts wurde importiert")
    );
    // Larger than the API's limit: 413, nothing stored.
    let big = vec![b' '; 20 * 1024 * 1024 + 10];
    let resp = ui
        .upload(
            "/redaktion/stadt-koblenz/import",
            &ui.csrf,
            "e.ndjson",
            &big,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(count(&app, &token).await, before);

    // One bad line: its error in the list, the counts, the good lines stored.
    let resp = ui
        .upload(
            "/redaktion/stadt-koblenz/import",
            &ui.csrf,
            "leistungen.ndjson",
            file.as_bytes(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Abgelehnte Einträge") && html.contains("<strong>Zeile 2:</strong>"));
    assert!(html.contains("<td data-label=\"neu\">2</td>"), "{html}");
    assert!(html.contains("<td data-label=\"abgelehnt\">1</td>"));
    assert_eq!(count(&app, &token).await, before + 2);
    // The same file again: unchanged, still the one error.
    let resp = ui
        .upload(
            "/redaktion/stadt-koblenz/import",
            &ui.csrf,
            "leistungen.ndjson",
            file.as_bytes(),
        )
        .await;
    let html = resp.text().await.unwrap();
    assert!(html.contains("<td data-label=\"unverändert\">2</td>"));
    assert_eq!(count(&app, &token).await, before + 2);

    // Export: NDJSON with every description, XZuFi as XML; both as downloads.
    let resp = ui
        .get("/redaktion/stadt-koblenz/export?format=ndjson")
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"leistungen-stadt-koblenz.ndjson\"")
    );
    let body = resp.text().await.unwrap();
    assert!(body.contains("Angelkarte kaufen") && body.contains("Bootsliegeplatz mieten"));
    assert_eq!(body.lines().count(), before + 2);
    let resp = ui.get("/redaktion/stadt-koblenz/export?format=xzufi").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    assert!(
        resp.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(".xml")
    );
    assert!(resp.text().await.unwrap().starts_with("<?xml"));
    assert_eq!(
        mainz
            .get("/redaktion/stadt-koblenz/export?format=ndjson")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        agent
            .get("/redaktion/stadt-koblenz/export?format=xzufi")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ui.get("/redaktion/stadt-koblenz/export?format=pdf")
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

crate::both_backends!(
    the_editor_edits_every_module_with_costs_synonyms_and_list_rows,
    a_base_text_is_adopted_and_its_change_reviewed,
    offices_are_created_and_edited_with_hours_closing_and_special_days,
    import_by_upload_and_export_by_download,
);
