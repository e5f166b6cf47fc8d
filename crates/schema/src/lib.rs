//! The sea-orm entities of every table of Verbund, in one place.
//!
//! The schema itself is defined only by the migrations (`migrations/`); these entities mirror
//! it. The domain crates (tenant, knowledge, ticketing, email) read and write the tables only
//! through them.

// Foundation (tenants, centers, accounts, sessions, audit)
pub mod audit_event;
pub mod auth_epoch;
pub mod center_coverage;
pub mod center_tenant;
pub mod login_throttle;
pub mod role_assignment;
pub mod service_center;
pub mod session;
pub mod tenant;
pub mod tenant_mail_address;
pub mod tenant_mail_domain;
pub mod user;

// Knowledge (service descriptions, org units, the change feed)
pub mod base_text;
pub mod base_text_revision;
pub mod change;
pub mod org_unit;
pub mod org_unit_service;
pub mod service;
pub mod service_leika_key;
pub mod service_version;

// Ticketing and mail
pub mod call_attempt;
pub mod contact;
pub mod inbound_mail;
pub mod mail_attachment;
pub mod mailbox;
pub mod notification;
pub mod outbox_mail;
pub mod personal_data_access;
pub mod service_ref;
pub mod text_template;
pub mod ticket;
pub mod ticket_change;
pub mod ticket_counter;
pub mod ticket_event;
pub mod ticket_forward;
pub mod ticket_note;

// Escalation across tenants
pub mod escalation_notice;

// Typed state and kind columns
pub mod types;

// Newtype ids
pub mod ids;
