//! Ticketing: contacts, tickets due in one working day, forwarding across tenants, history.
//!
//! Every function takes the acting user and asks `verbund_tenant` whether it may act; every
//! state change writes its history row in the same transaction.

pub mod changes;
pub mod contacts;
pub mod deadline;
pub mod escalation;
pub mod forward;
pub mod mail;
pub mod model;
pub mod notifications;
mod people;
pub mod privacy;
mod repo;
pub mod reports;
pub mod templates;
pub mod ticket_filter;
pub mod tickets;
pub mod verbund;
