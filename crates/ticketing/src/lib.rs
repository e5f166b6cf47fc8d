//! Ticketing: contacts, tickets due in one working day, forwarding across tenants, history.
//!
//! Every function takes the acting user and asks `verbund_tenant` whether it may act; every
//! state change writes its history row in the same transaction.

pub mod contacts;
pub mod deadline;
pub mod entities;
pub mod forward;
pub mod model;
mod people;
pub mod tickets;
