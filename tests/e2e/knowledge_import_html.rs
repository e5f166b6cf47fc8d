//! Knowledge on real municipal data (issue 13, points 2 and 4): HTML text modules become the
//! stored plain-text form on every path (NDJSON, XZuFi, the API), keywords become synonyms,
//! fees Kosten and form links Formulare; offices come with address, geo position, phone,
//! e-mail, opening hours and the descriptions they offer, and a reimport changes nothing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

const NDJSON: &str = include_str!("../../crates/knowledge/tests/fixtures/html-offices.ndjson");
const XZUFI: &str = include_str!("../../crates/knowledge/tests/fixtures/xzufi-html-offices.xml");

async fn import(
    app: &TestApp,
    token: &str,
    tenant: &str,
    ct: &str,
    body: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/tenants/{tenant}/import")))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn ok_json(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The description of a tenant with this LeiKa key, as its editor reads it.
async fn description(app: &TestApp, token: &str, tenant: &str, leika: &str) -> Value {
    let list = ok_json(
        app.get(
            token,
            &format!("/api/v1/tenants/{tenant}/services?leika={leika}"),
        )
        .await,
    )
    .await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    ok_json(
        app.get(token, &format!("/api/v1/tenants/{tenant}/services/{id}"))
            .await,
    )
    .await
}

/// Every string in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// No text of the description shows markup or an undecoded reference.
fn assert_clean(d: &Value) {
    let mut texts = Vec::new();
    strings(&d["title"], &mut texts);
    strings(&d["synonyms"], &mut texts);
    strings(&d["modules"], &mut texts);
    strings(&d["merged"], &mut texts);
    for t in texts {
        assert!(
            !t.contains('<') && !t.contains('>') && !t.contains("&nbsp;") && !t.contains("&amp;"),
            "markup shows: {t:?}"
        );
        assert!(
            !t.contains("track(") && !t.contains("p{}"),
            "script or style shows: {t:?}"
        );
    }
}

async fn search_titles(app: &TestApp, token: &str, q: &str, want: &str) -> Vec<String> {
    let start = Instant::now();
    loop {
        let resp = app
            .client
            .get(app.url("/api/v1/search"))
            .query(&[("q", q)])
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let body = ok_json(resp).await;
        let titles: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap_or_default().to_owned())
            .collect();
        if titles.iter().any(|t| t == want) {
            return titles;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{q}: {titles:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn html_modules_are_stored_as_clean_text_on_every_path(app: TestApp) {
    let editor = app.token("editor@stadt-trier.demo").await;
    let agent = app.token("agent@sc-trier.demo").await;

    // NDJSON.
    let report =
        ok_json(import(&app, &editor, "stadt-trier", "application/x-ndjson", NDJSON).await).await;
    assert_eq!(report["services"]["created"], 2, "{report}");
    assert_eq!(report["errors"], json!([]), "{report}");
    let d = description(&app, &editor, "stadt-trier", "99123450000001").await;
    assert_clean(&d);
    assert_eq!(d["title"], "Anwohnerparkausweis beantragen");
    assert_eq!(
        d["synonyms"],
        json!(["Parkplakette", "Bewohnerparken", "Parkvignette"])
    );
    let m = &d["modules"];
    assert_eq!(m["kurztext"], "Mit dem Ausweis parken Sie in Ihrer Zone.");
    assert_eq!(
        m["volltext"],
        "Der Ausweis gilt ein Jahr.\n\n- nur für Hauptwohnsitz\n- ein Fahrzeug\n\n\
         Mehr: Parken in Trier (https://www.trier.de/parken)"
    );
    assert_eq!(
        m["unterlagen"],
        json!(["Fahrzeugschein", "Personalausweis"])
    );
    assert_eq!(
        m["kosten"],
        json!({"text": "30,70 € pro Jahr", "amounts": [{"label": "Jahresausweis", "eur_cents": 3070}]})
    );
    assert_eq!(
        m["formulare"],
        json!([{"title": "Antrag Parkausweis", "url": "https://www.trier.de/formulare/parkausweis.pdf"}])
    );
    // A keyword finds the description.
    search_titles(
        &app,
        &agent,
        "Parkvignette",
        "Anwohnerparkausweis beantragen",
    )
    .await;

    // An unchanged rerun changes nothing.
    let versions = app.count("knowledge_service_versions").await;
    let again =
        ok_json(import(&app, &editor, "stadt-trier", "application/x-ndjson", NDJSON).await).await;
    assert_eq!(again["services"]["unchanged"], 2, "{again}");
    assert_eq!(again["org_units"]["unchanged"], 2, "{again}");
    assert_eq!(app.count("knowledge_service_versions").await, versions);

    // XZuFi (escaped HTML inside XML).
    let report =
        ok_json(import(&app, &editor, "stadt-trier", "application/xml", XZUFI).await).await;
    assert_eq!(report["services"]["created"], 1, "{report}");
    assert_eq!(report["errors"], json!([]), "{report}");
    let d = description(&app, &editor, "stadt-trier", "99123450000003").await;
    assert_clean(&d);
    assert_eq!(d["title"], "Taxigenehmigung beantragen");
    assert_eq!(d["synonyms"], json!(["Droschke", "Personenbeförderung"]));
    assert_eq!(
        d["modules"]["volltext"],
        "Wer Fahrgäste mit dem Taxi befördert, braucht eine Genehmigung.\n\n\
         1. Antrag stellen\n2. Fachkunde nachweisen\n\nSiehe Taxiwesen (https://www.trier.de/taxi)."
    );
    assert_eq!(
        d["modules"]["unterlagen"],
        json!(["Führungszeugnis", "Nachweis der \"Fachkunde\""])
    );
    assert_eq!(
        d["modules"]["kosten"],
        json!({"text": "Gebühr nach Aufwand", "amounts": [{"label": "Erteilung", "eur_cents": 25000}]})
    );
    assert_eq!(
        d["modules"]["formulare"],
        json!([{"title": "Antrag Taxigenehmigung", "url": "https://www.trier.de/formulare/taxi.pdf"}])
    );

    // The API: HTML pasted into a create or an update is stored the same way.
    let created = app
        .post(
            &editor,
            "/api/v1/tenants/stadt-trier/services",
            &json!({
                "leika": "99123450000004",
                "title": "Hund <em>anmelden</em>",
                "synonyms": ["Hundesteuer &amp; Marke"],
                "modules": {"kurztext": "<p>Melden Sie Ihren Hund an.</p><p>Frist:<br>zwei Wochen</p>"}
            }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_clean(&created);
    assert_eq!(created["title"], "Hund anmelden");
    assert_eq!(created["synonyms"], json!(["Hundesteuer & Marke"]));
    assert_eq!(
        created["modules"]["kurztext"],
        "Melden Sie Ihren Hund an.\n\nFrist:\nzwei Wochen"
    );
    let id = created["id"].as_str().unwrap();
    let patched = app
        .patch(
            &editor,
            &format!("/api/v1/tenants/stadt-trier/services/{id}"),
            &json!({"version": created["version"], "modules": {"hinweise": "<ul><li>Chip</li><li>Marke</li></ul>"}}),
        )
        .await;
    let patched = ok_json(patched).await;
    assert_eq!(patched["modules"]["hinweise"], "- Chip\n- Marke");
    // Plain text stays as it was typed.
    let plain = app
        .patch(
            &editor,
            &format!("/api/v1/tenants/stadt-trier/services/{id}"),
            &json!({"version": patched["version"], "modules": {"hinweise": "Kinder <6 Jahre & Hunde <10 kg: frei"}}),
        )
        .await;
    assert_eq!(
        ok_json(plain).await["modules"]["hinweise"],
        "Kinder <6 Jahre & Hunde <10 kg: frei"
    );
}

/// The imported offices of a tenant by name, as an agent reads them.
async fn offices(app: &TestApp, token: &str, tenant: &str) -> Vec<Value> {
    let list = ok_json(
        app.get(token, &format!("/api/v1/tenants/{tenant}/org-units"))
            .await,
    )
    .await;
    list.as_array().unwrap().clone()
}

fn named<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no office {name}: {list:?}"))
}

fn service_titles(office: &Value) -> Vec<&str> {
    office["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect()
}

async fn offices_are_imported_with_geo_contacts_and_services(app: TestApp) {
    let editor = app.token("editor@stadt-trier.demo").await;
    let agent = app.token("agent@sc-trier.demo").await;
    let report =
        ok_json(import(&app, &editor, "stadt-trier", "application/x-ndjson", NDJSON).await).await;
    assert_eq!(report["org_units"]["created"], 2, "{report}");
    // The external id names no description of the tenant: stored without it, and said so.
    assert_eq!(
        report["warnings"],
        json!([{"location": "line 3", "reason": "offers external id ext-unbekannt-7, which this tenant has no description of"}]),
        "{report}"
    );
    let list = offices(&app, &agent, "stadt-trier").await;
    let office = named(&list, "Straßenverkehrsbehörde Trier");
    assert_eq!(office["external_id"], "tr-strassenverkehr");
    assert_eq!(
        office["address"],
        json!({"street": "Am Augustinerhof", "house_number": "1", "postal_code": "54290", "city": "Trier"})
    );
    assert_eq!(
        office["geo"],
        json!({"latitude": 49.7537, "longitude": 6.6417})
    );
    assert_eq!(office["phone"], "0651 718-1360");
    assert_eq!(office["email"], "strassenverkehr@trier.de");
    assert_eq!(
        office["opening_hours"]["mon"],
        json!([{"start": "08:00", "end": "12:00"}])
    );
    assert_eq!(
        service_titles(office),
        ["Anwohnerparkausweis beantragen", "Sondernutzung beantragen"]
    );
    let ehrang = named(&list, "Bürgerbüro Ehrang");
    assert_eq!(ehrang["geo"], Value::Null);
    assert_eq!(ehrang["services"], json!([]));
    // One office per description is enough to read it: GET by id shows the same.
    let one = ok_json(
        app.get(
            &agent,
            &format!(
                "/api/v1/tenants/stadt-trier/org-units/{}",
                office["id"].as_str().unwrap()
            ),
        )
        .await,
    )
    .await;
    assert_eq!(one["services"], office["services"]);

    // XZuFi: the visitors' address with its position, linked to the leistung in the file.
    let report =
        ok_json(import(&app, &editor, "stadt-trier", "application/xml", XZUFI).await).await;
    assert_eq!(report["org_units"]["created"], 1, "{report}");
    let list = offices(&app, &agent, "stadt-trier").await;
    let ordnungsamt = named(&list, "Ordnungsamt Trier");
    assert_eq!(ordnungsamt["address"]["street"], "Thebäerstraße");
    assert_eq!(
        ordnungsamt["geo"],
        json!({"latitude": 49.7601, "longitude": 6.6512})
    );
    assert_eq!(ordnungsamt["phone"], "0651 718-1330");
    // XZuFi descriptions arrive as drafts: the editor sees the link, an agent not yet.
    assert_eq!(service_titles(ordnungsamt), Vec::<&str>::new());
    let as_editor = offices(&app, &editor, "stadt-trier").await;
    assert_eq!(
        service_titles(named(&as_editor, "Ordnungsamt Trier")),
        ["Taxigenehmigung beantragen"]
    );

    // Reimports are idempotent: by external id, and by name for the office without one.
    let links = app.count("knowledge_org_unit_services").await;
    let units = app.count("knowledge_org_units").await;
    for (ct, body) in [("application/x-ndjson", NDJSON), ("application/xml", XZUFI)] {
        let again = ok_json(import(&app, &editor, "stadt-trier", ct, body).await).await;
        assert_eq!(again["org_units"]["created"], 0, "{again}");
        assert_eq!(again["org_units"]["updated"], 0, "{again}");
    }
    assert_eq!(app.count("knowledge_org_unit_services").await, links);
    assert_eq!(app.count("knowledge_org_units").await, units);
    assert_eq!(offices(&app, &agent, "stadt-trier").await, list);

    // A changed record updates the office in place: new phone, new position, fewer services.
    let changed = r#"{"type":"office","id":"tr-strassenverkehr","name":"Straßenverkehrsbehörde Trier","phone":"0651 718-9999","geo":{"lat":49.75,"lon":6.64},"services":["99123450000002"]}"#;
    let report = ok_json(
        import(
            &app,
            &editor,
            "stadt-trier",
            "application/x-ndjson",
            changed,
        )
        .await,
    )
    .await;
    assert_eq!(report["org_units"]["updated"], 1, "{report}");
    let list = offices(&app, &agent, "stadt-trier").await;
    let office = named(&list, "Straßenverkehrsbehörde Trier");
    assert_eq!(office["phone"], "0651 718-9999");
    assert_eq!(office["geo"], json!({"latitude": 49.75, "longitude": 6.64}));
    assert_eq!(service_titles(office), ["Sondernutzung beantragen"]);
    assert_eq!(app.count("knowledge_org_units").await, units);

    // The API shows and changes the position; a bad one is a 422 naming the field.
    let admin = app.token("admin@stadt-trier.demo").await;
    let path = format!(
        "/api/v1/tenants/stadt-trier/org-units/{}",
        office["id"].as_str().unwrap()
    );
    let bad = app
        .patch(
            &admin,
            &path,
            &json!({"version": office["version"], "geo": {"latitude": 120.0, "longitude": 6.0}}),
        )
        .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(problem["field"], "geo");
    let cleared = ok_json(
        app.patch(
            &admin,
            &path,
            &json!({"version": office["version"], "geo": null}),
        )
        .await,
    )
    .await;
    assert_eq!(cleared["geo"], Value::Null);
    assert_eq!(service_titles(&cleared), ["Sondernutzung beantragen"]);

    // Bad office records are reported one by one; the good ones are stored.
    let mixed = "{\"type\":\"office\",\"name\":\"Ohne Ort\",\"geo\":{\"lat\":91,\"lon\":6}}\n\
                 {\"type\":\"amt\",\"name\":\"X\"}\n\
                 {\"type\":\"office\",\"name\":\"Falsche PLZ\",\"address\":{\"postal_code\":\"5429\"}}\n\
                 {\"type\":\"office\",\"name\":\"Gut\"}";
    let report =
        ok_json(import(&app, &editor, "stadt-trier", "application/x-ndjson", mixed).await).await;
    assert_eq!(report["org_units"]["created"], 1, "{report}");
    let reasons: Vec<(&str, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["location"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "line 1",
                "geo: 91 is not a latitude (WGS 84 degrees, -90 to 90)"
            ),
            (
                "line 2",
                "type: expected \"service\" or \"office\", not \"amt\""
            ),
            ("line 3", "postal_code must be five digits"),
        ],
        "{report}"
    );
}

async fn office_imports_stay_in_their_tenant(app: TestApp) {
    let trier = app.token("editor@stadt-trier.demo").await;
    let koblenz = app.token("editor@stadt-koblenz.demo").await;
    let agent = app.token("agent@sc-trier.demo").await;
    ok_json(import(&app, &trier, "stadt-trier", "application/x-ndjson", NDJSON).await).await;
    let before = app.snapshot("/api/v1/tenants/stadt-trier/org-units").await;
    let links = app.count("knowledge_org_unit_services").await;
    let units = app.count("knowledge_org_units").await;

    // Another tenant's editor and an agent of the tenant may not import into it.
    for token in [&koblenz, &agent] {
        let resp = import(&app, token, "stadt-trier", "application/x-ndjson", NDJSON).await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(app.count("knowledge_org_units").await, units);

    // Koblenz importing the same file gets its own offices; Trier's stay as they were, and
    // Koblenz's office does not link to Trier's descriptions (Koblenz has none of them).
    let report = ok_json(
        import(
            &app,
            &koblenz,
            "stadt-koblenz",
            "application/x-ndjson",
            NDJSON,
        )
        .await,
    )
    .await;
    assert_eq!(report["org_units"]["created"], 2, "{report}");
    assert_eq!(report["services"]["created"], 2, "{report}");
    assert_eq!(
        app.snapshot("/api/v1/tenants/stadt-trier/org-units").await,
        before
    );
    let ko = app
        .snapshot("/api/v1/tenants/stadt-koblenz/org-units")
        .await;
    let ko_office = ko
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["external_id"] == "tr-strassenverkehr")
        .unwrap();
    for s in ko_office["services"].as_array().unwrap() {
        let resp = app
            .get(
                &koblenz,
                &format!(
                    "/api/v1/tenants/stadt-koblenz/services/{}",
                    s["id"].as_str().unwrap()
                ),
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "links only to Koblenz's own descriptions"
        );
    }
    assert_eq!(app.count("knowledge_org_unit_services").await, links + 2);
    // An office that offers only another tenant's key is linked to nothing there.
    let trier_only =
        r#"{"type":"office","id":"ko-x","name":"Amt X","services":["99123450000003"]}"#;
    let report = ok_json(
        import(
            &app,
            &koblenz,
            "stadt-koblenz",
            "application/x-ndjson",
            trier_only,
        )
        .await,
    )
    .await;
    assert_eq!(report["warnings"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(app.count("knowledge_org_unit_services").await, links + 2);
}

crate::both_backends!(
    html_modules_are_stored_as_clean_text_on_every_path,
    offices_are_imported_with_geo_contacts_and_services,
    office_imports_stay_in_their_tenant,
);
