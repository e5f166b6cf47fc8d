//! Test support shared by the crates' own tests (feature `testing`, and this crate's tests):
//! a migrated database with the demo data on either backend, and a logged-in demo user.
#![allow(
    clippy::expect_used,
    reason = "test support: a failed setup ends the test"
)]

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DbBackend};
use secrecy::SecretString;

use crate::Actor;
use crate::auth::{AuthConfig, Authenticator, Credentials};
use crate::db::Db;
use crate::throttle::LoginPolicy;
use crate::token::TokenConfig;

/// The database a test runs on; PostgreSQL is the server of `VERBUND_TEST_PG_URL`.
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated database with the demo tenants, centers and users; the temp dir keeps the
/// SQLite file alive.
pub async fn database(backend: Backend) -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("VERBUND_TEST_PG_URL")
                .expect("VERBUND_TEST_PG_URL is not set: run ./scripts/test");
            let with_db = |db: &str| match admin.split_once('?') {
                Some((base, q)) => format!("{}/{db}?{q}", base.trim_end_matches('/')),
                None => format!("{}/{db}", admin.trim_end_matches('/')),
            };
            let server = Database::connect(with_db("postgres"))
                .await
                .expect("connect");
            let name = format!("verbund_r_{}", uuid::Uuid::new_v4().simple());
            server
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            let _ = server.close().await;
            with_db(&name)
        }
    };
    let db = Database::connect(url).await.expect("connect");
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL")
            .await
            .expect("wal");
    }
    Migrator::up(&db, None).await.expect("migrate");
    let db = Db::from(db);
    crate::demo::seed(&db).await.expect("seed");
    (db, dir)
}

/// The demo user `email`, logged in.
pub async fn login(db: &Db, email: &str) -> Actor {
    let auth = Authenticator::new(AuthConfig {
        token: TokenConfig {
            secret: SecretString::from("repository-test-secret-0123456789abcdef"),
            issuer: "verbund-test".into(),
            audience: "verbund-test".into(),
            ttl: Duration::from_secs(600),
        },
        policy: LoginPolicy::default(),
        session_lifetime: Duration::from_secs(3600),
        cache_ttl: Duration::ZERO,
    })
    .expect("authenticator");
    let token = auth
        .login(
            db,
            Credentials {
                email: email.into(),
                password: SecretString::from(crate::demo::DEMO_PASSWORD),
                client_ip: None,
                user_agent: None,
            },
        )
        .await
        .expect("login");
    auth.authenticate(db, &token.access_token)
        .await
        .expect("authenticate")
}
