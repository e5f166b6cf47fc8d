//! The e-mail channel (inbound IMAP and MTA ingest, parsing, routing, threading, outbox).
//!
//! So far this crate holds the subject rules that threading will use; the channel itself is
//! the work of the "E-mail channel" issue.

pub mod subject;
