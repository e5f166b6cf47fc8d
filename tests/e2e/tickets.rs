//! Contacts, tickets, forwarding, optimistic locking and the service calendar.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

fn callback_ticket(subject: &str) -> Value {
    json!({
        "subject": subject,
        "question": "Welche Unterlagen brauche ich für den neuen Personalausweis?",
        "citizen": {"name": "Erika Mustermann", "phone": "+49 261 123456"},
        "answer_channel": "callback",
        "callback_windows": [{"from": "2026-12-01T08:00:00Z", "to": "2026-12-01T10:00:00Z"}]
    })
}

async fn unsolved_contact(app: &TestApp, token: &str, tenant: &str, subject: &str) -> Value {
    let resp = app
        .post(
            token,
            "/api/v1/contacts",
            &json!({
                "tenant": tenant, "channel": "phone", "solved": false, "duration_seconds": 240,
                "topic": "Personalausweis", "ticket": callback_ticket(subject)
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    body["ticket"].clone()
}

async fn contacts_are_logged_and_unsolved_ones_open_numbered_tickets(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    let resp = app
        .post(&agent, "/api/v1/contacts", &json!({
            "tenant": "stadt-trier", "channel": "phone", "solved": true, "duration_seconds": 95, "topic": "Öffnungszeiten"
        }))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["solved"], true);
    assert!(body["ticket"].is_null());
    assert_eq!(app.count("tickets").await, 0);

    let first = unsolved_contact(&app, &agent, "stadt-trier", "Personalausweis").await;
    let second = unsolved_contact(&app, &agent, "kreis-trier-saarburg", "Kfz-Zulassung").await;
    let third = unsolved_contact(&app, &agent, "stadt-trier", "Meldebescheinigung").await;
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(first["number"], format!("TR-{year}-000001"));
    assert_eq!(second["number"], format!("TS-{year}-000001"));
    assert_eq!(third["number"], format!("TR-{year}-000002"));
    assert_eq!(first["state"], "new");
    assert_eq!(first["tenant"], "stadt-trier");
    assert_eq!(first["citizen"]["phone"], "+49 261 123456");
    assert_eq!(first["access"], "full");
    assert_eq!(app.count("contacts").await, 4);
    assert_eq!(app.count("tickets").await, 3);
    // The due date is the calendar's answer for the arrival.
    let created = first["created_at"].as_str().unwrap();
    let due: Value = app
        .client
        .get(app.url("/api/v1/tenants/stadt-trier/calendar/due"))
        .query(&[("from", created)])
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(due["due_at"], first["due_at"]);
    // History has the creation.
    let id = first["id"].as_str().unwrap();
    let history: Value = app
        .get(&agent, &format!("/api/v1/tickets/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history[0]["kind"], "created");
    assert_eq!(history[0]["after"]["number"], first["number"]);
}

async fn contacts_refuse_bad_input_and_wrong_roles(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    let editor = app.token("editor@stadt-trier.demo").await;
    let resp = app
        .post(&agent, "/api/v1/contacts", &json!({"tenant": "stadt-trier", "channel": "phone", "solved": false, "duration_seconds": 10}))
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let mut no_phone = callback_ticket("x");
    no_phone["citizen"]["phone"] = Value::Null;
    let resp = app
        .post(&agent, "/api/v1/contacts", &json!({"tenant": "stadt-trier", "channel": "phone", "solved": false, "duration_seconds": 10, "ticket": no_phone}))
        .await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(body["field"], "citizen.phone");
    let resp = app
        .post(&agent, "/api/v1/contacts", &json!({"tenant": "stadt-trier", "channel": "fax", "solved": true, "duration_seconds": 10}))
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;
    let resp = app
        .post(&agent, "/api/v1/contacts", &json!({"tenant": "gibt-es-nicht", "channel": "phone", "solved": true, "duration_seconds": 10}))
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let resp = app
        .post(&editor, "/api/v1/contacts", &json!({"tenant": "stadt-trier", "channel": "phone", "solved": true, "duration_seconds": 10}))
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("contacts").await, 0);
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("ticket_counters").await, 0);
}

async fn tickets_of_other_tenants_stay_invisible(app: TestApp) {
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let ticket = unsolved_contact(&app, &koblenz, "stadt-koblenz", "Wohnsitz anmelden").await;
    let id = ticket["id"].as_str().unwrap();
    let version = ticket["version"].as_i64().unwrap();
    for who in [
        "agent@sc-mainz.demo",
        "responder@stadt-mainz.demo",
        "admin@stadt-mainz.demo",
        "agent@sc-trier.demo",
    ] {
        let token = app.token(who).await;
        assert_problem(
            app.get(&token, &format!("/api/v1/tickets/{id}")).await,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
        assert_problem(
            app.get(&token, &format!("/api/v1/tickets/{id}/history"))
                .await,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
        assert_problem(
            app.get(&token, &format!("/api/v1/tickets/{id}/notes"))
                .await,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
        let resp = app
            .patch(
                &token,
                &format!("/api/v1/tickets/{id}"),
                &json!({"version": version, "state": "closed"}),
            )
            .await;
        assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
        let resp = app
            .post(
                &token,
                &format!("/api/v1/tickets/{id}/notes"),
                &json!({"kind": "internal", "body": "fremd"}),
            )
            .await;
        assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
        let resp = app
            .post(
                &token,
                &format!("/api/v1/tickets/{id}/forward"),
                &json!({"tenant": "stadt-mainz", "reason": "x", "version": version}),
            )
            .await;
        assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
        let list: Value = app
            .get(&token, "/api/v1/tickets")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["items"], json!([]), "{who}");
        let resp = app
            .post(
                &token,
                "/api/v1/tenants/stadt-koblenz/tickets",
                &callback_ticket("fremd"),
            )
            .await;
        assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // Wrong role inside the tenant: the editor may not work tickets.
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let resp = app
        .patch(
            &editor,
            &format!("/api/v1/tickets/{id}"),
            &json!({"version": version, "state": "closed"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let admin = app.token("admin@stadt-koblenz.demo").await;
    let resp = app
        .patch(
            &admin,
            &format!("/api/v1/tickets/{id}"),
            &json!({"version": version, "state": "closed"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    // Nothing changed.
    let after: Value = app
        .get(&koblenz, &format!("/api/v1/tickets/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after, ticket);
    assert_eq!(app.count("tickets").await, 1);
    assert_eq!(app.count("ticket_notes").await, 0);
    assert_eq!(app.count("ticket_forwards").await, 0);
    assert_eq!(app.count("ticket_events").await, 1);
}

async fn concurrent_edits_lose_with_409(app: TestApp) {
    let agent = app.token("agent@sc-mainz.demo").await;
    let ticket = unsolved_contact(&app, &agent, "stadt-mainz", "Elterngeld").await;
    let id = ticket["id"].as_str().unwrap();
    let v = ticket["version"].as_i64().unwrap();
    let me: Value = app.get(&agent, "/api/v1/me").await.json().await.unwrap();
    let first = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            &json!({"version": v, "state": "in_progress", "assignee_id": me["id"]}),
        )
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["version"], v + 1);
    assert_eq!(first["assignee_id"], me["id"]);
    let second = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            &json!({"version": v, "state": "closed"}),
        )
        .await;
    assert_problem(second, StatusCode::CONFLICT, "stale-version").await;
    let now: Value = app
        .get(&agent, &format!("/api/v1/tickets/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["state"], "in_progress");
    assert_eq!(now["version"], v + 1);
    // An assignee who does not work Mainz tickets is refused.
    let other = app
        .user_id("stadt-koblenz", "responder@stadt-koblenz.demo")
        .await;
    let resp = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            &json!({"version": v + 1, "assignee_id": other}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    // Closed is final.
    let resp = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            &json!({"version": v + 1, "state": "closed"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{id}"),
            &json!({"version": v + 2, "state": "in_progress"}),
        )
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "ticket-closed").await;
    let history: Value = app
        .get(&agent, &format!("/api/v1/tickets/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "changed", "changed"]);
    assert_eq!(history[1]["before"]["state"], "new");
    assert_eq!(history[1]["after"]["state"], "in_progress");
}

async fn forwarding_to_another_tenant_keeps_the_deadline_and_the_trail(app: TestApp) {
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let mainz = app.token("responder@stadt-mainz.demo").await;
    let ticket =
        unsolved_contact(&app, &koblenz, "stadt-koblenz", "Anwohnerparkausweis Mainz").await;
    let id = ticket["id"].as_str().unwrap();
    let resp = app
        .post(
            &koblenz,
            &format!("/api/v1/tickets/{id}/forward"),
            &json!({
                "tenant": "stadt-mainz", "reason": "Wohnsitz in Mainz", "version": ticket["version"]
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let fwd: Value = resp.json().await.unwrap();
    assert_eq!(fwd["tenant"], "stadt-mainz");
    assert_eq!(fwd["origin_tenant"], "stadt-koblenz");
    assert_eq!(fwd["forward_state"], "pending");
    assert_eq!(
        fwd["due_at"], ticket["due_at"],
        "the deadline does not reset"
    );
    assert_eq!(fwd["number"], ticket["number"]);
    assert_eq!(fwd["access"], "forwarder");
    assert!(fwd["citizen"].is_null() && fwd["question"].is_null());

    // Mainz sees it in its queue as forwarded in, with the full question.
    let inbox: Value = app
        .get(&mainz, "/api/v1/tickets?forwarded=in")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["items"][0]["id"], id);
    assert_eq!(inbox["items"][0]["question"], ticket["question"]);
    let outbox: Value = app
        .get(&koblenz, "/api/v1/tickets?forwarded=out")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outbox["items"][0]["id"], id);
    assert_eq!(outbox["items"][0]["access"], "forwarder");
    // Koblenz can no longer work it.
    let resp = app
        .post(
            &koblenz,
            &format!("/api/v1/tickets/{id}/notes"),
            &json!({"kind": "internal", "body": "x"}),
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;

    let resp = app
        .post(
            &mainz,
            &format!("/api/v1/tickets/{id}/accept"),
            &json!({"version": fwd["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let accepted: Value = resp.json().await.unwrap();
    assert_eq!(accepted["forward_state"], "accepted");
    // Mainz writes an internal note and answers the citizen.
    let resp = app
        .post(
            &mainz,
            &format!("/api/v1/tickets/{id}/notes"),
            &json!({"kind": "internal", "body": "Rückfrage Straßenverkehrsamt intern"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let resp = app
        .post(
            &mainz,
            &format!("/api/v1/tickets/{id}/notes"),
            &json!({"kind": "message", "body": "Den Ausweis erhalten Sie im Bürgeramt Mainz."}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    // Koblenz sees the state and the answer, not Mainz's internal note.
    let seen: Value = app
        .get(&koblenz, &format!("/api/v1/tickets/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["state"], "answered");
    let notes: Value = app
        .get(&koblenz, &format!("/api/v1/tickets/{id}/notes"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notes.as_array().unwrap().len(), 1);
    assert_eq!(notes[0]["kind"], "message");
    let mainz_notes: Value = app
        .get(&mainz, &format!("/api/v1/tickets/{id}/notes"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mainz_notes.as_array().unwrap().len(), 2);
    // The history shows the whole chain, for both.
    for token in [&koblenz, &mainz] {
        let history: Value = app
            .get(token, &format!("/api/v1/tickets/{id}/history"))
            .await
            .json()
            .await
            .unwrap();
        let kinds: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "created",
                "forwarded",
                "forward_accepted",
                "note_added",
                "message_sent",
                "changed"
            ]
        );
        assert_eq!(history[1]["before"]["tenant"], "stadt-koblenz");
        assert_eq!(history[1]["after"]["tenant"], "stadt-mainz");
        assert_eq!(history[1]["after"]["reason"], "Wohnsitz in Mainz");
        assert!(
            history[3]["after"].get("body").is_none(),
            "note text stays out of the history"
        );
    }
    // A third tenant sees nothing.
    let trier = app.token("agent@sc-trier.demo").await;
    assert_eq!(
        app.get(&trier, &format!("/api/v1/tickets/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

async fn a_receiver_can_return_a_forwarded_ticket(app: TestApp) {
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let mainz = app.token("agent@sc-mainz.demo").await;
    let ticket = unsolved_contact(&app, &koblenz, "stadt-koblenz", "Hundesteuer").await;
    let id = ticket["id"].as_str().unwrap();
    let fwd: Value = app
        .post(&koblenz, &format!("/api/v1/tickets/{id}/forward"), &json!({"tenant": "stadt-mainz", "reason": "Hund in Mainz gemeldet", "version": ticket["version"]}))
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .post(
            &mainz,
            &format!("/api/v1/tickets/{id}/return"),
            &json!({"version": fwd["version"]}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let resp = app
        .post(
            &mainz,
            &format!("/api/v1/tickets/{id}/return"),
            &json!({"version": fwd["version"], "reason": "Hund ist in Koblenz gemeldet"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let back: Value = app
        .get(&koblenz, &format!("/api/v1/tickets/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["tenant"], "stadt-koblenz");
    assert_eq!(back["forward_state"], "returned");
    assert_eq!(back["access"], "full");
    assert_eq!(back["due_at"], ticket["due_at"]);
    let history: Value = app
        .get(&koblenz, &format!("/api/v1/tickets/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        history.as_array().unwrap().last().unwrap()["after"]["reason"],
        "Hund ist in Koblenz gemeldet"
    );
    // Mainz returned it as not its matter: it keeps no access to the citizen's question.
    assert_problem(
        app.get(&mainz, &format!("/api/v1/tickets/{id}")).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}

async fn forwarding_refuses_unknown_inactive_and_closed(app: TestApp) {
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let ticket = unsolved_contact(&app, &koblenz, "stadt-koblenz", "Sperrmüll").await;
    let id = ticket["id"].as_str().unwrap();
    let v = ticket["version"].clone();
    let resp = app
        .post(
            &koblenz,
            &format!("/api/v1/tickets/{id}/forward"),
            &json!({"tenant": "gibt-es-nicht", "reason": "x", "version": v}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let op = app.token("operator@verbund.demo").await;
    assert_eq!(
        app.patch(
            &op,
            "/api/v1/tenants/stadt-mainz",
            &json!({"active": false})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let resp = app
        .post(
            &koblenz,
            &format!("/api/v1/tickets/{id}/forward"),
            &json!({"tenant": "stadt-mainz", "reason": "x", "version": v}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let resp = app
        .post(
            &koblenz,
            &format!("/api/v1/tickets/{id}/forward"),
            &json!({"tenant": "stadt-trier", "reason": " ", "version": v}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let closed: Value = app
        .patch(
            &koblenz,
            &format!("/api/v1/tickets/{id}"),
            &json!({"version": v, "state": "closed"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .post(
            &koblenz,
            &format!("/api/v1/tickets/{id}/forward"),
            &json!({"tenant": "stadt-trier", "reason": "x", "version": closed["version"]}),
        )
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "ticket-closed").await;
    assert_eq!(app.count("ticket_forwards").await, 0);
    let now: Value = app
        .get(&koblenz, &format!("/api/v1/tickets/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["tenant"], "stadt-koblenz");
}

async fn forwarding_to_a_back_office_unit(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    let ticket = unsolved_contact(&app, &agent, "stadt-trier", "Gewerbeanmeldung").await;
    let id = ticket["id"].as_str().unwrap();
    let resp = app
        .post(&agent, &format!("/api/v1/tickets/{id}/forward"), &json!({"queue": "backoffice:gewerbeamt", "reason": "Fachfrage", "version": ticket["version"]}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["tenant"], "stadt-trier");
    assert_eq!(body["queue"], "backoffice:gewerbeamt");
    assert_eq!(body["state"], "waiting_backoffice");
    assert_eq!(body["due_at"], ticket["due_at"]);
    let queue: Value = app
        .get(&agent, "/api/v1/tickets?queue=backoffice:gewerbeamt")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
}

async fn an_agent_answering_for_another_tenant_forwards_automatically(app: TestApp) {
    let koblenz = app.token("agent@sc-koblenz.demo").await;
    let resp = app
        .post(&koblenz, "/api/v1/contacts", &json!({
            "tenant": "stadt-mainz", "channel": "phone", "solved": false, "duration_seconds": 300,
            "ticket": callback_ticket("Bewohnerparken Mainz")
        }))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["tenant"], "stadt-mainz");
    let ticket = &body["ticket"];
    assert_eq!(ticket["tenant"], "stadt-mainz");
    assert_eq!(ticket["origin_tenant"], "stadt-koblenz");
    assert_eq!(ticket["forward_state"], "pending");
    assert!(ticket["number"].as_str().unwrap().starts_with("KO-"));
    let mainz = app.token("agent@sc-mainz.demo").await;
    let inbox: Value = app
        .get(&mainz, "/api/v1/tickets?forwarded=in")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inbox["items"][0]["id"], ticket["id"]);
    // A solved contact about another tenant is just logged.
    let resp = app
        .post(&koblenz, "/api/v1/contacts", &json!({"tenant": "stadt-trier", "channel": "phone", "solved": true, "duration_seconds": 60}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(app.count("contacts").await, 2);
}

async fn failed_callbacks_flag_the_ticket_for_another_channel(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    let ticket = unsolved_contact(&app, &agent, "stadt-trier", "Bewohnerparken").await;
    let id = ticket["id"].as_str().unwrap();
    let mut last = Value::Null;
    for outcome in ["not_reached", "mailbox", "not_reached"] {
        let resp = app
            .post(
                &agent,
                &format!("/api/v1/tickets/{id}/call-attempts"),
                &json!({"outcome": outcome}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        last = resp.json().await.unwrap();
    }
    assert_eq!(last["failed_call_attempts"], 3);
    assert_eq!(last["needs_other_channel"], true);
    let resp = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{id}/call-attempts"),
            &json!({"outcome": "reached", "note": "erreicht"}),
        )
        .await;
    let done: Value = resp.json().await.unwrap();
    assert_eq!(done["state"], "answered");
    assert_eq!(app.count("call_attempts").await, 4);
}

async fn the_queue_pages_by_due_date(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    for s in ["eins", "zwei", "drei"] {
        unsolved_contact(&app, &agent, "stadt-trier", s).await;
    }
    let page1: Value = app
        .get(&agent, "/api/v1/tickets?limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .client
        .get(app.url("/api/v1/tickets"))
        .query(&[("limit", "2"), ("cursor", cursor)])
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert!(page2["next_cursor"].is_null());
    let subjects: Vec<&str> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["items"].as_array().unwrap())
        .map(|t| t["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["eins", "zwei", "drei"]);
    let found: Value = app
        .get(&agent, "/api/v1/tickets?q=ZWEI")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let resp = app.get(&agent, "/api/v1/tickets?cursor=kaputt").await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let resp = app.get(&agent, "/api/v1/tickets?limit=1000").await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let resp = app.get(&agent, "/api/v1/tickets?sort=wild").await;
    assert_problem(resp, StatusCode::BAD_REQUEST, "invalid-query").await;
}

async fn the_calendar_tells_when_the_answer_is_due(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    for (from, due) in [
        ("2026-04-02T10:00:00Z", "2026-04-07T10:00:00Z"), // Thu 12:00 before Easter → Tue 12:00
        ("2026-11-16T14:00:00Z", "2026-11-17T14:00:00Z"), // Mon 15:00 → Tue 15:00
        ("2026-11-21T10:00:00Z", "2026-11-23T17:00:00Z"), // Sat 11:00 → Mon 18:00
    ] {
        let body: Value = app
            .client
            .get(app.url("/api/v1/tenants/stadt-trier/calendar/due"))
            .query(&[("from", from)])
            .bearer_auth(&agent)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let got = chrono::DateTime::parse_from_rfc3339(body["due_at"].as_str().unwrap()).unwrap();
        let want = chrono::DateTime::parse_from_rfc3339(due).unwrap();
        assert_eq!(got, want, "from {from}");
    }
    let resp = app
        .get(&agent, "/api/v1/tenants/stadt-koblenz/calendar/due")
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    let resp = app
        .get(
            &agent,
            "/api/v1/tenants/stadt-trier/calendar/due?from=gestern",
        )
        .await;
    assert_problem(resp, StatusCode::BAD_REQUEST, "invalid-query").await;
}

async fn tickets_are_addressed_by_number(app: TestApp) {
    let agent = app.token("agent@sc-koblenz.demo").await;
    let ticket = unsolved_contact(&app, &agent, "stadt-koblenz", "Urkunde").await;
    let number = ticket["number"].as_str().unwrap();
    let by_number: Value = app
        .get(&agent, &format!("/api/v1/tickets/{number}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_number["id"], ticket["id"]);
    let resp = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{number}/messages"),
            &json!({"body": "Die Urkunde liegt ab Montag bereit."}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let answered: Value = app
        .get(&agent, &format!("/api/v1/tickets/{number}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answered["state"], "answered");
    let resp = app
        .post(
            &agent,
            &format!("/api/v1/tickets/{number}/close"),
            &json!({"version": answered["version"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let closed: Value = resp.json().await.unwrap();
    assert_eq!(closed["state"], "closed");
    assert!(closed["closed_at"].is_string());
    let list: Value = app
        .get(&agent, "/api/v1/tenants/stadt-koblenz/tickets")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let mainz = app.token("agent@sc-mainz.demo").await;
    assert_problem(
        app.get(&mainz, "/api/v1/tenants/stadt-koblenz/tickets")
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(&mainz, &format!("/api/v1/tickets/{number}")).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_problem(
        app.get(&agent, "/api/v1/tickets/KO-2026-999999").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    // Ticket prefixes are unique, so numbers are too.
    let op = app.token("operator@verbund.demo").await;
    let resp = app
        .post(&op, "/api/v1/tenants", &json!({"slug": "stadt-konz", "name": "Stadt Konz", "ags": "07235070", "ticket_prefix": "KO"}))
        .await;
    assert_problem(resp, StatusCode::CONFLICT, "duplicate").await;
}

async fn service_hours_and_closing_days_are_tenant_settings(app: TestApp) {
    let admin = app.token("admin@stadt-trier.demo").await;
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-trier",
            &json!({"settings": {"service_hours": {
                "mon": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]
            }}}),
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    let day = json!([{"start": "08:00", "end": "18:00"}]);
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-trier",
            &json!({"settings": {"service_hours": {
                "mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
                "sat": [{"start": "08:00", "end": "12:00"}]
            }}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let due = |app: &TestApp, token: String| {
        let req = app
            .client
            .get(app.url("/api/v1/tenants/stadt-trier/calendar/due"))
            .query(&[("from", "2026-11-21T10:00:00Z")])
            .bearer_auth(token);
        async move {
            let body: Value = req.send().await.unwrap().json().await.unwrap();
            chrono::DateTime::parse_from_rfc3339(body["due_at"].as_str().unwrap()).unwrap()
        }
    };
    // Saturday 11:00: one hour on Saturday, nine on Monday.
    assert_eq!(
        due(&app, admin.clone()).await,
        chrono::DateTime::parse_from_rfc3339("2026-11-23T16:00:00Z").unwrap()
    );
    let resp = app
        .patch(
            &admin,
            "/api/v1/tenants/stadt-trier",
            &json!({"settings": {"closing_days": ["2026-11-23"]}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        due(&app, admin.clone()).await,
        chrono::DateTime::parse_from_rfc3339("2026-11-24T16:00:00Z").unwrap()
    );
    // Another tenant's calendar is untouched.
    let agent = app.token("agent@sc-trier.demo").await;
    let body: Value = app
        .client
        .get(app.url("/api/v1/tenants/kreis-trier-saarburg/calendar/due"))
        .query(&[("from", "2026-11-21T10:00:00Z")])
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(body["due_at"].as_str().unwrap()).unwrap(),
        chrono::DateTime::parse_from_rfc3339("2026-11-23T17:00:00Z").unwrap()
    );
}

/// Numbers continue after the tenant's counter for the year (on PostgreSQL the first ticket of
/// a year starts the tenant's sequence there), concurrent creations get distinct numbers, and
/// each ticket has exactly one "created" history row, with its number.
async fn numbers_continue_after_the_counter_and_stay_distinct(app: TestApp) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
    use verbund_schema::{ticket_counter, ticket_event};
    let koblenz = verbund_schema::tenant::Entity::find()
        .filter(verbund_schema::tenant::Column::Slug.eq("stadt-koblenz"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let year = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%Y")
        .to_string();
    ticket_counter::Entity::insert(ticket_counter::ActiveModel {
        tenant_id: Set(koblenz.id),
        year: Set(year.parse().unwrap()),
        last_number: Set(41),
    })
    .exec_without_returning(&app.db)
    .await
    .unwrap();
    let agent = app.token("agent@sc-koblenz.demo").await;
    let creations: Vec<_> = (0..6)
        .map(|i| {
            let (client, url, agent) = (
                app.client.clone(),
                app.url("/api/v1/tenants/stadt-koblenz/tickets"),
                agent.clone(),
            );
            tokio::spawn(async move {
                let resp = client
                    .post(url)
                    .bearer_auth(agent)
                    .json(&callback_ticket(&format!("Anliegen {i}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), StatusCode::CREATED);
                resp.json::<Value>().await.unwrap()
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for c in creations {
        let ticket = c.await.unwrap();
        numbers.push(ticket["number"].as_str().unwrap().to_owned());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 6, "numbers are distinct: {numbers:?}");
    let prefix = format!("{}-{year}-", koblenz.ticket_prefix);
    let counted: Vec<i64> = numbers
        .iter()
        .map(|n| n.strip_prefix(&prefix).unwrap().parse().unwrap())
        .collect();
    if app.database_url.starts_with("sqlite") {
        // One counter row, without gaps.
        assert_eq!(counted, (42..48).collect::<Vec<i64>>());
    } else {
        // A sequence, taken in blocks per instance: the first number follows the counter.
        assert_eq!(counted[0], 42, "{counted:?}");
    }
    let expected = numbers.clone();
    assert_eq!(app.count("tickets").await, 6);
    let created = ticket_event::Entity::find()
        .filter(ticket_event::Column::Kind.eq("created"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(created.len(), 6);
    let mut in_history: Vec<String> = created
        .iter()
        .map(|e| e.after["number"].as_str().unwrap().to_owned())
        .collect();
    in_history.sort();
    assert_eq!(in_history, expected);
}

/// The queue's filters are typed: comma lists of states and tenants, `in`/`out`, `me`/`none`.
/// A value outside its type is a 400 `invalid-query` naming the allowed values; a value of the
/// right type that names nothing (an unknown tenant) a 422 naming the field. The document says
/// so: `state` is a comma-separated (`explode: false`) array of the ticket states.
async fn the_queue_filters_are_typed(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    unsolved_contact(&app, &agent, "stadt-trier", "Stadt").await;
    unsolved_contact(&app, &agent, "kreis-trier-saarburg", "Kreis").await;
    let subjects = |page: &Value| -> Vec<String> {
        let mut s: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    for (query, want) in [
        ("state=new,in_progress", vec!["Kreis", "Stadt"]),
        ("state=closed", vec![]),
        ("state=", vec!["Kreis", "Stadt"]),
        ("tenant=stadt-trier", vec!["Stadt"]),
        (
            "tenant=stadt-trier,kreis-trier-saarburg",
            vec!["Kreis", "Stadt"],
        ),
        ("assignee=none&forwarded=", vec!["Kreis", "Stadt"]),
        ("assignee=me", vec![]),
        ("forwarded=out", vec![]),
    ] {
        let resp = app.get(&agent, &format!("/api/v1/tickets?{query}")).await;
        assert_eq!(resp.status(), StatusCode::OK, "{query}");
        let page: Value = resp.json().await.unwrap();
        assert_eq!(subjects(&page), want, "{query}");
    }
    for (query, says) in [
        (
            "state=new,wild",
            "unknown variant `wild`, expected one of `new`",
        ),
        ("forwarded=sideways", "unknown variant `sideways`"),
        ("assignee=jemand", "assignee must be me, none or a user id"),
    ] {
        let resp = app.get(&agent, &format!("/api/v1/tickets?{query}")).await;
        let body = assert_problem(resp, StatusCode::BAD_REQUEST, "invalid-query").await;
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
    }
    let resp = app.get(&agent, "/api/v1/tickets?tenant=nirgendwo").await;
    let body = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert!(
        body["detail"].as_str().unwrap().contains("tenant"),
        "{body}"
    );
    // The tenant of a tenant path is resolved before anything else: 404, and 401 first.
    let resp = app.get(&agent, "/api/v1/tenants/nirgendwo/tickets").await;
    assert_problem(resp, StatusCode::NOT_FOUND, "not-found").await;
    let resp = app
        .client
        .get(app.url("/api/v1/tenants/nirgendwo/tickets"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_eq!(app.count("tickets").await, 2);

    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let params = doc["paths"]["/api/v1/tickets"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let state = params.iter().find(|p| p["name"] == "state").unwrap();
    assert_eq!(state["style"], "form", "{state}");
    assert_eq!(state["explode"], true, "{state}");
    let item = state["schema"]["items"]["$ref"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(item, "#/components/schemas/TicketState", "{state}");
    let forwarded = params.iter().find(|p| p["name"] == "forwarded").unwrap();
    assert!(forwarded.to_string().contains("\"out\""), "{forwarded}");
}

/// A list filter given as repeated parameters (`state=new&state=in_progress`) means "any of
/// them", like the comma form, and the two forms mix; a repeated single-valued parameter or
/// a bad element is still refused, and another tenant's agent sees none of it.
async fn repeated_list_parameters_mean_any_of_them(app: TestApp) {
    let agent = app.token("agent@sc-trier.demo").await;
    let a = unsolved_contact(&app, &agent, "stadt-trier", "A neu").await;
    let b = unsolved_contact(&app, &agent, "stadt-trier", "B in Arbeit").await;
    let c = unsolved_contact(&app, &agent, "stadt-trier", "C geschlossen").await;
    unsolved_contact(&app, &agent, "kreis-trier-saarburg", "D Kreis").await;
    assert_eq!(a["state"], "new");
    for (ticket, state) in [(&b, "in_progress"), (&c, "closed")] {
        let resp = app
            .patch(
                &agent,
                &format!("/api/v1/tickets/{}", ticket["id"].as_str().unwrap()),
                &json!({"version": ticket["version"], "state": state}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "{state}");
    }
    let subjects = |page: &Value| -> Vec<String> {
        let mut s: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["subject"].as_str().unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    for (path, want) in [
        (
            "/api/v1/tenants/stadt-trier/tickets?state=new&state=in_progress",
            vec!["A neu", "B in Arbeit"],
        ),
        (
            "/api/v1/tenants/stadt-trier/tickets?state=new,in_progress",
            vec!["A neu", "B in Arbeit"],
        ),
        (
            "/api/v1/tenants/stadt-trier/tickets?state=closed&state=in_progress",
            vec!["B in Arbeit", "C geschlossen"],
        ),
        (
            "/api/v1/tenants/stadt-trier/tickets?state=new,closed&limit=10&state=in_progress",
            vec!["A neu", "B in Arbeit", "C geschlossen"],
        ),
        (
            "/api/v1/tenants/stadt-trier/tickets?state=&state=closed",
            vec!["C geschlossen"],
        ),
        (
            "/api/v1/tickets?tenant=stadt-trier&tenant=kreis-trier-saarburg&state=new",
            vec!["A neu", "D Kreis"],
        ),
        (
            "/api/v1/tickets?tenant=kreis-trier-saarburg&state=new&tenant=stadt-trier",
            vec!["A neu", "D Kreis"],
        ),
        (
            "/api/v1/tickets?tenant=kreis-trier-saarburg&tenant=",
            vec!["D Kreis"],
        ),
    ] {
        let resp = app.get(&agent, path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let page: Value = resp.json().await.unwrap();
        assert_eq!(subjects(&page), want, "{path}");
    }
    for (query, says) in [
        ("state=new&state=wild", "unknown variant `wild`"),
        ("limit=5&limit=6", "duplicate field `limit`"),
        ("assignee=me&assignee=none", "duplicate field `assignee`"),
    ] {
        let resp = app.get(&agent, &format!("/api/v1/tickets?{query}")).await;
        let body = assert_problem(resp, StatusCode::BAD_REQUEST, "invalid-query").await;
        assert!(
            body["detail"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
    }
    let resp = app
        .get(
            &agent,
            "/api/v1/tickets?tenant=stadt-trier&tenant=nirgendwo",
        )
        .await;
    assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;

    // Another center's agent: the repeated form opens no other tenant's tickets.
    let mainz = app.token("agent@sc-mainz.demo").await;
    let resp = app
        .get(
            &mainz,
            "/api/v1/tickets?state=new&state=in_progress&state=closed",
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page: Value = resp.json().await.unwrap();
    assert_eq!(subjects(&page), Vec::<String>::new());
    let resp = app
        .get(
            &mainz,
            "/api/v1/tenants/stadt-trier/tickets?state=new&state=in_progress",
        )
        .await;
    assert_problem(resp, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.count("tickets").await, 4);

    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/api/v1/tickets", "/api/v1/tenants/{slug}/tickets"] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        for name in ["state", "tenant"] {
            let p = params.iter().find(|p| p["name"] == name).unwrap();
            assert_eq!(p["style"], "form", "{path} {p}");
            assert_eq!(p["explode"], true, "{path} {p}");
            assert_eq!(p["schema"]["type"], "array", "{path} {p}");
        }
    }
}

crate::both_backends!(
    numbers_continue_after_the_counter_and_stay_distinct,
    contacts_are_logged_and_unsolved_ones_open_numbered_tickets,
    contacts_refuse_bad_input_and_wrong_roles,
    tickets_of_other_tenants_stay_invisible,
    concurrent_edits_lose_with_409,
    forwarding_to_another_tenant_keeps_the_deadline_and_the_trail,
    a_receiver_can_return_a_forwarded_ticket,
    forwarding_refuses_unknown_inactive_and_closed,
    forwarding_to_a_back_office_unit,
    an_agent_answering_for_another_tenant_forwards_automatically,
    failed_callbacks_flag_the_ticket_for_another_channel,
    the_queue_pages_by_due_date,
    the_calendar_tells_when_the_answer_is_due,
    tickets_are_addressed_by_number,
    service_hours_and_closing_days_are_tenant_settings,
    the_queue_filters_are_typed,
    repeated_list_parameters_mean_any_of_them,
);
