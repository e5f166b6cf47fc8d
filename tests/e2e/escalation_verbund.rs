//! Escalation across tenants: the tenant that took the call hears when its forwarded question
//! is at risk or overdue, unaccepted forwards escalate (and go back where set), each notice is
//! sent once, quiet hours hold notices until the next opening, and a third tenant sees
//! nothing. The multi-instance scenario runs the job on two instances (the second a process).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use verbund_schema::{
    escalation_notice, notification, outbox_mail, ticket, ticket_event, ticket_forward,
};

use crate::helpers::{Backend, TestApp, assert_problem, spawn_app_with};

fn uuid(id: &Value) -> uuid::Uuid {
    uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A callback ticket opened by `token`'s tenant `tenant`.
pub(crate) async fn open_ticket(app: &TestApp, token: &str, tenant: &str, subject: &str) -> Value {
    let resp = app
        .post(
            token,
            "/api/v1/contacts",
            &json!({
                "tenant": tenant, "channel": "phone", "solved": false, "duration_seconds": 120,
                "ticket": {
                    "subject": subject, "question": "Bitte um Rückruf.",
                    "citizen": {"name": "Erika Muster", "phone": "0261 123456"},
                    "answer_channel": "callback"
                }
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json::<Value>().await.unwrap()["ticket"].clone()
}

/// Opens a ticket for Koblenz and forwards it to `to`; returns the forwarded ticket.
pub(crate) async fn forwarded(app: &TestApp, koblenz: &str, to: &str, subject: &str) -> Value {
    let t = open_ticket(app, koblenz, "stadt-koblenz", subject).await;
    let resp = app
        .post(
            koblenz,
            &format!("/api/v1/tickets/{}/forward", t["id"].as_str().unwrap()),
            &json!({"tenant": to, "reason": "Zuständigkeit", "version": t["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

pub(crate) async fn accept(app: &TestApp, token: &str, t: &Value) -> Value {
    let current: Value = app
        .get(
            token,
            &format!("/api/v1/tickets/{}", t["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .post(
            token,
            &format!("/api/v1/tickets/{}/accept", t["id"].as_str().unwrap()),
            &json!({"version": current["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

pub(crate) async fn set_due(app: &TestApp, t: &Value, at: DateTime<Utc>) {
    ticket::Entity::update_many()
        .col_expr(ticket::Column::DueAt, Expr::value(at))
        .filter(ticket::Column::Id.eq(uuid(&t["id"])))
        .exec(&app.db)
        .await
        .unwrap();
}

/// Moves the forwards of a ticket back in time (when they were made).
pub(crate) async fn set_forwarded_at(app: &TestApp, t: &Value, at: DateTime<Utc>) {
    ticket_forward::Entity::update_many()
        .col_expr(ticket_forward::Column::CreatedAt, Expr::value(at))
        .filter(ticket_forward::Column::TicketId.eq(uuid(&t["id"])))
        .exec(&app.db)
        .await
        .unwrap();
}

pub(crate) async fn settings(app: &TestApp, slug: &str, settings: Value) {
    let op = app.token("operator@verbund.demo").await;
    let resp = app
        .patch(
            &op,
            &format!("/api/v1/tenants/{slug}"),
            &json!({ "settings": settings }),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
}

async fn events_of(app: &TestApp, t: &Value, kind: &str) -> usize {
    ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(uuid(&t["id"])))
        .filter(ticket_event::Column::Kind.eq(kind))
        .all(&app.db)
        .await
        .unwrap()
        .len()
}

async fn notices_of(app: &TestApp, t: &Value) -> Vec<escalation_notice::Model> {
    escalation_notice::Entity::find()
        .filter(escalation_notice::Column::TicketId.eq(uuid(&t["id"])))
        .all(&app.db)
        .await
        .unwrap()
}

async fn notifications_of(app: &TestApp, t: &Value) -> Vec<notification::Model> {
    notification::Entity::find()
        .filter(notification::Column::TicketId.eq(uuid(&t["id"])))
        .all(&app.db)
        .await
        .unwrap()
}

async fn escalation_mails_of(app: &TestApp, t: &Value) -> Vec<outbox_mail::Model> {
    outbox_mail::Entity::find()
        .filter(outbox_mail::Column::TicketId.eq(uuid(&t["id"])))
        .filter(outbox_mail::Column::Kind.eq("escalation"))
        .all(&app.db)
        .await
        .unwrap()
}

async fn tenant_id(app: &TestApp, slug: &str) -> uuid::Uuid {
    let t = app.snapshot(&format!("/api/v1/tenants/{slug}")).await;
    uuid(&t["id"])
}

fn kinds(list: &Value) -> Vec<(String, Option<String>)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_owned(),
                n["ticket_id"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// No two notifications for the same ticket, kind, tenant, user and queue: each notice once.
async fn assert_each_notice_once(app: &TestApp) {
    let all = notification::Entity::find().all(&app.db).await.unwrap();
    let mut keys: Vec<_> = all
        .iter()
        .map(|n| {
            (
                n.ticket_id,
                n.kind.clone(),
                n.tenant_id,
                n.user_id,
                n.queue.clone(),
            )
        })
        .collect();
    let before = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), before, "a notification was written twice");
}

/// Two instances (the second a process of the binary) run the job every second on one
/// database. Koblenz forwards five questions:
/// - to Mainz (`notify`), not accepted in time, then accepted late;
/// - to Trier-Saarburg (`return`), never accepted: escalated and sent back;
/// - to Mainz, accepted and answered in time: nothing is sent;
/// - to Mainz, accepted, then overdue: Mainz and Koblenz are told;
/// - to Mainz, waiting, and at risk: Mainz and Koblenz are told, the text says it waits.
async fn escalation_across_tenants_on_two_instances(backend: Backend) {
    let a = spawn_app_with(backend, |s| s.jobs_interval_seconds = 1).await;
    // Nothing is quiet here (the test must not depend on the hour it runs at); quiet hours
    // have their own test below.
    settings(
        &a,
        "stadt-koblenz",
        json!({"escalation_quiet_hours": false, "escalation_mail_to": "leitung@stadt-koblenz.demo"}),
    )
    .await;
    settings(&a, "stadt-mainz", json!({"escalation_quiet_hours": false})).await;
    settings(
        &a,
        "kreis-trier-saarburg",
        json!({"escalation_quiet_hours": false, "forward_unaccepted": "return", "forward_accept_hours": 3}),
    )
    .await;
    let koblenz = a.token("agent@sc-koblenz.demo").await;
    let mainz = a.token("responder@stadt-mainz.demo").await;
    let long_ago = Utc::now() - chrono::Duration::days(10);

    let late = forwarded(&a, &koblenz, "stadt-mainz", "spät angenommen").await;
    set_forwarded_at(&a, &late, long_ago).await;
    let never = forwarded(&a, &koblenz, "kreis-trier-saarburg", "nie angenommen").await;
    set_forwarded_at(&a, &never, long_ago).await;
    let in_time = forwarded(&a, &koblenz, "stadt-mainz", "rechtzeitig").await;
    accept(&a, &mainz, &in_time).await;
    let resp = a
        .post(
            &mainz,
            &format!("/api/v1/tickets/{}/notes", in_time["id"].as_str().unwrap()),
            &json!({"kind": "message", "body": "Wir haben Sie zurückgerufen."}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let overdue = forwarded(&a, &koblenz, "stadt-mainz", "überfällig").await;
    accept(&a, &mainz, &overdue).await;
    let at_risk = forwarded(&a, &koblenz, "stadt-mainz", "bald fällig").await;

    // The second instance starts only now, so both run the job on the same state.
    let b = a
        .second_instance_with(|s| s.jobs_interval_seconds = 1)
        .await;
    set_due(&a, &overdue, Utc::now() - chrono::Duration::hours(1)).await;
    set_due(&a, &at_risk, Utc::now() + chrono::Duration::minutes(30)).await;

    let start = Instant::now();
    loop {
        let sent = escalation_notice::Entity::find()
            .filter(escalation_notice::Column::SentAt.is_not_null())
            .all(&a.db)
            .await
            .unwrap()
            .len();
        if sent >= 8 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "only {sent} notices sent"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give both instances several more passes to do anything twice.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // Exactly one notice per told tenant and level, all sent.
    let (koblenz_id, mainz_id, kreis_id) = (
        tenant_id(&a, "stadt-koblenz").await,
        tenant_id(&a, "stadt-mainz").await,
        tenant_id(&a, "kreis-trier-saarburg").await,
    );
    let told = |notices: Vec<escalation_notice::Model>| {
        let mut v: Vec<(uuid::Uuid, String, String)> = notices
            .into_iter()
            .map(|n| {
                assert!(n.sent_at.is_some());
                (n.tenant_id.uuid(), n.level, n.audience)
            })
            .collect();
        v.sort();
        v
    };
    let expect = |v: Vec<(uuid::Uuid, &str, &str)>| {
        let mut v: Vec<(uuid::Uuid, String, String)> = v
            .into_iter()
            .map(|(t, l, a)| (t, l.to_owned(), a.to_owned()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        told(notices_of(&a, &late).await),
        expect(vec![
            (mainz_id, "unaccepted", "receiver"),
            (koblenz_id, "unaccepted", "origin")
        ])
    );
    assert_eq!(
        told(notices_of(&a, &never).await),
        expect(vec![
            (kreis_id, "unaccepted", "receiver"),
            (koblenz_id, "unaccepted", "origin")
        ])
    );
    assert_eq!(told(notices_of(&a, &in_time).await), vec![]);
    assert_eq!(
        told(notices_of(&a, &overdue).await),
        expect(vec![
            (mainz_id, "overdue", "holder"),
            (koblenz_id, "overdue", "origin")
        ])
    );
    assert_eq!(
        told(notices_of(&a, &at_risk).await),
        expect(vec![
            (mainz_id, "at_risk", "holder"),
            (koblenz_id, "at_risk", "origin")
        ])
    );
    assert_each_notice_once(&a).await;
    for (t, kind) in [
        (&late, "forward_unaccepted"),
        (&never, "forward_unaccepted"),
        (&never, "forward_returned"),
        (&overdue, "overdue"),
        (&at_risk, "at_risk"),
    ] {
        assert_eq!(
            events_of(&a, t, kind).await,
            1,
            "{kind} of {}",
            t["subject"]
        );
    }
    assert_eq!(events_of(&a, &late, "forward_returned").await, 0);
    // Answered in time: nothing.
    for kind in ["at_risk", "overdue", "forward_unaccepted"] {
        assert_eq!(events_of(&a, &in_time, kind).await, 0);
    }
    assert!(notifications_of(&a, &in_time).await.is_empty());
    assert!(escalation_mails_of(&a, &in_time).await.is_empty());

    // The forwarding agent of Koblenz hears of every one of its forwards that escalated, on
    // either instance, with who holds the ticket now.
    let heard: Value = b
        .get(&koblenz, "/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    let mut got = kinds(&heard);
    got.sort();
    let id = |t: &Value| Some(t["id"].as_str().unwrap().to_owned());
    let mut want = vec![
        ("forward_unaccepted".to_owned(), id(&late)),
        ("forward_unaccepted".to_owned(), id(&never)),
        ("forwarded_overdue".to_owned(), id(&overdue)),
        ("forwarded_at_risk".to_owned(), id(&at_risk)),
    ];
    want.sort();
    assert_eq!(got, want, "{heard}");
    let body_of = |kind: &str| {
        heard
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["kind"] == kind)
            .unwrap()["body"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let overdue_text = body_of("forwarded_overdue");
    assert!(
        overdue_text.contains("überfällig")
            && overdue_text.contains("Es liegt derzeit bei Stadt Mainz")
            && overdue_text.contains("angenommen"),
        "{overdue_text}"
    );
    let risk_text = body_of("forwarded_at_risk");
    assert!(
        risk_text.contains("bald fällig") && risk_text.contains("noch nicht angenommen"),
        "{risk_text}"
    );
    // Koblenz's admins hear of the overdue one (default levels), not of the one at risk.
    let k_admin = a.token("admin@stadt-koblenz.demo").await;
    let admin_heard: Value = a
        .get(&k_admin, "/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        kinds(&admin_heard),
        vec![("forwarded_overdue".to_owned(), id(&overdue))]
    );
    // Mainz: its admins hear of the unaccepted forward; its queue of the deadlines.
    let m_admin = a.token("admin@stadt-mainz.demo").await;
    let mut m_heard = kinds(
        &a.get(&m_admin, "/api/v1/notifications")
            .await
            .json()
            .await
            .unwrap(),
    );
    m_heard.sort();
    let mut m_want = vec![
        ("forward_unaccepted".to_owned(), id(&late)),
        ("ticket_overdue".to_owned(), id(&overdue)),
    ];
    m_want.sort();
    assert_eq!(m_heard, m_want);
    let m_queue = kinds(
        &b.get(&mainz, "/api/v1/notifications")
            .await
            .json()
            .await
            .unwrap(),
    );
    assert!(m_queue.contains(&("ticket_overdue".to_owned(), id(&overdue))));
    assert!(m_queue.contains(&("ticket_at_risk".to_owned(), id(&at_risk))));
    // Mail: Koblenz's escalation address and the forwarding agent, once each per notice.
    let mails = escalation_mails_of(&a, &overdue).await;
    let mut to: Vec<&str> = mails.iter().map(|m| m.to_address.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["agent@sc-koblenz.demo", "leitung@stadt-koblenz.demo"]);
    assert!(
        mails
            .iter()
            .all(|m| m.subject.starts_with("Weitergeleitet, überfällig"))
    );

    // The one never accepted is back at Koblenz with its deadline, the whole chain in the
    // history; the origin's view shows it.
    let back: Value = a
        .get(
            &koblenz,
            &format!("/api/v1/tickets/{}", never["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["tenant"], "stadt-koblenz");
    assert_eq!(back["forward_state"], "returned");
    assert_eq!(back["due_at"], never["due_at"]);
    assert_eq!(back["access"], "full");
    let history: Value = a
        .get(
            &koblenz,
            &format!("/api/v1/tickets/{}/history", never["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    let chain: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        chain,
        [
            "created",
            "forwarded",
            "forward_unaccepted",
            "forward_returned"
        ]
    );
    assert_eq!(
        history[3]["after"]["reason"],
        "nicht rechtzeitig angenommen"
    );
    assert_eq!(history[3]["after"]["automatic"], true);
    let fwd = ticket_forward::Entity::find()
        .filter(ticket_forward::Column::TicketId.eq(uuid(&never["id"])))
        .one(&a.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fwd.return_reason.as_deref(),
        Some("nicht rechtzeitig angenommen")
    );
    // The overdue one, in Koblenz's (forwarder's) view: overdue, and in its history.
    let seen: Value = b
        .get(
            &koblenz,
            &format!("/api/v1/tickets/{}", overdue["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["access"], "forwarder");
    assert_eq!(seen["overdue"], true);
    let history: Value = b
        .get(
            &koblenz,
            &format!(
                "/api/v1/tickets/{}/history",
                overdue["id"].as_str().unwrap()
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "overdue"),
        "{history}"
    );

    // Accepted late: the forward is taken, nothing more is sent.
    let taken = accept(&b, &mainz, &late).await;
    assert_eq!(taken["forward_state"], "accepted");
    let before = notification::Entity::find().all(&a.db).await.unwrap().len();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        notification::Entity::find().all(&a.db).await.unwrap().len(),
        before
    );
    assert_eq!(events_of(&a, &late, "forward_unaccepted").await, 1);

    // A third tenant sees nothing: no notification, none of the tickets.
    let trier = a.token("admin@stadt-trier.demo").await;
    let none: Value = b
        .get(&trier, "/api/v1/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));
    for t in [&late, &never, &in_time, &overdue, &at_risk] {
        let resp = a
            .get(
                &trier,
                &format!("/api/v1/tickets/{}", t["id"].as_str().unwrap()),
            )
            .await;
        assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    }
}

mod across_tenants {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::escalation_across_tenants_on_two_instances(super::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::escalation_across_tenants_on_two_instances(super::Backend::Postgres).await;
    }
}

/// Outside the told tenant's service hours a notice waits for the next opening; the levels
/// are settings; a second notice of a level is refused by the database itself.
async fn notices_wait_for_the_next_opening(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.jobs_interval_seconds = 0).await;
    settings(
        &app,
        "stadt-koblenz",
        json!({"escalation_overdue": ["queue"], "escalation_at_risk": []}),
    )
    .await;
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let mainz = app.token("responder@stadt-mainz.demo").await;
    let t = forwarded(&app, &koblenz, "stadt-mainz", "abends überfällig").await;
    accept(&app, &mainz, &t).await;
    // Monday 7 December 2026, 19:00 in Mainz and Koblenz: closed until Tuesday 08:00.
    let evening = utc("2026-12-07T18:00:00Z");
    let opening = utc("2026-12-08T07:00:00Z");
    set_due(&app, &t, evening - chrono::Duration::hours(1)).await;

    let pass = verbund_ticketing::escalation::run_once(
        &app.db,
        &crate::helpers::job(verbund_tenant::access::Job::Escalation),
        evening,
    )
    .await
    .unwrap();
    assert_eq!((pass.overdue, pass.notices), (1, 0));
    let notices = notices_of(&app, &t).await;
    assert_eq!(notices.len(), 2);
    assert!(
        notices
            .iter()
            .all(|n| n.sent_at.is_none() && n.send_after == opening)
    );
    assert!(notifications_of(&app, &t).await.is_empty());
    // Still closed an hour later: nothing.
    let pass = verbund_ticketing::escalation::run_once(
        &app.db,
        &crate::helpers::job(verbund_tenant::access::Job::Escalation),
        evening + chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    assert_eq!((pass.overdue, pass.notices), (0, 0));
    assert!(notifications_of(&app, &t).await.is_empty());
    // At the opening both are sent, once.
    let pass = verbund_ticketing::escalation::run_once(
        &app.db,
        &crate::helpers::job(verbund_tenant::access::Job::Escalation),
        opening,
    )
    .await
    .unwrap();
    assert_eq!(pass.notices, 2);
    let pass = verbund_ticketing::escalation::run_once(
        &app.db,
        &crate::helpers::job(verbund_tenant::access::Job::Escalation),
        opening,
    )
    .await
    .unwrap();
    assert_eq!(pass.notices, 0);
    let sent = notifications_of(&app, &t).await;
    // Koblenz (levels: overdue -> queue only): its front-office queue, not the agent or the
    // admins. Mainz (defaults): its queue (nobody assigned) and its admins.
    let koblenz_id = tenant_id(&app, "stadt-koblenz").await;
    let from_koblenz: Vec<_> = sent.iter().filter(|n| n.tenant_id == koblenz_id).collect();
    assert_eq!(from_koblenz.len(), 1, "{sent:?}");
    assert_eq!(from_koblenz[0].queue.as_deref(), Some("frontoffice"));
    assert!(from_koblenz[0].user_id.is_none());
    assert_eq!(from_koblenz[0].kind, "forwarded_overdue");
    let mainz_admin = app.user_id("stadt-mainz", "admin@stadt-mainz.demo").await;
    assert!(sent.iter().any(|n| n.kind == "ticket_overdue"
        && n.user_id.map(|u| u.to_string()) == Some(mainz_admin.clone())));
    assert_each_notice_once(&app).await;

    // The database refuses a second notice of the same ticket, level and tenant.
    use sea_orm::{ActiveModelTrait, Set};
    let again = escalation_notice::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        tenant_id: Set(koblenz_id.into()),
        ticket_id: Set(uuid(&t["id"]).into()),
        level: Set("overdue".into()),
        audience: Set("origin".into()),
        occasion: Set("deadline".into()),
        created_at: Set(Utc::now()),
        send_after: Set(Utc::now()),
        sent_at: Set(None),
    }
    .insert(&app.db)
    .await;
    assert!(again.is_err(), "a second notice was stored");
    assert_eq!(notices_of(&app, &t).await.len(), 2);
}

/// Settings refused with a problem (422), nothing changed; only the tenant's admins and
/// operators change them.
async fn escalation_settings_are_validated(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.jobs_interval_seconds = 0).await;
    let admin = app.token("admin@stadt-mainz.demo").await;
    let before = app.snapshot("/api/v1/tenants/stadt-mainz").await;
    assert_eq!(before["settings"]["forward_accept_hours"], 2);
    assert_eq!(before["settings"]["forward_unaccepted"], "notify");
    assert_eq!(before["settings"]["escalation_quiet_hours"], true);
    for bad in [
        json!({"forward_accept_hours": 0}),
        json!({"forward_accept_hours": 241}),
        json!({"forward_accept_hours": "zwei"}),
        json!({"forward_unaccepted": "ignore"}),
        json!({"escalation_at_risk": ["boss"]}),
        json!({"escalation_overdue": ["admins", "admins"]}),
        json!({"escalation_overdue": "admins"}),
        json!({"escalation_quiet_hours": "ja"}),
    ] {
        let resp = app
            .patch(
                &admin,
                "/api/v1/tenants/stadt-mainz",
                &json!({ "settings": bad }),
            )
            .await;
        assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    }
    assert_eq!(app.snapshot("/api/v1/tenants/stadt-mainz").await, before);
    // Wrong role, other tenant: refused, nothing changed.
    let good = json!({"settings": {"forward_unaccepted": "return"}});
    for who in [
        "responder@stadt-mainz.demo",
        "agent@sc-mainz.demo",
        "admin@stadt-koblenz.demo",
    ] {
        let token = app.token(who).await;
        let resp = app
            .patch(&token, "/api/v1/tenants/stadt-mainz", &good)
            .await;
        assert!(
            resp.status() == StatusCode::FORBIDDEN || resp.status() == StatusCode::NOT_FOUND,
            "{who}: {}",
            resp.status()
        );
    }
    assert_eq!(app.snapshot("/api/v1/tenants/stadt-mainz").await, before);
    let resp = app
        .patch(&admin, "/api/v1/tenants/stadt-mainz", &good)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let after = app.snapshot("/api/v1/tenants/stadt-mainz").await;
    assert_eq!(after["settings"]["forward_unaccepted"], "return");
}

mod quiet_hours {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::notices_wait_for_the_next_opening(super::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::notices_wait_for_the_next_opening(super::Backend::Postgres).await;
    }
}

mod settings_validation {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::escalation_settings_are_validated(super::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::escalation_settings_are_validated(super::Backend::Postgres).await;
    }
}

/// Sets when the forwards of a ticket were decided.
async fn set_decided_at(app: &TestApp, t: &Value, at: DateTime<Utc>) {
    ticket_forward::Entity::update_many()
        .col_expr(ticket_forward::Column::DecidedAt, Expr::value(at))
        .filter(ticket_forward::Column::TicketId.eq(uuid(&t["id"])))
        .exec(&app.db)
        .await
        .unwrap();
}

async fn answer(app: &TestApp, token: &str, t: &Value) {
    let resp = app
        .post(
            token,
            &format!("/api/v1/tickets/{}/notes", t["id"].as_str().unwrap()),
            &json!({"kind": "message", "body": "Ihre Frage ist beantwortet."}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

async fn get_csv(app: &TestApp, token: &str, path: &str) -> String {
    let resp = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    resp.text().await.unwrap()
}

/// The Verbund report against hand-computed numbers, the at-risk list without personal data,
/// and who may see them (operators and coordinators; nobody else; bad input refused).
///
/// Forwards made on Monday 16 November 2026, 09:00 (Berlin):
/// - Koblenz → Mainz: one accepted at 10:30 (1.5 service hours) and answered in time; one not
///   accepted in time (escalated), accepted at 12:00 (3.0 h) and answered late; one returned.
/// - Koblenz → Trier-Saarburg: one waiting, escalated.
/// - Mainz → Koblenz: one accepted at 09:30 (0.5 h), not answered.
/// - Koblenz → Mainz on 17 November: outside the period.
async fn the_verbund_report_matches_hand_computed_numbers(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.jobs_interval_seconds = 0).await;
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let k_responder = app.token("responder@stadt-koblenz.demo").await;
    let mainz = app.token("responder@stadt-mainz.demo").await;
    let mainz_agent = app.token("agent@sc-mainz.demo").await;
    let monday = utc("2026-11-16T08:00:00Z");

    let f1 = forwarded(&app, &koblenz, "stadt-mainz", "eins").await;
    accept(&app, &mainz, &f1).await;
    answer(&app, &mainz, &f1).await;
    let f2 = forwarded(&app, &koblenz, "stadt-mainz", "zwei").await;
    let f3 = forwarded(&app, &koblenz, "stadt-mainz", "drei").await;
    let resp = app
        .post(
            &mainz,
            &format!("/api/v1/tickets/{}/return", f3["id"].as_str().unwrap()),
            &json!({"version": f3["version"], "reason": "Nicht zuständig"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let f5 = forwarded(&app, &koblenz, "kreis-trier-saarburg", "fünf").await;
    let mz = open_ticket(&app, &mainz_agent, "stadt-mainz", "sechs").await;
    let resp = app
        .post(
            &mainz_agent,
            &format!("/api/v1/tickets/{}/forward", mz["id"].as_str().unwrap()),
            &json!({"tenant": "stadt-koblenz", "reason": "Zuständigkeit", "version": mz["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let f6: Value = resp.json().await.unwrap();
    accept(&app, &k_responder, &f6).await;
    for t in [&f1, &f2, &f3, &f5, &f6] {
        set_forwarded_at(&app, t, monday).await;
    }
    // The job finds the two waiting ones past their acceptance time.
    let pass = verbund_ticketing::escalation::run_once(
        &app.db,
        &crate::helpers::job(verbund_tenant::access::Job::Escalation),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!((pass.unaccepted, pass.returned), (2, 0));
    accept(&app, &mainz, &f2).await;
    answer(&app, &mainz, &f2).await;
    set_due(&app, &f2, monday).await;
    set_decided_at(&app, &f1, utc("2026-11-16T09:30:00Z")).await;
    set_decided_at(&app, &f2, utc("2026-11-16T11:00:00Z")).await;
    set_decided_at(&app, &f6, utc("2026-11-16T08:30:00Z")).await;
    let f7 = forwarded(&app, &koblenz, "stadt-mainz", "sieben").await;
    set_forwarded_at(&app, &f7, utc("2026-11-17T08:00:00Z")).await;

    let op = app.token("operator@verbund.demo").await;
    let path = "/api/v1/verbund/forwards?from=2026-11-16&to=2026-11-16";
    let resp = app.get(&op, path).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let report: Value = resp.json().await.unwrap();
    let pair = |from: &str,
                to: &str,
                n: [u64; 6],
                median: Value,
                answered: [u64; 2],
                rate: Value| {
        json!({
            "from_tenant": from, "to_tenant": to, "forwarded": n[0], "accepted": n[1],
            "returned": n[2], "returned_automatically": n[3], "pending": n[4], "unaccepted": n[5],
            "acceptance_hours_median": median, "tickets_answered": answered[0],
            "answered_in_time": answered[1], "answered_in_time_rate": rate,
        })
    };
    assert_eq!(
        report,
        json!({
            "from": "2026-11-16", "to": "2026-11-16",
            "pairs": [
                pair("stadt-koblenz", "kreis-trier-saarburg", [1, 0, 0, 0, 1, 1], Value::Null, [0, 0], Value::Null),
                pair("stadt-koblenz", "stadt-mainz", [3, 2, 1, 0, 0, 1], json!(2.25), [2, 1], json!(0.5)),
                pair("stadt-mainz", "stadt-koblenz", [1, 1, 0, 0, 0, 0], json!(0.5), [0, 0], Value::Null),
            ],
            "tenants": [
                {"tenant": "kreis-trier-saarburg", "sent": 0, "received": 1},
                {"tenant": "stadt-koblenz", "sent": 4, "received": 1},
                {"tenant": "stadt-mainz", "sent": 1, "received": 3},
            ],
        })
    );
    let csv = get_csv(&app, &op, path).await;
    assert_eq!(
        csv,
        "from_tenant,to_tenant,forwarded,accepted,returned,returned_automatically,pending,unaccepted,acceptance_hours_median,tickets_answered,answered_in_time,answered_in_time_rate\n\
         stadt-koblenz,kreis-trier-saarburg,1,0,0,0,1,1,,0,0,\n\
         stadt-koblenz,stadt-mainz,3,2,1,0,0,1,2.25,2,1,0.5\n\
         stadt-mainz,stadt-koblenz,1,1,0,0,0,0,0.5,0,0,\n"
    );
    // The next day has only the forward made then.
    let next: Value = app
        .get(
            &op,
            "/api/v1/verbund/forwards?from=2026-11-17&to=2026-11-17",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["pairs"].as_array().unwrap().len(), 1);
    assert_eq!(next["pairs"][0]["pending"], 1);
    assert_eq!(next["pairs"][0]["unaccepted"], 0);

    // At risk now: the one waiting at Trier-Saarburg (overdue) and Mainz's at Koblenz; a
    // ticket Koblenz never forwarded is not listed.
    let local = open_ticket(&app, &koblenz, "stadt-koblenz", "nur Koblenz").await;
    set_due(&app, &local, Utc::now() + chrono::Duration::minutes(30)).await;
    set_due(&app, &f5, Utc::now() - chrono::Duration::hours(1)).await;
    set_due(&app, &f6, Utc::now() + chrono::Duration::minutes(30)).await;
    verbund_ticketing::escalation::run_once(
        &app.db,
        &crate::helpers::job(verbund_tenant::access::Job::Escalation),
        Utc::now(),
    )
    .await
    .unwrap();
    let list: Value = app
        .get(&op, "/api/v1/verbund/forwards/at-risk")
        .await
        .json()
        .await
        .unwrap();
    let numbers: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [
            f5["number"].as_str().unwrap(),
            f6["number"].as_str().unwrap()
        ]
    );
    assert_eq!(list[0]["origin_tenant"], "stadt-koblenz");
    assert_eq!(list[0]["holder_tenant"], "kreis-trier-saarburg");
    assert_eq!(list[0]["forwarded_by_tenant"], "stadt-koblenz");
    assert_eq!(list[0]["forward_state"], "pending");
    assert_eq!(
        (list[0]["at_risk"].clone(), list[0]["overdue"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(list[1]["origin_tenant"], "stadt-mainz");
    assert_eq!(list[1]["holder_tenant"], "stadt-koblenz");
    assert_eq!(list[1]["forward_state"], "accepted");
    assert_eq!(list[1]["overdue"], false);
    for row in list.as_array().unwrap() {
        let mut keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "at_risk",
                "due_at",
                "forward_state",
                "forwarded_by_tenant",
                "holder_tenant",
                "number",
                "origin_tenant",
                "overdue",
                "state"
            ]
        );
    }
    let text = list.to_string();
    assert!(!text.contains("fünf") && !text.contains("Erika") && !text.contains("0261"));
    let csv = get_csv(&app, &op, "/api/v1/verbund/forwards/at-risk").await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with(&format!(
        "{},stadt-koblenz,kreis-trier-saarburg,stadt-koblenz,",
        f5["number"].as_str().unwrap()
    )));
    assert!(lines[1].ends_with(",new,pending,true,true"), "{csv}");

    // A coordinator (granted by an operator, not by a tenant's admin) sees the same, and no
    // citizen data anywhere.
    let k_admin = app.token("admin@stadt-koblenz.demo").await;
    let users_before = app.count("users").await;
    let coordinator_user = json!({
        "email": "koordination@verbund.demo", "display_name": "Koordination Verbund",
        "password": "koordination-2026!", "roles": [{"role": "coordinator"}]
    });
    let resp = app
        .post(
            &k_admin,
            "/api/v1/tenants/stadt-koblenz/users",
            &coordinator_user,
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("users").await, users_before);
    let resp = app
        .post(
            &op,
            "/api/v1/tenants/stadt-koblenz/users",
            &coordinator_user,
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "{}",
        resp.text().await.unwrap()
    );
    let resp = app
        .login_raw("koordination@verbund.demo", "koordination-2026!")
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let coordinator = resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen: Value = app.get(&coordinator, path).await.json().await.unwrap();
    assert_eq!(seen, report);
    let seen: Value = app
        .get(&coordinator, "/api/v1/verbund/forwards/at-risk")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen, list);
    let resp = app
        .get(
            &coordinator,
            &format!("/api/v1/tickets/{}", f1["id"].as_str().unwrap()),
        )
        .await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let queue: Value = app
        .get(&coordinator, "/api/v1/tickets")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["items"], json!([]));
    let resp = app
        .get(
            &coordinator,
            "/api/v1/tenants/stadt-koblenz/reports?from=2026-11-16&to=2026-11-16",
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;

    // Nobody else: tenant admins, agents, responders (403), no token (401).
    let forwards_before = app.count("ticket_forwards").await;
    let notices_before = app.count("escalation_notices").await;
    for token in [
        &k_admin,
        &koblenz,
        &mainz,
        &app.token("admin@stadt-mainz.demo").await,
    ] {
        for p in [path, "/api/v1/verbund/forwards/at-risk"] {
            let resp = app.get(token, p).await;
            assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
        }
    }
    for p in [path, "/api/v1/verbund/forwards/at-risk"] {
        let resp = app.client.get(app.url(p)).send().await.unwrap();
        assert_problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    // Bad periods: a problem, not a 500.
    for (q, status, code) in [
        (
            "from=2026-11-17&to=2026-11-16",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
        ),
        (
            "from=2025-01-01&to=2026-11-16",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
        ),
        ("from=2026-11-16", StatusCode::BAD_REQUEST, "invalid-query"),
        (
            "from=gestern&to=2026-11-16",
            StatusCode::BAD_REQUEST,
            "invalid-query",
        ),
        (
            "from=2026-11-16&to=2026-11-16&tenant=x",
            StatusCode::BAD_REQUEST,
            "invalid-query",
        ),
    ] {
        let resp = app.get(&op, &format!("/api/v1/verbund/forwards?{q}")).await;
        assert_problem(resp, status, code).await;
    }
    assert_eq!(app.count("ticket_forwards").await, forwards_before);
    assert_eq!(app.count("escalation_notices").await, notices_before);
}

mod verbund_report {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::the_verbund_report_matches_hand_computed_numbers(super::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::the_verbund_report_matches_hand_computed_numbers(super::Backend::Postgres).await;
    }
}
