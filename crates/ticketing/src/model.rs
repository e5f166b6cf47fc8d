//! The vocabulary of ticketing: channels, states, priorities, outcomes. Stored as snake_case
//! strings; parsed at the edge.

pub use verbund_schema::types::{
    AnswerChannel, CallOutcome, Channel, ForwardState, NoteKind, Priority, TicketState,
};

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
