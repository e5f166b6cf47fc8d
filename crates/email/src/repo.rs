#![allow(
    clippy::disallowed_methods,
    reason = "the repository: the one place that queries tables; every function takes the proof of access"
)]
//! The repository of the mail channel: the one place in this crate that queries tables
//! (`clippy.toml` forbids the raw sea-orm look-ups everywhere else).
//!
//! Two kinds of functions:
//! - **For a user's request**, a function takes the proof of access and adds the tenant
//!   condition itself: a [`TenantScope`] (from `Actor::authorize`) for one tenant's rows, an
//!   [`OperatorScope`] for what only operators do, or a [`QueueAccess`] (made from the
//!   actor's `Visibility`) for the inbound mail queue, where a row's tenant is not known
//!   before it is read.
//! - **For the system**, a function is named `system_*`. These serve the paths that act for
//!   no user and before any tenant is known: the processing of inbound mail (routing finds
//!   the tenant), the outbox delivery worker and the IMAP poller. Nothing that answers a
//!   user's request calls them with input from that user, except the ingest endpoint of the
//!   MTA, which is itself a system path.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;
use verbund_schema::ids::TenantId;
use verbund_schema::{
    inbound_mail, mail_attachment, mailbox, outbox_mail, tenant, tenant_mail_address, ticket,
};
use verbund_tenant::access::{Actor, OperatorScope, Permission, TenantScope, Visibility};
use verbund_tenant::db::Db;
use verbund_tenant::{Error, Result};
use verbund_ticketing::mail::{MailKind, OutboxState};

// ---------------------------------------------------------------------------------------
// The inbound mail queue (users)
// ---------------------------------------------------------------------------------------

/// What of the inbound mail an actor may read: the mail of every tenant whose mail queue it
/// works or which it administers, and the catch-all (mail of no tenant) for operators.
#[derive(Clone, Debug)]
pub struct QueueAccess {
    work: Visibility,
    manage: Visibility,
    catchall: Option<OperatorScope>,
}

impl QueueAccess {
    pub fn of(actor: &Actor) -> Self {
        Self {
            work: actor.visibility(Permission::WorkMailQueue),
            manage: actor.visibility(Permission::ManageTenant),
            catchall: actor.authorize_operator().ok(),
        }
    }

    /// May the actor read mail of this tenant (or of none)?
    pub fn may_read(&self, tenant_id: Option<TenantId>) -> bool {
        match tenant_id {
            Some(t) => self.work.contains(t) || self.manage.contains(t),
            None => self.catchall.is_some(),
        }
    }

    fn condition(&self) -> Condition {
        let tenant = inbound_mail::Column::TenantId;
        let mut any = Condition::any().add(
            Condition::all().add(tenant.is_not_null()).add(
                Condition::any()
                    .add(self.work.condition(tenant))
                    .add(self.manage.condition(tenant)),
            ),
        );
        if self.catchall.is_some() {
            any = any.add(tenant.is_null());
        }
        any
    }
}

/// The columns of a queue list row.
pub type QueueRow = (
    Uuid,
    Option<Uuid>,
    String,
    String,
    Option<verbund_schema::types::InboundOutcome>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Uuid>,
    i64,
    DateTime<Utc>,
);

/// The inbound mail of one tenant (or of none: the catch-all), newest first, within what the
/// actor may read.
pub async fn queue_list(
    db: &Db,
    access: &QueueAccess,
    tenant_id: Option<TenantId>,
    outcome: Option<&str>,
    limit: u64,
) -> Result<Vec<QueueRow>> {
    let mut select = inbound_mail::Entity::find().select_only().columns([
        inbound_mail::Column::Id,
        inbound_mail::Column::TenantId,
        inbound_mail::Column::Source,
        inbound_mail::Column::State,
        inbound_mail::Column::Outcome,
        inbound_mail::Column::FromAddress,
        inbound_mail::Column::Subject,
        inbound_mail::Column::Error,
        inbound_mail::Column::AutoReason,
        inbound_mail::Column::TicketId,
        inbound_mail::Column::Size,
        inbound_mail::Column::ReceivedAt,
    ]);
    select = match tenant_id {
        Some(t) => select.filter(inbound_mail::Column::TenantId.eq(t)),
        None => select.filter(inbound_mail::Column::TenantId.is_null()),
    };
    if let Some(o) = outcome {
        select = select.filter(inbound_mail::Column::Outcome.eq(o));
    }
    Ok(select
        .filter(access.condition())
        .order_by_desc(inbound_mail::Column::ReceivedAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// One inbound mail, if the actor may read it.
pub async fn queue_mail(
    db: &Db,
    access: &QueueAccess,
    id: Uuid,
) -> Result<Option<inbound_mail::Model>> {
    Ok(inbound_mail::Entity::find_by_id(id)
        .filter(access.condition())
        .one(db)
        .await?)
}

/// The slug of a tenant whose mail the actor reads (`None` otherwise).
pub async fn queue_tenant_slug(
    db: &Db,
    access: &QueueAccess,
    tenant_id: TenantId,
) -> Result<Option<String>> {
    if !access.may_read(Some(tenant_id)) {
        return Ok(None);
    }
    Ok(tenant::Entity::find_by_id(tenant_id)
        .one(db)
        .await?
        .map(|t| t.slug))
}

/// One inbound mail, for an operator (who may hand any of it to a tenant).
pub async fn operator_mail(
    db: &Db,
    _operator: &OperatorScope,
    id: Uuid,
) -> Result<Option<inbound_mail::Model>> {
    Ok(inbound_mail::Entity::find_by_id(id).one(db).await?)
}

/// A tenant's slug, for an operator.
pub async fn operator_tenant_slug(
    db: &Db,
    _operator: &OperatorScope,
    id: TenantId,
) -> Result<Option<String>> {
    Ok(tenant::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|t| t.slug))
}

// ---------------------------------------------------------------------------------------
// IMAP mailboxes: configuration (tenant admins)
// ---------------------------------------------------------------------------------------

/// The tenant's mailboxes by name.
pub async fn mailboxes(db: &Db, scope: &TenantScope) -> Result<Vec<mailbox::Model>> {
    Ok(mailbox::Entity::find()
        .filter(scope.filter(mailbox::Column::TenantId))
        .order_by_asc(mailbox::Column::Name)
        .all(db)
        .await?)
}

/// One mailbox of the tenant.
pub async fn mailbox(db: &Db, scope: &TenantScope, id: Uuid) -> Result<Option<mailbox::Model>> {
    Ok(mailbox::Entity::find_by_id(id)
        .filter(scope.filter(mailbox::Column::TenantId))
        .one(db)
        .await?)
}

/// Stores a new mailbox of the tenant.
pub async fn insert_mailbox(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    mut model: mailbox::ActiveModel,
) -> Result<mailbox::Model> {
    model.tenant_id = Set(scope.tenant_id());
    Ok(model.insert(db).await?)
}

/// Saves changes to a mailbox of the tenant (read with [`mailbox`] before).
pub async fn update_mailbox(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    model: mailbox::ActiveModel,
) -> Result<mailbox::Model> {
    if model.tenant_id.try_as_ref() != Some(&scope.tenant_id()) {
        return Err(Error::NotFound("mailbox"));
    }
    Ok(model.update(db).await?)
}

/// Deletes a mailbox of the tenant.
pub async fn delete_mailbox(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> Result<()> {
    mailbox::Entity::delete_many()
        .filter(mailbox::Column::Id.eq(id))
        .filter(scope.filter(mailbox::Column::TenantId))
        .exec(db)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// IMAP polling (system)
// ---------------------------------------------------------------------------------------

/// Enabled mailboxes whose lease is free.
pub async fn system_unleased_mailboxes(db: &Db, at: DateTime<Utc>) -> Result<Vec<mailbox::Model>> {
    Ok(mailbox::Entity::find()
        .filter(mailbox::Column::Enabled.eq(true))
        .filter(
            Condition::any()
                .add(mailbox::Column::LockedUntil.is_null())
                .add(mailbox::Column::LockedUntil.lt(at)),
        )
        .all(db)
        .await?)
}

/// Takes the lease of a mailbox until `until`; false when another instance holds it.
pub async fn system_lease_mailbox(
    db: &Db,
    id: Uuid,
    instance: &str,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let res = mailbox::Entity::update_many()
        .col_expr(mailbox::Column::LockedBy, Expr::value(instance))
        .col_expr(mailbox::Column::LockedUntil, Expr::value(until))
        .filter(mailbox::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(mailbox::Column::LockedUntil.is_null())
                .add(mailbox::Column::LockedUntil.lt(at)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records a poll and gives up the lease this instance holds.
pub async fn system_polled_mailbox(
    db: &Db,
    id: Uuid,
    instance: &str,
    error: Option<String>,
) -> Result<()> {
    mailbox::Entity::update_many()
        .col_expr(
            mailbox::Column::LockedBy,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            mailbox::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            mailbox::Column::LastPolledAt,
            Expr::value(Some(verbund_tenant::db::now())),
        )
        .col_expr(mailbox::Column::LastError, Expr::value(error))
        .filter(mailbox::Column::Id.eq(id))
        .filter(mailbox::Column::LockedBy.eq(instance))
        .exec(db)
        .await?;
    Ok(())
}

/// Makes a mailbox due at once (IDLE saw a change).
pub async fn system_mailbox_due_now(db: &Db, id: Uuid) -> Result<()> {
    mailbox::Entity::update_many()
        .col_expr(
            mailbox::Column::LastPolledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(mailbox::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Inbound processing (system: the tenant is not known before routing)
// ---------------------------------------------------------------------------------------

/// Stores a new inbound row unless one with the same content hash exists; true if stored.
pub async fn system_insert_inbound(
    db: &impl ConnectionTrait,
    model: inbound_mail::Model,
) -> Result<bool> {
    let inserted = inbound_mail::Entity::insert(model.into_active_model().reset_all())
        .on_conflict_do_nothing_on([inbound_mail::Column::ContentHash])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0))
}

/// The inbound row with this content hash.
pub async fn system_inbound_by_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<inbound_mail::Model>> {
    Ok(inbound_mail::Entity::find()
        .filter(inbound_mail::Column::ContentHash.eq(hash))
        .one(db)
        .await?)
}

/// An inbound row by id.
pub async fn system_inbound(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<inbound_mail::Model>> {
    Ok(inbound_mail::Entity::find_by_id(id).one(db).await?)
}

/// Claims a stored row until `until` and counts the attempt, while it has attempts left
/// and is not claimed; true if claimed.
pub async fn system_claim_inbound(
    db: &Db,
    id: Uuid,
    stored: &str,
    max_attempts: i32,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let res = inbound_mail::Entity::update_many()
        .col_expr(inbound_mail::Column::ClaimedUntil, Expr::value(until))
        .col_expr(
            inbound_mail::Column::Attempts,
            Expr::col(inbound_mail::Column::Attempts).add(1),
        )
        .filter(inbound_mail::Column::Id.eq(id))
        .filter(inbound_mail::Column::State.eq(stored))
        .filter(inbound_mail::Column::Attempts.lt(max_attempts))
        .filter(unclaimed(at))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// A stored, unclaimed row whose attempts are used up becomes processed with this outcome
/// and error; true if it did.
#[allow(clippy::too_many_arguments)]
pub async fn system_quarantine_inbound(
    db: &Db,
    id: Uuid,
    stored: &str,
    processed: &str,
    outcome: &str,
    error: &str,
    max_attempts: i32,
    at: DateTime<Utc>,
) -> Result<bool> {
    let res = inbound_mail::Entity::update_many()
        .col_expr(inbound_mail::Column::State, Expr::value(processed))
        .col_expr(inbound_mail::Column::Outcome, Expr::value(outcome))
        .col_expr(inbound_mail::Column::Error, Expr::value(error))
        .col_expr(
            inbound_mail::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(inbound_mail::Column::ProcessedAt, Expr::value(at))
        .filter(inbound_mail::Column::Id.eq(id))
        .filter(inbound_mail::Column::State.eq(stored))
        .filter(inbound_mail::Column::Attempts.gte(max_attempts))
        .filter(unclaimed(at))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

fn unclaimed(at: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(inbound_mail::Column::ClaimedUntil.is_null())
        .add(inbound_mail::Column::ClaimedUntil.lt(at))
}

/// Gives up the claim of a stored row.
pub async fn system_release_inbound(db: &Db, id: Uuid, stored: &str) -> Result<()> {
    inbound_mail::Entity::update_many()
        .col_expr(
            inbound_mail::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(inbound_mail::Column::Id.eq(id))
        .filter(inbound_mail::Column::State.eq(stored))
        .exec(db)
        .await?;
    Ok(())
}

/// Saves what processing decided about an inbound row.
pub async fn system_save_inbound(
    db: &impl ConnectionTrait,
    active: inbound_mail::ActiveModel,
) -> Result<()> {
    active.update(db).await?;
    Ok(())
}

/// Stores the attachments of an inbound mail, in bounded statements (a mail may list
/// thousands of parts).
pub async fn system_insert_attachments(
    db: &impl ConnectionTrait,
    attachments: Vec<mail_attachment::ActiveModel>,
) -> Result<()> {
    let mut attachments = attachments.into_iter().peekable();
    while attachments.peek().is_some() {
        mail_attachment::Entity::insert_many(attachments.by_ref().take(100))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Unclaimed stored rows received before `before`, oldest first (at most 200).
pub async fn system_pending_inbound(
    db: &Db,
    stored: &str,
    before: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    Ok(inbound_mail::Entity::find()
        .select_only()
        .column(inbound_mail::Column::Id)
        .filter(inbound_mail::Column::State.eq(stored))
        .filter(inbound_mail::Column::ReceivedAt.lt(before))
        .filter(unclaimed(at))
        .order_by_asc(inbound_mail::Column::ReceivedAt)
        .limit(200)
        .into_tuple()
        .all(db)
        .await?)
}

/// Stored rows of one IMAP mailbox, oldest first.
pub async fn system_pending_inbound_of(
    db: &Db,
    stored: &str,
    mailbox_id: Uuid,
) -> Result<Vec<Uuid>> {
    Ok(inbound_mail::Entity::find()
        .select_only()
        .column(inbound_mail::Column::Id)
        .filter(inbound_mail::Column::State.eq(stored))
        .filter(inbound_mail::Column::MailboxId.eq(mailbox_id))
        .order_by_asc(inbound_mail::Column::ReceivedAt)
        .into_tuple()
        .all(db)
        .await?)
}

/// The newest inbound row other than `except` with one of these Message-IDs that joined a
/// ticket.
pub async fn system_threaded_inbound(
    db: &impl ConnectionTrait,
    message_ids: Vec<String>,
    except: Uuid,
) -> Result<Option<inbound_mail::Model>> {
    Ok(inbound_mail::Entity::find()
        .filter(inbound_mail::Column::MessageId.is_in(message_ids))
        .filter(inbound_mail::Column::TicketId.is_not_null())
        .filter(inbound_mail::Column::Id.ne(except))
        .order_by_desc(inbound_mail::Column::ReceivedAt)
        .one(db)
        .await?)
}

/// The newest outbound mail of a ticket with one of these Message-IDs.
pub async fn system_threaded_outbox(
    db: &impl ConnectionTrait,
    message_ids: Vec<String>,
) -> Result<Option<outbox_mail::Model>> {
    Ok(outbox_mail::Entity::find()
        .filter(outbox_mail::Column::MessageId.is_in(message_ids))
        .filter(outbox_mail::Column::TicketId.is_not_null())
        .order_by_desc(outbox_mail::Column::CreatedAt)
        .one(db)
        .await?)
}

/// The outbound mail with this Message-ID (what a bounce reports on).
pub async fn system_outbox_by_message_id(
    db: &impl ConnectionTrait,
    message_id: &str,
) -> Result<Option<outbox_mail::Model>> {
    Ok(outbox_mail::Entity::find()
        .filter(outbox_mail::Column::MessageId.eq(message_id))
        .one(db)
        .await?)
}

/// An outbound mail bounced for good.
pub async fn system_outbox_bounced(
    db: &impl ConnectionTrait,
    id: Uuid,
    reason: &str,
) -> Result<()> {
    outbox_mail::ActiveModel {
        id: Set(id),
        state: Set(OutboxState::Bounced),
        last_error: Set(Some(reason.to_owned())),
        updated_at: Set(verbund_tenant::db::now()),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Receipts sent to an address since `since`.
pub async fn system_receipts_to(
    db: &impl ConnectionTrait,
    address: &str,
    since: DateTime<Utc>,
) -> Result<u64> {
    Ok(outbox_mail::Entity::find()
        .filter(outbox_mail::Column::ToAddress.eq(address))
        .filter(outbox_mail::Column::Kind.eq(MailKind::Receipt.as_str()))
        .filter(outbox_mail::Column::CreatedAt.gte(since))
        .count(db)
        .await?)
}

/// A ticket by id (any tenant).
pub async fn system_ticket(
    db: &impl ConnectionTrait,
    id: verbund_schema::ids::TicketId,
) -> Result<Option<ticket::Model>> {
    Ok(ticket::Entity::find_by_id(id).one(db).await?)
}

/// A ticket by its number (any tenant; numbers carry the tenant's prefix).
pub async fn system_ticket_by_number(
    db: &impl ConnectionTrait,
    number: &str,
) -> Result<Option<ticket::Model>> {
    Ok(ticket::Entity::find()
        .filter(ticket::Column::Number.eq(number))
        .one(db)
        .await?)
}

/// A tenant by id.
pub async fn system_tenant(
    db: &impl ConnectionTrait,
    id: TenantId,
) -> Result<Option<tenant::Model>> {
    Ok(tenant::Entity::find_by_id(id).one(db).await?)
}

/// Every tenant (for their configured sender addresses).
pub async fn system_tenants(db: &impl ConnectionTrait) -> Result<Vec<tenant::Model>> {
    Ok(tenant::Entity::find().all(db).await?)
}

/// The inbound addresses of all tenants among these.
pub async fn system_mail_addresses(
    db: &impl ConnectionTrait,
    addresses: Vec<String>,
) -> Result<Vec<tenant_mail_address::Model>> {
    Ok(tenant_mail_address::Entity::find()
        .filter(tenant_mail_address::Column::Address.is_in(addresses))
        .all(db)
        .await?)
}

// ---------------------------------------------------------------------------------------
// Outbox delivery (system)
// ---------------------------------------------------------------------------------------

/// Claims up to `batch` due mails with a new claim token; returns them.
pub async fn system_claim_outbox(
    db: &Db,
    batch: u64,
    at: DateTime<Utc>,
) -> Result<Vec<outbox_mail::Model>> {
    let due = Condition::any()
        .add(
            Condition::all()
                .add(outbox_mail::Column::State.eq(OutboxState::Queued.as_str()))
                .add(outbox_mail::Column::NextAttemptAt.lte(at)),
        )
        .add(
            Condition::all()
                .add(outbox_mail::Column::State.eq(OutboxState::Sending.as_str()))
                .add(outbox_mail::Column::ClaimedUntil.lt(at)),
        );
    let token = Uuid::now_v7();
    let ids = Query::select()
        .column(outbox_mail::Column::Id)
        .from(outbox_mail::Entity)
        .cond_where(due.clone())
        .order_by(outbox_mail::Column::NextAttemptAt, sea_orm::Order::Asc)
        .limit(batch)
        .to_owned();
    let res = outbox_mail::Entity::update_many()
        .col_expr(
            outbox_mail::Column::State,
            Expr::value(OutboxState::Sending.as_str()),
        )
        .col_expr(outbox_mail::Column::ClaimToken, Expr::value(token))
        .col_expr(
            outbox_mail::Column::ClaimedUntil,
            Expr::value(at + Duration::minutes(5)),
        )
        .col_expr(outbox_mail::Column::UpdatedAt, Expr::value(at))
        .filter(outbox_mail::Column::Id.in_subquery(ids))
        .filter(due)
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(Vec::new());
    }
    Ok(outbox_mail::Entity::find()
        .filter(outbox_mail::Column::ClaimToken.eq(token))
        .filter(outbox_mail::Column::State.eq(OutboxState::Sending.as_str()))
        .order_by_asc(outbox_mail::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Marks these claimed mails sent.
pub async fn system_outbox_sent(db: &Db, ids: Vec<Uuid>) -> Result<()> {
    let at = verbund_tenant::db::now();
    outbox_mail::Entity::update_many()
        .col_expr(
            outbox_mail::Column::State,
            Expr::value(OutboxState::Sent.as_str()),
        )
        .col_expr(outbox_mail::Column::SentAt, Expr::value(at))
        .col_expr(
            outbox_mail::Column::Attempts,
            Expr::col(outbox_mail::Column::Attempts).add(1),
        )
        .col_expr(
            outbox_mail::Column::ClaimToken,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            outbox_mail::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox_mail::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .col_expr(outbox_mail::Column::UpdatedAt, Expr::value(at))
        .filter(outbox_mail::Column::Id.is_in(ids))
        // Only while the claim holds: an anonymised ticket drops it (see `delivery::fail`).
        .filter(outbox_mail::Column::ClaimToken.is_not_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Updates a mail this pass still holds the claim of; the number of rows changed (0 when the
/// claim was dropped meanwhile).
pub async fn system_update_claimed_outbox(
    db: &impl ConnectionTrait,
    m: &outbox_mail::Model,
    changes: outbox_mail::ActiveModel,
) -> Result<u64> {
    let res = outbox_mail::Entity::update_many()
        .set(changes)
        .filter(outbox_mail::Column::Id.eq(m.id))
        .filter(claimed_by(m))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// The mail is still claimed by this pass. Anonymising its ticket drops the claim, and then
/// no result of the delivery (a server's answer may quote the recipient) is written back.
fn claimed_by(m: &outbox_mail::Model) -> Condition {
    match m.claim_token {
        Some(token) => Condition::all().add(outbox_mail::Column::ClaimToken.eq(token)),
        None => Condition::all().add(outbox_mail::Column::ClaimToken.is_null()),
    }
}
