//! The e-mail channel: inbound mail from IMAP mailboxes and the MTA, parsing, routing to
//! tenants, threading onto tickets, receipts with loop protection, and delivery of the
//! outbox over SMTP.

pub mod delivery;
pub mod imap;
pub mod ingest;
pub mod mailboxes;
pub mod parse;
pub mod queue;
pub mod subject;
