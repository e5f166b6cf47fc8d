//! Inbound mail: stored raw (before anything is acknowledged), parsed, routed to a tenant,
//! threaded onto a ticket or made a new one, and acknowledged with a receipt — all of the
//! processing in one transaction.
//!
//! Every message is stored first ([`store_raw`] for IMAP, [`ingest`] for the MTA) and processed
//! after. A row stays in state `stored` until its processing committed; [`process_pending`]
//! picks up what a crash or a failure left behind. Each processing attempt is counted in its
//! own committed statement before the mail is parsed ([`claim`]), so a mail whose processing
//! aborted the process twice is quarantined as `unparseable` (kept raw for a human) instead of
//! killing every restart. The same message twice (same content hash) is one row.
//!
//! Processing is decide, then apply: the look-ups are gathered into `Lookups`, the pure
//! `disposition::decide` says what becomes of the mail, and one small `apply_*` function per
//! disposition makes its writes in the one write transaction. Tables are read and written
//! through `crate::repo` only.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, Set};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_schema::ids::TenantId;
use verbund_schema::ids::TicketId;
use verbund_schema::tenant;
use verbund_schema::{inbound_mail, mail_attachment, outbox_mail, ticket, ticket_event};
use verbund_tenant::db::Db;
use verbund_tenant::db::{WithLocal, WriteTxn, begin_write, now};
use verbund_tenant::settings::TenantSettings;
use verbund_tenant::{Error, Result};
use verbund_ticketing::mail::{MailKind, NewMail, enqueue, render, wake_delivery};
use verbund_ticketing::notifications::notify_ticket;
use verbund_ticketing::tickets::{
    MailQuestion, event, insert_mail_ticket, record_events, reopen_for_mail, reserve_number,
};

use crate::disposition::{Disposition, Lookups, decide};
use crate::parse::{self, ParsedMail};
use crate::repo;
use crate::subject;

/// Where a message came from.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// `POST /api/v1/inbound/raw` from the MTA.
    Mta,
    /// An IMAP mailbox of a tenant.
    Imap {
        mailbox_id: Uuid,
        tenant_id: TenantId,
    },
}

/// What became of a message.
pub use verbund_schema::types::InboundOutcome as Outcome;

/// The answer to an ingest.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Ingested {
    pub id: Uuid,
    /// The message was stored before (same content): nothing new happened.
    pub duplicate: bool,
    /// `stored` when processing is still pending, else `processed`.
    pub state: String,
    pub outcome: Option<Outcome>,
    pub tenant_id: Option<Uuid>,
    pub ticket_id: Option<Uuid>,
    pub ticket_number: Option<String>,
    /// Why no receipt was sent, when none was.
    pub receipt_suppressed: Option<String>,
}

pub const STORED: &str = "stored";
pub const PROCESSED: &str = "processed";

/// Stores the raw bytes (idempotent by content hash). Returns the row and whether it existed.
pub async fn store_raw(db: &Db, raw: &[u8], source: Source) -> Result<(inbound_mail::Model, bool)> {
    let model = new_row(raw, source);
    let txn = begin_write(db).await?;
    let inserted = repo::system_insert_inbound(&txn, model.clone()).await?;
    txn.commit().await?;
    if inserted {
        return Ok((model, false));
    }
    // Stored before (same content): that row.
    let stored = by_hash(db, &model.content_hash)
        .await?
        .ok_or_else(|| Error::bug("stored mail vanished"))?;
    Ok((stored, true))
}

/// A new row in state `stored` for these bytes (not yet written).
fn new_row(raw: &[u8], source: Source) -> inbound_mail::Model {
    let (source_name, mailbox_id, tenant_id) = match source {
        Source::Mta => ("mta", None, None),
        Source::Imap {
            mailbox_id,
            tenant_id,
        } => ("imap", Some(mailbox_id), Some(tenant_id)),
    };
    inbound_mail::Model {
        id: Uuid::now_v7(),
        tenant_id,
        source: source_name.to_owned(),
        mailbox_id,
        message_id: None,
        content_hash: parse::content_hash(raw),
        raw: Some(raw.to_vec()),
        size: i64::try_from(raw.len()).unwrap_or(i64::MAX),
        state: STORED.to_owned(),
        outcome: None,
        ticket_id: None,
        outbox_id: None,
        from_address: None,
        subject: None,
        body_text: None,
        quoted_text: None,
        auto_reason: None,
        sender_mismatch: false,
        error: None,
        attempts: 0,
        claimed_until: None,
        received_at: now(),
        processed_at: None,
    }
}

async fn by_hash(db: &impl ConnectionTrait, hash: &str) -> Result<Option<inbound_mail::Model>> {
    repo::system_inbound_by_hash(db, hash).await
}

/// Stores and processes one message.
///
/// The raw message is stored first, with its first processing attempt counted and claimed in
/// the same committed statement; then it is processed. Nothing is acknowledged before the
/// message is stored. Should processing fail (an error or a panic), the message stays stored
/// in state `stored` and the recovery job ([`process_pending`]) tries again; should it abort
/// the whole process (which no code can catch), the count survives the restart, and a mail
/// still unprocessed after [`MAX_ATTEMPTS`] is quarantined instead of processed again.
pub async fn ingest(db: &Db, raw: &[u8], source: Source) -> Result<Ingested> {
    let mut row = new_row(raw, source);
    if let Some(stored) = by_hash(db, &row.content_hash).await? {
        return again(db, stored).await;
    }
    row.attempts = 1;
    row.claimed_until = Some(now() + Duration::seconds(CLAIM_SECONDS));
    let txn = begin_write(db).await?;
    let inserted = repo::system_insert_inbound(&txn, row.clone()).await?;
    txn.commit().await?;
    if !inserted {
        // The same message arrived concurrently and was stored first.
        let stored = by_hash(db, &row.content_hash)
            .await?
            .ok_or_else(|| Error::bug("stored mail vanished"))?;
        return again(db, stored).await;
    }
    let id = row.id;
    match run_claimed(db, id, Force::default(), Some(row)).await {
        Ok((suppressed, Some(done))) => Ok(Ingested {
            id,
            duplicate: false,
            state: PROCESSED.to_owned(),
            outcome: done.outcome,
            tenant_id: done.tenant_id.map(TenantId::uuid),
            ticket_id: done.ticket_id.map(TicketId::uuid),
            ticket_number: done.number,
            receipt_suppressed: suppressed,
        }),
        Ok((suppressed, None)) => {
            let stored = repo::system_inbound(db, id)
                .await?
                .ok_or(Error::NotFound("mail"))?;
            answer(db, stored, false, suppressed).await
        }
        Err(e) => {
            tracing::warn!(mail = %id, error = %e, "processing a new mail failed; it stays stored for a retry");
            let stored = repo::system_inbound(db, id)
                .await?
                .ok_or(Error::NotFound("mail"))?;
            answer(db, stored, false, None).await
        }
    }
}

/// A message that was stored before: its result, or its processing if it is still pending.
async fn again(db: &Db, stored: inbound_mail::Model) -> Result<Ingested> {
    if stored.state != STORED {
        return answer(db, stored, true, None).await;
    }
    let suppressed = process(db, stored.id, None).await?;
    let row = repo::system_inbound(db, stored.id)
        .await?
        .ok_or(Error::NotFound("mail"))?;
    answer(db, row, true, suppressed).await
}

async fn answer(
    db: &Db,
    row: inbound_mail::Model,
    duplicate: bool,
    receipt_suppressed: Option<String>,
) -> Result<Ingested> {
    let number = match row.ticket_id {
        Some(id) => repo::system_ticket(db, id).await?.map(|t| t.number),
        None => None,
    };
    Ok(Ingested {
        id: row.id,
        duplicate,
        state: row.state,
        outcome: row.outcome,
        tenant_id: row.tenant_id.map(TenantId::uuid),
        ticket_id: row.ticket_id.map(TicketId::uuid),
        ticket_number: number,
        receipt_suppressed,
    })
}

/// How long a claim on a stored mail holds.
const CLAIM_SECONDS: i64 = 60;
/// Processing attempts after which a stored mail is quarantined instead of processed again.
pub const MAX_ATTEMPTS: i32 = 2;
/// The error recorded on a quarantined mail.
pub const QUARANTINED: &str =
    "processing failed or was interrupted twice; the mail is kept raw for a human";

/// What [`claim`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This caller processes the mail; the attempt is counted.
    Mine,
    /// Another worker holds it, or it is done.
    Busy,
    /// Its attempts were used up: it is now `unparseable`, kept raw for a human.
    Quarantined,
}

/// Claims a stored row for processing for a minute and counts the attempt, in one committed
/// statement before anything is parsed. A row whose attempts are used up is quarantined.
pub async fn claim(db: &Db, id: Uuid) -> Result<Claim> {
    let at = now();
    let until = at + Duration::seconds(CLAIM_SECONDS);
    if repo::system_claim_inbound(db, id, STORED, MAX_ATTEMPTS, at, until).await? {
        return Ok(Claim::Mine);
    }
    let outcome = Outcome::Unparseable.as_str();
    if repo::system_quarantine_inbound(
        db,
        id,
        STORED,
        PROCESSED,
        outcome,
        QUARANTINED,
        MAX_ATTEMPTS,
        at,
    )
    .await?
    {
        tracing::warn!(mail = %id, "stored mail quarantined after {MAX_ATTEMPTS} attempts");
        return Ok(Claim::Quarantined);
    }
    Ok(Claim::Busy)
}

/// Gives up a claim after a failed attempt, so that the recovery job may try again soon.
async fn release(db: &Db, id: Uuid) -> Result<()> {
    repo::system_release_inbound(db, id, STORED).await
}

/// Processes stored mail that a crash or a failed run left behind.
pub async fn process_pending(db: &Db) -> Result<usize> {
    let at = now();
    let ids = repo::system_pending_inbound(db, STORED, at - Duration::seconds(10), at).await?;
    let mut done = 0;
    for id in ids {
        match process(db, id, None).await {
            Ok(_) => done += 1,
            Err(e) => tracing::warn!(mail = %id, error = %e, "processing stored mail failed"),
        }
    }
    Ok(done)
}

/// Processes the stored, unclaimed mail of one IMAP mailbox (right after polling it).
pub async fn process_pending_of(db: &Db, mailbox_id: Uuid) -> Result<usize> {
    let ids = repo::system_pending_inbound_of(db, STORED, mailbox_id).await?;
    let mut done = 0;
    for id in ids {
        process(db, id, None).await?;
        done += 1;
    }
    Ok(done)
}

/// Runs the processing of one stored row. `force_tenant` routes it to that tenant (an
/// operator assigning catch-all mail). Returns why a receipt was suppressed, if it was.
pub async fn process(db: &Db, id: Uuid, force_tenant: Option<TenantId>) -> Result<Option<String>> {
    if force_tenant.is_none() && claim(db, id).await? != Claim::Mine {
        return Ok(None);
    }
    let force = Force {
        tenant: force_tenant,
        ticket: None,
    };
    Ok(run_claimed(db, id, force, None).await?.0)
}

/// Where a person assigned a processed mail: to a tenant (processed again for it) or onto
/// one of its tickets (processed again as a reply to that ticket).
#[derive(Clone, Copy, Debug, Default)]
pub struct Force {
    pub tenant: Option<TenantId>,
    pub ticket: Option<TicketId>,
}

impl Force {
    fn any(&self) -> bool {
        self.tenant.is_some() || self.ticket.is_some()
    }
}

/// Processes a mail again as a reply to the ticket `ticket` (a person assigned it there; the
/// caller checked that they may). The decision is the ordinary one ([`decide`]) with the
/// ticket as the one the mail replies to.
pub async fn process_onto_ticket(db: &Db, id: Uuid, ticket: TicketId) -> Result<()> {
    let force = Force {
        tenant: None,
        ticket: Some(ticket),
    };
    run_claimed(db, id, force, None).await?;
    Ok(())
}

/// [`process_claimed`], with a panic turned into an error and the claim given up on failure.
async fn run_claimed(
    db: &Db,
    id: Uuid,
    force: Force,
    known: Option<inbound_mail::Model>,
) -> Result<(Option<String>, Option<Done>)> {
    use futures_util::FutureExt;
    let result = std::panic::AssertUnwindSafe(process_claimed(db, id, force, known))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(Error::bug("processing the mail panicked")));
    if result.is_err() && !force.any() {
        release(db, id).await?;
    }
    result
}

/// Processes a stored row this caller holds the claim of.
/// `known` is the row as this caller just wrote it (saves reading the raw message again).
async fn process_claimed(
    db: &Db,
    id: Uuid,
    force: Force,
    known: Option<inbound_mail::Model>,
) -> Result<(Option<String>, Option<Done>)> {
    let row = match known {
        Some(row) => row,
        None => repo::system_inbound(db, id)
            .await?
            .ok_or(Error::NotFound("mail"))?,
    };
    let (txn, applied) = parse_and_apply(db, &row, force, Writes::default()).await?;
    txn.commit().await?;
    if applied.queued_mail {
        wake_delivery(db);
    }
    Ok((applied.suppressed, applied.done))
}

/// Parses the row's raw bytes and makes the look-ups, then begins the write transaction,
/// makes the look-ups whose current state matters, decides what becomes of the mail
/// ([`decide`]) and applies that. The caller commits.
async fn parse_and_apply(
    db: &Db,
    row: &inbound_mail::Model,
    force: Force,
    writes: Writes,
) -> Result<(WriteTxn, Applied)> {
    let parsed = parse::parse_owned(row.raw.clone().unwrap_or_default()).await;
    let mut lookups = match &parsed {
        Ok(p) => look_up(db, row, p, force).await?,
        Err(_) => Lookups {
            force_tenant: force.tenant,
            mailbox_tenant_id: row.tenant_id,
            ..Lookups::default()
        },
    };
    let txn = begin_write(db).await?;
    if let Ok(p) = &parsed {
        look_up_current(&txn, p, &mut lookups).await?;
    }
    let applied = apply(&txn, row, decide(parsed.as_ref(), &lookups), writes).await?;
    Ok((txn, applied))
}

/// Look-ups that need no lock, made before the write transaction so that on SQLite the
/// writer's turn is spent on writes only.
async fn look_up(
    db: &Db,
    row: &inbound_mail::Model,
    p: &ParsedMail,
    force: Force,
) -> Result<Lookups> {
    let mut l = Lookups {
        force_tenant: force.tenant,
        mailbox_tenant_id: row.tenant_id,
        ..Lookups::default()
    };
    if p.bounce.is_some() {
        return Ok(l);
    }
    let sender = answer_address(p).valid();
    if let Some(s) = &sender
        && p.auto.is_none()
        && p.from.is_some()
    {
        l.own_sender = is_own_address(db, s).await?;
        let since: DateTime<Utc> = now() - Duration::hours(1);
        if !l.own_sender {
            l.receipts_last_hour = repo::system_receipts_to(db, s, since).await?;
        }
    }
    l.routed = route(db, p).await?;
    l.threaded_id = match force.ticket {
        Some(t) => Some(t),
        None => thread(db, row, p).await?.map(|t| t.id),
    };
    // Most likely a new ticket: its number now, outside the transaction on PostgreSQL.
    l.number = match (&l.routed, l.threaded_id, &sender) {
        (Some((t, _)), None, Some(_)) => reserve_number(db, t, row.received_at)
            .await?
            .map(|n| (t.id, n)),
        _ => None,
    };
    Ok(l)
}

/// Look-ups made inside the write transaction: the rows whose current state the decision
/// and its writes depend on.
async fn look_up_current(
    db: &(impl ConnectionTrait + WithLocal),
    p: &ParsedMail,
    l: &mut Lookups,
) -> Result<()> {
    if let Some(b) = &p.bounce {
        if let Some(mid) = &b.original_message_id {
            l.bounced = repo::system_outbox_by_message_id(db, mid.trim()).await?;
        }
        match &l.bounced {
            Some(out) => {
                if let Some(tid) = out.ticket_id {
                    l.bounced_ticket = repo::system_ticket(db, tid).await?;
                }
            }
            // Unmatched: filed with the tenant the recipients name, when nothing else names one.
            None if l.force_tenant.or(l.mailbox_tenant_id).is_none() => {
                l.routed = route(db, p).await?;
            }
            None => {}
        }
        return Ok(());
    }
    match l.force_tenant {
        Some(id) => l.forced = repo::system_tenant(db, id).await?,
        None => {
            if l.routed.is_none()
                && let Some(id) = l.mailbox_tenant_id
            {
                l.mailbox_tenant = repo::system_tenant(db, id).await?;
            }
        }
    }
    if let Some(id) = l.threaded_id {
        l.threaded = repo::system_ticket(db, id).await?;
        if let Some(t) = &l.threaded
            && !p.attachments.is_empty()
        {
            l.threaded_tenant = repo::system_tenant(db, t.tenant_id).await?;
        }
    }
    Ok(())
}

#[derive(Default)]
struct Finish {
    tenant_id: Option<TenantId>,
    outcome: Option<Outcome>,
    ticket_id: Option<TicketId>,
    outbox_id: Option<Uuid>,
    sender_mismatch: bool,
    error: Option<String>,
    number: Option<String>,
}

/// What processing decided, as the ingest answer reports it.
#[derive(Clone, Debug)]
struct Done {
    tenant_id: Option<TenantId>,
    outcome: Option<Outcome>,
    ticket_id: Option<TicketId>,
    number: Option<String>,
}

/// Writes that processing collects and [`finish_with`] makes at the end, a few statements in
/// all: the mail row's update, its attachments, the history rows.
#[derive(Default)]
struct Writes {
    attachments: Vec<mail_attachment::ActiveModel>,
    events: Vec<ticket_event::ActiveModel>,
}

/// Records what became of the mail, with the collected writes.
async fn finish_with(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    f: Finish,
    parsed: Option<&ParsedMail>,
    writes: Writes,
) -> Result<Option<Done>> {
    let done = Done {
        tenant_id: f.tenant_id,
        outcome: f.outcome,
        ticket_id: f.ticket_id,
        number: f.number.clone(),
    };
    let mut active = inbound_mail::ActiveModel {
        id: Set(row.id),
        ..Default::default()
    };
    active.tenant_id = Set(f.tenant_id);
    active.state = Set(PROCESSED.to_owned());
    active.outcome = Set(f.outcome);
    active.ticket_id = Set(f.ticket_id);
    active.outbox_id = Set(f.outbox_id);
    active.sender_mismatch = Set(f.sender_mismatch);
    active.error = Set(f.error);
    active.claimed_until = Set(None);
    active.processed_at = Set(Some(now()));
    if let Some(p) = parsed {
        active.message_id = Set(p.message_id.clone().map(|m| clip(&m, 998)));
        active.from_address = Set(p.from.as_ref().map(|a| clip(&a.address, 254)));
        active.subject = Set(Some(clip(&p.subject, 2000)));
        active.body_text = Set(Some(clip(&full_question(p), 100_000)));
        active.quoted_text = Set(p.quoted.as_ref().map(|q| clip(q, 100_000)));
        active.auto_reason = Set(p.auto.as_ref().map(|a| a.as_str().to_owned()));
    }
    repo::system_save_inbound(db, active).await?;
    repo::system_insert_attachments(db, writes.attachments).await?;
    record_events(db, writes.events).await?;
    Ok(Some(done))
}

pub(crate) fn clip(s: &str, max_chars: usize) -> String {
    s.chars().filter(|c| *c != '\0').take(max_chars).collect()
}

struct Applied {
    done: Option<Done>,
    queued_mail: bool,
    suppressed: Option<String>,
}

/// Every address of ours: inbound addresses of all tenants and configured senders.
async fn is_own_address(db: &(impl ConnectionTrait + WithLocal), address: &str) -> Result<bool> {
    let base = plus_stripped(address);
    let hits = repo::system_mail_addresses(db, vec![address.to_owned(), base]).await?;
    if !hits.is_empty() {
        return Ok(true);
    }
    Ok(configured_senders(db).await?.contains(address))
}

/// The tenants' configured sender addresses (settings `mail_from`), read at most every 30 s by
/// each application (the cache is in its [`verbund_tenant::db::Local`]).
async fn configured_senders(
    db: &(impl ConnectionTrait + WithLocal),
) -> Result<std::sync::Arc<std::collections::HashSet<String>>> {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    type Cached = Option<(Instant, Arc<std::collections::HashSet<String>>)>;
    #[derive(Default)]
    struct Senders(Mutex<Cached>);
    let cache = db.local().get::<Senders>();
    if let Ok(guard) = cache.0.lock()
        && let Some((at, set)) = guard.as_ref()
        && at.elapsed() < std::time::Duration::from_secs(30)
    {
        return Ok(set.clone());
    }
    let set: Arc<std::collections::HashSet<String>> = Arc::new(
        repo::system_tenants(db)
            .await?
            .iter()
            .filter_map(|t| TenantSettings::from_json(&t.settings).mail_from)
            .collect(),
    );
    if let Ok(mut guard) = cache.0.lock() {
        *guard = Some((Instant::now(), set.clone()));
    }
    Ok(set)
}

/// `local+tag@domain` → `local@domain`.
pub fn plus_stripped(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => match local.split_once('+') {
            Some((base, _)) if !base.is_empty() => format!("{base}@{domain}"),
            _ => address.to_owned(),
        },
        None => address.to_owned(),
    }
}

/// Finds the tenant by the recipients: Delivered-To first, then To, then Cc; an exact
/// address before a plus-address. Returns the tenant and the address that matched.
pub async fn route(
    db: &(impl ConnectionTrait + WithLocal),
    p: &ParsedMail,
) -> Result<Option<(tenant::Model, String)>> {
    let mut candidates: Vec<String> = Vec::new();
    for a in p.delivered_to.iter().chain(&p.to).chain(&p.cc) {
        let a = a.trim().to_lowercase();
        if !candidates.contains(&a) {
            candidates.push(a);
        }
    }
    candidates.truncate(200);
    if candidates.is_empty() {
        return Ok(None);
    }
    let mut lookup = candidates.clone();
    lookup.extend(candidates.iter().map(|a| plus_stripped(a)));
    let rows = repo::system_mail_addresses(db, lookup).await?;
    for a in &candidates {
        let base = plus_stripped(a);
        if let Some(hit) = rows
            .iter()
            .find(|r| r.address == *a)
            .or_else(|| rows.iter().find(|r| r.address == base))
            && let Some(t) = repo::system_tenant(db, hit.tenant_id).await?
            && t.active
        {
            return Ok(Some((t, hit.address.clone())));
        }
    }
    Ok(None)
}

/// The ticket a reply belongs to: by our Message-IDs in In-Reply-To/References, else by a
/// ticket number in the subject.
async fn thread(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    p: &ParsedMail,
) -> Result<Option<ticket::Model>> {
    let mut ids: Vec<String> = p
        .in_reply_to
        .iter()
        .chain(p.references.iter().rev())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .collect();
    ids.dedup();
    ids.truncate(100);
    if !ids.is_empty() {
        if let Some(m) = repo::system_threaded_outbox(db, ids.clone()).await?
            && let Some(tid) = m.ticket_id
            && let Some(t) = repo::system_ticket(db, tid).await?
        {
            return Ok(Some(t));
        }
        if let Some(m) = repo::system_threaded_inbound(db, ids, row.id).await?
            && let Some(tid) = m.ticket_id
            && let Some(t) = repo::system_ticket(db, tid).await?
        {
            return Ok(Some(t));
        }
    }
    for number in subject::ticket_numbers(&p.subject) {
        if let Some(t) = repo::system_ticket_by_number(db, &number).await? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// Makes the writes of a [`Disposition`]: one small function per case.
async fn apply(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    d: Disposition<'_>,
    writes: Writes,
) -> Result<Applied> {
    let outcome = d.outcome();
    match d {
        Disposition::Unparseable { tenant_id, error } => {
            apply_unparseable(db, row, tenant_id, error, writes).await
        }
        Disposition::Bounce {
            mail,
            bounce,
            outbox,
            ticket,
            reason,
        } => apply_bounce(db, row, mail, bounce, outbox, ticket, reason, writes).await,
        Disposition::BounceUnmatched { mail, tenant_id } => {
            apply_bounce_unmatched(db, row, mail, tenant_id, writes).await
        }
        Disposition::Reply {
            mail,
            ticket,
            holder,
            sender,
            flagged,
        } => {
            apply_reply(
                db, row, mail, ticket, holder, sender, flagged, outcome, writes,
            )
            .await
        }
        Disposition::Catchall { mail } => apply_catchall(db, row, mail, writes).await,
        Disposition::Review {
            mail,
            tenant_id,
            error,
        } => apply_review(db, row, mail, tenant_id, error, writes).await,
        Disposition::NewTicket {
            mail,
            tenant,
            settings,
            written_to,
            sender,
            number,
            receipt_suppressed,
        } => {
            let new = NewTicket {
                tenant,
                settings: &settings,
                written_to,
                sender,
                number,
                receipt_suppressed,
            };
            apply_new_ticket(db, row, mail, new, writes).await
        }
    }
}

impl Applied {
    /// Recorded, and no mail queued.
    fn quiet(done: Option<Done>) -> Self {
        Applied {
            done,
            queued_mail: false,
            suppressed: None,
        }
    }
}

/// Not a mail at all: kept raw for a human.
async fn apply_unparseable(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    tenant_id: Option<TenantId>,
    error: String,
    writes: Writes,
) -> Result<Applied> {
    let f = Finish {
        tenant_id,
        outcome: Some(Outcome::Unparseable),
        error: Some(error),
        ..Finish::default()
    };
    Ok(Applied::quiet(finish_with(db, row, f, None, writes).await?))
}

/// A bounce of one of our mails: a permanent failure marks the outbound mail bounced; its
/// ticket gets a history row and a notification.
#[allow(clippy::too_many_arguments)]
async fn apply_bounce(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    p: &ParsedMail,
    b: &crate::parse::Bounce,
    out: &outbox_mail::Model,
    t: Option<&ticket::Model>,
    reason: String,
    mut writes: Writes,
) -> Result<Applied> {
    if b.permanent {
        repo::system_outbox_bounced(db, out.id, &reason).await?;
    }
    if let Some(t) = t {
        writes.events.push(event(
            t,
            None,
            if b.permanent {
                "mail_bounced"
            } else {
                "mail_delayed"
            },
            serde_json::json!({ "mail_id": out.id, "state": out.state }),
            serde_json::json!({
                "mail_id": out.id, "bounce_id": row.id,
                "status": b.status, "action": b.action, "diagnostic": reason,
            }),
        ));
        notify_ticket(
            db,
            t,
            "mail_bounced",
            &format!(
                "Die E-Mail an den Bürger zu {} kam nicht an: {reason}",
                t.number
            ),
        )
        .await?;
    }
    let f = Finish {
        tenant_id: Some(out.tenant_id),
        outcome: Some(Outcome::Bounce),
        outbox_id: Some(out.id),
        ..Finish::default()
    };
    Ok(Applied::quiet(
        finish_with(db, row, f, Some(p), writes).await?,
    ))
}

/// A bounce we could not match: recorded, nothing else.
async fn apply_bounce_unmatched(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    p: &ParsedMail,
    tenant_id: Option<TenantId>,
    writes: Writes,
) -> Result<Applied> {
    let f = Finish {
        tenant_id,
        outcome: Some(Outcome::BounceUnmatched),
        ..Finish::default()
    };
    Ok(Applied::quiet(
        finish_with(db, row, f, Some(p), writes).await?,
    ))
}

/// A reply joins its ticket: the citizen's reply reopens it, one from someone else is only
/// flagged; either way the agents are notified.
#[allow(clippy::too_many_arguments)]
async fn apply_reply(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    p: &ParsedMail,
    t: &ticket::Model,
    holder: Option<&tenant::Model>,
    sender: Option<String>,
    flagged: bool,
    outcome: Outcome,
    mut writes: Writes,
) -> Result<Applied> {
    let reopened;
    let t = if flagged {
        t
    } else {
        reopened = reopen_for_mail(db, t, row.received_at).await?;
        &reopened
    };
    if !p.attachments.is_empty() {
        let holder = holder.ok_or(Error::NotFound("tenant"))?;
        let settings = TenantSettings::from_json(&holder.settings);
        keep_attachments(&mut writes, row, p, t, &settings);
    }
    writes.events.push(event(
        t,
        None,
        "mail_received",
        serde_json::Value::Null,
        serde_json::json!({ "mail_id": row.id, "from": sender, "flagged": flagged }),
    ));
    let note = if flagged {
        format!(
            "Eine Antwort zu {} kam von einem anderen Absender als dem Bürger – bitte prüfen.",
            t.number
        )
    } else {
        format!("Neue Nachricht zu {}", t.number)
    };
    let kind = if flagged {
        "mail_flagged"
    } else {
        "mail_received"
    };
    notify_ticket(db, t, kind, &note).await?;
    let f = Finish {
        tenant_id: Some(t.tenant_id),
        outcome: Some(outcome),
        ticket_id: Some(t.id),
        number: Some(t.number.clone()),
        sender_mismatch: flagged,
        ..Finish::default()
    };
    Ok(Applied::quiet(
        finish_with(db, row, f, Some(p), writes).await?,
    ))
}

/// For no tenant: recorded for the operators' catch-all queue.
async fn apply_catchall(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    p: &ParsedMail,
    writes: Writes,
) -> Result<Applied> {
    let f = Finish {
        outcome: Some(Outcome::Catchall),
        ..Finish::default()
    };
    Ok(Applied::quiet(
        finish_with(db, row, f, Some(p), writes).await?,
    ))
}

/// Nobody to answer to: recorded for a human, with the reason.
async fn apply_review(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    p: &ParsedMail,
    tenant_id: TenantId,
    error: String,
    writes: Writes,
) -> Result<Applied> {
    let f = Finish {
        tenant_id: Some(tenant_id),
        outcome: Some(Outcome::Review),
        error: Some(error),
        ..Finish::default()
    };
    Ok(Applied::quiet(
        finish_with(db, row, f, Some(p), writes).await?,
    ))
}

/// The decided parts of a new ticket.
struct NewTicket<'a> {
    tenant: &'a tenant::Model,
    settings: &'a TenantSettings,
    written_to: Option<&'a str>,
    sender: String,
    number: Option<String>,
    receipt_suppressed: Option<String>,
}

/// A new ticket with its attachments and history, and the receipt unless it is suppressed.
async fn apply_new_ticket(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    p: &ParsedMail,
    new: NewTicket<'_>,
    mut writes: Writes,
) -> Result<Applied> {
    let NewTicket {
        tenant,
        settings,
        written_to,
        sender,
        number,
        receipt_suppressed,
    } = new;
    let cut = Cut::of(p, settings);
    let question = question_text(p, &cut);
    let topic = subject::normalize(&p.subject).topic;
    let (ticket, created) = insert_mail_ticket(
        db,
        tenant,
        MailQuestion {
            subject: &topic,
            question: &question,
            citizen_name: p.from.as_ref().and_then(|a| a.name.clone()),
            citizen_email: clip(&sender, 254),
        },
        row.received_at,
        number,
    )
    .await?;
    keep_attachments(&mut writes, row, p, &ticket, settings);
    writes.events.push(created);
    if cut.any() {
        writes.events.push(cut.event(&ticket, row.id));
    }
    writes.events.push(event(
        &ticket,
        None,
        "mail_received",
        serde_json::Value::Null,
        serde_json::json!({ "mail_id": row.id, "from": sender, "flagged": false }),
    ));
    let mut outbox_id = None;
    if receipt_suppressed.is_none() {
        let frist = ticket
            .due_at
            .with_timezone(
                &tenant
                    .time_zone
                    .parse()
                    .unwrap_or(chrono_tz::Europe::Berlin),
            )
            .format("%d.%m.%Y, %H:%M Uhr")
            .to_string();
        let vars = [
            ("nummer", ticket.number.as_str()),
            ("betreff", ticket.subject.as_str()),
            ("frist", frist.as_str()),
            ("behoerde", tenant.name.as_str()),
        ];
        let subject_line = render(&settings.receipt_subject, &vars);
        let mail = enqueue(
            db,
            tenant,
            NewMail {
                ticket_id: Some(ticket.id),
                kind: MailKind::Receipt,
                from: written_to.map(plus_stripped),
                to: sender.clone(),
                subject: subject_line.replace(['\r', '\n'], " "),
                body: render(&settings.receipt_body, &vars),
                in_reply_to: p.message_id.clone(),
                references: p.message_id.iter().cloned().collect(),
                created_by: None,
            },
        )
        .await?;
        writes.events.push(event(
            &ticket,
            None,
            "mail_queued",
            serde_json::Value::Null,
            serde_json::json!({ "mail_id": mail.id, "kind": mail.kind, "to": mail.to_address }),
        ));
        outbox_id = Some(mail.id);
    }
    let f = Finish {
        tenant_id: Some(tenant.id),
        outcome: Some(Outcome::NewTicket),
        ticket_id: Some(ticket.id),
        number: Some(ticket.number.clone()),
        outbox_id,
        ..Finish::default()
    };
    let done = finish_with(db, row, f, Some(p), writes).await?;
    Ok(Applied {
        done,
        queued_mail: outbox_id.is_some(),
        suppressed: receipt_suppressed,
    })
}

/// Whom a mail would be answered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A valid RFC 5321 mailbox.
    To(String),
    /// An address that must never be answered (garbage, an encoded word inside it, …).
    Invalid(String),
    /// No address at all.
    Nobody,
}

impl Answer {
    pub(crate) fn valid(&self) -> Option<String> {
        match self {
            Answer::To(a) => Some(a.clone()),
            _ => None,
        }
    }
}

/// Whom to answer: From, else Reply-To, else the envelope sender (Return-Path). A mail
/// without From gets a ticket but no receipt. Only a valid mailbox is ever answered.
pub(crate) fn answer_address(p: &ParsedMail) -> Answer {
    if let Some(a) = p.from.as_ref().or(p.reply_to.as_ref()) {
        return if a.answerable {
            Answer::To(a.address.to_lowercase())
        } else {
            Answer::Invalid(a.address.clone())
        };
    }
    match p
        .return_path
        .as_ref()
        .map(|r| r.trim().trim_matches(['<', '>']).to_lowercase())
        .filter(|r| !r.is_empty())
    {
        Some(r) if crate::address::is_valid_mailbox(&r) => Answer::To(r),
        Some(r) => Answer::Invalid(r),
        None => Answer::Nobody,
    }
}

/// Keeps the attachments within the tenant's size limit; larger ones are listed as omitted
/// (they stay inside the raw message).
fn keep_attachments(
    writes: &mut Writes,
    row: &inbound_mail::Model,
    p: &ParsedMail,
    t: &ticket::Model,
    settings: &TenantSettings,
) {
    let limit = settings.max_attachment_bytes;
    let count = settings.max_attachments_per_mail as usize;
    for (n, a) in p.attachments.iter().enumerate() {
        let keep = (a.size as u64) <= limit && n < count;
        writes.attachments.push(mail_attachment::ActiveModel {
            id: Set(Uuid::now_v7()),
            inbound_mail_id: Set(row.id),
            tenant_id: Set(Some(t.tenant_id)),
            ticket_id: Set(Some(t.id)),
            filename: Set(a.filename.as_ref().map(|f| clip(f, 255))),
            content_type: Set(clip(&a.content_type, 255)),
            size: Set(i64::try_from(a.size).unwrap_or(i64::MAX)),
            inline: Set(a.inline),
            content_id: Set(a.content_id.as_ref().map(|c| clip(c, 255))),
            data: Set(keep.then(|| a.data.clone())),
            omitted: Set(!keep),
            created_at: Set(now()),
        });
    }
}

/// What of a mail did not make it into its ticket: a text over `max_mail_body_chars`,
/// attachments beyond `max_attachments_per_mail`, MIME parts beyond the parser's limits. The
/// raw message keeps all of it.
#[derive(Debug, Default)]
struct Cut {
    /// The text was cut at this many characters.
    text_at: Option<usize>,
    /// Attachments left out by the count limit.
    attachments_left_out: usize,
    parts_skipped: bool,
}

impl Cut {
    fn of(p: &ParsedMail, settings: &TenantSettings) -> Self {
        let max = settings.max_mail_body_chars as usize;
        Cut {
            text_at: (full_question(p).chars().count() > max).then_some(max),
            attachments_left_out: p
                .attachments
                .len()
                .saturating_sub(settings.max_attachments_per_mail as usize),
            parts_skipped: p.parts_skipped,
        }
    }

    fn any(&self) -> bool {
        self.text_at.is_some() || self.attachments_left_out > 0 || self.parts_skipped
    }

    /// The note under the question, in German: the agent reads it.
    fn note(&self) -> Option<String> {
        if !self.any() {
            return None;
        }
        let mut parts = Vec::new();
        if let Some(n) = self.text_at {
            parts.push(format!("Der Text wurde nach {n} Zeichen gekürzt."));
        }
        if self.attachments_left_out > 0 {
            parts.push(format!(
                "{} Anhänge wurden nicht übernommen.",
                self.attachments_left_out
            ));
        }
        if self.parts_skipped {
            parts.push("Zu tief verschachtelte Teile wurden nicht gelesen.".to_owned());
        }
        Some(format!(
            "[Gekürzt: {} Die vollständige E-Mail ist gespeichert.]",
            parts.join(" ")
        ))
    }

    fn event(&self, t: &ticket::Model, mail_id: Uuid) -> ticket_event::ActiveModel {
        event(
            t,
            None,
            "mail_truncated",
            serde_json::Value::Null,
            serde_json::json!({
                "mail_id": mail_id,
                "text_cut_at_chars": self.text_at,
                "attachments_left_out": self.attachments_left_out,
                "parts_skipped": self.parts_skipped,
            }),
        )
    }
}

/// The citizen's new text with the signature (phone number and address are often there), or
/// the whole text when nothing new was found.
fn full_question(p: &ParsedMail) -> String {
    let mut q = if p.new_text.trim().is_empty() {
        p.text.clone()
    } else {
        p.new_text.clone()
    };
    if let Some(sig) = &p.signature
        && !p.new_text.trim().is_empty()
    {
        q.push_str("\n\n-- \n");
        q.push_str(sig);
    }
    q
}

/// The ticket's question: [`full_question`] within `max_mail_body_chars`, marked when cut.
fn question_text(p: &ParsedMail, cut: &Cut) -> String {
    let full = full_question(p);
    let mut q: String = match cut.text_at {
        Some(n) => full.chars().take(n).collect(),
        None => full,
    };
    if let Some(note) = cut.note() {
        // The note must fit into the question (at most 20,000 characters).
        let room = 20_000usize.saturating_sub(note.chars().count() + 2);
        if q.chars().count() > room {
            q = q.chars().take(room).collect();
        }
        q.push_str("\n\n");
        q.push_str(&note);
    }
    q
}
