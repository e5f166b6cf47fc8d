//! End-to-end tests of Verbund over HTTP, each on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
#![allow(
    clippy::disallowed_methods,
    reason = "tests check the state left behind directly in the tables"
)]

mod helpers;

mod auth;
mod bad_input;
mod centers;
mod cli;
mod escalation_verbund;
mod hygiene;
mod import_at_scale;
mod instances;
mod isolation;
mod knowledge;
mod knowledge_import_html;
mod mail;
mod mail_corpus;
mod mail_domains_migration;
mod mail_hardening;
mod mail_servers;
mod mailbox_polling;
mod operations;
mod privacy;
mod problems;
mod schema_drift;
mod search_feed;
mod server;
mod service_identity;
mod shutdown;
mod tenants;
mod tickets;
mod users;
mod web;
mod web_admin_more;
mod web_desk_mail;
mod web_editor;
mod writes;
mod xzufi_export;
