//! sea-orm entities of the ticketing tables (schema in `migrations/`).

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
pub mod ticket_counter;
pub mod ticket_event;
pub mod ticket_forward;
pub mod ticket_note;
