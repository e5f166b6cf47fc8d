//! Escalation on two instances, coverage between centers, reports against hand-computed
//! numbers, anonymisation, the access log and text modules.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use verbund_schema::{contact, notification, ticket, ticket_event, ticket_forward};

use crate::helpers::{Backend, TestApp, assert_problem, job, spawn_app_with};
use verbund_tenant::access::Job;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn open_ticket(app: &TestApp, token: &str, tenant: &str, subject: &str) -> Value {
    let resp = app
        .post(token, "/api/v1/contacts", &json!({
            "tenant": tenant, "channel": "phone", "solved": false, "duration_seconds": 120,
            "ticket": {
                "subject": subject, "question": "Bitte um Rückruf.",
                "citizen": {"name": "Max Muster", "phone": "0651 123456", "email": "max@example.org"},
                "answer_channel": "callback"
            }
        }))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json::<Value>().await.unwrap()["ticket"].clone()
}

async fn set_ticket_times(app: &TestApp, id: &str, col: ticket::Column, at: DateTime<Utc>) {
    ticket::Entity::update_many()
        .col_expr(col, Expr::value(at))
        .filter(ticket::Column::Id.eq(uuid::Uuid::parse_str(id).unwrap()))
        .exec(&app.db)
        .await
        .unwrap();
}

async fn events_of(app: &TestApp, id: &str, kind: &str) -> usize {
    ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(uuid::Uuid::parse_str(id).unwrap()))
        .filter(ticket_event::Column::Kind.eq(kind))
        .all(&app.db)
        .await
        .unwrap()
        .len()
}

/// Two instances with the job running every second on one database: each ticket is escalated
/// exactly once.
async fn escalation_on_two_instances(backend: Backend) {
    let a = spawn_app_with(backend, |s| s.jobs_interval_seconds = 1).await;
    let b = a
        .second_instance_with(|s| s.jobs_interval_seconds = 1)
        .await;
    // Notices at once, whatever the hour the test runs at (quiet hours: escalation_verbund).
    let op = a.token("operator@verbund.demo").await;
    let resp = a
        .patch(
            &op,
            "/api/v1/tenants/stadt-trier",
            &json!({"settings": {"escalation_quiet_hours": false}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let agent = a.token("agent@sc-trier.demo").await;
    let overdue = open_ticket(&a, &agent, "stadt-trier", "überfällig").await;
    let at_risk = open_ticket(&a, &agent, "stadt-trier", "bald fällig").await;
    let calm = open_ticket(&a, &agent, "stadt-trier", "hat Zeit").await;
    let now = Utc::now();
    set_ticket_times(
        &a,
        overdue["id"].as_str().unwrap(),
        ticket::Column::DueAt,
        now - chrono::Duration::hours(1),
    )
    .await;
    set_ticket_times(
        &a,
        at_risk["id"].as_str().unwrap(),
        ticket::Column::DueAt,
        now + chrono::Duration::minutes(30),
    )
    .await;
    set_ticket_times(
        &a,
        calm["id"].as_str().unwrap(),
        ticket::Column::DueAt,
        now + chrono::Duration::days(30),
    )
    .await;

    let start = Instant::now();
    loop {
        let list: Value = a
            .get(&agent, "/api/v1/tickets?at_risk=true")
            .await
            .json()
            .await
            .unwrap();
        let overdue_list: Value = a
            .get(&agent, "/api/v1/tickets?overdue=true")
            .await
            .json()
            .await
            .unwrap();
        if list["items"].as_array().unwrap().len() == 2
            && overdue_list["items"].as_array().unwrap().len() == 1
        {
            assert_eq!(overdue_list["items"][0]["id"], overdue["id"]);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "not escalated: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give both instances several more passes to do anything twice.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        events_of(&a, overdue["id"].as_str().unwrap(), "overdue").await,
        1
    );
    assert_eq!(
        events_of(&a, at_risk["id"].as_str().unwrap(), "at_risk").await,
        1
    );
    assert_eq!(
        events_of(&a, at_risk["id"].as_str().unwrap(), "overdue").await,
        0
    );
    assert_eq!(
        events_of(&a, calm["id"].as_str().unwrap(), "at_risk").await,
        0
    );
    // Queue notifications for both, and the tenant admin hears of the overdue one.
    assert_eq!(
        notification::Entity::find().all(&a.db).await.unwrap().len(),
        3
    );
    let for_agent: Value = b
        .get(&agent, "/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = for_agent
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{for_agent}");
    assert!(kinds.contains(&"ticket_overdue") && kinds.contains(&"ticket_at_risk"));
    let admin = a.token("admin@stadt-trier.demo").await;
    let for_admin: Value = a
        .get(&admin, "/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(for_admin.as_array().unwrap().len(), 1);
    assert_eq!(for_admin[0]["kind"], "ticket_overdue");
    assert!(
        for_admin[0]["body"]
            .as_str()
            .unwrap()
            .contains("überfällig")
    );
    let id = for_admin[0]["id"].as_str().unwrap();
    let resp = a
        .client
        .post(a.url(&format!("/api/v1/notifications/{id}/read")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let unread: Value = a
        .get(&admin, "/api/v1/notifications?unread=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread, json!([]));
    // Other tenants hear nothing, and cannot mark it.
    let mainz = a.token("admin@stadt-mainz.demo").await;
    let none: Value = a
        .get(&mainz, "/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));
    let resp = a
        .client
        .post(a.url(&format!("/api/v1/notifications/{id}/read")))
        .bearer_auth(&mainz)
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
}

mod escalation {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::escalation_on_two_instances(super::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::escalation_on_two_instances(super::Backend::Postgres).await;
    }
}

async fn coverage_lets_another_center_act_for_a_while(app: TestApp) {
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let mainz_admin = app.token("admin@stadt-mainz.demo").await;
    assert_eq!(
        app.get(&koblenz, "/api/v1/tenants/stadt-mainz")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Wrong role and wrong tenant may not grant it.
    let until = (Utc::now() + chrono::Duration::hours(4)).to_rfc3339();
    let body = json!({"center": "sc-koblenz", "until": until, "reason": "Personalversammlung"});
    for (who, token) in [
        ("agent", &koblenz),
        (
            "koblenz admin",
            &app.token("admin@stadt-koblenz.demo").await,
        ),
        ("mainz editor", &app.token("editor@stadt-mainz.demo").await),
    ] {
        let resp = app
            .post(token, "/api/v1/tenants/stadt-mainz/coverages", &body)
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{who}");
    }
    for bad in [
        json!({"center": "sc-koblenz", "until": "2020-01-01T00:00:00Z", "reason": "x"}),
        json!({"center": "sc-koblenz", "until": (Utc::now() + chrono::Duration::days(40)).to_rfc3339(), "reason": "x"}),
        json!({"center": "sc-nirgendwo", "until": until, "reason": "x"}),
        json!({"center": "sc-mainz", "until": until, "reason": "x"}),
        json!({"center": "sc-koblenz", "until": until, "reason": " "}),
    ] {
        let resp = app
            .post(&mainz_admin, "/api/v1/tenants/stadt-mainz/coverages", &bad)
            .await;
        assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    }
    assert_eq!(app.count("center_coverages").await, 0);

    let resp = app
        .post(&mainz_admin, "/api/v1/tenants/stadt-mainz/coverages", &body)
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cover: Value = resp.json().await.unwrap();
    assert_eq!(cover["active"], true);
    // At once, the Koblenz agent works for Mainz: the ticket opens in Mainz directly.
    assert_eq!(
        app.get(&koblenz, "/api/v1/tenants/stadt-mainz")
            .await
            .status(),
        StatusCode::OK
    );
    let t = open_ticket(&app, &koblenz, "stadt-mainz", "Fasnacht-Vertretung").await;
    assert_eq!(t["tenant"], "stadt-mainz");
    assert_eq!(t["origin_tenant"], "stadt-mainz");
    assert!(t["number"].as_str().unwrap().starts_with("MZ-"));
    let me: Value = app.get(&koblenz, "/api/v1/me").await.json().await.unwrap();
    assert!(
        me["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["slug"] == "stadt-mainz")
    );
    // Revoked, it ends at once.
    let id = cover["id"].as_str().unwrap();
    let resp = app
        .post(
            &mainz_admin,
            &format!("/api/v1/tenants/stadt-mainz/coverages/{id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        app.get(&koblenz, "/api/v1/tenants/stadt-mainz")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // A short one ends by itself.
    let soon = (Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let resp = app
        .post(
            &mainz_admin,
            "/api/v1/tenants/stadt-mainz/coverages",
            &json!({"center": "sc-koblenz", "until": soon, "reason": "kurz"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        app.get(&koblenz, "/api/v1/tenants/stadt-mainz")
            .await
            .status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(
        app.get(&koblenz, "/api/v1/tenants/stadt-mainz")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let list: Value = app
        .get(&mainz_admin, "/api/v1/tenants/stadt-mainz/coverages")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["active"] == false)
    );
}

async fn reports_match_hand_computed_numbers(app: TestApp) {
    let agent = app.token("agent@sc-koblenz.demo").await;
    for (channel, solved) in [
        ("phone", true),
        ("phone", true),
        ("phone", true),
        ("email", true),
    ] {
        let resp = app
            .post(&agent, "/api/v1/contacts", &json!({"tenant": "stadt-koblenz", "channel": channel, "solved": solved, "duration_seconds": 60}))
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let a = open_ticket(&app, &agent, "stadt-koblenz", "A").await;
    let b = open_ticket(&app, &agent, "stadt-koblenz", "B").await;
    let c = open_ticket(&app, &agent, "stadt-koblenz", "C").await;
    let resp = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{}/forward", c["id"].as_str().unwrap()),
            &json!({"tenant": "stadt-mainz", "reason": "Mainz", "version": c["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // Place everything on Monday 16 Nov 2026 (Berlin): contacts 10:00, tickets 09:00 due Tue 09:00.
    contact::Entity::update_many()
        .col_expr(
            contact::Column::CreatedAt,
            Expr::value(utc("2026-11-16T09:00:00Z")),
        )
        .exec(&app.db)
        .await
        .unwrap();
    for t in [&a, &b, &c] {
        let id = t["id"].as_str().unwrap();
        set_ticket_times(
            &app,
            id,
            ticket::Column::CreatedAt,
            utc("2026-11-16T08:00:00Z"),
        )
        .await;
        set_ticket_times(&app, id, ticket::Column::DueAt, utc("2026-11-17T08:00:00Z")).await;
    }
    // A answered Mon 11:00 (2 service hours, in time); B answered Wed 09:00 (9 + 10 + 1 = 20 h, late).
    set_ticket_times(
        &app,
        a["id"].as_str().unwrap(),
        ticket::Column::FirstAnsweredAt,
        utc("2026-11-16T10:00:00Z"),
    )
    .await;
    set_ticket_times(
        &app,
        b["id"].as_str().unwrap(),
        ticket::Column::FirstAnsweredAt,
        utc("2026-11-18T08:00:00Z"),
    )
    .await;
    ticket_forward::Entity::update_many()
        .col_expr(
            ticket_forward::Column::CreatedAt,
            Expr::value(utc("2026-11-16T11:00:00Z")),
        )
        .exec(&app.db)
        .await
        .unwrap();

    let admin = app.token("admin@stadt-koblenz.demo").await;
    let report: Value = app
        .get(
            &admin,
            "/api/v1/tenants/stadt-koblenz/reports?from=2026-11-16&to=2026-11-16&group=day",
        )
        .await
        .json()
        .await
        .unwrap();
    let day = &report["rows"][0];
    assert_eq!(report["rows"].as_array().unwrap().len(), 1);
    assert_eq!(day["period"], "2026-11-16");
    assert_eq!(day["contacts"], 7);
    assert_eq!(
        day["contacts_by_channel"],
        json!({"email": 1, "letter": 0, "phone": 6, "walk_in": 0})
    );
    assert_eq!(day["solved_first_contact"], 4);
    assert_eq!(day["first_contact_rate"], 0.571);
    assert_eq!(day["tickets_created"], 3);
    assert_eq!(day["tickets_answered"], 2);
    assert_eq!(day["answered_in_time"], 1);
    assert_eq!(day["answered_in_time_rate"], 0.5);
    assert_eq!(day["answer_hours_median"], 11.0);
    assert_eq!(day["answer_hours_p90"], 20.0);
    assert_eq!(day["forwarded_out"], 1);
    assert_eq!(day["forwarded_in"], 0);
    assert_eq!(report["total"]["contacts"], 7);

    let month: Value = app
        .get(
            &admin,
            "/api/v1/tenants/stadt-koblenz/reports?from=2026-11-01&to=2026-11-30&group=month",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(month["rows"][0]["period"], "2026-11");
    assert_eq!(month["rows"][0]["tickets_created"], 3);
    let empty: Value = app
        .get(
            &admin,
            "/api/v1/tenants/stadt-koblenz/reports?from=2026-11-17&to=2026-11-20",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(empty["total"]["contacts"], 0);

    let csv = app
        .client
        .get(app.url("/api/v1/tenants/stadt-koblenz/reports?from=2026-11-16&to=2026-11-16"))
        .bearer_auth(&admin)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "period,contacts,contacts_phone,contacts_email,contacts_letter,contacts_walk_in,solved_first_contact,first_contact_rate,tickets_created,tickets_answered,answered_in_time,answered_in_time_rate,answer_hours_median,answer_hours_p90,forwarded_in,forwarded_out"
    );
    assert_eq!(lines[1], "2026-11-16,7,6,1,0,0,4,0.571,3,2,1,0.5,11,20,0,1");
    assert!(lines[2].starts_with("total,7,"));

    let mainz_admin = app.token("admin@stadt-mainz.demo").await;
    let mainz: Value = app
        .get(
            &mainz_admin,
            "/api/v1/tenants/stadt-mainz/reports?from=2026-11-16&to=2026-11-16",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mainz["total"]["forwarded_in"], 1);
    assert_eq!(mainz["total"]["tickets_created"], 0);
    // Wrong role, wrong tenant, bad input.
    assert_problem(
        app.get(
            &agent,
            "/api/v1/tenants/stadt-koblenz/reports?from=2026-11-16&to=2026-11-16",
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(
            &mainz_admin,
            "/api/v1/tenants/stadt-koblenz/reports?from=2026-11-16&to=2026-11-16",
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(
            &admin,
            "/api/v1/tenants/stadt-koblenz/reports?from=2026-11-16&to=2026-11-01",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    )
    .await;
    assert_problem(
        app.get(
            &admin,
            "/api/v1/tenants/stadt-koblenz/reports?from=2026-11-16&to=2026-11-17&group=year",
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-failed",
    )
    .await;
    assert_problem(
        app.get(
            &admin,
            "/api/v1/tenants/stadt-koblenz/reports?from=gestern&to=2026-11-17",
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid-query",
    )
    .await;
    // The center report: the center's contacts and its tenants' tickets.
    let op = app.token("operator@verbund.demo").await;
    let center: Value = app
        .get(
            &op,
            "/api/v1/centers/sc-koblenz/reports?from=2026-11-16&to=2026-11-16",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(center["total"]["contacts"], 7);
    assert_eq!(center["total"]["tickets_created"], 3);
    assert_problem(
        app.get(
            &mainz_admin,
            "/api/v1/centers/sc-koblenz/reports?from=2026-11-16&to=2026-11-16",
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

async fn anonymisation_and_the_access_log(app: TestApp) {
    let agent = app.token("agent@sc-koblenz.demo").await;
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let t = open_ticket(&app, &agent, "stadt-koblenz", "Datenschutz").await;
    let id = t["id"].as_str().unwrap();
    let number = t["number"].as_str().unwrap();
    app.post(
        &agent,
        &format!("/api/v1/tickets/{number}/notes"),
        &json!({"kind": "internal", "body": "Frau Muster, Tel. 0651 123456"}),
    )
    .await;
    // Reading personal data is logged.
    let read: Value = app
        .get(&agent, &format!("/api/v1/tickets/{number}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["citizen"]["name"], "Max Muster");
    let log: Value = app
        .get(
            &admin,
            &format!("/api/v1/tenants/stadt-koblenz/access-log?ticket={number}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["user_email"], "agent@sc-koblenz.demo");
    assert_eq!(log[0]["action"], "read");
    assert_eq!(log[0]["ticket_number"], number);
    // Lists carry no contact details.
    let list: Value = app
        .get(&agent, "/api/v1/tickets")
        .await
        .json()
        .await
        .unwrap();
    assert!(list["items"][0]["citizen"].is_null());
    let mainz_admin = app.token("admin@stadt-mainz.demo").await;
    assert_problem(
        app.get(&mainz_admin, "/api/v1/tenants/stadt-koblenz/access-log")
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(&agent, "/api/v1/tenants/stadt-koblenz/access-log")
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Automatic: closed longer ago than the tenant's setting.
    let closed: Value = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{number}/close"),
            &json!({"version": read["version"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(closed["state"], "closed");
    let done = verbund_ticketing::privacy::run_due_anonymization(
        &app.db,
        &job(Job::PrivacyRetention),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(done, 0, "30 days have not passed");
    set_ticket_times(
        &app,
        id,
        ticket::Column::ClosedAt,
        Utc::now() - chrono::Duration::days(31),
    )
    .await;
    let done = verbund_ticketing::privacy::run_due_anonymization(
        &app.db,
        &job(Job::PrivacyRetention),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(done, 1);
    let again = verbund_ticketing::privacy::run_due_anonymization(
        &app.db,
        &job(Job::PrivacyRetention),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(again, 0);
    let anon: Value = app
        .get(&agent, &format!("/api/v1/tickets/{number}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        anon["citizen"],
        json!({"name": null, "phone": null, "email": null, "address": null})
    );
    assert_eq!(anon["question"], "[anonymisiert]");
    assert_eq!(anon["number"], number, "the numbers for statistics stay");
    assert_eq!(anon["state"], "closed");
    let notes: Value = app
        .get(&agent, &format!("/api/v1/tickets/{number}/notes"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["body"] == "[anonymisiert]")
    );
    let history: Value = app
        .get(&agent, &format!("/api/v1/tickets/{number}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        history.as_array().unwrap().last().unwrap()["kind"],
        "anonymized"
    );
    let stored = ticket::Entity::find_by_id(uuid::Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.citizen_phone.is_none()
            && stored.citizen_email.is_none()
            && stored.anonymized_at.is_some()
    );

    // On request: tenant admins only.
    let t2 = open_ticket(&app, &agent, "stadt-koblenz", "Löschersuchen").await;
    let n2 = t2["number"].as_str().unwrap();
    let req = json!({"reason": "Löschersuchen des Bürgers"});
    assert_problem(
        app.post(&agent, &format!("/api/v1/tickets/{n2}/anonymize"), &req)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post(
            &mainz_admin,
            &format!("/api/v1/tickets/{n2}/anonymize"),
            &req,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let still =
        ticket::Entity::find_by_id(uuid::Uuid::parse_str(t2["id"].as_str().unwrap()).unwrap())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(still.citizen_name.as_deref(), Some("Max Muster"));
    let resp = app
        .post(&admin, &format!("/api/v1/tickets/{n2}/anonymize"), &req)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["citizen"]["name"], Value::Null);
    assert_problem(
        app.post(&admin, &format!("/api/v1/tickets/{n2}/anonymize"), &req)
            .await,
        StatusCode::CONFLICT,
        "already-anonymised",
    )
    .await;
}

async fn text_modules_per_tenant(app: TestApp) {
    let editor = app.token("editor@stadt-mainz.demo").await;
    let agent = app.token("agent@sc-mainz.demo").await;
    let body = json!({"name": "Personalausweis Unterlagen", "body": "Bitte bringen Sie ein biometrisches Passfoto mit."});
    let resp = app
        .post(&editor, "/api/v1/tenants/stadt-mainz/templates", &body)
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    assert_problem(
        app.post(&editor, "/api/v1/tenants/stadt-mainz/templates", &body)
            .await,
        StatusCode::CONFLICT,
        "duplicate",
    )
    .await;
    let list: Value = app
        .get(&agent, "/api/v1/tenants/stadt-mainz/templates")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_problem(
        app.post(
            &agent,
            "/api/v1/tenants/stadt-mainz/templates",
            &json!({"name": "x", "body": "y"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let koblenz_editor = app.token("editor@stadt-koblenz.demo").await;
    assert_problem(
        app.post(
            &koblenz_editor,
            "/api/v1/tenants/stadt-mainz/templates",
            &json!({"name": "x", "body": "y"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(&koblenz_editor, "/api/v1/tenants/stadt-mainz/templates")
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/stadt-koblenz/templates/{id}")))
        .bearer_auth(&koblenz_editor)
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(app.count("text_templates").await, 1);
    let resp = app
        .put(
            &editor,
            &format!("/api/v1/tenants/stadt-mainz/templates/{id}"),
            &json!({"name": "Ausweis", "body": "Neu"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/tenants/stadt-mainz/templates/{id}")))
        .bearer_auth(&editor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.count("text_templates").await, 0);
}

crate::both_backends!(
    coverage_lets_another_center_act_for_a_while,
    reports_match_hand_computed_numbers,
    anonymisation_and_the_access_log,
    text_modules_per_tenant,
);
