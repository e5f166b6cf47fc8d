//! The `verbund` binary itself: migrate, user add, serve --demo, and the signing secret.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, spawn_app};

const BIN: &str = env!("CARGO_BIN_EXE_verbund");

fn verbund(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("VERBUND_DATA_DIR", dir)
        .env("RUST_LOG", "warn");
    cmd
}

#[test]
fn demo_refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = verbund(dir.path())
        .args(["serve", "--demo"])
        .env("VERBUND_BIND", "0.0.0.0:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");
    assert!(
        !dir.path().join("verbund.db").exists(),
        "nothing was created"
    );
}

#[test]
fn an_explicitly_empty_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = verbund(dir.path())
        .args(["serve"])
        .env("VERBUND_BIND", "127.0.0.1:0")
        .env("VERBUND_JWT_SECRET", "")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("empty"), "{stderr}");
}

#[test]
fn serve_works_without_setup_and_keeps_a_private_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = verbund(dir.path())
        .args(["serve", "--demo"])
        .env("VERBUND_BIND", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let secret = dir.path().join("jwt-secret");
    let db = dir.path().join("verbund.db");
    let start = Instant::now();
    while !(secret.exists() && db.exists()) && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(secret.exists(), "secret generated in the data folder");
    assert!(db.exists(), "SQLite database created in the data folder");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(std::fs::read_to_string(&secret).unwrap().trim().len() >= 64);
}

async fn migrate_and_add_the_first_operator(backend: Backend) {
    // A fresh database of the backend, served by the harness; the CLI writes to the same one.
    let app = spawn_app(backend).await;
    let url = app.database_url.clone();
    let dir = tempfile::tempdir().unwrap();
    let out = verbund(dir.path())
        .arg("migrate")
        .env("VERBUND_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = verbund(dir.path())
        .args([
            "user",
            "add",
            "--email",
            "Betrieb@Kommune.example",
            "--name",
            "Betrieb",
        ])
        .env("VERBUND_DATABASE_URL", &url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"ein-sicheres-passwort\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = {
        let resp = app
            .login_raw("betrieb@kommune.example", "ein-sicheres-passwort")
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json::<serde_json::Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let me: serde_json::Value = app.get(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["roles"], json!([{"role": "operator"}]));
    // A too-short password is refused and creates nothing.
    let users = app.count("users").await;
    let out = verbund(dir.path())
        .args([
            "user",
            "add",
            "--email",
            "zwei@kommune.example",
            "--name",
            "Zwei",
        ])
        .env("VERBUND_DATABASE_URL", &url)
        .env("VERBUND_NEW_PASSWORD", "kurz")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(app.count("users").await, users);
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrate_and_add_the_first_operator() {
        super::migrate_and_add_the_first_operator(super::Backend::Sqlite).await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrate_and_add_the_first_operator() {
        super::migrate_and_add_the_first_operator(super::Backend::Postgres).await;
    }
}
