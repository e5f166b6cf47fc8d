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

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_schema::{inbound_mail, mail_attachment, outbox_mail, ticket, ticket_event};
use verbund_schema::{tenant, tenant_mail_address};
use verbund_tenant::db::Db;
use verbund_tenant::db::{WithLocal, WriteTxn, begin_write, now};
use verbund_tenant::settings::TenantSettings;
use verbund_tenant::{Error, Result};
use verbund_ticketing::mail::{MailKind, NewMail, OutboxState, enqueue, render, wake_delivery};
use verbund_ticketing::model::TicketState;
use verbund_ticketing::notifications::notify_ticket;
use verbund_ticketing::tickets::{
    MailQuestion, event, insert_mail_ticket, record_events, reopen_for_mail, reserve_number,
};

use crate::parse::{self, ParsedMail};
use crate::subject;

/// Where a message came from.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// `POST /api/v1/inbound/raw` from the MTA.
    Mta,
    /// An IMAP mailbox of a tenant.
    Imap { mailbox_id: Uuid, tenant_id: Uuid },
}

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new ticket (with or without a receipt).
    NewTicket,
    /// Joined an existing ticket.
    Reply,
    /// Joined an existing ticket, but from someone other than its citizen: flagged.
    ReplyFlagged,
    /// A delivery status notification, matched to an outbound mail.
    Bounce,
    /// A delivery status notification we could not match.
    BounceUnmatched,
    /// For no tenant: waits in the operators' catch-all queue.
    Catchall,
    /// Could not be parsed: kept raw for a human.
    Unparseable,
    /// Parsed, but nothing to answer to (no sender): kept for a human.
    Review,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NewTicket => "new_ticket",
            Outcome::Reply => "reply",
            Outcome::ReplyFlagged => "reply_flagged",
            Outcome::Bounce => "bounce",
            Outcome::BounceUnmatched => "bounce_unmatched",
            Outcome::Catchall => "catchall",
            Outcome::Unparseable => "unparseable",
            Outcome::Review => "review",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Outcome::NewTicket,
            Outcome::Reply,
            Outcome::ReplyFlagged,
            Outcome::Bounce,
            Outcome::BounceUnmatched,
            Outcome::Catchall,
            Outcome::Unparseable,
            Outcome::Review,
        ]
        .into_iter()
        .find(|o| o.as_str() == raw)
    }
}

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
    let inserted = inbound_mail::Entity::insert(model.clone().into_active_model().reset_all())
        .on_conflict_do_nothing_on([inbound_mail::Column::ContentHash])
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    if matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
        return Ok((model, false));
    }
    // Stored before (same content): that row.
    let stored = by_hash(db, &model.content_hash)
        .await?
        .ok_or_else(|| Error::Internal("stored mail vanished".into()))?;
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
    Ok(inbound_mail::Entity::find()
        .filter(inbound_mail::Column::ContentHash.eq(hash))
        .one(db)
        .await?)
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
    let inserted = inbound_mail::Entity::insert(row.clone().into_active_model().reset_all())
        .on_conflict_do_nothing_on([inbound_mail::Column::ContentHash])
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
        // The same message arrived concurrently and was stored first.
        let stored = by_hash(db, &row.content_hash)
            .await?
            .ok_or_else(|| Error::Internal("stored mail vanished".into()))?;
        return again(db, stored).await;
    }
    let id = row.id;
    match run_claimed(db, id, None, Some(row)).await {
        Ok((suppressed, Some(done))) => Ok(Ingested {
            id,
            duplicate: false,
            state: PROCESSED.to_owned(),
            outcome: done.outcome,
            tenant_id: done.tenant_id,
            ticket_id: done.ticket_id,
            ticket_number: done.number,
            receipt_suppressed: suppressed,
        }),
        Ok((suppressed, None)) => {
            let stored = inbound_mail::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(Error::NotFound("mail"))?;
            answer(db, stored, false, suppressed).await
        }
        Err(e) => {
            tracing::warn!(mail = %id, error = %e, "processing a new mail failed; it stays stored for a retry");
            let stored = inbound_mail::Entity::find_by_id(id)
                .one(db)
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
    let row = inbound_mail::Entity::find_by_id(stored.id)
        .one(db)
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
        Some(id) => ticket::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|t| t.number),
        None => None,
    };
    Ok(Ingested {
        id: row.id,
        duplicate,
        state: row.state,
        outcome: row.outcome.as_deref().and_then(Outcome::parse),
        tenant_id: row.tenant_id,
        ticket_id: row.ticket_id,
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
    let free = || {
        Condition::any()
            .add(inbound_mail::Column::ClaimedUntil.is_null())
            .add(inbound_mail::Column::ClaimedUntil.lt(at))
    };
    let res = inbound_mail::Entity::update_many()
        .col_expr(
            inbound_mail::Column::ClaimedUntil,
            Expr::value(at + Duration::seconds(CLAIM_SECONDS)),
        )
        .col_expr(
            inbound_mail::Column::Attempts,
            Expr::col(inbound_mail::Column::Attempts).add(1),
        )
        .filter(inbound_mail::Column::Id.eq(id))
        .filter(inbound_mail::Column::State.eq(STORED))
        .filter(inbound_mail::Column::Attempts.lt(MAX_ATTEMPTS))
        .filter(free())
        .exec(db)
        .await?;
    if res.rows_affected == 1 {
        return Ok(Claim::Mine);
    }
    let res = inbound_mail::Entity::update_many()
        .col_expr(inbound_mail::Column::State, Expr::value(PROCESSED))
        .col_expr(
            inbound_mail::Column::Outcome,
            Expr::value(Outcome::Unparseable.as_str()),
        )
        .col_expr(inbound_mail::Column::Error, Expr::value(QUARANTINED))
        .col_expr(
            inbound_mail::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(inbound_mail::Column::ProcessedAt, Expr::value(at))
        .filter(inbound_mail::Column::Id.eq(id))
        .filter(inbound_mail::Column::State.eq(STORED))
        .filter(inbound_mail::Column::Attempts.gte(MAX_ATTEMPTS))
        .filter(free())
        .exec(db)
        .await?;
    if res.rows_affected == 1 {
        tracing::warn!(mail = %id, "stored mail quarantined after {MAX_ATTEMPTS} attempts");
        return Ok(Claim::Quarantined);
    }
    Ok(Claim::Busy)
}

/// Gives up a claim after a failed attempt, so that the recovery job may try again soon.
async fn release(db: &Db, id: Uuid) -> Result<()> {
    inbound_mail::Entity::update_many()
        .col_expr(
            inbound_mail::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(inbound_mail::Column::Id.eq(id))
        .filter(inbound_mail::Column::State.eq(STORED))
        .exec(db)
        .await?;
    Ok(())
}

/// Processes stored mail that a crash or a failed run left behind.
pub async fn process_pending(db: &Db) -> Result<usize> {
    let at = now();
    let ids: Vec<Uuid> = inbound_mail::Entity::find()
        .select_only()
        .column(inbound_mail::Column::Id)
        .filter(inbound_mail::Column::State.eq(STORED))
        .filter(inbound_mail::Column::ReceivedAt.lt(at - Duration::seconds(10)))
        .filter(
            Condition::any()
                .add(inbound_mail::Column::ClaimedUntil.is_null())
                .add(inbound_mail::Column::ClaimedUntil.lt(at)),
        )
        .order_by_asc(inbound_mail::Column::ReceivedAt)
        .limit(200)
        .into_tuple()
        .all(db)
        .await?;
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
    let ids: Vec<Uuid> = inbound_mail::Entity::find()
        .select_only()
        .column(inbound_mail::Column::Id)
        .filter(inbound_mail::Column::State.eq(STORED))
        .filter(inbound_mail::Column::MailboxId.eq(mailbox_id))
        .order_by_asc(inbound_mail::Column::ReceivedAt)
        .into_tuple()
        .all(db)
        .await?;
    let mut done = 0;
    for id in ids {
        process(db, id, None).await?;
        done += 1;
    }
    Ok(done)
}

/// Runs the processing of one stored row. `force_tenant` routes it to that tenant (an
/// operator assigning catch-all mail). Returns why a receipt was suppressed, if it was.
pub async fn process(db: &Db, id: Uuid, force_tenant: Option<Uuid>) -> Result<Option<String>> {
    if force_tenant.is_none() && claim(db, id).await? != Claim::Mine {
        return Ok(None);
    }
    Ok(run_claimed(db, id, force_tenant, None).await?.0)
}

/// [`process_claimed`], with a panic turned into an error and the claim given up on failure.
async fn run_claimed(
    db: &Db,
    id: Uuid,
    force_tenant: Option<Uuid>,
    known: Option<inbound_mail::Model>,
) -> Result<(Option<String>, Option<Done>)> {
    use futures_util::FutureExt;
    let result = std::panic::AssertUnwindSafe(process_claimed(db, id, force_tenant, known))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(Error::Internal("processing the mail panicked".into())));
    if result.is_err() && force_tenant.is_none() {
        release(db, id).await?;
    }
    result
}

/// Processes a stored row this caller holds the claim of.
/// `known` is the row as this caller just wrote it (saves reading the raw message again).
async fn process_claimed(
    db: &Db,
    id: Uuid,
    force_tenant: Option<Uuid>,
    known: Option<inbound_mail::Model>,
) -> Result<(Option<String>, Option<Done>)> {
    let row = match known {
        Some(row) => row,
        None => inbound_mail::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or(Error::NotFound("mail"))?,
    };
    let (txn, applied) = parse_and_apply(db, &row, force_tenant, Writes::default()).await?;
    txn.commit().await?;
    if applied.queued_mail {
        wake_delivery(db);
    }
    Ok((applied.suppressed, applied.done))
}

/// Parses the row's raw bytes and makes the look-ups, then begins the write transaction and
/// applies what became of the mail (unparseable mail is kept for a human). The caller commits.
async fn parse_and_apply(
    db: &Db,
    row: &inbound_mail::Model,
    force_tenant: Option<Uuid>,
    writes: Writes,
) -> Result<(WriteTxn, Applied)> {
    let parsed = parse::parse_owned(row.raw.clone().unwrap_or_default()).await;
    let pre = match &parsed {
        Ok(p) => prepare(db, row, p).await?,
        Err(_) => Pre::default(),
    };
    let txn = begin_write(db).await?;
    let applied = match &parsed {
        Ok(p) => route_and_apply(&txn, row, p, force_tenant, pre, writes).await?,
        Err(e) => Applied {
            done: finish_with(
                &txn,
                row,
                Finish {
                    tenant_id: force_tenant.or(row.tenant_id),
                    outcome: Some(Outcome::Unparseable),
                    error: Some(e.to_string()),
                    ..Finish::default()
                },
                None,
                writes,
            )
            .await?,
            queued_mail: false,
            suppressed: None,
        },
    };
    Ok((txn, applied))
}

/// Look-ups that need no lock, made before the write transaction so that on SQLite the
/// writer's turn is spent on writes only.
async fn prepare(db: &Db, row: &inbound_mail::Model, p: &ParsedMail) -> Result<Pre> {
    if p.bounce.is_some() {
        return Ok(Pre::default());
    }
    let sender = answer_address(p).valid();
    let (own_sender, receipts_last_hour) = match &sender {
        Some(s) if p.auto.is_none() && p.from.is_some() => {
            let own = is_own_address(db, s).await?;
            let since: DateTime<Utc> = now() - Duration::hours(1);
            let sent = if own {
                0
            } else {
                outbox_mail::Entity::find()
                    .filter(outbox_mail::Column::ToAddress.eq(s.as_str()))
                    .filter(outbox_mail::Column::Kind.eq(MailKind::Receipt.as_str()))
                    .filter(outbox_mail::Column::CreatedAt.gte(since))
                    .count(db)
                    .await?
            };
            (own, sent)
        }
        _ => (false, 0),
    };
    let routed = route(db, p).await?;
    let threaded = thread(db, row, p).await?.map(|t| t.id);
    // Most likely a new ticket: its number now, outside the transaction on PostgreSQL.
    let number = match (&routed, threaded, &sender) {
        (Some((t, _)), None, Some(_)) => reserve_number(db, t, row.received_at)
            .await?
            .map(|n| (t.id, n)),
        _ => None,
    };
    Ok(Pre {
        routed,
        threaded,
        own_sender,
        receipts_last_hour,
        number,
    })
}

#[derive(Default)]
struct Finish {
    tenant_id: Option<Uuid>,
    outcome: Option<Outcome>,
    ticket_id: Option<Uuid>,
    outbox_id: Option<Uuid>,
    sender_mismatch: bool,
    error: Option<String>,
    number: Option<String>,
}

/// What processing decided, as the ingest answer reports it.
#[derive(Clone, Debug)]
struct Done {
    tenant_id: Option<Uuid>,
    outcome: Option<Outcome>,
    ticket_id: Option<Uuid>,
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
    db: &impl ConnectionTrait,
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
    active.outcome = Set(f.outcome.map(|o| o.as_str().to_owned()));
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
    active.update(db).await?;
    // Bounded statements: a mail may list thousands of parts.
    let mut attachments = writes.attachments.into_iter().peekable();
    while attachments.peek().is_some() {
        mail_attachment::Entity::insert_many(attachments.by_ref().take(100))
            .exec_without_returning(db)
            .await?;
    }
    record_events(db, writes.events).await?;
    Ok(Some(done))
}

fn clip(s: &str, max_chars: usize) -> String {
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
    let hit = tenant_mail_address::Entity::find()
        .filter(tenant_mail_address::Column::Address.is_in([address.to_owned(), base]))
        .one(db)
        .await?;
    if hit.is_some() {
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
        tenant::Entity::find()
            .all(db)
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
    db: &impl ConnectionTrait,
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
    let rows = tenant_mail_address::Entity::find()
        .filter(tenant_mail_address::Column::Address.is_in(lookup))
        .all(db)
        .await?;
    for a in &candidates {
        let base = plus_stripped(a);
        if let Some(hit) = rows
            .iter()
            .find(|r| r.address == *a)
            .or_else(|| rows.iter().find(|r| r.address == base))
            && let Some(t) = tenant::Entity::find_by_id(hit.tenant_id).one(db).await?
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
    db: &impl ConnectionTrait,
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
        if let Some(m) = outbox_mail::Entity::find()
            .filter(outbox_mail::Column::MessageId.is_in(ids.clone()))
            .filter(outbox_mail::Column::TicketId.is_not_null())
            .order_by_desc(outbox_mail::Column::CreatedAt)
            .one(db)
            .await?
            && let Some(tid) = m.ticket_id
            && let Some(t) = ticket::Entity::find_by_id(tid).one(db).await?
        {
            return Ok(Some(t));
        }
        if let Some(m) = inbound_mail::Entity::find()
            .filter(inbound_mail::Column::MessageId.is_in(ids))
            .filter(inbound_mail::Column::TicketId.is_not_null())
            .filter(inbound_mail::Column::Id.ne(row.id))
            .order_by_desc(inbound_mail::Column::ReceivedAt)
            .one(db)
            .await?
            && let Some(tid) = m.ticket_id
            && let Some(t) = ticket::Entity::find_by_id(tid).one(db).await?
        {
            return Ok(Some(t));
        }
    }
    for number in subject::ticket_numbers(&p.subject) {
        if let Some(t) = ticket::Entity::find()
            .filter(ticket::Column::Number.eq(number))
            .one(db)
            .await?
        {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// What was looked up before the write transaction.
#[derive(Default)]
struct Pre {
    routed: Option<(tenant::Model, String)>,
    threaded: Option<Uuid>,
    /// The sender is one of our own addresses.
    own_sender: bool,
    /// Receipts to the sender in the last hour. Counted outside the transaction, so two mails
    /// of one sender arriving at the same moment may both get a receipt at the limit.
    receipts_last_hour: u64,
    /// The new ticket's tenant and number, reserved ahead (PostgreSQL; see `reserve_number`).
    number: Option<(Uuid, String)>,
}

async fn route_and_apply(
    db: &(impl ConnectionTrait + WithLocal),
    row: &inbound_mail::Model,
    p: &ParsedMail,
    force_tenant: Option<Uuid>,
    mut pre: Pre,
    mut writes: Writes,
) -> Result<Applied> {
    // Bounces never become tickets.
    if let Some(b) = &p.bounce {
        let original = match &b.original_message_id {
            Some(mid) => {
                outbox_mail::Entity::find()
                    .filter(outbox_mail::Column::MessageId.eq(mid.trim()))
                    .one(db)
                    .await?
            }
            None => None,
        };
        let Some(out) = original else {
            let tenant_id = match force_tenant.or(row.tenant_id) {
                Some(t) => Some(t),
                None => route(db, p).await?.map(|(t, _)| t.id),
            };
            let done = finish_with(
                db,
                row,
                Finish {
                    tenant_id,
                    outcome: Some(Outcome::BounceUnmatched),
                    ..Finish::default()
                },
                Some(p),
                writes,
            )
            .await?;
            return Ok(Applied {
                queued_mail: false,
                suppressed: None,
                done,
            });
        };
        let diagnostic = [b.status.as_deref(), b.diagnostic.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let reason = if diagnostic.is_empty() {
            "bounced".to_owned()
        } else {
            clip(&diagnostic, 1000)
        };
        if b.permanent {
            outbox_mail::ActiveModel {
                id: Set(out.id),
                state: Set(OutboxState::Bounced.as_str().to_owned()),
                last_error: Set(Some(reason.clone())),
                updated_at: Set(now()),
                ..Default::default()
            }
            .update(db)
            .await?;
        }
        if let Some(tid) = out.ticket_id
            && let Some(t) = ticket::Entity::find_by_id(tid).one(db).await?
        {
            writes.events.push(event(
                &t,
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
                &t,
                "mail_bounced",
                &format!(
                    "Die E-Mail an den Bürger zu {} kam nicht an: {reason}",
                    t.number
                ),
            )
            .await?;
        }
        let done = finish_with(
            db,
            row,
            Finish {
                tenant_id: Some(out.tenant_id),
                outcome: Some(Outcome::Bounce),
                outbox_id: Some(out.id),
                ..Finish::default()
            },
            Some(p),
            writes,
        )
        .await?;
        return Ok(Applied {
            queued_mail: false,
            suppressed: None,
            done,
        });
    }

    let routed = match force_tenant {
        Some(id) => tenant::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|t| (t, None)),
        None => match pre.routed.take() {
            Some((t, addr)) => Some((t, Some(addr))),
            None => match row.tenant_id {
                Some(id) => tenant::Entity::find_by_id(id)
                    .one(db)
                    .await?
                    .map(|t| (t, None)),
                None => None,
            },
        },
    };
    let answer = answer_address(p);
    let sender = answer.valid();

    // A reply to one of our tickets joins it.
    let threaded = match pre.threaded {
        Some(id) => ticket::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    if let Some(t) = threaded
        && t.state != TicketState::Closed.as_str()
        && t.anonymized_at.is_none()
    {
        let mismatch = match (&sender, &t.citizen_email) {
            (Some(s), Some(c)) => !s.eq_ignore_ascii_case(c),
            _ => true,
        };
        let t = if mismatch {
            t
        } else {
            reopen_for_mail(db, &t, row.received_at).await?
        };
        if !p.attachments.is_empty() {
            let holder = tenant::Entity::find_by_id(t.tenant_id)
                .one(db)
                .await?
                .ok_or(Error::NotFound("tenant"))?;
            let settings = TenantSettings::from_json(&holder.settings);
            keep_attachments(&mut writes, row, p, &t, &settings);
        }
        writes.events.push(event(
            &t,
            None,
            "mail_received",
            serde_json::Value::Null,
            serde_json::json!({ "mail_id": row.id, "from": sender, "flagged": mismatch }),
        ));
        if mismatch {
            notify_ticket(
                db,
                &t,
                "mail_flagged",
                &format!(
                    "Eine Antwort zu {} kam von einem anderen Absender als dem Bürger – bitte prüfen.",
                    t.number
                ),
            )
            .await?;
        } else {
            notify_ticket(
                db,
                &t,
                "mail_received",
                &format!("Neue Nachricht zu {}", t.number),
            )
            .await?;
        }
        let done = finish_with(
            db,
            row,
            Finish {
                tenant_id: Some(t.tenant_id),
                outcome: Some(if mismatch {
                    Outcome::ReplyFlagged
                } else {
                    Outcome::Reply
                }),
                ticket_id: Some(t.id),
                number: Some(t.number.clone()),
                sender_mismatch: mismatch,
                ..Finish::default()
            },
            Some(p),
            writes,
        )
        .await?;
        return Ok(Applied {
            queued_mail: false,
            suppressed: None,
            done,
        });
    }

    let Some((tenant, written_to)) = routed else {
        let done = finish_with(
            db,
            row,
            Finish {
                outcome: Some(Outcome::Catchall),
                ..Finish::default()
            },
            Some(p),
            writes,
        )
        .await?;
        return Ok(Applied {
            queued_mail: false,
            suppressed: None,
            done,
        });
    };
    let Some(sender) = sender else {
        let error = match &answer {
            Answer::Invalid(a) => format!(
                "the sender address {:?} is not a valid mailbox (RFC 5321): nothing is sent to it",
                clip(a, 254)
            ),
            _ => "the mail has no sender address to answer to".to_owned(),
        };
        let done = finish_with(
            db,
            row,
            Finish {
                tenant_id: Some(tenant.id),
                outcome: Some(Outcome::Review),
                error: Some(error),
                ..Finish::default()
            },
            Some(p),
            writes,
        )
        .await?;
        return Ok(Applied {
            queued_mail: false,
            suppressed: None,
            done,
        });
    };

    let settings = TenantSettings::from_json(&tenant.settings);
    let cut = Cut::of(p, &settings);
    let question = question_text(p, &cut);
    let topic = subject::normalize(&p.subject).topic;
    let (ticket, created) = insert_mail_ticket(
        db,
        &tenant,
        MailQuestion {
            subject: &topic,
            question: &question,
            citizen_name: p.from.as_ref().and_then(|a| a.name.clone()),
            citizen_email: clip(&sender, 254),
        },
        row.received_at,
        pre.number
            .take()
            .filter(|(t, _)| *t == tenant.id)
            .map(|(_, n)| n),
    )
    .await?;
    keep_attachments(&mut writes, row, p, &ticket, &settings);
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

    let suppressed = receipt_suppressed(p, &pre, &settings);
    let mut outbox_id = None;
    if suppressed.is_none() {
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
            &tenant,
            NewMail {
                ticket_id: Some(ticket.id),
                kind: MailKind::Receipt,
                from: written_to.map(|a| plus_stripped(&a)),
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
    let done = finish_with(
        db,
        row,
        Finish {
            tenant_id: Some(tenant.id),
            outcome: Some(Outcome::NewTicket),
            ticket_id: Some(ticket.id),
            number: Some(ticket.number.clone()),
            outbox_id,
            ..Finish::default()
        },
        Some(p),
        writes,
    )
    .await?;
    Ok(Applied {
        done,
        queued_mail: outbox_id.is_some(),
        suppressed,
    })
}

/// Whom a mail would be answered to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// A valid RFC 5321 mailbox.
    To(String),
    /// An address that must never be answered (garbage, an encoded word inside it, …).
    Invalid(String),
    /// No address at all.
    Nobody,
}

impl Answer {
    fn valid(&self) -> Option<String> {
        match self {
            Answer::To(a) => Some(a.clone()),
            _ => None,
        }
    }
}

/// Whom to answer: From, else Reply-To, else the envelope sender (Return-Path). A mail
/// without From gets a ticket but no receipt. Only a valid mailbox is ever answered.
fn answer_address(p: &ParsedMail) -> Answer {
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

/// Loop protection and the per-sender rate: why no receipt may go out, if so.
fn receipt_suppressed(p: &ParsedMail, pre: &Pre, settings: &TenantSettings) -> Option<String> {
    if let Some(reason) = &p.auto {
        return Some(reason.as_str().to_owned());
    }
    if p.from.is_none() {
        return Some("no_from".into());
    }
    if pre.own_sender {
        return Some("own_address".into());
    }
    if pre.receipts_last_hour >= u64::from(settings.receipts_per_sender_per_hour) {
        return Some("rate_limit".into());
    }
    None
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
