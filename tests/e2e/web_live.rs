//! The live queue over the ticket change feed: a change made through instance A reaches an
//! SSE stream of instance B (a separate process of the binary; the database is the only path
//! between them), and a change in a tenant the user does not see sends that user nothing.
//! Each test on SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use super::*;

/// Reads an SSE response until an `event:` line arrives or `within` has passed; the name of
/// the event, or None. Comment lines (`: …`) are skipped.
async fn next_event(resp: &mut Response, buf: &mut String, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if let Some(name) = block.lines().find_map(|l| l.strip_prefix("event: ")) {
                return Some(name.to_owned());
            }
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(Ok(None)) | Ok(Err(_)) => return None,
            Err(_) => return None,
        }
    }
}

/// Opens the live stream of the center queue and waits for its first (connected) comment.
async fn open_stream(ui: &Ui) -> (Response, String) {
    let mut resp = ui.get("/vorgaenge/live?ansicht=center").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut buf = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !buf.contains(": verbunden") {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("the stream connects within 10 s");
        let chunk = tokio::time::timeout(left, resp.chunk())
            .await
            .expect("the stream connects")
            .unwrap()
            .expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    buf.clear();
    (resp, buf)
}

async fn feed_rows(app: &TestApp) -> i64 {
    app.count("ticket_changes").await
}

async fn a_change_on_instance_a_reaches_the_live_queue_of_instance_b_and_no_other_tenant(
    app: TestApp,
) {
    let b = app.second_instance().await;
    let koblenz = ui_login(&b, "agent@sc-koblenz.demo").await;
    let mainz = ui_login(&b, "agent@sc-mainz.demo").await;
    let (mut k_stream, mut k_buf) = open_stream(&koblenz).await;
    let (mut m_stream, mut m_buf) = open_stream(&mainz).await;

    // A new ticket through instance A (the API of the in-process application).
    let before = feed_rows(&app).await;
    let agent = app.token("agent@sc-koblenz.demo").await;
    let resp = app
        .post(
            &agent,
            "/api/v1/contacts",
            &json!({
                "tenant": "stadt-koblenz", "channel": "phone", "solved": false, "duration_seconds": 60,
                "ticket": {"subject": "Live: Hund anmelden", "question": "Wie melde ich den Hund an?",
                           "citizen": {"phone": "+49 261 2"}, "answer_channel": "callback"}
            }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    let number = body["ticket"]["number"].as_str().unwrap().to_owned();
    // Written with the ticket: one feed row.
    assert_eq!(feed_rows(&app).await, before + 1);

    let started = Instant::now();
    let event = next_event(&mut k_stream, &mut k_buf, Duration::from_secs(10)).await;
    assert_eq!(event.as_deref(), Some("changed"), "the new ticket on B");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The page part the browser fetches then shows it.
    let part = koblenz.get("/vorgaenge?ansicht=center&teil=1").await;
    assert!(part.text().await.unwrap().contains(&number));

    // A change of the ticket through A (priority) reaches B too.
    let ticket: Value = app
        .get(&agent, &format!("/api/v1/tickets/{number}"))
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .patch(
            &agent,
            &format!("/api/v1/tickets/{number}"),
            &json!({"version": ticket["version"], "priority": "high"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(feed_rows(&app).await, before + 2);
    let event = next_event(&mut k_stream, &mut k_buf, Duration::from_secs(10)).await;
    assert_eq!(event.as_deref(), Some("changed"), "the changed ticket on B");

    // Mainz sees neither: no event on its stream.
    let event = next_event(&mut m_stream, &mut m_buf, Duration::from_secs(2)).await;
    assert_eq!(event, None, "a Koblenz change sent Mainz an event");
    let part = mainz.get("/vorgaenge?ansicht=center&teil=1").await;
    assert!(!part.text().await.unwrap().contains(&number));
}

crate::both_backends!(
    a_change_on_instance_a_reaches_the_live_queue_of_instance_b_and_no_other_tenant,
);
