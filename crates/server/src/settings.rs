//! Configuration in layers: typed defaults, then an optional TOML file, then `VERBUND_*`
//! environment variables (nested keys with `__`, e.g. `VERBUND_LOGIN__ACCOUNT_LOCK_AFTER`).

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginSettings {
    pub account_delay_after: u32,
    pub account_lock_after: u32,
    pub address_delay_after: u32,
    pub address_lock_after: u32,
    pub lock_seconds: u64,
    pub window_seconds: u64,
    pub max_delay_ms: u64,
    /// Password hashes and checks (argon2id, about 19 MiB each) running at once in this process
    /// (`VERBUND_LOGIN__MAX_CONCURRENT_HASHES`, default: the number of CPUs).
    pub max_concurrent_hashes: usize,
    /// How long a login waits for a hashing turn before it is answered 503
    /// (`VERBUND_LOGIN__HASH_WAIT_MS`; 0: not at all).
    pub hash_wait_ms: u64,
}

impl Default for LoginSettings {
    fn default() -> Self {
        let p = verbund_tenant::throttle::LoginPolicy::default();
        let hashes = verbund_tenant::password::HashLimits::default();
        Self {
            account_delay_after: p.account_delay_after,
            account_lock_after: p.account_lock_after,
            address_delay_after: p.address_delay_after,
            address_lock_after: p.address_lock_after,
            lock_seconds: p.lock_for.as_secs(),
            window_seconds: p.window.as_secs(),
            max_delay_ms: p.max_delay.as_millis() as u64,
            max_concurrent_hashes: hashes.max_concurrent,
            hash_wait_ms: hashes.max_wait.as_millis() as u64,
        }
    }
}

impl LoginSettings {
    pub fn policy(&self) -> verbund_tenant::throttle::LoginPolicy {
        use std::time::Duration;
        verbund_tenant::throttle::LoginPolicy {
            account_delay_after: self.account_delay_after,
            account_lock_after: self.account_lock_after.max(1),
            address_delay_after: self.address_delay_after,
            address_lock_after: self.address_lock_after.max(1),
            lock_for: Duration::from_secs(self.lock_seconds),
            window: Duration::from_secs(self.window_seconds),
            max_delay: Duration::from_millis(self.max_delay_ms),
        }
    }

    pub fn hash_limits(&self) -> verbund_tenant::password::HashLimits {
        verbund_tenant::password::HashLimits {
            max_concurrent: self.max_concurrent_hashes.max(1),
            max_wait: std::time::Duration::from_millis(self.hash_wait_ms),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on.
    pub bind: String,
    /// Folder for the SQLite file and the generated signing secret.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: an SQLite file in `data_dir`.
    pub database_url: Option<String>,
    pub database_max_connections: u32,
    /// The JWT signing secret. An explicitly empty value is refused.
    #[serde(skip_serializing)]
    pub jwt_secret: Option<SecretString>,
    /// A file holding the JWT signing secret.
    pub jwt_secret_file: Option<PathBuf>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// Lifetime of an access token, at most 3600.
    pub token_ttl_seconds: u64,
    /// Lifetime of a login session (tokens can be refreshed within it).
    pub session_hours: u64,
    pub log_format: LogFormat,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Largest accepted JSON body.
    pub max_json_bytes: usize,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// When the web UI's session cookie is `Secure`: `auto` (when the request came over TLS,
    /// or with `X-Forwarded-Proto: https` from a trusted proxy), `always`, `never`.
    pub web_cookie_secure: verbund_web::CookieSecure,
    pub shutdown_timeout_seconds: u64,
    pub workers: Option<usize>,
    /// How long a verified user may be served from memory (0: check the database on every
    /// request). Changes through this instance apply at once either way.
    pub auth_cache_seconds: u64,
    /// How often to look for access changes made by other instances.
    pub auth_epoch_poll_ms: u64,
    /// How often the search index looks for knowledge changes made by other instances
    /// (`VERBUND_SEARCH_FEED_POLL_MS`, at least 10). Changes through this instance are
    /// searchable at once either way.
    pub search_feed_poll_ms: u64,
    /// How often the ticket change feed is read for the live queues
    /// (`VERBUND_TICKET_FEED_POLL_MS`, at least 10): a ticket changed through any instance
    /// appears on the open queue pages of this one within about this time.
    pub ticket_feed_poll_ms: u64,
    /// How often escalation and anonymisation run (0: never, e.g. for a read-only instance).
    pub jobs_interval_seconds: u64,
    pub login: LoginSettings,
    /// Bearer token of the MTA pipe to `POST /api/v1/inbound/raw` (`VERBUND_INGEST_TOKEN`);
    /// without it the endpoint is closed.
    #[serde(skip_serializing)]
    pub ingest_token: Option<SecretString>,
    /// Largest raw inbound message accepted, in bytes.
    pub max_inbound_bytes: usize,
    /// Seconds between rounds over the IMAP mailboxes (0: this instance polls none).
    pub mailbox_tick_seconds: u64,
    /// Mailboxes this instance polls at the same time.
    pub mailbox_concurrency: usize,
    /// Mailboxes of one tenant this instance polls at the same time.
    pub mailbox_per_tenant: usize,
    /// Bound for reaching an IMAP server (lookup, connect, TLS handshake, greeting).
    pub mailbox_connect_timeout_seconds: u64,
    /// Bound for every IMAP command once connected.
    pub mailbox_timeout_seconds: u64,
    /// Outbound SMTP relay (`VERBUND_SMTP__HOST`, …). Without a host no mail is delivered
    /// by this instance; it stays queued in the outbox.
    pub smtp: SmtpSettings,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// `plain` (loopback only), `start_tls` or `tls`.
    pub security: verbund_email::delivery::SmtpSecurity,
    pub username: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<SecretString>,
    pub timeout_seconds: u64,
    /// Parallel connections of the delivery worker.
    pub connections: u32,
    /// First retry after a failed attempt; doubled per attempt, at most an hour.
    pub retry_base_seconds: u64,
    /// Longest pause between looks at the outbox (new mail on this instance wakes it at once).
    pub poll_ms: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 25,
            security: verbund_email::delivery::SmtpSecurity::StartTls,
            username: None,
            password: None,
            timeout_seconds: 30,
            connections: 8,
            retry_base_seconds: 30,
            poll_ms: 1000,
        }
    }
}

impl SmtpSettings {
    pub fn config(&self) -> Option<verbund_email::delivery::SmtpConfig> {
        (!self.host.trim().is_empty()).then(|| verbund_email::delivery::SmtpConfig {
            host: self.host.trim().to_owned(),
            port: self.port,
            security: self.security,
            username: self.username.clone(),
            password: self.password.clone(),
            timeout: std::time::Duration::from_secs(self.timeout_seconds.max(1)),
            connections: self.connections.max(1),
            retry_base: std::time::Duration::from_millis(
                self.retry_base_seconds.saturating_mul(1000).max(100),
            ),
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_max_connections: 16,
            jwt_secret: None,
            jwt_secret_file: None,
            jwt_issuer: "verbund".into(),
            jwt_audience: "verbund-api".into(),
            token_ttl_seconds: 900,
            session_hours: 10,
            log_format: LogFormat::Pretty,
            max_body_bytes: 1024 * 1024,
            max_json_bytes: 256 * 1024,
            trust_forwarded_for: false,
            web_cookie_secure: verbund_web::CookieSecure::Auto,
            shutdown_timeout_seconds: 30,
            workers: None,
            auth_cache_seconds: 30,
            auth_epoch_poll_ms: 250,
            search_feed_poll_ms: 500,
            ticket_feed_poll_ms: 250,
            jobs_interval_seconds: 60,
            login: LoginSettings::default(),
            ingest_token: None,
            max_inbound_bytes: 50 * 1024 * 1024,
            mailbox_tick_seconds: 5,
            mailbox_concurrency: 16,
            mailbox_per_tenant: 2,
            mailbox_connect_timeout_seconds: 10,
            mailbox_timeout_seconds: 30,
            smtp: SmtpSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults, then the TOML file (if given), then `VERBUND_*` variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(
            Env::prefixed("VERBUND_")
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    k != "config" && !k.starts_with("test_") && !k.starts_with("bench_")
                })
                .split("__"),
        );
        Ok(figment.extract()?)
    }

    /// The database URL, defaulting to `verbund.db` in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("verbund.db").display()
            ),
        }
    }
}
