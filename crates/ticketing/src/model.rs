//! The vocabulary of ticketing: channels, states, priorities, outcomes. Stored as snake_case
//! strings; parsed at the edge.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// How the citizen reached the center.
    Channel { Phone => "phone", Email => "email", Letter => "letter", WalkIn => "walk_in" }
);

string_enum!(
    /// How the citizen wants the answer.
    AnswerChannel { Callback => "callback", Email => "email", Letter => "letter" }
);

string_enum!(
    /// Where a ticket stands.
    TicketState {
        New => "new",
        InProgress => "in_progress",
        WaitingBackoffice => "waiting_backoffice",
        Answered => "answered",
        Closed => "closed",
    }
);

string_enum!(Priority { Low => "low", Normal => "normal", High => "high" });

string_enum!(
    /// The result of one callback attempt.
    CallOutcome { Reached => "reached", NotReached => "not_reached", Mailbox => "mailbox" }
);

string_enum!(
    /// An internal note stays with the tenant that wrote it; a message goes to the citizen.
    NoteKind { Internal => "internal", Message => "message" }
);

string_enum!(
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

/// The front-office queue of a tenant; back-office units are `backoffice:<unit>`.
pub const FRONT_QUEUE: &str = "frontoffice";

/// Checks a queue name: `frontoffice` or `backoffice:<unit>` with a slug-like unit.
pub fn parse_queue(raw: &str) -> Option<String> {
    if raw == FRONT_QUEUE {
        return Some(raw.to_owned());
    }
    let unit = raw.strip_prefix("backoffice:")?;
    let ok = (1..=60).contains(&unit.len())
        && unit
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then(|| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_move_forward_but_closed_is_final() {
        assert!(TicketState::New.may_become(TicketState::InProgress));
        assert!(TicketState::Answered.may_become(TicketState::InProgress));
        assert!(!TicketState::Closed.may_become(TicketState::InProgress));
        assert!(!TicketState::InProgress.may_become(TicketState::New));
        assert!(TicketState::Closed.may_become(TicketState::Closed));
    }

    #[test]
    fn strings_round_trip() {
        for s in TicketState::ALL {
            assert_eq!(TicketState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Channel::parse("walk_in"), Some(Channel::WalkIn));
        assert_eq!(Channel::parse("fax"), None);
    }

    #[test]
    fn queues() {
        assert_eq!(parse_queue("frontoffice").as_deref(), Some("frontoffice"));
        assert_eq!(
            parse_queue("backoffice:kfz-zulassung").as_deref(),
            Some("backoffice:kfz-zulassung")
        );
        assert_eq!(parse_queue("backoffice:"), None);
        assert_eq!(parse_queue("backoffice:Kfz Stelle"), None);
        assert_eq!(parse_queue("irgendwas"), None);
    }
}
