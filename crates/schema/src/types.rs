//! The typed state and kind columns: one Rust enum per column family, stored as exactly the
//! snake_case strings the tables held before (no data migration).
//!
//! Each enum derives sea-orm's `DeriveActiveEnum`, so an entity field of this type is written
//! from the enum and read back through it. A stored value that is not one of the variants is a
//! decode error (`DbErr`) when the row is loaded — never a silent default. The migration
//! `m20261203_120000_state_checks` adds a CHECK constraint with the same value lists, so the
//! database refuses such a value in the first place; `tests/e2e/schema_drift.rs` checks that the
//! lists here and there agree.
//!
//! The domain crates re-export these types at their old paths (`verbund_ticketing::model::TicketState`, ...).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Defines a string-valued column enum: `as_str`, `parse`, `ALL`, `Display`, serde and the
/// sea-orm active-enum mapping, all with the same strings.
///
/// The strings are matched as `tt`, not `literal`: a `literal` fragment reaches the derive
/// macros wrapped in an invisible group, which utoipa does not read as a `rename`, so the
/// OpenAPI document listed the variant names (`Bund`) instead of the wire strings (`bund`).
macro_rules! column_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $s:tt ),+ $(,)?
        }
    ) => {
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, EnumIter,
            DeriveActiveEnum,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        $(#[$meta])*
        pub enum $name {
            $( $(#[$vmeta])* #[sea_orm(string_value = $s)] #[serde(rename = $s)] $variant ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and wire) form.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// The variant stored as `raw`, if any.
            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        /// Compares with the stored form, so `row.state == "closed"` keeps reading naturally.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Every column enum with its table, column and allowed values: what the CHECK constraints of
/// `m20261203_120000_state_checks` must list (checked by the schema drift test).
pub fn checked_columns() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    fn all<T: Copy>(list: &[T], f: fn(T) -> &'static str) -> Vec<&'static str> {
        list.iter().map(|v| f(*v)).collect()
    }
    vec![
        ("role_assignments", "role", all(Role::ALL, Role::as_str)),
        ("contacts", "channel", all(Channel::ALL, Channel::as_str)),
        (
            "tickets",
            "answer_channel",
            all(AnswerChannel::ALL, AnswerChannel::as_str),
        ),
        (
            "tickets",
            "state",
            all(TicketState::ALL, TicketState::as_str),
        ),
        ("tickets", "priority", all(Priority::ALL, Priority::as_str)),
        (
            "tickets",
            "forward_state",
            all(ForwardState::ALL, ForwardState::as_str),
        ),
        (
            "call_attempts",
            "outcome",
            all(CallOutcome::ALL, CallOutcome::as_str),
        ),
        ("ticket_notes", "kind", all(NoteKind::ALL, NoteKind::as_str)),
        (
            "ticket_forwards",
            "state",
            all(ForwardState::ALL, ForwardState::as_str),
        ),
        (
            "mailboxes",
            "security",
            all(MailboxSecurity::ALL, MailboxSecurity::as_str),
        ),
        (
            "knowledge_base_texts",
            "level",
            all(BaseLevel::ALL, BaseLevel::as_str),
        ),
        (
            "knowledge_services",
            "status",
            all(ServiceStatus::ALL, ServiceStatus::as_str),
        ),
        (
            "knowledge_service_versions",
            "status",
            all(ServiceStatus::ALL, ServiceStatus::as_str),
        ),
        ("outbox_mails", "kind", all(MailKind::ALL, MailKind::as_str)),
        (
            "outbox_mails",
            "state",
            all(OutboxState::ALL, OutboxState::as_str),
        ),
        (
            "inbound_mails",
            "outcome",
            all(InboundOutcome::ALL, InboundOutcome::as_str),
        ),
    ]
}

column_enum!(
    /// How the citizen reached the center.
    Channel { Phone => "phone", Email => "email", Letter => "letter", WalkIn => "walk_in" }
);

column_enum!(
    /// How the citizen wants the answer.
    AnswerChannel { Callback => "callback", Email => "email", Letter => "letter" }
);

column_enum!(
    /// Where a ticket stands.
    TicketState {
        New => "new",
        InProgress => "in_progress",
        WaitingBackoffice => "waiting_backoffice",
        Answered => "answered",
        Closed => "closed",
    }
);

column_enum!(Priority { Low => "low", Normal => "normal", High => "high" });

column_enum!(
    /// The result of one callback attempt.
    CallOutcome { Reached => "reached", NotReached => "not_reached", Mailbox => "mailbox" }
);

column_enum!(
    /// An internal note stays with the tenant that wrote it; a message goes to the citizen.
    NoteKind { Internal => "internal", Message => "message" }
);

column_enum!(
    /// Where a ticket stands in forwarding.
    ForwardState { None => "none", Pending => "pending", Accepted => "accepted", Returned => "returned" }
);

impl TicketState {
    /// Whether a ticket may move from `self` to `next` by an edit.
    pub fn may_become(self, next: TicketState) -> bool {
        use TicketState::*;
        match (self, next) {
            (a, b) if a == b => true,
            (Closed, _) => false,
            (_, New) => false,
            _ => true,
        }
    }

    pub fn is_open(self) -> bool {
        !matches!(self, TicketState::Answered | TicketState::Closed)
    }
}

column_enum!(
    /// How an IMAP mailbox is reached.
    MailboxSecurity {
        Tls => "tls",
        StartTls => "start_tls",
        /// Only for a server on this machine (loopback).
        Plain => "plain",
    }
);

column_enum!(
    /// Whose base text it is.
    BaseLevel {
        /// Federal (Bundesredaktion).
        Bund => "bund",
        /// State (Landesredaktion).
        Land => "land",
    }
);

column_enum!(
    /// The workflow state of a stored description: draft → published → archived.
    ServiceStatus {
        /// Being edited; visible only inside the owning tenant.
        Draft => "draft",
        /// Visible to every agent in the Verbund and in search.
        Published => "published",
        /// Withdrawn; kept with its history, visible only inside the owning tenant.
        Archived => "archived",
    }
);

impl ServiceStatus {
    /// German label for the UI.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Draft => "Entwurf",
            Self::Published => "Veröffentlicht",
            Self::Archived => "Archiviert",
        }
    }
}

column_enum!(
    /// What an outbound mail is.
    MailKind { Receipt => "receipt", Reply => "reply", Escalation => "escalation" }
);

column_enum!(
    /// Where an outbound mail stands.
    OutboxState {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
        Bounced => "bounced",
    }
);

column_enum!(
    /// What became of an inbound message (`inbound_mails.outcome`).
    #[schema(as = Outcome)]
    InboundOutcome {
        /// A new ticket (with or without a receipt).
        NewTicket => "new_ticket",
        /// Joined an existing ticket.
        Reply => "reply",
        /// Joined an existing ticket, but from someone other than its citizen: flagged.
        ReplyFlagged => "reply_flagged",
        /// A delivery status notification, matched to an outbound mail.
        Bounce => "bounce",
        /// A delivery status notification we could not match.
        BounceUnmatched => "bounce_unmatched",
        /// For no tenant: waits in the operators' catch-all queue.
        Catchall => "catchall",
        /// Could not be parsed: kept raw for a human.
        Unparseable => "unparseable",
        /// Parsed, but nothing to answer to (no sender): kept for a human.
        Review => "review",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The strings an enum's OpenAPI schema allows: `enum`, or the `enum`s of its `oneOf`
    /// alternatives (variants with doc comments).
    fn documented<T: utoipa::PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        let mut out = Vec::new();
        let mut collect = |s: &serde_json::Value| {
            for v in s["enum"].as_array().into_iter().flatten() {
                out.push(v.as_str().unwrap().to_owned());
            }
        };
        collect(&schema);
        for alt in schema["oneOf"].as_array().into_iter().flatten() {
            collect(alt);
        }
        out
    }

    /// Serde, the OpenAPI document and the database all use the stored strings. The document
    /// once listed the variant names (`Bund`) while the API sent `bund`.
    fn check<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: utoipa::PartialSchema + Serialize + for<'de> Deserialize<'de> + Copy + PartialEq,
        T: std::fmt::Debug,
    {
        let stored: Vec<String> = all.iter().map(|v| as_str(*v).to_owned()).collect();
        assert_eq!(documented::<T>(), stored, "{}", std::any::type_name::<T>());
        for v in all {
            let wire = serde_json::to_value(v).unwrap();
            assert_eq!(wire, as_str(*v), "{v:?}");
            assert_eq!(serde_json::from_value::<T>(wire).unwrap(), *v);
        }
    }

    #[test]
    fn every_column_enum_documents_sends_and_reads_its_stored_strings() {
        check(Channel::ALL, Channel::as_str);
        check(AnswerChannel::ALL, AnswerChannel::as_str);
        check(TicketState::ALL, TicketState::as_str);
        check(Priority::ALL, Priority::as_str);
        check(CallOutcome::ALL, CallOutcome::as_str);
        check(NoteKind::ALL, NoteKind::as_str);
        check(ForwardState::ALL, ForwardState::as_str);
        check(MailboxSecurity::ALL, MailboxSecurity::as_str);
        check(BaseLevel::ALL, BaseLevel::as_str);
        check(ServiceStatus::ALL, ServiceStatus::as_str);
        check(MailKind::ALL, MailKind::as_str);
        check(OutboxState::ALL, OutboxState::as_str);
        check(InboundOutcome::ALL, InboundOutcome::as_str);
    }
}

column_enum!(
    /// A role a user can hold, each scoped to a tenant or a center (operator: the whole Verbund).
    #[derive(PartialOrd, Ord)]
    Role {
        Operator => "operator",
        TenantAdmin => "tenant_admin",
        Editor => "editor",
        Agent => "agent",
        Responder => "responder",
        /// Optional Verbund role: sees the cross-tenant forwarding traffic (report per pair of
        /// tenants, forwarded tickets at risk), no citizen data and no tenant's tickets.
        Coordinator => "coordinator",
    }
);
