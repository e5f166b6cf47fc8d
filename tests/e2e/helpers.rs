//! The test harness: the whole application on port 0 with a fresh database per test, on SQLite
//! (a temp file) or PostgreSQL (a new database cloned from a migrated template when there is
//! one). `./scripts/test` starts the PostgreSQL server and sets `VERBUND_TEST_PG_URL`.

use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use verbund_server::{Application, Settings};
use verbund_tenant::db::Db;

pub const JWT_SECRET: &str = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
pub const DEMO_PASSWORD: &str = "verbund-demo-2026";
pub const PG_TEMPLATE: &str = "verbund_template";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    /// A separate connection to the test's database, for checking the state left behind (an
    /// application handle of its own: it shares nothing in memory with the served instance).
    pub db: Db,
    pub database_url: String,
    /// The process of the real binary serving this instance (a second instance), if any;
    /// killed when the `TestApp` is dropped.
    pub process: Option<Process>,
    /// The served application's own handle (in-process instances only), to look at what it
    /// keeps in memory, e.g. its password-hashing gate.
    pub served: Option<Db>,
    _dir: tempfile::TempDir,
}

fn pg_admin_url() -> String {
    std::env::var("VERBUND_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "VERBUND_TEST_PG_URL is not set: run ./scripts/test, which starts PostgreSQL, \
             or point it at a server where the test user may create databases"
        )
    })
}

fn with_db(admin: &str, db: &str) -> String {
    match admin.split_once('?') {
        Some((base, query)) => format!("{}/{db}?{query}", base.trim_end_matches('/')),
        None => format!("{}/{db}", admin.trim_end_matches('/')),
    }
}

async fn create_pg_database() -> String {
    let admin_url = pg_admin_url();
    let admin = Database::connect(with_db(&admin_url, "postgres"))
        .await
        .expect("connect to PostgreSQL");
    let name = format!("verbund_t_{}", uuid::Uuid::new_v4().simple());
    let from_template = admin
        .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {PG_TEMPLATE}"))
        .await;
    if from_template.is_err() {
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
    }
    let _ = admin.close().await;
    with_db(&admin_url, &name)
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the app with the demo data seeded, after `tweak` has adjusted the settings.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        verbund_server::telemetry::init(verbund_server::settings::LogFormat::Pretty);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match backend {
        Backend::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("verbund.db").display()
        ),
        Backend::Postgres => create_pg_database().await,
    };
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(database_url.clone()),
        database_max_connections: 5,
        jwt_secret: Some(JWT_SECRET.to_owned().into()),
        workers: Some(1),
        ..Settings::default()
    };
    tweak(&mut settings);
    let app = Application::build(settings).await.expect("build app");
    verbund_tenant::demo::seed(app.db())
        .await
        .expect("seed demo data");
    let port = app.port();
    let served = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    let db = Db::new(
        Database::connect(&database_url)
            .await
            .expect("connect test db"),
    );
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        db,
        database_url,
        process: None,
        served: Some(served),
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn login_raw(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login request")
    }

    /// Logs a demo user in and returns the access token.
    pub async fn token(&self, email: &str) -> String {
        let resp = self.login_raw(email, DEMO_PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::OK, "login of {email}");
        let body: Value = resp.json().await.expect("login body");
        body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn patch(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

    pub async fn put(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("PUT")
    }

    /// GET as the operator and return the JSON body: the reference view of the state.
    pub async fn snapshot(&self, path: &str) -> Value {
        let token = self.token("operator@verbund.demo").await;
        let resp = self.get(&token, path).await;
        assert_eq!(resp.status(), StatusCode::OK, "snapshot {path}");
        resp.json().await.expect("snapshot body")
    }

    /// The id of a demo user, looked up as the operator.
    pub async fn user_id(&self, tenant: &str, email: &str) -> String {
        let users = self
            .snapshot(&format!("/api/v1/tenants/{tenant}/users"))
            .await;
        users
            .as_array()
            .expect("user list")
            .iter()
            .find(|u| u["email"] == email)
            .unwrap_or_else(|| panic!("{email} not in {tenant}"))["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// Number of rows in a table, straight from the database.
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query")
            .expect("count row");
        row.try_get::<i64>("", "n").expect("count value")
    }
}

/// Asserts a problem+json response with the given status and `type` slug; returns the body.
pub async fn assert_problem(resp: Response, status: StatusCode, slug: &str) -> Value {
    assert_eq!(resp.status(), status, "status");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct}"
    );
    let body: Value = resp.json().await.expect("problem body");
    assert_eq!(
        body["type"],
        format!("urn:verbund:problem:{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].is_string());
    body
}

/// Generates one test per backend for each listed `async fn(TestApp)`.
#[macro_export]
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await;
                    super::$case(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let app = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await;
                    super::$case(app).await;
                }
            )*
        }
    };
}

impl TestApp {
    /// A second instance of the application on the same database, as behind a load balancer:
    /// a separate process of the real binary, so the database is the only path between the
    /// two (no memory, no wake-up, no cache shared).
    pub async fn second_instance(&self) -> TestApp {
        self.second_instance_with(|_| {}).await
    }

    /// A second instance (a process of the real binary) with adjusted settings.
    pub async fn second_instance_with(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            database_url: Some(self.database_url.clone()),
            database_max_connections: 5,
            jwt_secret: Some(JWT_SECRET.to_owned().into()),
            workers: Some(1),
            ..Settings::default()
        };
        tweak(&mut settings);
        let process = Process::serve(&settings).await;
        TestApp {
            base: format!("http://127.0.0.1:{}", process.port),
            client: self.client.clone(),
            db: Db::new(
                Database::connect(&self.database_url)
                    .await
                    .expect("connect"),
            ),
            database_url: self.database_url.clone(),
            process: Some(process),
            served: None,
            _dir: dir,
        }
    }
}

/// `verbund serve` in a process of its own, configured through `VERBUND_*` variables only,
/// logging JSON lines that are kept for the test.
pub struct Process {
    child: std::process::Child,
    pub port: u16,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Process {
    /// Starts the binary with `settings` and waits until it listens.
    pub async fn serve(settings: &Settings) -> Process {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verbund"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn")
            .args(["serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in settings_env(settings) {
            cmd.env(key, value);
        }
        let mut child = cmd.spawn().expect("start the verbund binary");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for (out, port_tx) in [
            (
                Box::new(stdout) as Box<dyn std::io::Read + Send>,
                Some(port_tx),
            ),
            (Box::new(stderr), None),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(out).lines().map_while(|l| l.ok()) {
                    if let Some(tx) = &port_tx
                        && let Ok(v) = serde_json::from_str::<Value>(&line)
                        && v["message"] == "verbund is listening"
                        && let Some(port) = v["port"].as_u64()
                    {
                        let _ = tx.send(port as u16);
                    }
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        let port =
            tokio::task::spawn_blocking(move || port_rx.recv_timeout(Duration::from_secs(120)))
                .await
                .expect("wait for the port");
        let mut process = Process {
            child,
            port: 0,
            log,
        };
        match port {
            Ok(port) => process.port = port,
            Err(_) => panic!(
                "the verbund process did not start listening:\n{}",
                process.log().join("\n")
            ),
        }
        process
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The lines the process has written so far (stdout and stderr).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sends SIGTERM, as systemd does to stop a service.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits at most `limit` for the process to end; its exit status, or None if it still
    /// runs.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if start.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The settings as `VERBUND_*` variables (nested keys joined with `__`), secrets included,
/// logging JSON.
fn settings_env(settings: &Settings) -> Vec<(String, String)> {
    use secrecy::ExposeSecret;
    fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.to_ascii_uppercase()
                    } else {
                        format!("{prefix}__{}", k.to_ascii_uppercase())
                    };
                    flatten(&key, v, out);
                }
            }
            Value::Null => {}
            Value::String(s) => out.push((format!("VERBUND_{prefix}"), s.clone())),
            other => out.push((format!("VERBUND_{prefix}"), other.to_string())),
        }
    }
    let mut out = Vec::new();
    flatten(
        "",
        &serde_json::to_value(settings).expect("settings"),
        &mut out,
    );
    out.retain(|(k, _)| k != "VERBUND_LOG_FORMAT");
    out.push(("VERBUND_LOG_FORMAT".into(), "json".into()));
    if let Some(secret) = &settings.jwt_secret {
        out.push((
            "VERBUND_JWT_SECRET".into(),
            secret.expose_secret().to_owned(),
        ));
    }
    if let Some(token) = &settings.ingest_token {
        out.push((
            "VERBUND_INGEST_TOKEN".into(),
            token.expose_secret().to_owned(),
        ));
    }
    if let Some(password) = &settings.smtp.password {
        out.push((
            "VERBUND_SMTP__PASSWORD".into(),
            password.expose_secret().to_owned(),
        ));
    }
    out
}

/// Like [`spawn_app`], and also hands out the application's own database connection (the pool
/// its handlers use), e.g. to close it under the running app.
pub async fn spawn_app_with_db(backend: Backend) -> (TestApp, Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match backend {
        Backend::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("verbund.db").display()
        ),
        Backend::Postgres => create_pg_database().await,
    };
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(database_url.clone()),
        database_max_connections: 5,
        jwt_secret: Some(JWT_SECRET.to_owned().into()),
        workers: Some(1),
        ..Settings::default()
    };
    let app = Application::build(settings).await.expect("build app");
    verbund_tenant::demo::seed(app.db())
        .await
        .expect("seed demo data");
    let own = app.db().clone();
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let db = Db::new(
        Database::connect(&database_url)
            .await
            .expect("connect test db"),
    );
    let test = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        db,
        database_url,
        process: None,
        served: Some(own.clone()),
        _dir: dir,
    };
    (test, own)
}

/// The proof of a background job, for tests that run a job's pass directly (the application
/// makes it in its worker; `SystemScope::job` is refused by clippy everywhere else).
pub fn job(job: verbund_tenant::access::Job) -> verbund_tenant::access::SystemScope {
    verbund_tenant::access::SystemScope::job(job)
}
