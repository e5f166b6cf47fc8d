//! Knowledge: service descriptions, versions, publishing, isolation between tenants, org units
//! with opening hours, base texts, search and import/export.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

const MZ: &str = "/api/v1/tenants/stadt-mainz/services";
const KO: &str = "/api/v1/tenants/stadt-koblenz/services";

fn description(leika: &str, title: &str) -> Value {
    json!({
        "leika": leika,
        "title": title,
        "synonyms": ["Perso"],
        "modules": {
            "kurztext": "Den Personalausweis beantragen Sie persönlich.",
            "unterlagen": ["Passfoto", "alter Ausweis"],
            "kosten": {"text": "nach Alter", "amounts": [{"label": "ab 24 Jahren", "eur_cents": 3700}]}
        }
    })
}

async fn json_of(resp: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(resp.status(), status);
    resp.json().await.unwrap()
}

async fn create(app: &TestApp, token: &str, base: &str, body: &Value) -> Value {
    json_of(app.post(token, base, body).await, StatusCode::CREATED).await
}

/// Counts of every knowledge table, to check that refused requests wrote nothing.
async fn counts(app: &TestApp) -> [i64; 6] {
    [
        app.count("knowledge_services").await,
        app.count("knowledge_service_leika_keys").await,
        app.count("knowledge_service_versions").await,
        app.count("knowledge_changes").await,
        app.count("knowledge_org_units").await,
        app.count("knowledge_base_texts").await,
    ]
}

async fn a_description_is_drafted_edited_published_and_archived_with_versions(app: TestApp) {
    let editor = app.token("editor@stadt-mainz.demo").await;
    let created = create(
        &app,
        &editor,
        MZ,
        &description("99102013001000", "Personalausweis beantragen"),
    )
    .await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["version"], 1);
    assert_eq!(created["tenant"], "stadt-mainz");
    assert_eq!(
        created["modules"]["kosten"]["amounts"][0]["eur_cents"],
        3700
    );
    assert_eq!(created["merged"][0]["field"], "kurztext");
    assert_eq!(created["merged"][0]["source"], "local");
    assert_eq!(created["merged"][0]["code"], "05");
    let id = created["id"].as_str().unwrap();
    let url = format!("{MZ}/{id}");

    let changed = json_of(
        app.patch(&editor, &url, &json!({"version": 1, "title": "Personalausweis beantragen (Mainz)", "modules": {"kurztext": "Neu."}}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["modules"], json!({"kurztext": "Neu."}));
    // A stale version loses with 409 and changes nothing.
    let resp = app
        .patch(&editor, &url, &json!({"version": 1, "title": "Veraltet"}))
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "stale-version").await;
    let now = json_of(app.get(&editor, &url).await, StatusCode::OK).await;
    assert_eq!(now["title"], "Personalausweis beantragen (Mainz)");
    assert_eq!(now["version"], 2);
    // Saving the same content keeps the version.
    let same = json_of(
        app.patch(
            &editor,
            &url,
            &json!({"version": 2, "title": "Personalausweis beantragen (Mainz)"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(same["version"], 2);

    let published = json_of(
        app.post(&editor, &format!("{url}/publish"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(published["status"], "published");
    assert!(published["published_at"].is_string());
    assert_problem(
        app.post(&editor, &format!("{url}/publish"), &json!({}))
            .await,
        StatusCode::CONFLICT,
        "invalid-state-transition",
    )
    .await;

    let versions = json_of(
        app.get(&editor, &format!("{url}/versions")).await,
        StatusCode::OK,
    )
    .await;
    let kinds: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["published", "updated", "created"]);
    assert_eq!(versions[0]["version"], 3);
    assert_eq!(versions[2]["title"], "Personalausweis beantragen");
    assert_eq!(versions[1]["author_name"], "Redaktion Stadt Mainz");
    let cmp = json_of(
        app.get(&editor, &format!("{url}/versions/compare?from=1&to=3"))
            .await,
        StatusCode::OK,
    )
    .await;
    let fields: Vec<&str> = cmp["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "title",
            "status",
            "modules.kurztext",
            "modules.unterlagen",
            "modules.kosten"
        ]
    );
    assert_eq!(cmp["changes"][0]["before"], "Personalausweis beantragen");
    assert_eq!(cmp["changes"][2]["label"], "Kurztext");
    let resp = app
        .get(&editor, &format!("{url}/versions/compare?from=1&to=9"))
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "to");

    let archived = json_of(
        app.post(&editor, &format!("{url}/archive"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(archived["status"], "archived");
    assert_eq!(archived["version"], 4);
    let resp = app
        .patch(&editor, &url, &json!({"version": 4, "title": "x"}))
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "invalid-state-transition").await;
    assert_eq!(counts(&app).await[..4], [1, 1, 4, 4]);
    let list = json_of(
        app.get(&editor, &format!("{MZ}?status=archived")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn tenants_cannot_see_drafts_or_change_descriptions_of_others(app: TestApp) {
    let mainz = app.token("editor@stadt-mainz.demo").await;
    let koblenz_editor = app.token("editor@stadt-koblenz.demo").await;
    let koblenz_agent = app.token("agent@sc-koblenz.demo").await;
    let mainz_agent = app.token("agent@sc-mainz.demo").await;
    let draft = create(
        &app,
        &mainz,
        MZ,
        &description("99102013001000", "Personalausweis Mainz"),
    )
    .await;
    let id = draft["id"].as_str().unwrap();
    let url = format!("{MZ}/{id}");
    let before = counts(&app).await;

    // A Mainz draft is invisible to Koblenz.
    for token in [&koblenz_editor, &koblenz_agent] {
        assert_problem(
            app.get(token, &url).await,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
        let list = json_of(app.get(token, MZ).await, StatusCode::OK).await;
        assert_eq!(list["items"], json!([]));
        assert_problem(
            app.get(token, &format!("{url}/versions")).await,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
    }
    // The Koblenz editor cannot change Mainz descriptions, nor create any there.
    let resp = app
        .patch(
            &koblenz_editor,
            &url,
            &json!({"version": 1, "title": "Übernommen"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_problem(
        app.post(&koblenz_editor, &format!("{url}/publish"), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post(&koblenz_editor, &format!("{url}/archive"), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let resp = app
        .post(
            &koblenz_editor,
            MZ,
            &description("99102014001000", "Reisepass"),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    // Wrong role inside the tenant: an agent serving Mainz may read, not edit.
    let resp = app
        .patch(&mainz_agent, &url, &json!({"version": 1, "title": "Agent"}))
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_problem(
        app.post(&mainz_agent, &format!("{url}/publish"), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let resp = app
        .post(
            &mainz_agent,
            MZ,
            &description("99102014001000", "Reisepass"),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    // A Mainz id under the Koblenz path is not found for Koblenz's own editor.
    let resp = app
        .patch(
            &koblenz_editor,
            &format!("{KO}/{id}"),
            &json!({"version": 1, "title": "x"}),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(counts(&app).await, before);
    let unchanged = json_of(app.get(&mainz, &url).await, StatusCode::OK).await;
    assert_eq!(unchanged["title"], "Personalausweis Mainz");
    assert_eq!(unchanged["version"], 1);
    assert_eq!(unchanged["status"], "draft");

    // Published, it is readable by Koblenz (agent and editor), still not changeable.
    json_of(
        app.post(&mainz, &format!("{url}/publish"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    for token in [&koblenz_editor, &koblenz_agent] {
        let read = json_of(app.get(token, &url).await, StatusCode::OK).await;
        assert_eq!(read["title"], "Personalausweis Mainz");
        let list = json_of(app.get(token, MZ).await, StatusCode::OK).await;
        assert_eq!(list["items"][0]["id"], id);
        // History stays inside the tenant.
        assert_problem(
            app.get(token, &format!("{url}/versions")).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let resp = app
        .patch(
            &koblenz_editor,
            &url,
            &json!({"version": 2, "title": "Übernommen"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let after = json_of(app.get(&mainz, &url).await, StatusCode::OK).await;
    assert_eq!(after["title"], "Personalausweis Mainz");
    assert_eq!(after["version"], 2);
    // A Koblenz export holds nothing of Mainz; Mainz's export refuses Koblenz.
    let resp = app
        .get(&koblenz_editor, "/api/v1/tenants/stadt-mainz/export")
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
}

/// Drafts stay inside the owning tenant even within a shared center: an agent of the Trier
/// center whose account belongs to Stadt Trier sees the county's published descriptions,
/// not its drafts (list, read, versions, search, export), and still sees Stadt Trier's drafts.
async fn a_shared_center_agent_sees_only_the_drafts_of_the_own_tenant(app: TestApp) {
    const KREIS: &str = "/api/v1/tenants/kreis-trier-saarburg/services";
    const STADT: &str = "/api/v1/tenants/stadt-trier/services";
    let operator = app.token("operator@verbund.demo").await;
    let resp = app
        .post(
            &operator,
            "/api/v1/tenants/stadt-trier/users",
            &json!({
                "email": "agentin@stadt-trier.demo", "display_name": "Agentin Stadt Trier",
                "password": "ein-langes-passwort",
                "roles": [{"role": "agent", "center": "sc-trier"}]
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let agent = app
        .login_raw("agentin@stadt-trier.demo", "ein-langes-passwort")
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let kreis = app.token("editor@kreis-trier-saarburg.demo").await;
    let stadt = app.token("editor@stadt-trier.demo").await;
    let mut body = description("99999000003000", "Wohnmobil-Stellplatz Kreis");
    body["synonyms"] = json!(["Wohnmobilstellplatz"]);
    let draft = create(&app, &kreis, KREIS, &body).await;
    let url = format!("{KREIS}/{}", draft["id"].as_str().unwrap());
    let mut own = description("99999000004000", "Wohnmobil-Stellplatz Stadt");
    own["synonyms"] = json!(["Wohnmobilstellplatz"]);
    let own = create(&app, &stadt, STADT, &own).await;
    let own_url = format!("{STADT}/{}", own["id"].as_str().unwrap());
    // The county's editor finds the draft at once (the index follows the change feed).
    search_until(&app, &kreis, &[("q", "Wohnmobil")], |b| {
        titles(b) == ["Wohnmobil-Stellplatz Kreis"]
    })
    .await;

    // The agent: not the county's draft, in no way.
    assert_problem(
        app.get(&agent, &url).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let list = json_of(app.get(&agent, KREIS).await, StatusCode::OK).await;
    assert_eq!(list["items"], json!([]));
    let list = json_of(
        app.get(&agent, &format!("{KREIS}?status=draft")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"], json!([]));
    assert_problem(
        app.get(&agent, &format!("{url}/versions")).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let export = app
        .get(&agent, "/api/v1/tenants/kreis-trier-saarburg/export")
        .await;
    if export.status() == StatusCode::OK {
        assert!(!export.text().await.unwrap().contains("Wohnmobil"));
    }
    // Its own tenant's draft it does see, in the list, read and search.
    let read = json_of(app.get(&agent, &own_url).await, StatusCode::OK).await;
    assert_eq!(read["status"], "draft");
    let list = json_of(app.get(&agent, STADT).await, StatusCode::OK).await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == own["id"])
    );
    search_until(&app, &agent, &[("q", "Wohnmobil")], |b| {
        titles(b) == ["Wohnmobil-Stellplatz Stadt"]
    })
    .await;
    for query in [
        vec![("q", "Wohnmobil"), ("tenant", "all")],
        vec![("q", "Wohnmobil"), ("tenant", "kreis-trier-saarburg")],
        vec![
            ("q", "Wohnmobilstellplatz"),
            ("tenant", "kreis-trier-saarburg"),
        ],
    ] {
        let found = search(&app, &agent, &query).await;
        assert!(
            !titles(&found).contains(&"Wohnmobil-Stellplatz Kreis".to_owned()),
            "{found}"
        );
    }
    // The center's agent without an own tenant sees no drafts either.
    let center_agent = app.token("agent@sc-trier.demo").await;
    assert_problem(
        app.get(&center_agent, &url).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;

    // Published, the county's description is readable and found by the agent.
    json_of(
        app.post(&kreis, &format!("{url}/publish"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let read = json_of(app.get(&agent, &url).await, StatusCode::OK).await;
    assert_eq!(read["status"], "published");
    let list = json_of(app.get(&agent, KREIS).await, StatusCode::OK).await;
    assert_eq!(list["items"][0]["id"], draft["id"]);
    let hit = search_until(
        &app,
        &agent,
        &[("q", "Wohnmobil"), ("tenant", "kreis-trier-saarburg")],
        |b| !titles(b).is_empty(),
    )
    .await;
    assert_eq!(titles(&hit), ["Wohnmobil-Stellplatz Kreis"]);
    assert_eq!(hit["items"][0]["status"], "published");
}

async fn bad_descriptions_are_refused_and_nothing_is_written(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    create(
        &app,
        &editor,
        KO,
        &description("99102013001000", "Personalausweis"),
    )
    .await;
    let before = counts(&app).await;
    let cases = [
        (description("9910201300100", "x"), "leika"),
        (description("98102013001000", "x"), "leika"),
        (description("99102014001000", "   "), "title"),
        (
            json!({"leika": "99102014001000", "title": "Pass", "modules": {"formulare": [{"url": "ftp://x.de/a.pdf"}]}}),
            "modules.formulare[0].url",
        ),
        (
            json!({"leika": "99102014001000", "title": "Pass", "org_unit_id": "0190b5a0-0000-7000-8000-000000000000"}),
            "org_unit_id",
        ),
        (
            json!({"leika_keys": ["99102014001000", "123"], "title": "Pass"}),
            "leika_keys[1]",
        ),
        (
            json!({"leika": "99102014001000", "leika_keys": [], "title": "Pass"}),
            "leika",
        ),
    ];
    for (body, field) in cases {
        let resp = app.post(&editor, KO, &body).await;
        let problem =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(problem["field"], field, "{body}");
    }
    let resp = app
        .post(
            &editor,
            KO,
            &json!({"leika": "99102014001000", "title": "Pass", "farbe": "rot"}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
    let resp = app
        .post(
            &editor,
            KO,
            &json!({"leika": "99102014001000", "title": "Pass", "modules": {"gebuehren": "1"}}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
    assert_eq!(counts(&app).await, before);
    // The external id is unique in the tenant (a shared LeiKa key is not a duplicate).
    let mut first = description("99102013001000", "Personalausweis (Variante)");
    first["external_id"] = json!("PA-1");
    let resp = app.post(&editor, KO, &first).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let before = counts(&app).await;
    let mut again = description("99102013001000", "Doppelt");
    again["external_id"] = json!("PA-1");
    let resp = app.post(&editor, KO, &again).await;
    assert_problem(resp, StatusCode::CONFLICT, "duplicate").await;
    let resp = app.get(&editor, &format!("{KO}?limit=0")).await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let resp = app.get(&editor, &format!("{KO}/not-a-uuid")).await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let resp = app
        .get(&editor, "/api/v1/tenants/gibt-es-nicht/services")
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(counts(&app).await, before);
}

fn office() -> Value {
    json!({
        "name": "Bürgeramt Koblenz",
        "external_id": "ko-buergeramt",
        "street": "Willi-Hörter-Platz", "house_number": "1", "postal_code": "56068", "city": "Koblenz",
        "phone": "0261 129-0", "email": "buergeramt@stadt-koblenz.demo",
        "opening_hours": {
            "mon": [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "16:00"}],
            "tue": [{"start": "08:00", "end": "12:00"}],
            "wed": [{"start": "08:00", "end": "12:00"}],
            "thu": [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}],
            "fri": [{"start": "08:00", "end": "12:00"}]
        },
        "closing_days": ["2026-12-24"],
        "special_days": [{"date": "2027-02-08", "intervals": [{"start": "08:00", "end": "10:00"}], "note": "Rosenmontag"}]
    })
}

async fn opening(app: &TestApp, token: &str, url: &str, at: &str) -> Value {
    let resp = app
        .client
        .get(app.url(&format!("{url}/opening")))
        .query(&[("at", at)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    json_of(resp, StatusCode::OK).await
}

async fn offices_answer_open_now_across_holidays_and_dst(app: TestApp) {
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let unit = create(
        &app,
        &admin,
        "/api/v1/tenants/stadt-koblenz/org-units",
        &office(),
    )
    .await;
    assert_eq!(unit["address"]["postal_code"], "56068");
    assert_eq!(unit["opening_hours"]["mon"][1]["start"], "14:00");
    assert_eq!(unit["opening_hours"]["sat"], json!([]));
    let url = format!(
        "/api/v1/tenants/stadt-koblenz/org-units/{}",
        unit["id"].as_str().unwrap()
    );
    // Any agent can ask, also from another center.
    let agent = app.token("agent@sc-mainz.demo").await;

    // Monday 2026-11-23 09:00 local (CET, UTC+1): open until 12:00, next opening 14:00.
    let o = opening(&app, &agent, &url, "2026-11-23T08:00:00Z").await;
    assert_eq!(o["open"], true);
    assert_eq!(o["open_until"], "2026-11-23T11:00:00Z");
    assert_eq!(o["next_opening"], "2026-11-23T13:00:00Z");
    assert_eq!(o["today"]["date"], "2026-11-23");
    assert_eq!(
        o["today"]["intervals"],
        json!([{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "16:00"}])
    );
    assert_eq!(o["time_zone"], "Europe/Berlin");

    // Thursday before Easter 2026, 19:00 local: Good Friday and Easter Monday are holidays in
    // Rhineland-Palatinate, so the next opening is Tuesday 2026-04-07 08:00 CEST.
    let o = opening(&app, &agent, &url, "2026-04-02T17:00:00Z").await;
    assert_eq!(o["open"], false);
    assert_eq!(o["next_opening"], "2026-04-07T06:00:00Z");
    let o = opening(&app, &agent, &url, "2026-04-03T08:00:00Z").await;
    assert_eq!(o["open"], false);
    assert_eq!(o["today"]["holiday"], "Karfreitag");
    assert_eq!(o["today"]["intervals"], json!([]));

    // DST ends on Sunday 2026-10-25: Friday 08:00 local is 06:00Z, Monday 08:00 is 07:00Z.
    let o = opening(&app, &agent, &url, "2026-10-23T06:00:00Z").await;
    assert_eq!(o["open"], true);
    let o = opening(&app, &agent, &url, "2026-10-24T12:00:00Z").await;
    assert_eq!(o["open"], false);
    assert_eq!(o["next_opening"], "2026-10-26T07:00:00Z");
    // DST starts on Sunday 2026-03-29: Monday 08:00 CEST is 06:00Z.
    let o = opening(&app, &agent, &url, "2026-03-28T12:00:00Z").await;
    assert_eq!(o["next_opening"], "2026-03-30T06:00:00Z");
    // Closing day and special day.
    let o = opening(&app, &agent, &url, "2026-12-24T09:00:00Z").await;
    assert_eq!(o["open"], false);
    assert_eq!(o["today"]["closing_day"], true);
    let o = opening(&app, &agent, &url, "2027-02-08T08:30:00Z").await;
    assert_eq!(o["open"], true);
    assert_eq!(o["open_until"], "2027-02-08T09:00:00Z");
    assert_eq!(o["today"]["special_day"], "Rosenmontag");

    // Bad input: no change, clear errors.
    let before = counts(&app).await;
    let resp = app
        .client
        .get(app.url(&format!("{url}/opening")))
        .query(&[("at", "morgen")])
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "at");
    let mut bad = office();
    bad["external_id"] = json!("x");
    bad["opening_hours"]["mon"] = json!([{"start": "12:00", "end": "08:00"}]);
    let body = assert_problem(
        app.post(&admin, "/api/v1/tenants/stadt-koblenz/org-units", &bad)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    )
    .await;
    assert_eq!(body["field"], "opening_hours.mon");
    let mut bad = office();
    bad["external_id"] = json!("y");
    bad["email"] = json!("keine-adresse");
    let body = assert_problem(
        app.post(&admin, "/api/v1/tenants/stadt-koblenz/org-units", &bad)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    )
    .await;
    assert_eq!(body["field"], "email");
    assert_problem(
        app.post(&admin, "/api/v1/tenants/stadt-koblenz/org-units", &office())
            .await,
        StatusCode::CONFLICT,
        "duplicate",
    )
    .await;
    // Other tenants and agents cannot change it.
    let mainz_admin = app.token("admin@stadt-mainz.demo").await;
    let resp = app
        .patch(&mainz_admin, &url, &json!({"version": 1, "name": "Fremd"}))
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .patch(&agent, &url, &json!({"version": 1, "name": "Fremd"}))
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_problem(
        app.post(
            &mainz_admin,
            "/api/v1/tenants/stadt-koblenz/org-units",
            &office(),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(counts(&app).await, before);
    let same = json_of(app.get(&agent, &url).await, StatusCode::OK).await;
    assert_eq!(same["name"], "Bürgeramt Koblenz");
    assert_eq!(same["version"], 1);

    // The editor changes the hours; a stale version loses.
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let changed = json_of(app.patch(&editor, &url, &json!({"version": 1, "opening_hours": {"sat": [{"start": "09:00", "end": "12:00"}]}, "phone": null})).await, StatusCode::OK).await;
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["phone"], Value::Null);
    assert_eq!(changed["opening_hours"]["mon"], json!([]));
    let o = opening(&app, &agent, &url, "2026-11-28T09:00:00Z").await;
    assert_eq!(o["open"], true);
    assert_problem(
        app.patch(&editor, &url, &json!({"version": 1, "name": "Alt"}))
            .await,
        StatusCode::CONFLICT,
        "stale-version",
    )
    .await;

    // A description links to it as zuständige Stelle.
    let mut body = description("99102013001000", "Personalausweis");
    body["org_unit_id"] = unit["id"].clone();
    body["contact_org_unit_id"] = unit["id"].clone();
    let s = create(&app, &editor, KO, &body).await;
    assert_eq!(s["org_unit"]["name"], "Bürgeramt Koblenz");
    assert_eq!(s["contact_org_unit"]["id"], unit["id"]);
    // Not with another tenant's office.
    let resp = app.post(&mainz_admin, MZ, &body).await;
    let problem = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(problem["field"], "org_unit_id");
}

async fn search(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let resp = app
        .client
        .get(app.url("/api/v1/search"))
        .query(query)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    json_of(resp, StatusCode::OK).await
}

/// Polls the search (bounded) until `pred` holds: the index follows the change feed.
async fn search_until(
    app: &TestApp,
    token: &str,
    query: &[(&str, &str)],
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let body = search(app, token, query).await;
        if pred(&body) {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "search never showed it: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn titles(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_owned())
        .collect()
}

/// (query, expected first hit), on the demo content of Stadt Koblenz.
const QUERIES: &[(&str, &str)] = &[
    ("Perso", "Personalausweis beantragen"),
    ("Personalausweiss", "Personalausweis beantragen"),
    ("personalaus", "Personalausweis beantragen"),
    ("Reisepass", "Reisepass beantragen"),
    ("Kinderpass", "Kinderreisepass beantragen"),
    ("Ummeldung", "Wohnsitz anmelden"),
    ("ich will umziehen", "Wohnsitz anmelden"),
    ("Auto zulassen", "Fahrzeug zulassen"),
    ("Auto abmelden", "Fahrzeug außer Betrieb setzen"),
    ("Führerschein umtauschen", "Führerschein umtauschen"),
    ("Fuehrerschein beantragen", "Führerschein beantragen"),
    ("Elterngeld", "Elterngeld beantragen"),
    ("Kindergeld", "Kindergeld (Hinweis: Familienkasse)"),
    ("Hundesteuer", "Hund anmelden (Hundesteuer)"),
    ("alte Möbel entsorgen", "Sperrmüll anmelden"),
    ("Anwohnerparken", "Bewohnerparkausweis beantragen"),
    ("Gewerbe anmelden", "Gewerbe anmelden"),
    ("Geburtsurkunde", "Geburtsurkunde beantragen"),
    ("heiraten", "Eheschließung anmelden"),
    ("Bauantrag", "Baugenehmigung beantragen"),
    ("Mietzuschuss", "Wohngeld beantragen"),
    ("Führungszeugnis", "Führungszeugnis beantragen"),
    ("Fundbüro", "Fundsachen abgeben oder abholen"),
    ("Briefwahl", "Briefwahl beantragen"),
    ("Knöllchen", "Verwarnungsgeld bezahlen"),
    ("Kita Platz", "Kita-Platz beantragen"),
    ("Hund anmel", "Hund anmelden (Hundesteuer)"),
];

async fn agents_find_answers_in_german(app: TestApp) {
    assert!(verbund_knowledge::demo::seed(&app.db).await.unwrap());
    let agent = app.token("agent@sc-koblenz.demo").await;
    // The index follows the change feed: wait until the seed is searchable.
    search_until(&app, &agent, &[("q", "Personalausweis")], |b| {
        !titles(b).is_empty()
    })
    .await;
    let mut failures = Vec::new();
    for (q, expected) in QUERIES {
        let body = search(&app, &agent, &[("q", q)]).await;
        let first = titles(&body).first().cloned().unwrap_or_default();
        if first != *expected {
            failures.push(format!(
                "{q:?}: expected {expected:?}, got {:?}",
                titles(&body)
            ));
        }
        assert!(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|h| h["tenant"] == "stadt-koblenz")
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Snippets with highlights, the link to the description, own tenant first.
    let body = search(&app, &agent, &[("q", "Ummeldung"), ("limit", "3")]).await;
    let hit = &body["items"][0];
    assert_eq!(
        hit["title_html"],
        "<mark>Wohnsitz</mark> <mark>anmelden</mark>"
    );
    assert!(hit["snippet"].as_str().unwrap().contains("<mark>"));
    assert_eq!(hit["own_tenant"], true);
    let read = json_of(
        app.get(&agent, hit["href"].as_str().unwrap()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["title"], "Wohnsitz anmelden");
    assert_eq!(read["demo"], true);

    // Other tenants on request, ranked after the own ones.
    let body = search(
        &app,
        &agent,
        &[("q", "Personalausweis"), ("tenant", "all"), ("limit", "50")],
    )
    .await;
    let tenants: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(tenants[0], "stadt-koblenz");
    assert!(tenants.contains(&"stadt-mainz") && tenants.contains(&"kreis-trier-saarburg"));
    let first_other = tenants.iter().position(|t| *t != "stadt-koblenz").unwrap();
    assert!(tenants[first_other..].iter().all(|t| *t != "stadt-koblenz"));
    let body = search(
        &app,
        &agent,
        &[
            ("q", "Auto zulassen"),
            ("tenant", "stadt-mainz"),
            ("tenant", "kreis-trier-saarburg"),
        ],
    )
    .await;
    let first = &body["items"][0];
    assert_eq!(first["title"], "Fahrzeug zulassen");
    assert_eq!(first["own_tenant"], false);
    let body = search(
        &app,
        &agent,
        &[
            ("q", "Auto zulassen"),
            ("tenant", "kreis-trier-saarburg"),
            ("leika", "99036003001000"),
        ],
    )
    .await;
    assert_eq!(titles(&body), ["Fahrzeug zulassen"]);
    // The county's text says the Verbandsgemeinde issues ID cards.
    let body = search(
        &app,
        &agent,
        &[
            ("q", "Personalausweis"),
            ("tenant", "kreis-trier-saarburg"),
            ("limit", "1"),
        ],
    )
    .await;
    let read = json_of(
        app.get(&agent, body["items"][0]["href"].as_str().unwrap())
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        read["modules"]["kurztext"]
            .as_str()
            .unwrap()
            .contains("Verbandsgemeindeverwaltung")
    );

    // Bad input.
    for (query, field) in [
        (vec![("q", "")], "q"),
        (vec![("q", "Pass"), ("tenant", "gibt-es-nicht")], "tenant"),
        (vec![("q", "Pass"), ("leika", "123")], "leika"),
        (vec![("q", "Pass"), ("limit", "500")], "limit"),
        (vec![("q", "Pass"), ("sort", "x")], "sort"),
    ] {
        let resp = app
            .client
            .get(app.url("/api/v1/search"))
            .query(&query)
            .bearer_auth(&agent)
            .send()
            .await
            .unwrap();
        let body =
            assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        assert_eq!(body["field"], field);
    }
}

async fn drafts_stay_in_their_tenant_and_a_publish_is_found_on_every_instance(app: TestApp) {
    let b = app.second_instance().await;
    let mainz = app.token("editor@stadt-mainz.demo").await;
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let mut body = description("99999000001000", "Zuschuss für Lastenfahrräder");
    body["synonyms"] = json!(["Lastenrad-Förderung"]);
    let draft = create(&app, &mainz, MZ, &body).await;
    let url = format!("{MZ}/{}", draft["id"].as_str().unwrap());
    // The Mainz editor finds the draft; Koblenz does not, not even with tenant=all.
    search_until(&app, &mainz, &[("q", "Lastenfahrrad")], |b| {
        titles(b) == ["Zuschuss für Lastenfahrräder"]
    })
    .await;
    let found = search(&app, &mainz, &[("q", "Lastenfahrrad")]).await;
    assert_eq!(found["items"][0]["status"], "draft");
    for query in [
        vec![("q", "Lastenfahrrad"), ("tenant", "all")],
        vec![("q", "Lastenfahrrad"), ("tenant", "stadt-mainz")],
    ] {
        assert_eq!(search(&app, &koblenz, &query).await["items"], json!([]));
    }
    // Published: found by Koblenz on this instance and on the other one.
    json_of(
        app.post(&mainz, &format!("{url}/publish"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let q = [("q", "Lastenfahrrad"), ("tenant", "all")];
    let hit = search_until(&app, &koblenz, &q, |b| !titles(b).is_empty()).await;
    assert_eq!(hit["items"][0]["tenant"], "stadt-mainz");
    assert_eq!(hit["items"][0]["status"], "published");
    search_until(&b, &koblenz, &q, |b| !titles(b).is_empty()).await;
    // Archived: gone everywhere.
    json_of(
        app.post(&mainz, &format!("{url}/archive"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    search_until(&app, &koblenz, &q, |b| titles(b).is_empty()).await;
    search_until(&b, &mainz, &[("q", "Lastenfahrrad")], |b| {
        titles(b).is_empty()
    })
    .await;
    // A new instance builds its index from the database at start.
    let other = create(
        &app,
        &mainz,
        MZ,
        &description("99999000002000", "Lastenrad ausleihen"),
    )
    .await;
    let other_url = format!("{MZ}/{}", other["id"].as_str().unwrap());
    json_of(
        app.post(&mainz, &format!("{other_url}/publish"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let c = app.second_instance().await;
    let found = search(
        &c,
        &koblenz,
        &[("q", "Lastenrad ausleihen"), ("tenant", "all")],
    )
    .await;
    assert_eq!(titles(&found), ["Lastenrad ausleihen"]);
}

async fn base_texts_are_adopted_layered_and_flag_changes(app: TestApp) {
    let operator = app.token("operator@verbund.demo").await;
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let agent = app.token("agent@sc-mainz.demo").await;
    let base = json!({"leika": "99019001001000", "title": "Führungszeugnis beantragen", "synonyms": ["Leumundszeugnis"],
        "modules": {"kurztext": "Bundestext", "unterlagen": ["Ausweis"], "rechtsgrundlage": "§ 30 BZRG"}});
    // Only operators keep the catalogue.
    assert_problem(
        app.post(&editor, "/api/v1/catalog/services", &base).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(app.count("knowledge_base_texts").await, 0);
    let created = create(&app, &operator, "/api/v1/catalog/services", &base).await;
    assert_eq!(created["revision"], 1);
    let base_id = created["id"].as_str().unwrap();
    let catalog = json_of(
        app.get(&agent, "/api/v1/catalog/services").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(catalog.as_array().unwrap().len(), 1);

    // Koblenz adopts it with a local office and fee.
    let adopted = create(&app, &editor, KO, &json!({"base_id": base_id, "modules": {"kurztext": "Koblenz: im Bürgeramt.", "kosten": {"amounts": [{"eur_cents": 1300}]}}})).await;
    assert_eq!(adopted["leika"], "99019001001000");
    assert_eq!(adopted["title"], "Führungszeugnis beantragen");
    assert_eq!(adopted["base_changed"], false);
    let sources: Vec<(String, String)> = adopted["merged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["field"].as_str().unwrap().to_owned(),
                m["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("kurztext".to_owned(), "local".to_owned()),
            ("unterlagen".to_owned(), "base".to_owned()),
            ("kosten".to_owned(), "local".to_owned()),
            ("rechtsgrundlage".to_owned(), "base".to_owned()),
        ]
    );
    assert_eq!(adopted["merged"][0]["value"], "Koblenz: im Bürgeramt.");
    let url = format!("{KO}/{}", adopted["id"].as_str().unwrap());

    // The operator changes the base text: Koblenz sees the flag until an editor confirms.
    let resp = app.patch(&operator, &format!("/api/v1/catalog/services/{base_id}"), &json!({"revision": 1, "modules": {"kurztext": "Bundestext neu", "unterlagen": ["Ausweis", "Antrag"]}})).await;
    let changed = json_of(resp, StatusCode::OK).await;
    assert_eq!(changed["revision"], 2);
    assert_problem(
        app.patch(
            &operator,
            &format!("/api/v1/catalog/services/{base_id}"),
            &json!({"revision": 1, "title": "Alt"}),
        )
        .await,
        StatusCode::CONFLICT,
        "stale-version",
    )
    .await;
    assert_problem(
        app.patch(
            &editor,
            &format!("/api/v1/catalog/services/{base_id}"),
            &json!({"revision": 2, "title": "Fremd"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let read = json_of(app.get(&editor, &url).await, StatusCode::OK).await;
    assert_eq!(read["base_changed"], true);
    assert_eq!(read["merged"][1]["value"], json!(["Ausweis", "Antrag"]));
    assert!(
        read["merged"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["field"] != "rechtsgrundlage")
    );
    let list = json_of(app.get(&editor, KO).await, StatusCode::OK).await;
    assert_eq!(list["items"][0]["base_changed"], true);
    // An agent cannot confirm; the editor can.
    let koblenz_agent = app.token("agent@sc-koblenz.demo").await;
    assert_problem(
        app.post(&koblenz_agent, &format!("{url}/review-base"), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let reviewed = json_of(
        app.post(&editor, &format!("{url}/review-base"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(reviewed["base_changed"], false);
    assert_eq!(reviewed["base"]["revision"], 2);
    let versions = json_of(
        app.get(&editor, &format!("{url}/versions")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(versions[0]["kind"], "base_reviewed");
    // Adopting a base text with another LeiKa key is refused.
    let resp = app
        .post(
            &editor,
            KO,
            &json!({"base_id": base_id, "leika": "99102013001000"}),
        )
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "leika");
}

async fn import(
    app: &TestApp,
    token: &str,
    tenant: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/tenants/{tenant}/import")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

const NDJSON: &str = include_str!("../../crates/knowledge/tests/fixtures/services.ndjson");
const XZUFI: &str = include_str!("../../crates/knowledge/tests/fixtures/xzufi-sample.xml");

async fn imports_are_idempotent_and_report_each_bad_item(app: TestApp) {
    let editor = app.token("editor@stadt-trier.demo").await;
    // The NDJSON fixture links its first line to this office.
    let office = json!({"name": "Bürgeramt Trier", "external_id": "trier-buergeramt"});
    let office = create(
        &app,
        &editor,
        "/api/v1/tenants/stadt-trier/org-units",
        &office,
    )
    .await;
    let report = json_of(
        import(&app, &editor, "stadt-trier", "application/x-ndjson", NDJSON).await,
        StatusCode::OK,
    )
    .await;
    let created = report["services"]["created"].as_u64().unwrap();
    assert!(created >= 3, "{report}");
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["location"] == "line 7"
                && e["reason"].as_str().unwrap().contains("14 digits")),
        "{report}"
    );
    // Line 12 shares line 1's LeiKa key under another title: a variant, imported too.
    assert!(
        !errors.iter().any(|e| e["location"] == "line 12"),
        "{report}"
    );
    // Every created description is there with one version; the bad ones left nothing.
    assert_eq!(app.count("knowledge_services").await as u64, created);
    assert_eq!(
        app.count("knowledge_service_versions").await as u64,
        created
    );
    let list = json_of(
        app.get(
            &editor,
            "/api/v1/tenants/stadt-trier/services?leika=99102013001000",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"][0]["status"], "published");
    let first = json_of(
        app.get(
            &editor,
            &format!(
                "/api/v1/tenants/stadt-trier/services/{}",
                list["items"][0]["id"].as_str().unwrap()
            ),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["org_unit"]["id"], office["id"]);
    assert_eq!(
        first["synonyms"],
        json!(["Perso", "Ausweis", "Identitätskarte"])
    );
    let locations: Vec<&str> = errors
        .iter()
        .map(|e| e["location"].as_str().unwrap())
        .collect();
    assert_eq!(locations[..3], ["line 6", "line 7", "line 8"]);

    // The same file again changes nothing.
    let again = json_of(
        import(&app, &editor, "stadt-trier", "application/x-ndjson", NDJSON).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["services"]["created"], 0);
    assert_eq!(again["services"]["updated"], 0);
    assert_eq!(again["services"]["unchanged"].as_u64().unwrap(), created);
    assert_eq!(
        app.count("knowledge_service_versions").await as u64,
        created
    );
    // A changed line makes one new version.
    let line = r#"{"leika":"99115005001000","title":"Wohnsitz anmelden","synonyms":["Ummeldung"],"modules":{"kurztext":"Geändert."},"status":"published"}"#;
    let changed = json_of(
        import(&app, &editor, "stadt-trier", "application/x-ndjson", line).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["services"]["updated"], 1);
    assert_eq!(
        app.count("knowledge_service_versions").await as u64,
        created + 1
    );

    // XZuFi: org units and descriptions; broken XML keeps what came before the break.
    let report = json_of(
        import(&app, &editor, "stadt-koblenz", "application/xml", XZUFI).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(report["type"], "urn:verbund:problem:forbidden");
    let koblenz = app.token("editor@stadt-koblenz.demo").await;
    let report = json_of(
        import(&app, &koblenz, "stadt-koblenz", "application/xml", XZUFI).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        report["services"]["created"].as_u64().unwrap() >= 1,
        "{report}"
    );
    let before = counts(&app).await;
    let broken = "<xzufi:leistung><xzufi:referenzLeiKa>99102013001000</xzufi:referenzLeiKa><xzufi:bezeichnung>Kaputt";
    let report = json_of(
        import(&app, &koblenz, "stadt-koblenz", "application/xml", broken).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["services"]["created"], 0);
    assert!(!report["errors"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(counts(&app).await, before);

    // Oversized, wrong type, wrong role: refused, nothing written.
    let big = "x".repeat(21 * 1024 * 1024);
    assert_problem(
        import(&app, &koblenz, "stadt-koblenz", "application/x-ndjson", big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
    )
    .await;
    assert_problem(
        import(&app, &koblenz, "stadt-koblenz", "text/csv", "a;b").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    let agent = app.token("agent@sc-koblenz.demo").await;
    assert_problem(
        import(&app, &agent, "stadt-koblenz", "application/x-ndjson", line).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        import(
            &app,
            &koblenz,
            "stadt-koblenz",
            "application/x-ndjson",
            vec![0xff_u8, 0xfe],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    )
    .await;
    assert_eq!(counts(&app).await, before);

    // Export Trier and import it into Mainz: the same content.
    let resp = app.get(&editor, "/api/v1/tenants/stadt-trier/export").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let exported = resp.text().await.unwrap();
    assert_eq!(exported.lines().count() as u64, created);
    let mainz = app.token("editor@stadt-mainz.demo").await;
    // Lines that name an office Mainz does not have are refused with a reason.
    let report = json_of(
        import(
            &app,
            &mainz,
            "stadt-mainz",
            "application/x-ndjson",
            exported.clone(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["services"]["created"].as_u64().unwrap(), created - 1);
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("trier-buergeramt")
    );
    let office = json!({"name": "Bürgeramt Mainz", "external_id": "trier-buergeramt"});
    create(
        &app,
        &mainz,
        "/api/v1/tenants/stadt-mainz/org-units",
        &office,
    )
    .await;
    let report = json_of(
        import(
            &app,
            &mainz,
            "stadt-mainz",
            "application/x-ndjson",
            exported.clone(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["services"]["created"], 1);
    assert_eq!(
        report["services"]["unchanged"].as_u64().unwrap(),
        created - 1
    );
    assert_eq!(report["errors"], json!([]));
    let back = app
        .get(&mainz, "/api/v1/tenants/stadt-mainz/export")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(back, exported);
}

crate::both_backends!(
    a_description_is_drafted_edited_published_and_archived_with_versions,
    tenants_cannot_see_drafts_or_change_descriptions_of_others,
    a_shared_center_agent_sees_only_the_drafts_of_the_own_tenant,
    bad_descriptions_are_refused_and_nothing_is_written,
    offices_answer_open_now_across_holidays_and_dst,
    agents_find_answers_in_german,
    drafts_stay_in_their_tenant_and_a_publish_is_found_on_every_instance,
    base_texts_are_adopted_layered_and_flag_changes,
    imports_are_idempotent_and_report_each_bad_item,
);
