//! Administration pages: the tenant settings page of a tenant admin. Another tenant's admin
//! gets a 404 page, an agent a 403 page, a form without the CSRF token a 403 page, bad input
//! errors next to the fields; none of them changes anything. Each test on SQLite and PostgreSQL.

use super::*;

async fn settings_of(app: &TestApp) -> Value {
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let t: Value = app
        .get(&admin, "/api/v1/tenants/stadt-koblenz")
        .await
        .json()
        .await
        .unwrap();
    t["settings"].clone()
}

async fn the_admin_changes_tenant_settings_and_nobody_else_can(app: TestApp) {
    let path = "/verwaltung/stadt-koblenz/einstellungen";
    let before = settings_of(&app).await;

    let admin = ui_login(&app, "admin@stadt-koblenz.demo").await;
    let page = admin.get(path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Einstellungen: Stadt Koblenz"), "{html}");
    assert!(html.contains(&format!("value=\"{}\"", before["at_risk_hours"])));

    // Another tenant's admin: 404 page; an agent of Koblenz: 403 page; nothing changes.
    let mainz = ui_login(&app, "admin@stadt-mainz.demo").await;
    let resp = mainz.get(path).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.text().await.unwrap().contains("Nicht gefunden"));
    let resp = mainz
        .post(
            path,
            &[
                ("gefaehrdet_stunden", "3"),
                ("anonymisieren_tage", "30"),
                ("schliesstage", ""),
                ("csrf", &mainz.csrf),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let agent = ui_login(&app, "agent@sc-koblenz.demo").await;
    let resp = agent.get(path).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("Keine Berechtigung"));
    let resp = agent
        .post(
            path,
            &[
                ("gefaehrdet_stunden", "3"),
                ("anonymisieren_tage", "30"),
                ("schliesstage", ""),
                ("csrf", &agent.csrf),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Without the CSRF token: 403.
    let resp = admin
        .post(
            path,
            &[
                ("gefaehrdet_stunden", "3"),
                ("anonymisieren_tage", "30"),
                ("schliesstage", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Bad input: the errors next to their fields, linked, nothing saved.
    let resp = admin
        .post(
            path,
            &[
                ("gefaehrdet_stunden", "viele"),
                ("anonymisieren_tage", "30"),
                ("schliesstage", "31.02.2027"),
                ("csrf", &admin.csrf),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("aria-describedby=\"gefaehrdet_stunden-fehler\""));
    assert!(html.contains("id=\"gefaehrdet_stunden-fehler\""));
    assert!(html.contains("aria-describedby=\"schliesstage-fehler\""));
    assert!(html.contains("„31.02.2027“ ist kein Datum"));
    assert!(html.contains("value=\"viele\""), "the typed value stays");
    assert_eq!(settings_of(&app).await, before);

    // The admin saves: 303 back to the page, which says so and shows the new values.
    let resp = admin
        .post(
            path,
            &[
                ("gefaehrdet_stunden", "3"),
                ("anonymisieren_tage", "45"),
                ("schliesstage", "24.12.2026\n2026-12-31"),
                ("csrf", &admin.csrf),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(to, format!("{path}?gespeichert=1"));
    let html = admin.get(&to).await.text().await.unwrap();
    assert!(html.contains("Die Einstellungen wurden gespeichert."));
    assert!(html.contains("24.12.2026\n31.12.2026"), "{html}");
    let after = settings_of(&app).await;
    assert_eq!(after["at_risk_hours"], 3);
    assert_eq!(after["anonymize_after_days"], 45);
    assert_eq!(after["closing_days"], json!(["2026-12-24", "2026-12-31"]));
    // Everything else stayed.
    assert_eq!(after["service_hours"], before["service_hours"]);
    assert_eq!(after["receipt_body"], before["receipt_body"]);
}

crate::both_backends!(the_admin_changes_tenant_settings_and_nobody_else_can);
