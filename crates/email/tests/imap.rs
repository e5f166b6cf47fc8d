//! The IMAP client against a real Dovecot on loopback, started by ./scripts/test
//! (or by hand: `./scripts/mail-services start /tmp/vm && source /tmp/vm/env`).
//! Every test logs in as its own user (`t-<uuid>@test.example`; Dovecot accepts any user name
//! with the shared test password), so tests running in parallel never share a mailbox.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use uuid::Uuid;
use verbund_email::imap::{
    self, ImapConfig, ImapError, PollReport, Security, append, fetch_all, poll_once,
    wait_for_change,
};

const HOW_TO_START: &str = "the IMAP tests need the throwaway mail servers: run ./scripts/test, \
     or start them by hand with `./scripts/mail-services start /tmp/vm && source /tmp/vm/env`";

fn env_var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{name} is not set; {HOW_TO_START}"),
    }
}

fn imap_port() -> u16 {
    env_var("VERBUND_TEST_IMAP_PORT")
        .parse()
        .unwrap_or_else(|e| {
            panic!("VERBUND_TEST_IMAP_PORT is no port number ({e}); {HOW_TO_START}")
        })
}

fn password() -> SecretString {
    SecretString::from(env_var("VERBUND_TEST_MAIL_PASSWORD"))
}

fn unique_user() -> String {
    format!("t-{}@test.example", Uuid::new_v4())
}

fn config(user: &str) -> ImapConfig {
    ImapConfig {
        host: "127.0.0.1".into(),
        port: imap_port(),
        security: Security::Plain,
        username: user.into(),
        password: password(),
        folder: "INBOX".into(),
        processed_folder: None,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(10),
    }
}

fn mail(to: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Anna Beispiel <anna@buerger.example>\r\n\
         To: {to}\r\n\
         Subject: {subject}\r\n\
         Message-ID: <{}@buerger.example>\r\n\
         Date: Mon, 2 Jun 2025 10:00:00 +0200\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         Guten Tag, mein Anliegen: {subject}. Grüße\r\n",
        Uuid::new_v4()
    )
    .into_bytes()
}

fn subject_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Polls once and keeps what the store callback was given.
async fn poll_collect(cfg: &ImapConfig) -> (PollReport, Vec<Vec<u8>>) {
    let mut stored = Vec::new();
    let report = poll_once(cfg, |raw| {
        stored.push(raw);
        async { Ok::<(), String>(()) }
    })
    .await
    .unwrap_or_else(|e| panic!("poll_once failed: {e}"));
    (report, stored)
}

fn subjects(messages: &[Vec<u8>]) -> Vec<String> {
    messages.iter().map(|m| subject_of(m)).collect()
}

#[tokio::test]
async fn poll_stores_every_unseen_message_once() {
    let user = unique_user();
    let cfg = config(&user);
    for n in 1..=3 {
        append(&cfg, "INBOX", &mail(&user, &format!("Anliegen {n}")))
            .await
            .unwrap();
    }

    let (report, stored) = poll_collect(&cfg).await;
    assert_eq!(
        report,
        PollReport {
            fetched: 3,
            stored: 3,
            failed: 0,
            idle_supported: true
        }
    );
    assert_eq!(
        subjects(&stored),
        ["Anliegen 1", "Anliegen 2", "Anliegen 3"]
    );
    // the raw message arrives unchanged (8-bit body included)
    assert!(String::from_utf8_lossy(&stored[0]).contains("Grüße"));

    // marked \Seen: the next poll finds nothing, but the messages are still in the folder
    let (report, stored) = poll_collect(&cfg).await;
    assert_eq!((report.fetched, report.stored, report.failed), (0, 0, 0));
    assert!(stored.is_empty());
    assert_eq!(fetch_all(&cfg, "INBOX").await.unwrap().len(), 3);
}

#[tokio::test]
async fn failed_store_leaves_the_message_for_the_next_poll() {
    let user = unique_user();
    let cfg = config(&user);
    for n in 1..=3 {
        append(&cfg, "INBOX", &mail(&user, &format!("Anliegen {n}")))
            .await
            .unwrap();
    }

    let mut accepted = Vec::new();
    let report = poll_once(&cfg, |raw| {
        let subject = subject_of(&raw);
        let result = if subject == "Anliegen 2" {
            Err(format!("database unavailable while storing {subject}"))
        } else {
            accepted.push(subject);
            Ok(())
        };
        async move { result }
    })
    .await
    .unwrap();
    assert_eq!((report.fetched, report.stored, report.failed), (3, 2, 1));
    assert_eq!(accepted, ["Anliegen 1", "Anliegen 3"]);

    // the failed one is still unseen and comes again; nothing is lost
    let (report, stored) = poll_collect(&cfg).await;
    assert_eq!((report.fetched, report.stored, report.failed), (1, 1, 0));
    assert_eq!(subjects(&stored), ["Anliegen 2"]);

    let (report, _) = poll_collect(&cfg).await;
    assert_eq!(report.fetched, 0);
}

#[tokio::test]
async fn a_poll_that_dies_while_storing_loses_nothing() {
    let user = unique_user();
    let cfg = config(&user);
    for n in 1..=2 {
        append(&cfg, "INBOX", &mail(&user, &format!("Anliegen {n}")))
            .await
            .unwrap();
    }

    // The store of the first message never finishes; the whole poll is dropped mid-way, as
    // if the process crashed between fetching (or storing) and marking the message.
    let calls = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&calls);
    let crashed = tokio::time::timeout(
        Duration::from_millis(500),
        poll_once(&cfg, move |_raw| {
            *counter.lock().unwrap() += 1;
            std::future::pending::<Result<(), String>>()
        }),
    )
    .await;
    assert!(crashed.is_err(), "the poll should still hang in store");
    assert_eq!(*calls.lock().unwrap(), 1);

    let (report, stored) = poll_collect(&cfg).await;
    assert_eq!((report.fetched, report.stored), (2, 2));
    assert_eq!(subjects(&stored), ["Anliegen 1", "Anliegen 2"]);
}

#[tokio::test]
async fn processed_messages_are_moved_into_a_created_folder() {
    let user = unique_user();
    let mut cfg = config(&user);
    // does not exist yet; a hierarchy and a non-ASCII name (sent in modified UTF-7)
    cfg.processed_folder = Some("Verarbeitet/Bürgeranfragen".into());
    for n in 1..=2 {
        append(&cfg, "INBOX", &mail(&user, &format!("Anliegen {n}")))
            .await
            .unwrap();
    }

    let (report, stored) = poll_collect(&cfg).await;
    assert_eq!((report.fetched, report.stored, report.failed), (2, 2, 0));
    assert_eq!(subjects(&stored), ["Anliegen 1", "Anliegen 2"]);

    assert!(fetch_all(&cfg, "INBOX").await.unwrap().is_empty());
    let moved = fetch_all(&cfg, "Verarbeitet/Bürgeranfragen").await.unwrap();
    assert_eq!(subjects(&moved), ["Anliegen 1", "Anliegen 2"]);

    // a second poll (folder exists now) finds nothing new, a new message is moved as well
    let (report, _) = poll_collect(&cfg).await;
    assert_eq!(report.fetched, 0);
    append(&cfg, "INBOX", &mail(&user, "Anliegen 3"))
        .await
        .unwrap();
    let (report, stored) = poll_collect(&cfg).await;
    assert_eq!((report.fetched, report.stored), (1, 1));
    assert_eq!(subjects(&stored), ["Anliegen 3"]);
    assert_eq!(
        fetch_all(&cfg, "Verarbeitet/Bürgeranfragen")
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn wait_for_change_wakes_up_when_a_message_arrives() {
    let user = unique_user();
    let cfg = config(&user);
    let max_wait = Duration::from_secs(30);

    let waiter_cfg = cfg.clone();
    let started = Instant::now();
    let waiter = tokio::spawn(async move { wait_for_change(&waiter_cfg, max_wait).await });

    // The waiter has to be in IDLE before the message arrives, and we cannot see when it is:
    // deliver one message a second until it wakes up (bounded).
    for n in 1..=10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if waiter.is_finished() {
            break;
        }
        append(&cfg, "INBOX", &mail(&user, &format!("Anliegen {n}")))
            .await
            .unwrap();
    }
    let changed = tokio::time::timeout(max_wait, waiter)
        .await
        .expect("wait_for_change did not return")
        .unwrap()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(changed, "wait_for_change should report the new message");
    assert!(
        elapsed < Duration::from_secs(15),
        "woke up only after {elapsed:?}, IDLE seems not to work"
    );
}

#[tokio::test]
async fn wait_for_change_times_out_without_news() {
    let cfg = config(&unique_user());
    let started = Instant::now();
    let changed = wait_for_change(&cfg, Duration::from_millis(1500))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(!changed);
    assert!(elapsed >= Duration::from_millis(1400), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

/// scripts/mail-services gives users at @imap4rev1.test.example a bare "IMAP4rev1" capability:
/// no IDLE (→ wait_for_change says false at once), no MOVE and no UIDPLUS (→ COPY, \Deleted,
/// EXPUNGE).
#[tokio::test]
async fn minimal_servers_without_idle_or_move_work_too() {
    let user = format!("t-{}@imap4rev1.test.example", Uuid::new_v4());
    let mut cfg = config(&user);
    cfg.processed_folder = Some("Erledigt".into());
    for n in 1..=2 {
        append(&cfg, "INBOX", &mail(&user, &format!("Anliegen {n}")))
            .await
            .unwrap();
    }

    let started = Instant::now();
    assert!(
        !wait_for_change(&cfg, Duration::from_secs(20))
            .await
            .unwrap()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no IDLE: must not wait"
    );

    let (report, stored) = poll_collect(&cfg).await;
    assert_eq!(
        report,
        PollReport {
            fetched: 2,
            stored: 2,
            failed: 0,
            idle_supported: false
        }
    );
    assert_eq!(subjects(&stored), ["Anliegen 1", "Anliegen 2"]);
    assert!(fetch_all(&cfg, "INBOX").await.unwrap().is_empty());
    assert_eq!(fetch_all(&cfg, "Erledigt").await.unwrap().len(), 2);
}

#[tokio::test]
async fn wrong_password_is_an_auth_error() {
    let mut cfg = config(&unique_user());
    cfg.password = SecretString::from("falsch");
    let err = poll_once(&cfg, |_raw| async { Ok::<(), String>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, ImapError::Auth(_)), "{err:?}");
    assert!(!err.to_string().contains("falsch"), "{err}");
    let err = wait_for_change(&cfg, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, ImapError::Auth(_)), "{err:?}");
}

#[tokio::test]
async fn plaintext_to_a_remote_host_is_refused() {
    let mut cfg = config(&unique_user());
    cfg.host = "imap.koblenz.example".into();
    cfg.port = 143;
    let started = Instant::now();
    let err = poll_once(&cfg, |_raw| async { Ok::<(), String>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, ImapError::Config(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "must not even try to connect"
    );
    let err = append(&cfg, "INBOX", b"x").await.unwrap_err();
    assert!(matches!(err, ImapError::Config(_)), "{err:?}");

    // loopback in any spelling is fine (reaches the config check's other side: Connect/Auth)
    cfg.host = "localhost".into();
    cfg.port = imap_port();
    assert!(fetch_all(&cfg, "INBOX").await.is_ok());
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut cfg = config(&unique_user());
    cfg.port = port;
    let err = poll_once(&cfg, |_raw| async { Ok::<(), String>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, ImapError::Refused(_)), "{err:?}");
    assert_eq!(err.summary(), "connection refused");
}

#[tokio::test]
async fn tls_is_never_downgraded_to_plaintext() {
    // The test Dovecot speaks plaintext only (ssl = no).
    let mut cfg = config(&unique_user());
    cfg.security = Security::Tls;
    let err = poll_once(&cfg, |_raw| async { Ok::<(), String>(()) })
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImapError::Tls(_) | ImapError::Timeout),
        "{err:?}"
    );

    cfg.security = Security::StartTls;
    let err = poll_once(&cfg, |_raw| async { Ok::<(), String>(()) })
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImapError::Tls(ref m) if m.contains("STARTTLS")),
        "{err:?}"
    );
}

#[tokio::test]
async fn invalid_configurations_are_rejected() {
    let mut cfg = config(&unique_user());
    cfg.processed_folder = Some("INBOX".into());
    let err = poll_once(&cfg, |_raw| async { Ok::<(), String>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, ImapError::Config(_)), "{err:?}");

    let mut cfg = config(&unique_user());
    cfg.timeout = Duration::ZERO;
    assert!(matches!(
        fetch_all(&cfg, "INBOX").await,
        Err(ImapError::Config(_))
    ));
}

#[tokio::test]
async fn smtp_sink_delivers_into_the_citizens_imap_mailbox() {
    use lettre::message::header::ContentType;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    let smtp_port: u16 = env_var("VERBUND_TEST_SMTP_PORT").parse().unwrap();
    let citizen = format!("anna-{}@buerger.example", Uuid::new_v4());
    let message = Message::builder()
        .from(
            "Bürgerservice Koblenz <115@koblenz.example>"
                .parse()
                .unwrap(),
        )
        .to(citizen.parse().unwrap())
        .subject("Ihr Anliegen [#K-4711]")
        .header(ContentType::TEXT_PLAIN)
        .body("Guten Tag, Ihr Anliegen ist erledigt.".to_owned())
        .unwrap();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp_port)
        .build();
    transport.send(message).await.unwrap();

    let cfg = config(&citizen);
    let inbox = fetch_all(&cfg, "INBOX").await.unwrap();
    assert_eq!(inbox.len(), 1);
    let text = String::from_utf8_lossy(&inbox[0]);
    assert!(text.contains(&format!("Delivered-To: {citizen}")), "{text}");
    assert!(text.contains("Ihr Anliegen [#K-4711]"), "{text}");

    // fetch_all does not change flags: the citizen's poll still sees it as new
    let (report, _) = poll_collect(&cfg).await;
    assert_eq!(report.fetched, 1);
}

/// `imap::Security` is what configuration files spell.
#[test]
fn security_names() {
    let parsed: Vec<Security> = serde_json::from_str(r#"["tls", "starttls", "plain"]"#).unwrap();
    assert_eq!(
        parsed,
        [imap::Security::Tls, Security::StartTls, Security::Plain]
    );
}
