//! What becomes of an inbound mail, decided without I/O.
//!
//! Processing a stored mail takes three steps. [`crate::ingest`] gathers everything the
//! decision needs from the database into [`Lookups`]: the look-ups that need no lock before
//! the write transaction, the rows whose current state matters (the ticket replied to, the
//! outbound mail a bounce reports on) inside it. [`decide`] turns the parsed mail and the
//! look-ups into a [`Disposition`]; it is a pure function and has the table-driven tests
//! below. Then one small `apply_*` function per disposition makes its writes, all of them in
//! the one write transaction.
//!
//! The precedence (the first that matches wins):
//! 1. not a mail at all: [`Disposition::Unparseable`], kept raw for a human;
//! 2. a delivery status notification: [`Disposition::Bounce`] when it names one of our
//!    outbound mails, else [`Disposition::BounceUnmatched`]; a bounce never becomes a ticket;
//! 3. a reply to a ticket that is neither closed nor anonymised: [`Disposition::Reply`],
//!    flagged when the sender is not the ticket's citizen; this holds for auto-replies and
//!    for mail without a valid sender too (they join the ticket and get no answer);
//! 4. no tenant (none forced by an operator, none named by the recipients, no IMAP
//!    mailbox of a tenant): [`Disposition::Catchall`];
//! 5. no valid address to answer to: [`Disposition::Review`];
//! 6. else [`Disposition::NewTicket`], with a receipt unless a machine sent the mail, it has
//!    no `From`, it comes from one of our own addresses, or the sender's hourly receipt limit
//!    is reached (loop protection).

use verbund_schema::ids::TenantId;
use verbund_schema::{outbox_mail, tenant, ticket};
use verbund_tenant::settings::TenantSettings;
use verbund_ticketing::model::TicketState;

use crate::ingest::{Answer, Outcome, answer_address, clip};
use crate::parse::{Bounce, ParseError, ParsedMail};

/// Everything [`decide`] needs from the database. Gathered by `crate::ingest` before the
/// decision; only what can matter for the mail at hand is looked up (a bounce needs no
/// ticket look-up, a mail routed by its recipients no mailbox tenant).
#[derive(Clone, Debug, Default)]
pub(crate) struct Lookups {
    /// The tenant an operator assigned the mail to (from the catch-all queue), if one did.
    pub force_tenant: Option<TenantId>,
    /// That tenant's row (`None` when it does not exist).
    pub forced: Option<tenant::Model>,
    /// The tenant of the IMAP mailbox the mail came from.
    pub mailbox_tenant_id: Option<TenantId>,
    /// That tenant's row; looked up only when neither an operator nor the recipients name one.
    pub mailbox_tenant: Option<tenant::Model>,
    /// The active tenant that the recipients name, with the address that matched.
    pub routed: Option<(tenant::Model, String)>,
    /// The ticket the mail replies to, as found before the write transaction.
    pub threaded_id: Option<verbund_schema::ids::TicketId>,
    /// That ticket as it is inside the write transaction (its current state).
    pub threaded: Option<ticket::Model>,
    /// The tenant holding the threaded ticket (its attachment limits), when the mail has
    /// attachments.
    pub threaded_tenant: Option<tenant::Model>,
    /// A bounce: the outbound mail it reports on.
    pub bounced: Option<outbox_mail::Model>,
    /// That outbound mail's ticket.
    pub bounced_ticket: Option<ticket::Model>,
    /// The sender is one of our own addresses.
    pub own_sender: bool,
    /// Receipts to the sender in the last hour. Counted outside the transaction, so two mails
    /// of one sender arriving at the same moment may both get a receipt at the limit.
    pub receipts_last_hour: u64,
    /// The new ticket's tenant and number, reserved ahead (PostgreSQL; see `reserve_number`).
    pub number: Option<(TenantId, String)>,
}

/// What to do with one inbound mail: one case per [`Outcome`] (a reply, flagged or not, is
/// one case). Borrows the parsed mail and the look-ups it was decided from.
#[derive(Debug)]
pub(crate) enum Disposition<'a> {
    /// Not a mail at all: kept raw for a human.
    Unparseable {
        tenant_id: Option<TenantId>,
        error: String,
    },
    /// A delivery status notification about one of our outbound mails.
    Bounce {
        mail: &'a ParsedMail,
        bounce: &'a Bounce,
        outbox: &'a outbox_mail::Model,
        ticket: Option<&'a ticket::Model>,
        /// Status and diagnostic, for the outbound mail and the ticket's history.
        reason: String,
    },
    /// A delivery status notification we could not match: filed with a tenant if one is known.
    BounceUnmatched {
        mail: &'a ParsedMail,
        tenant_id: Option<TenantId>,
    },
    /// Joins an open ticket; flagged when the sender is not the ticket's citizen.
    Reply {
        mail: &'a ParsedMail,
        ticket: &'a ticket::Model,
        /// The ticket's tenant, present when the mail has attachments.
        holder: Option<&'a tenant::Model>,
        /// The valid address the mail came from, if any.
        sender: Option<String>,
        flagged: bool,
    },
    /// For no tenant: waits in the operators' catch-all queue.
    Catchall { mail: &'a ParsedMail },
    /// For a tenant, but with nobody to answer to: kept for a human.
    Review {
        mail: &'a ParsedMail,
        tenant_id: TenantId,
        error: String,
    },
    /// A new ticket of the tenant, with a receipt unless `receipt_suppressed` says why not.
    NewTicket {
        mail: &'a ParsedMail,
        tenant: &'a tenant::Model,
        settings: Box<TenantSettings>,
        /// Our address the mail was written to (the receipt's sender), when routed by it.
        written_to: Option<&'a str>,
        /// The valid address to answer to.
        sender: String,
        /// The ticket number reserved ahead for this tenant, if any.
        number: Option<String>,
        receipt_suppressed: Option<String>,
    },
}

impl Disposition<'_> {
    /// The outcome recorded on the mail.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Disposition::Unparseable { .. } => Outcome::Unparseable,
            Disposition::Bounce { .. } => Outcome::Bounce,
            Disposition::BounceUnmatched { .. } => Outcome::BounceUnmatched,
            Disposition::Reply { flagged: true, .. } => Outcome::ReplyFlagged,
            Disposition::Reply { flagged: false, .. } => Outcome::Reply,
            Disposition::Catchall { .. } => Outcome::Catchall,
            Disposition::Review { .. } => Outcome::Review,
            Disposition::NewTicket { .. } => Outcome::NewTicket,
        }
    }
}

/// Decides what becomes of a mail (see the module doc for the precedence). No I/O.
pub(crate) fn decide<'a>(
    parsed: Result<&'a ParsedMail, &ParseError>,
    l: &'a Lookups,
) -> Disposition<'a> {
    let mail = match parsed {
        Ok(p) => p,
        Err(e) => {
            return Disposition::Unparseable {
                tenant_id: l.force_tenant.or(l.mailbox_tenant_id),
                error: e.to_string(),
            };
        }
    };
    // Bounces never become tickets.
    if let Some(bounce) = &mail.bounce {
        return match &l.bounced {
            Some(outbox) => Disposition::Bounce {
                mail,
                bounce,
                outbox,
                ticket: l.bounced_ticket.as_ref(),
                reason: bounce_reason(bounce),
            },
            None => Disposition::BounceUnmatched {
                mail,
                tenant_id: l
                    .force_tenant
                    .or(l.mailbox_tenant_id)
                    .or(l.routed.as_ref().map(|(t, _)| t.id)),
            },
        };
    }
    let answer = answer_address(mail);
    let sender = answer.valid();
    // A reply to one of our tickets joins it.
    if let Some(t) = &l.threaded
        && t.state != TicketState::Closed.as_str()
        && t.anonymized_at.is_none()
    {
        let flagged = match (&sender, &t.citizen_email) {
            (Some(s), Some(c)) => !s.eq_ignore_ascii_case(c),
            _ => true,
        };
        return Disposition::Reply {
            mail,
            ticket: t,
            holder: l.threaded_tenant.as_ref(),
            sender,
            flagged,
        };
    }
    let routed = match l.force_tenant {
        Some(_) => l.forced.as_ref().map(|t| (t, None)),
        None => match &l.routed {
            Some((t, address)) => Some((t, Some(address.as_str()))),
            None => l.mailbox_tenant.as_ref().map(|t| (t, None)),
        },
    };
    let Some((tenant, written_to)) = routed else {
        return Disposition::Catchall { mail };
    };
    let Some(sender) = sender else {
        let error = match &answer {
            Answer::Invalid(a) => format!(
                "the sender address {:?} is not a valid mailbox (RFC 5321): nothing is sent to it",
                clip(a, 254)
            ),
            _ => "the mail has no sender address to answer to".to_owned(),
        };
        return Disposition::Review {
            mail,
            tenant_id: tenant.id,
            error,
        };
    };
    let settings = Box::new(TenantSettings::from_json(&tenant.settings));
    let receipt_suppressed = receipt_suppressed(mail, l, &settings);
    Disposition::NewTicket {
        mail,
        tenant,
        settings,
        written_to,
        sender,
        number: l
            .number
            .as_ref()
            .filter(|(t, _)| *t == tenant.id)
            .map(|(_, n)| n.clone()),
        receipt_suppressed,
    }
}

/// Status and diagnostic of a bounce, for the outbound mail's last error.
fn bounce_reason(b: &Bounce) -> String {
    let diagnostic = [b.status.as_deref(), b.diagnostic.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if diagnostic.is_empty() {
        "bounced".to_owned()
    } else {
        clip(&diagnostic, 1000)
    }
}

/// Loop protection and the per-sender rate: why no receipt may go out, if so.
fn receipt_suppressed(p: &ParsedMail, l: &Lookups, settings: &TenantSettings) -> Option<String> {
    if let Some(reason) = &p.auto {
        return Some(reason.as_str().to_owned());
    }
    if p.from.is_none() {
        return Some("no_from".into());
    }
    if l.own_sender {
        return Some("own_address".into());
    }
    if l.receipts_last_hour >= u64::from(settings.receipts_per_sender_per_hour) {
        return Some("rate_limit".into());
    }
    None
}

#[cfg(test)]
mod tests {
    //! Table-driven: each row is a mail, what the database knows, and what must become of it.
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::parse::{self, Address, AutoReason};
    use chrono::Utc;
    use uuid::Uuid;

    const MAIL: &[u8] = b"From: Anna Buerger <anna@example.org>\r\n\
        To: info@stadt-trier.de\r\n\
        Subject: Frage zum Personalausweis\r\n\
        Message-ID: <m1@example.org>\r\n\
        \r\n\
        Guten Tag, wie lange dauert ein neuer Ausweis?\r\n";

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }
    fn tid(n: u128) -> TenantId {
        id(n).into()
    }
    const ROUTED: u128 = 1;
    const MAILBOX: u128 = 2;
    const FORCED: u128 = 3;
    const HOLDER: u128 = 4;
    const TICKET: u128 = 10;
    const OUTBOX: u128 = 20;

    fn tenant(n: u128, receipts_per_hour: u32) -> tenant::Model {
        tenant::Model {
            id: tid(n),
            slug: format!("t{n}"),
            name: format!("Tenant {n}"),
            ags: "07211000".into(),
            state: "RP".into(),
            time_zone: "Europe/Berlin".into(),
            ticket_prefix: "T".into(),
            settings: serde_json::json!({ "receipts_per_sender_per_hour": receipts_per_hour }),
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn ticket(state: TicketState, citizen: Option<&str>, anonymized: bool) -> ticket::Model {
        ticket::Model {
            id: id(TICKET).into(),
            tenant_id: tid(HOLDER),
            number: "T-2026-000001".into(),
            subject: "Frage".into(),
            question: "Frage".into(),
            citizen_name: None,
            citizen_phone: None,
            citizen_email: citizen.map(str::to_owned),
            citizen_address: None,
            answer_channel: verbund_schema::types::AnswerChannel::Email,
            callback_windows: serde_json::json!([]),
            service_id: None,
            state,
            assignee_user_id: None,
            queue: "frontoffice".into(),
            priority: verbund_schema::types::Priority::Normal,
            due_at: Utc::now(),
            at_risk: false,
            overdue: false,
            failed_call_attempts: 0,
            needs_other_channel: false,
            origin_tenant_id: tid(HOLDER),
            forward_state: verbund_schema::types::ForwardState::None,
            created_by: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            closed_at: None,
            first_answered_at: None,
            anonymized_at: anonymized.then(Utc::now),
            version: 1,
        }
    }

    fn outbox() -> outbox_mail::Model {
        outbox_mail::Model {
            id: id(OUTBOX),
            tenant_id: tid(HOLDER),
            ticket_id: Some(id(TICKET).into()),
            kind: verbund_schema::types::MailKind::Receipt,
            from_address: "info@stadt-trier.de".into(),
            from_name: None,
            to_address: "anna@example.org".into(),
            subject: "Ihre Anfrage".into(),
            body: "Danke".into(),
            message_id: "out1@verbund".into(),
            in_reply_to: None,
            references: None,
            auto_submitted: true,
            state: verbund_schema::types::OutboxState::Sent,
            attempts: 1,
            next_attempt_at: Utc::now(),
            claim_token: None,
            claimed_until: None,
            last_error: None,
            sent_at: Some(Utc::now()),
            created_by: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    // What a mail is like.
    fn plain(_: &mut ParsedMail) {}
    fn auto(p: &mut ParsedMail) {
        p.auto = Some(AutoReason::AutoSubmitted);
    }
    fn bounce(p: &mut ParsedMail) {
        p.bounce = Some(Bounce {
            original_message_id: Some("out1@verbund".into()),
            recipient: Some("anna@example.org".into()),
            action: Some("failed".into()),
            status: Some("5.1.1".into()),
            diagnostic: Some("550 user unknown".into()),
            permanent: true,
        });
    }
    fn from_other(p: &mut ParsedMail) {
        p.from = Some(Address {
            name: None,
            address: "nachbar@example.org".into(),
            answerable: true,
        });
    }
    fn from_invalid(p: &mut ParsedMail) {
        p.from = Some(Address {
            name: None,
            address: "anna@@example".into(),
            answerable: false,
        });
    }
    fn nobody(p: &mut ParsedMail) {
        p.from = None;
        p.reply_to = None;
        p.return_path = None;
    }
    /// No From, but a Reply-To to answer to.
    fn reply_to_only(p: &mut ParsedMail) {
        p.reply_to = p.from.take();
    }

    // What the database knows.
    fn none(_: &mut Lookups) {}
    fn routed(l: &mut Lookups) {
        l.routed = Some((tenant(ROUTED, 5), "info+pass@stadt-trier.de".into()));
    }
    fn mailbox(l: &mut Lookups) {
        l.mailbox_tenant_id = Some(tid(MAILBOX));
        l.mailbox_tenant = Some(tenant(MAILBOX, 5));
    }
    fn routed_and_mailbox(l: &mut Lookups) {
        routed(l);
        l.mailbox_tenant_id = Some(tid(MAILBOX));
    }
    fn forced(l: &mut Lookups) {
        routed(l);
        l.force_tenant = Some(tid(FORCED));
        l.forced = Some(tenant(FORCED, 5));
    }
    fn forced_missing(l: &mut Lookups) {
        routed(l);
        l.force_tenant = Some(tid(FORCED));
    }
    fn threaded(l: &mut Lookups, state: TicketState, anonymized: bool) {
        routed(l);
        l.threaded_id = Some(id(TICKET).into());
        l.threaded = Some(ticket(state, Some("Anna@Example.org"), anonymized));
        l.threaded_tenant = Some(tenant(HOLDER, 5));
    }
    fn open_ticket(l: &mut Lookups) {
        threaded(l, TicketState::InProgress, false);
    }
    fn answered_ticket(l: &mut Lookups) {
        threaded(l, TicketState::Answered, false);
    }
    fn closed_ticket(l: &mut Lookups) {
        threaded(l, TicketState::Closed, false);
    }
    fn anonymized_ticket(l: &mut Lookups) {
        threaded(l, TicketState::InProgress, true);
    }
    fn closed_ticket_no_tenant(l: &mut Lookups) {
        closed_ticket(l);
        l.routed = None;
    }
    fn ticket_without_citizen_mail(l: &mut Lookups) {
        open_ticket(l);
        if let Some(t) = &mut l.threaded {
            t.citizen_email = None;
        }
    }
    fn bounced(l: &mut Lookups) {
        open_ticket(l);
        l.bounced = Some(outbox());
        l.bounced_ticket = l.threaded.clone();
    }
    fn bounce_unmatched_routed(l: &mut Lookups) {
        routed(l);
    }
    fn bounce_unmatched_mailbox(l: &mut Lookups) {
        routed_and_mailbox(l);
    }
    fn bounce_unmatched_forced(l: &mut Lookups) {
        routed_and_mailbox(l);
        l.force_tenant = Some(tid(FORCED));
    }
    fn own_sender(l: &mut Lookups) {
        routed(l);
        l.own_sender = true;
    }
    fn at_rate_limit(l: &mut Lookups) {
        routed(l);
        l.receipts_last_hour = 5;
    }
    fn below_rate_limit(l: &mut Lookups) {
        routed(l);
        l.receipts_last_hour = 4;
    }

    /// The essentials of a disposition: outcome, tenant, ticket, why no receipt, the address
    /// a receipt is sent from.
    type Seen = (
        Outcome,
        Option<TenantId>,
        Option<Uuid>,
        Option<String>,
        Option<String>,
    );

    fn seen(d: &Disposition<'_>) -> Seen {
        let outcome = d.outcome();
        match d {
            Disposition::Unparseable { tenant_id, .. }
            | Disposition::BounceUnmatched { tenant_id, .. } => {
                (outcome, *tenant_id, None, None, None)
            }
            Disposition::Bounce { outbox, ticket, .. } => (
                outcome,
                Some(outbox.tenant_id),
                ticket.map(|t| t.id.uuid()),
                None,
                None,
            ),
            Disposition::Reply { ticket, .. } => (
                outcome,
                Some(ticket.tenant_id),
                Some(ticket.id.uuid()),
                None,
                None,
            ),
            Disposition::Catchall { .. } => (outcome, None, None, None, None),
            Disposition::Review { tenant_id, .. } => (outcome, Some(*tenant_id), None, None, None),
            Disposition::NewTicket {
                tenant,
                receipt_suppressed,
                written_to,
                ..
            } => (
                outcome,
                Some(tenant.id),
                None,
                receipt_suppressed.clone(),
                written_to.map(str::to_owned),
            ),
        }
    }

    type Case = (
        &'static str,
        fn(&mut ParsedMail),
        fn(&mut Lookups),
        Outcome,
        Option<u128>,
        Option<u128>,
        Option<&'static str>,
    );

    #[test]
    fn decide_table() {
        use Outcome::*;
        let written_to = Some("info+pass@stadt-trier.de".to_owned());
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // (name, mail, look-ups, outcome, tenant, ticket, receipt suppressed)
            // A bounce comes first, even when it also looks like a reply.
            ("bounce of our mail", bounce, bounced, Bounce, Some(HOLDER), Some(TICKET), None),
            ("bounce unmatched: tenant by recipients", bounce, bounce_unmatched_routed, BounceUnmatched, Some(ROUTED), None, None),
            ("bounce unmatched: mailbox before recipients", bounce, bounce_unmatched_mailbox, BounceUnmatched, Some(MAILBOX), None, None),
            ("bounce unmatched: operator before mailbox", bounce, bounce_unmatched_forced, BounceUnmatched, Some(FORCED), None, None),
            ("bounce unmatched: no tenant", bounce, none, BounceUnmatched, None, None, None),
            ("bounce naming an open ticket's mail, unmatched", bounce, open_ticket, BounceUnmatched, Some(ROUTED), None, None),
            // A reply to an open ticket joins it, before any routing or receipt rule.
            ("reply from the citizen", plain, open_ticket, Reply, Some(HOLDER), Some(TICKET), None),
            ("reply to an answered ticket", plain, answered_ticket, Reply, Some(HOLDER), Some(TICKET), None),
            ("auto-reply to a ticket joins it", auto, open_ticket, Reply, Some(HOLDER), Some(TICKET), None),
            ("reply from someone else is flagged", from_other, open_ticket, ReplyFlagged, Some(HOLDER), Some(TICKET), None),
            ("reply without any sender is flagged", nobody, open_ticket, ReplyFlagged, Some(HOLDER), Some(TICKET), None),
            ("reply from an invalid address is flagged", from_invalid, open_ticket, ReplyFlagged, Some(HOLDER), Some(TICKET), None),
            ("reply to a ticket without citizen mail is flagged", plain, ticket_without_citizen_mail, ReplyFlagged, Some(HOLDER), Some(TICKET), None),
            // A closed or anonymised ticket is not joined: the mail is new.
            ("reply to a closed ticket is new", plain, closed_ticket, NewTicket, Some(ROUTED), None, None),
            ("reply to an anonymised ticket is new", plain, anonymized_ticket, NewTicket, Some(ROUTED), None, None),
            ("reply to a closed ticket, no tenant", plain, closed_ticket_no_tenant, Catchall, None, None, None),
            // Which tenant: operator, else recipients, else the IMAP mailbox; else catch-all.
            ("no tenant", plain, none, Catchall, None, None, None),
            ("no tenant and no sender", nobody, none, Catchall, None, None, None),
            ("tenant by recipients", plain, routed, NewTicket, Some(ROUTED), None, None),
            ("recipients before mailbox", plain, routed_and_mailbox, NewTicket, Some(ROUTED), None, None),
            ("tenant by mailbox", plain, mailbox, NewTicket, Some(MAILBOX), None, None),
            ("operator before recipients", plain, forced, NewTicket, Some(FORCED), None, None),
            ("operator's tenant does not exist", plain, forced_missing, Catchall, None, None, None),
            // Nobody to answer to.
            ("no sender at all", nobody, routed, Review, Some(ROUTED), None, None),
            ("invalid sender", from_invalid, routed, Review, Some(ROUTED), None, None),
            // A new ticket; the receipt unless loop protection says no.
            ("auto-reply: no receipt", auto, routed, NewTicket, Some(ROUTED), None, Some("auto_submitted")),
            ("no From, Reply-To: no receipt", reply_to_only, routed, NewTicket, Some(ROUTED), None, Some("no_from")),
            ("own address: no receipt", plain, own_sender, NewTicket, Some(ROUTED), None, Some("own_address")),
            ("rate limit reached: no receipt", plain, at_rate_limit, NewTicket, Some(ROUTED), None, Some("rate_limit")),
            ("below the rate limit: receipt", plain, below_rate_limit, NewTicket, Some(ROUTED), None, None),
        ];
        let base = parse::parse(MAIL).unwrap();
        assert!(base.from.as_ref().unwrap().answerable);
        for (name, mail, look, outcome, tenant_id, ticket_id, suppressed) in cases {
            let mut p = base.clone();
            mail(&mut p);
            let mut l = Lookups::default();
            look(&mut l);
            let d = decide(Ok(&p), &l);
            let (o, t, k, s, w) = seen(&d);
            assert_eq!(o, *outcome, "{name}: outcome");
            assert_eq!(t, tenant_id.map(tid), "{name}: tenant");
            assert_eq!(k, ticket_id.map(id), "{name}: ticket");
            assert_eq!(s.as_deref(), *suppressed, "{name}: receipt suppressed");
            // A receipt goes out from the address written to, when the recipients named it.
            let by_recipients = o == NewTicket && *tenant_id == Some(ROUTED);
            assert_eq!(
                w,
                by_recipients.then(|| written_to.clone()).flatten(),
                "{name}: from"
            );
        }
    }

    #[test]
    fn decide_unparseable_keeps_the_known_tenant() {
        for (look, tenant_id) in [
            (none as fn(&mut Lookups), None),
            (mailbox, Some(MAILBOX)),
            (bounce_unmatched_forced, Some(FORCED)),
        ] {
            let mut l = Lookups::default();
            look(&mut l);
            let d = decide(Err(&parse::ParseError::NotAMessage), &l);
            let Disposition::Unparseable {
                tenant_id: t,
                error,
            } = &d
            else {
                panic!("not unparseable: {d:?}");
            };
            assert_eq!(*t, tenant_id.map(tid));
            assert_eq!(error, "the input has no mail header section");
        }
    }

    #[test]
    fn decide_bounce_reason_and_permanence() {
        let mut p = parse::parse(MAIL).unwrap();
        bounce(&mut p);
        let mut l = Lookups::default();
        bounced(&mut l);
        let Disposition::Bounce { reason, bounce, .. } = decide(Ok(&p), &l) else {
            panic!("not a bounce");
        };
        assert_eq!(reason, "5.1.1 550 user unknown");
        assert!(bounce.permanent);
        if let Some(b) = &mut p.bounce {
            b.status = None;
            b.diagnostic = None;
        }
        let Disposition::Bounce { reason, .. } = decide(Ok(&p), &l) else {
            panic!("not a bounce");
        };
        assert_eq!(reason, "bounced");
    }

    #[test]
    fn decide_review_says_why() {
        let p0 = parse::parse(MAIL).unwrap();
        for (mail, why) in [
            (
                nobody as fn(&mut ParsedMail),
                "the mail has no sender address to answer to",
            ),
            (
                from_invalid,
                "the sender address \"anna@@example\" is not a valid mailbox (RFC 5321): nothing is sent to it",
            ),
        ] {
            let mut p = p0.clone();
            mail(&mut p);
            let mut l = Lookups::default();
            routed(&mut l);
            let Disposition::Review { error, .. } = decide(Ok(&p), &l) else {
                panic!("not for review");
            };
            assert_eq!(error, why);
        }
    }

    #[test]
    fn decide_new_ticket_uses_the_number_reserved_for_its_tenant() {
        let p = parse::parse(MAIL).unwrap();
        // Reserved for the routed tenant: used.
        let mut l = Lookups::default();
        routed(&mut l);
        l.number = Some((tid(ROUTED), "T-2026-000007".into()));
        let Disposition::NewTicket { number, sender, .. } = decide(Ok(&p), &l) else {
            panic!("not a new ticket");
        };
        assert_eq!(number.as_deref(), Some("T-2026-000007"));
        assert_eq!(sender, "anna@example.org");
        // An operator routed it elsewhere: the reservation is not that tenant's.
        forced(&mut l);
        let Disposition::NewTicket { number, tenant, .. } = decide(Ok(&p), &l) else {
            panic!("not a new ticket");
        };
        assert_eq!(tenant.id, tid(FORCED));
        assert_eq!(number, None);
    }

    #[test]
    fn decide_reply_carries_the_sender_and_the_ticket_tenant() {
        let p = parse::parse(MAIL).unwrap();
        let mut l = Lookups::default();
        open_ticket(&mut l);
        let Disposition::Reply { sender, holder, .. } = decide(Ok(&p), &l) else {
            panic!("not a reply");
        };
        assert_eq!(sender.as_deref(), Some("anna@example.org"));
        assert_eq!(holder.map(|t| t.id), Some(tid(HOLDER)));
    }
}
