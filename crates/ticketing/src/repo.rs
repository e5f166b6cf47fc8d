#![allow(
    clippy::disallowed_methods,
    reason = "the repository: the one place that queries tables; every function takes the proof of access"
)]
//! The repository of the ticketing crate: the only module that queries its tables.
//!
//! Every function that reads or changes tenant-owned rows takes the proof of access and adds
//! the tenant condition itself, so the rest of the crate cannot forget it:
//! - a [`TenantScope`] (from `Actor::authorize`) for one tenant's rows: a row of another tenant
//!   is simply not found;
//! - a [`Visibility`] (from `Actor::visibility`) for lists and for tickets, which a tenant
//!   sees while it holds them, opened them or forwarded them ([`ticket_visible`]);
//! - the ticket as loaded through one of those (`&ticket::Model`) for the rows that belong to
//!   that ticket (notes, history, forwards, mails), which may lie in the tenants it passed;
//! - a [`SystemScope`] for background jobs (escalation, retention) that act without a user;
//!   those functions are named `system_*`.
//!
//! Tables without a tenant (the tenant registry, center links) and look-ups that return no
//! tenant data (a ticket's id by its number) are plain functions.
//!
//! A `clippy.toml` `disallowed-methods` entry makes a raw `find`/`find_by_id`/`update_many`/
//! `delete_many` outside this module fail the build.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use verbund_schema::escalation_notice;
use verbund_schema::ids::{TenantId, TicketId};
use verbund_schema::{
    call_attempt, center_tenant, contact, inbound_mail, mail_attachment, notification, outbox_mail,
    personal_data_access, role_assignment, service_ref, tenant, tenant_mail_address, text_template,
    ticket, ticket_change, ticket_counter, ticket_event, ticket_forward, ticket_note, user,
};
use verbund_tenant::access::SystemScope;
use verbund_tenant::access::VerbundTrafficScope;
use verbund_tenant::db::now;
use verbund_tenant::{Error, Result, TenantScope, Visibility};

use crate::tickets::Access;

// --- Tenants (the registry has no owner) -----------------------------------------------------

/// One tenant by id.
pub(crate) async fn tenant(db: &impl ConnectionTrait, id: TenantId) -> Result<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("tenant"))
}

/// The tenants with these ids.
pub(crate) async fn tenants(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = TenantId>,
) -> Result<Vec<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// Slugs by id.
pub(crate) async fn tenant_slugs(
    db: &impl ConnectionTrait,
    ids: Vec<TenantId>,
) -> Result<Vec<(TenantId, String)>> {
    Ok(tenant::Entity::find()
        .select_only()
        .columns([tenant::Column::Id, tenant::Column::Slug])
        .filter(tenant::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?)
}

/// Ids by slug.
pub(crate) async fn tenant_ids(
    db: &impl ConnectionTrait,
    slugs: Vec<&str>,
) -> Result<Vec<(String, TenantId)>> {
    Ok(tenant::Entity::find()
        .select_only()
        .columns([tenant::Column::Slug, tenant::Column::Id])
        .filter(tenant::Column::Slug.is_in(slugs))
        .into_tuple::<(String, TenantId)>()
        .all(db)
        .await?)
}

/// The tenants a center serves (its standing links).
pub(crate) async fn served_by_center(
    db: &impl ConnectionTrait,
    center_id: Uuid,
) -> Result<BTreeSet<TenantId>> {
    Ok(center_tenant::Entity::find()
        .filter(center_tenant::Column::CenterId.eq(center_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.tenant_id)
        .collect())
}

/// The address a tenant sends from when its settings name none: its first inbound address.
pub(crate) async fn first_mail_address(
    db: &impl ConnectionTrait,
    t: &tenant::Model,
) -> Result<Option<tenant_mail_address::Model>> {
    Ok(tenant_mail_address::Entity::find()
        .filter(tenant_mail_address::Column::TenantId.eq(t.id))
        .order_by_asc(tenant_mail_address::Column::Address)
        .one(db)
        .await?)
}

// --- Ticket numbers ---------------------------------------------------------------------------

/// Bumps the counter of the tenant a ticket is being opened for; empty if the year has none.
pub(crate) async fn bump_counter(
    db: &impl ConnectionTrait,
    t: &tenant::Model,
    year: i32,
) -> Result<Vec<ticket_counter::Model>> {
    Ok(ticket_counter::Entity::update_many()
        .col_expr(
            ticket_counter::Column::LastNumber,
            Expr::col(ticket_counter::Column::LastNumber).add(1),
        )
        .filter(ticket_counter::Column::TenantId.eq(t.id))
        .filter(ticket_counter::Column::Year.eq(year))
        .exec_with_returning(db)
        .await?)
}

/// The last number a tenant's counter handed out in `year` (0: none).
pub(crate) async fn last_counted(
    db: &impl ConnectionTrait,
    t: &tenant::Model,
    year: i32,
) -> Result<i64> {
    Ok(ticket_counter::Entity::find()
        .filter(ticket_counter::Column::TenantId.eq(t.id))
        .filter(ticket_counter::Column::Year.eq(year))
        .one(db)
        .await?
        .map_or(0, |c| c.last_number))
}

/// Whether a ticket or contact of `tenant_id` may refer to this service description: a
/// published one of any tenant, or any of the tenant's own. Answers only yes or no.
pub(crate) async fn service_usable_for(
    db: &impl ConnectionTrait,
    service_id: Uuid,
    tenant_id: TenantId,
) -> Result<bool> {
    Ok(service_ref::Entity::find_by_id(service_id)
        .filter(
            Condition::any()
                .add(service_ref::Column::Status.eq("published"))
                .add(service_ref::Column::TenantId.eq(tenant_id)),
        )
        .one(db)
        .await?
        .is_some())
}

// --- Tickets ----------------------------------------------------------------------------------

/// A ticket's id by its number. The id alone tells nothing; every load checks visibility.
pub(crate) async fn ticket_id_by_number(
    db: &impl ConnectionTrait,
    number: &str,
) -> Result<Option<TicketId>> {
    Ok(ticket::Entity::find()
        .filter(ticket::Column::Number.eq(number))
        .one(db)
        .await?
        .map(|t| t.id))
}

/// The tickets a tenant of `vis` holds, opened, or forwarded: the one visibility rule of
/// tickets, for single reads and lists alike.
pub(crate) fn visible_tickets(vis: &Visibility) -> Condition {
    let forwarded_from_visible = Query::select()
        .column(ticket_forward::Column::TicketId)
        .from(ticket_forward::Entity)
        .cond_where(vis.condition(ticket_forward::Column::FromTenantId))
        .to_owned();
    Condition::any()
        .add(vis.condition(ticket::Column::TenantId))
        .add(vis.condition(ticket::Column::OriginTenantId))
        .add(ticket::Column::Id.in_subquery(forwarded_from_visible))
}

/// A ticket visible under `vis` (see [`visible_tickets`]), with the access it gives: full
/// where the holder is visible, else what the forwarding side keeps. None: not found, or not
/// visible (the same answer).
pub(crate) async fn ticket_visible(
    db: &impl ConnectionTrait,
    vis: &Visibility,
    id: TicketId,
) -> Result<Option<(ticket::Model, Access)>> {
    let found = ticket::Entity::find_by_id(id)
        .filter(visible_tickets(vis))
        .one(db)
        .await?;
    Ok(found.map(|t| {
        let access = if vis.contains(t.tenant_id) {
            Access::Full
        } else {
            Access::Forwarder
        };
        (t, access)
    }))
}

/// One page of the ticket queue: `cond` (the queue's filters) ANDed with the visibility rule.
pub(crate) async fn ticket_page(
    db: &impl ConnectionTrait,
    vis: &Visibility,
    cond: Condition,
    limit: u64,
) -> Result<Vec<ticket::Model>> {
    Ok(ticket::Entity::find()
        .filter(visible_tickets(vis))
        .filter(cond)
        .order_by_asc(ticket::Column::DueAt)
        .order_by_asc(ticket::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Saves `changes` to a ticket held by the scope's tenant, if its version is still
/// `expected_version` (the caller sets the new version). Another tenant's ticket, and a
/// changed one, are not saved: Conflict.
pub(crate) async fn save_ticket(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    current: &ticket::Model,
    expected_version: i32,
    changes: ticket::ActiveModel,
) -> Result<ticket::Model> {
    update_ticket_row(db, scope.tenant_id(), current, expected_version, changes).await
}

/// [`save_ticket`] for background work (mail intake), which acts for the holding tenant.
pub(crate) async fn system_save_ticket(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    current: &ticket::Model,
    expected_version: i32,
    changes: ticket::ActiveModel,
) -> Result<ticket::Model> {
    update_ticket_row(db, current.tenant_id, current, expected_version, changes).await
}

async fn update_ticket_row(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    current: &ticket::Model,
    expected_version: i32,
    changes: ticket::ActiveModel,
) -> Result<ticket::Model> {
    let result = ticket::Entity::update_many()
        .set(changes)
        .filter(ticket::Column::Id.eq(current.id))
        .filter(ticket::Column::TenantId.eq(tenant_id))
        .filter(ticket::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(Error::Conflict(
            verbund_tenant::ProblemKind::StaleVersion,
            "the ticket was changed meanwhile; reload it".into(),
        ));
    }
    ticket::Entity::find_by_id(current.id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("ticket"))
}

// --- The rows of one ticket (take the ticket as loaded through a scoped function) -------------

/// The forward of `t` that waits for the receiver's decision.
pub(crate) async fn pending_forward(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    pending: &str,
) -> Result<Option<ticket_forward::Model>> {
    Ok(ticket_forward::Entity::find()
        .filter(ticket_forward::Column::TicketId.eq(t.id))
        .filter(ticket_forward::Column::State.eq(pending))
        .order_by_desc(ticket_forward::Column::CreatedAt)
        .one(db)
        .await?)
}

/// Every note of `t`, oldest first (the caller hides internal notes of other tenants).
pub(crate) async fn notes_of(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
) -> Result<Vec<ticket_note::Model>> {
    Ok(ticket_note::Entity::find()
        .filter(ticket_note::Column::TicketId.eq(t.id))
        .order_by_asc(ticket_note::Column::CreatedAt)
        .order_by_asc(ticket_note::Column::Id)
        .all(db)
        .await?)
}

/// The history of `t`, oldest first.
pub(crate) async fn events_of(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
) -> Result<Vec<ticket_event::Model>> {
    Ok(ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(t.id))
        .order_by_asc(ticket_event::Column::CreatedAt)
        .order_by_asc(ticket_event::Column::Id)
        .all(db)
        .await?)
}

/// The inbound mails of the ticket `ticket_id` (loaded by the caller through a scoped
/// function, or being answered in the caller's transaction).
pub(crate) async fn inbound_mails_of(
    db: &impl ConnectionTrait,
    ticket_id: TicketId,
) -> Result<Vec<inbound_mail::Model>> {
    Ok(inbound_mail::Entity::find()
        .filter(inbound_mail::Column::TicketId.eq(ticket_id))
        .all(db)
        .await?)
}

/// The outbound mails to the citizen of the ticket `ticket_id` (as for [`inbound_mails_of`];
/// mails of `excluded_kind`, the escalations to staff, left out).
pub(crate) async fn outbound_mails_of(
    db: &impl ConnectionTrait,
    ticket_id: TicketId,
    excluded_kind: &str,
) -> Result<Vec<outbox_mail::Model>> {
    Ok(outbox_mail::Entity::find()
        .filter(outbox_mail::Column::TicketId.eq(ticket_id))
        .filter(outbox_mail::Column::Kind.ne(excluded_kind))
        .all(db)
        .await?)
}

/// The attachments' metadata of `t`: id, mail, file name, type, size, inline, omitted.
pub(crate) type AttachmentRow = (Uuid, Uuid, Option<String>, String, i64, bool, bool);

pub(crate) async fn attachments_of(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
) -> Result<Vec<AttachmentRow>> {
    Ok(mail_attachment::Entity::find()
        .filter(mail_attachment::Column::TicketId.eq(t.id))
        .select_only()
        .columns([
            mail_attachment::Column::Id,
            mail_attachment::Column::InboundMailId,
            mail_attachment::Column::Filename,
            mail_attachment::Column::ContentType,
            mail_attachment::Column::Size,
            mail_attachment::Column::Inline,
            mail_attachment::Column::Omitted,
        ])
        .into_tuple::<AttachmentRow>()
        .all(db)
        .await?)
}

/// One kept (not omitted) attachment of `t`.
pub(crate) async fn attachment_of(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    attachment_id: Uuid,
) -> Result<Option<mail_attachment::Model>> {
    Ok(mail_attachment::Entity::find_by_id(attachment_id)
        .filter(
            Condition::all()
                .add(mail_attachment::Column::TicketId.eq(t.id))
                .add(mail_attachment::Column::Omitted.eq(false)),
        )
        .one(db)
        .await?)
}

/// Overwrites the personal data in every row that belongs to `t` (contacts, notes, call
/// attempts, forwards, notifications, its mails and their bounces, attachments). The ticket
/// row itself and its history are the caller's.
pub(crate) async fn redact_rows_of(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    redacted: &str,
) -> Result<()> {
    let none_str = || Expr::value(Option::<String>::None);
    contact::Entity::update_many()
        .col_expr(contact::Column::Topic, none_str())
        .filter(contact::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;
    ticket_note::Entity::update_many()
        .col_expr(ticket_note::Column::Body, Expr::value(redacted))
        .filter(ticket_note::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;
    call_attempt::Entity::update_many()
        .col_expr(call_attempt::Column::Note, none_str())
        .filter(call_attempt::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;
    ticket_forward::Entity::update_many()
        .col_expr(ticket_forward::Column::Reason, Expr::value(redacted))
        .col_expr(ticket_forward::Column::ReturnReason, none_str())
        .filter(ticket_forward::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;
    notification::Entity::update_many()
        .col_expr(notification::Column::Body, Expr::value(redacted))
        .filter(notification::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;

    // Mail: the ticket's own inbound mail and the bounces of its outbound mail.
    let outbox_ids: Vec<Uuid> = outbox_mail::Entity::find()
        .select_only()
        .column(outbox_mail::Column::Id)
        .filter(outbox_mail::Column::TicketId.eq(t.id))
        .into_tuple()
        .all(db)
        .await?;
    let mut of_ticket = Condition::any().add(inbound_mail::Column::TicketId.eq(t.id));
    if !outbox_ids.is_empty() {
        of_ticket = of_ticket.add(inbound_mail::Column::OutboxId.is_in(outbox_ids.clone()));
    }
    let inbound_ids: Vec<Uuid> = inbound_mail::Entity::find()
        .select_only()
        .column(inbound_mail::Column::Id)
        .filter(of_ticket)
        .into_tuple()
        .all(db)
        .await?;
    if !inbound_ids.is_empty() {
        inbound_mail::Entity::update_many()
            .col_expr(
                inbound_mail::Column::Raw,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(inbound_mail::Column::FromAddress, none_str())
            .col_expr(inbound_mail::Column::MessageId, none_str())
            .col_expr(inbound_mail::Column::Subject, Expr::value(redacted))
            .col_expr(inbound_mail::Column::BodyText, Expr::value(redacted))
            .col_expr(inbound_mail::Column::QuotedText, none_str())
            .col_expr(inbound_mail::Column::Error, none_str())
            .filter(inbound_mail::Column::Id.is_in(inbound_ids.clone()))
            .exec(db)
            .await?;
    }
    let mut attachments = Condition::any().add(mail_attachment::Column::TicketId.eq(t.id));
    if !inbound_ids.is_empty() {
        attachments = attachments.add(mail_attachment::Column::InboundMailId.is_in(inbound_ids));
    }
    mail_attachment::Entity::delete_many()
        .filter(attachments)
        .exec(db)
        .await?;
    if !outbox_ids.is_empty() {
        let at = now();
        // Not sent yet: given up, and a worker's claim on it dropped, so that no delivery
        // result (which may quote the recipient) is written back.
        outbox_mail::Entity::update_many()
            .col_expr(outbox_mail::Column::State, Expr::value("failed"))
            .col_expr(
                outbox_mail::Column::ClaimToken,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                outbox_mail::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(outbox_mail::Column::Id.is_in(outbox_ids.clone()))
            .filter(outbox_mail::Column::State.is_in(["queued", "sending"]))
            .exec(db)
            .await?;
        outbox_mail::Entity::update_many()
            .col_expr(outbox_mail::Column::ToAddress, Expr::value(redacted))
            .col_expr(outbox_mail::Column::Subject, Expr::value(redacted))
            .col_expr(outbox_mail::Column::Body, Expr::value(redacted))
            .col_expr(outbox_mail::Column::InReplyTo, none_str())
            .col_expr(outbox_mail::Column::References, none_str())
            .col_expr(outbox_mail::Column::LastError, none_str())
            .col_expr(outbox_mail::Column::UpdatedAt, Expr::value(at))
            .filter(outbox_mail::Column::Id.is_in(outbox_ids))
            .exec(db)
            .await?;
    }
    Ok(())
}

// --- Outbox (the tenant's outgoing mail) ------------------------------------------------------

/// A page of the scope tenant's outbox, newest first.
pub(crate) async fn outbox_page(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    state: Option<&str>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<outbox_mail::Model>> {
    let mut select =
        outbox_mail::Entity::find().filter(scope.filter(outbox_mail::Column::TenantId));
    if let Some(state) = state {
        select = select.filter(outbox_mail::Column::State.eq(state));
    }
    if let Some(before) = before {
        select = select.filter(outbox_mail::Column::Id.lt(before));
    }
    Ok(select
        .order_by_desc(outbox_mail::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// One mail of the scope tenant's outbox.
pub(crate) async fn outbox_mail(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> Result<Option<outbox_mail::Model>> {
    Ok(outbox_mail::Entity::find_by_id(id)
        .filter(scope.filter(outbox_mail::Column::TenantId))
        .one(db)
        .await?)
}

/// The ticket an outbox mail (as loaded through [`outbox_mail`]) belongs to, wherever it is
/// held now.
pub(crate) async fn ticket_of_mail(
    db: &impl ConnectionTrait,
    m: &outbox_mail::Model,
) -> Result<Option<ticket::Model>> {
    let Some(ticket_id) = m.ticket_id else {
        return Ok(None);
    };
    Ok(ticket::Entity::find_by_id(ticket_id).one(db).await?)
}

// --- Notifications ----------------------------------------------------------------------------

/// The user's own notifications and those of the queues of `queues` (`HandleTickets`).
fn notifications_of(user_id: Uuid, queues: &Visibility) -> Condition {
    Condition::any()
        .add(notification::Column::UserId.eq(user_id))
        .add(
            Condition::all()
                .add(notification::Column::UserId.is_null())
                .add(queues.condition(notification::Column::TenantId)),
        )
}

/// The newest 200 notifications a user sees (see [`notifications_of`]).
pub(crate) async fn notifications(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    queues: &Visibility,
    unread_only: bool,
) -> Result<Vec<notification::Model>> {
    let mut q = notification::Entity::find().filter(notifications_of(user_id, queues));
    if unread_only {
        q = q.filter(notification::Column::ReadAt.is_null());
    }
    Ok(q.order_by_desc(notification::Column::CreatedAt)
        .limit(200)
        .all(db)
        .await?)
}

/// One notification the user sees.
pub(crate) async fn notification(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    queues: &Visibility,
    id: Uuid,
) -> Result<Option<notification::Model>> {
    Ok(notification::Entity::find_by_id(id)
        .filter(notifications_of(user_id, queues))
        .one(db)
        .await?)
}

// --- Text templates ---------------------------------------------------------------------------

/// The scope tenant's text templates by name.
pub(crate) async fn templates(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> Result<Vec<text_template::Model>> {
    Ok(text_template::Entity::find()
        .filter(scope.filter(text_template::Column::TenantId))
        .order_by_asc(text_template::Column::Name)
        .all(db)
        .await?)
}

/// One text template of the scope tenant.
pub(crate) async fn template(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> Result<Option<text_template::Model>> {
    Ok(text_template::Entity::find_by_id(id)
        .filter(scope.filter(text_template::Column::TenantId))
        .one(db)
        .await?)
}

/// Deletes one text template of the scope tenant; false if there was none.
pub(crate) async fn delete_template(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: Uuid,
) -> Result<bool> {
    let result = text_template::Entity::delete_many()
        .filter(text_template::Column::Id.eq(id))
        .filter(scope.filter(text_template::Column::TenantId))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

// --- Reports (`ViewReports`) ------------------------------------------------------------------

/// Whose contacts a report counts.
pub(crate) enum ContactsOf {
    /// The contacts answered for a tenant.
    Tenant(TenantId),
    /// The contacts a center's agents logged (the caller checked that `reports` reaches every
    /// tenant the center serves).
    Center(Uuid),
}

/// Time, channel and first-contact solution of the contacts in `[start, end)`. A tenant
/// outside `reports` has none.
pub(crate) async fn report_contacts(
    db: &impl ConnectionTrait,
    reports: &Visibility,
    of: ContactsOf,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, String, bool)>> {
    let whose = match of {
        ContactsOf::Tenant(t) => Condition::all()
            .add(contact::Column::TenantId.eq(t))
            .add(reports.condition(contact::Column::TenantId)),
        ContactsOf::Center(c) => Condition::all().add(contact::Column::CenterId.eq(c)),
    };
    Ok(contact::Entity::find()
        .select_only()
        .column(contact::Column::CreatedAt)
        .column(contact::Column::Channel)
        .column(contact::Column::SolvedFirstContact)
        .filter(whose)
        .filter(contact::Column::CreatedAt.gte(start))
        .filter(contact::Column::CreatedAt.lt(end))
        .into_tuple()
        .all(db)
        .await?)
}

/// The tickets opened in `[start, end)` by the tenants of `tenants` that `reports` reaches.
pub(crate) async fn report_tickets(
    db: &impl ConnectionTrait,
    reports: &Visibility,
    tenants: &BTreeSet<TenantId>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<ticket::Model>> {
    Ok(ticket::Entity::find()
        .filter(ticket::Column::OriginTenantId.is_in(tenants.iter().copied()))
        .filter(reports.condition(ticket::Column::OriginTenantId))
        .filter(ticket::Column::CreatedAt.gte(start))
        .filter(ticket::Column::CreatedAt.lt(end))
        .all(db)
        .await?)
}

/// The forwards in `[start, end)` from or to the tenants of `tenants` that `reports` reaches.
pub(crate) async fn report_forwards(
    db: &impl ConnectionTrait,
    reports: &Visibility,
    tenants: &BTreeSet<TenantId>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<ticket_forward::Model>> {
    let tenants: Vec<TenantId> = tenants
        .iter()
        .copied()
        .filter(|t| reports.contains(*t))
        .collect();
    Ok(ticket_forward::Entity::find()
        .filter(
            Condition::any()
                .add(ticket_forward::Column::FromTenantId.is_in(tenants.clone()))
                .add(ticket_forward::Column::ToTenantId.is_in(tenants)),
        )
        .filter(ticket_forward::Column::CreatedAt.gte(start))
        .filter(ticket_forward::Column::CreatedAt.lt(end))
        .all(db)
        .await?)
}

// --- Privacy: the access log (`ManageTenant`) -------------------------------------------------

/// The scope tenant's personal-data access log, newest first.
pub(crate) async fn access_log(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    ticket_id: Option<TicketId>,
    user_id: Option<Uuid>,
    (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    offset: u64,
    limit: u64,
) -> Result<Vec<personal_data_access::Model>> {
    let mut query = personal_data_access::Entity::find()
        .filter(scope.filter(personal_data_access::Column::TenantId));
    if let Some(f) = from {
        query = query.filter(personal_data_access::Column::CreatedAt.gte(f));
    }
    if let Some(t) = to {
        query = query.filter(personal_data_access::Column::CreatedAt.lt(t));
    }
    if let Some(id) = ticket_id {
        query = query.filter(personal_data_access::Column::TicketId.eq(id));
    }
    if let Some(user) = user_id {
        query = query.filter(personal_data_access::Column::UserId.eq(user));
    }
    Ok(query
        .order_by_desc(personal_data_access::Column::CreatedAt)
        .order_by_desc(personal_data_access::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?)
}

/// The numbers of the tickets and the addresses of the users named in log rows (as loaded
/// through [`access_log`]).
pub(crate) async fn access_log_names(
    db: &impl ConnectionTrait,
    rows: &[personal_data_access::Model],
) -> Result<(Vec<(TicketId, String)>, Vec<(Uuid, String)>)> {
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::Id.is_in(rows.iter().map(|r| r.ticket_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.number))
        .collect();
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|r| r.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    Ok((tickets, users))
}

// --- Background jobs (no user; `SystemScope`) -------------------------------------------------

/// Every tenant.
pub(crate) async fn system_tenants(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
) -> Result<Vec<tenant::Model>> {
    Ok(tenant::Entity::find().all(db).await?)
}

/// Open tickets in `states`, not yet overdue, due up to `until` (escalation candidates).
pub(crate) async fn system_open_tickets_due(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    states: &[&str],
    until: DateTime<Utc>,
) -> Result<Vec<ticket::Model>> {
    Ok(ticket::Entity::find()
        .filter(ticket::Column::State.is_in(states.iter().copied()))
        .filter(ticket::Column::Overdue.eq(false))
        .filter(ticket::Column::DueAt.lte(until))
        .all(db)
        .await?)
}

/// Sets the boolean `column` of a ticket (and `at_risk` with it if `also_at_risk`) unless it
/// is set already; true if this call set it (the claim of one instance).
pub(crate) async fn system_flag_ticket(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    t: &ticket::Model,
    column: ticket::Column,
    also_at_risk: bool,
) -> Result<bool> {
    let mut update = ticket::Entity::update_many()
        .col_expr(column, Expr::value(true))
        .filter(ticket::Column::Id.eq(t.id))
        .filter(column.eq(false));
    if also_at_risk {
        update = update.col_expr(ticket::Column::AtRisk, Expr::value(true));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// One user by id (to mail an assignee).
pub(crate) async fn system_user(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    id: Uuid,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// The active users holding `role` on a tenant.
pub(crate) async fn system_active_role_holders(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    tenant_id: TenantId,
    role: verbund_schema::types::Role,
) -> Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = role_assignment::Entity::find()
        .filter(role_assignment::Column::TenantId.eq(tenant_id))
        .filter(role_assignment::Column::Role.eq(role))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.user_id)
        .collect();
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect())
}

/// Up to 500 ids of a tenant's tickets matching `cond` (retention).
pub(crate) async fn system_ticket_ids(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    tenant_id: TenantId,
    cond: Condition,
) -> Result<Vec<Uuid>> {
    Ok(ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Id)
        .filter(ticket::Column::TenantId.eq(tenant_id))
        .filter(cond)
        .limit(500)
        .into_tuple()
        .all(db)
        .await?)
}

/// Sets `column` to `value` on a ticket where `unless_done` holds, and loads it: Some only if
/// this call made the change (the claim of one instance on a retention step).
pub(crate) async fn system_claim_ticket(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    id: Uuid,
    column: ticket::Column,
    value: sea_orm::Value,
    unless_done: Condition,
) -> Result<Option<ticket::Model>> {
    let claimed = ticket::Entity::update_many()
        .col_expr(column, Expr::value(value))
        .filter(ticket::Column::Id.eq(id))
        .filter(unless_done)
        .exec(db)
        .await?;
    match ticket::Entity::find_by_id(id).one(db).await? {
        Some(current) if claimed.rows_affected == 1 => Ok(Some(current)),
        _ => Ok(None),
    }
}

// --- Escalation across tenants (background job; `SystemScope`) -------------------------------

/// Adds an escalation notice unless one for the same tenant, ticket, level and occasion exists
/// (the unique key `uq_escalation_notices_once`); true if this call added it (the claim of one
/// instance).
pub(crate) async fn system_add_notice(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    notice: escalation_notice::ActiveModel,
) -> Result<bool> {
    let added = escalation_notice::Entity::insert(notice)
        .on_conflict(
            OnConflict::columns([
                escalation_notice::Column::TenantId,
                escalation_notice::Column::TicketId,
                escalation_notice::Column::Level,
                escalation_notice::Column::Occasion,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(added == 1)
}

/// Up to `limit` notices not sent yet whose time has come (`send_after <= at`), oldest first.
pub(crate) async fn system_due_notices(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    at: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<escalation_notice::Model>> {
    Ok(escalation_notice::Entity::find()
        .filter(escalation_notice::Column::SentAt.is_null())
        .filter(escalation_notice::Column::SendAfter.lte(at))
        .order_by_asc(escalation_notice::Column::CreatedAt)
        .order_by_asc(escalation_notice::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Marks a notice sent unless it is already; true if this call did (the claim of one instance).
pub(crate) async fn system_claim_notice(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool> {
    let claimed = escalation_notice::Entity::update_many()
        .col_expr(escalation_notice::Column::SentAt, Expr::value(at))
        .filter(escalation_notice::Column::Id.eq(id))
        .filter(escalation_notice::Column::SentAt.is_null())
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// One ticket by id, wherever it is held.
pub(crate) async fn system_ticket(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    id: TicketId,
) -> Result<Option<ticket::Model>> {
    Ok(ticket::Entity::find_by_id(id).one(db).await?)
}

/// One forward by id.
pub(crate) async fn system_forward(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    id: Uuid,
) -> Result<Option<ticket_forward::Model>> {
    Ok(ticket_forward::Entity::find_by_id(id).one(db).await?)
}

/// Who forwarded the ticket out of `from_tenant` last.
pub(crate) async fn system_forwarder(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    ticket_id: TicketId,
    from_tenant: TenantId,
) -> Result<Option<Uuid>> {
    Ok(ticket_forward::Entity::find()
        .filter(ticket_forward::Column::TicketId.eq(ticket_id))
        .filter(ticket_forward::Column::FromTenantId.eq(from_tenant))
        .filter(ticket_forward::Column::ToTenantId.ne(from_tenant))
        .order_by_desc(ticket_forward::Column::CreatedAt)
        .one(db)
        .await?
        .map(|f| f.forwarded_by))
}

/// The forwards to another tenant that wait for acceptance.
pub(crate) async fn system_pending_forwards(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    pending: &str,
) -> Result<Vec<ticket_forward::Model>> {
    Ok(ticket_forward::Entity::find()
        .filter(ticket_forward::Column::State.eq(pending))
        .filter(
            Expr::col(ticket_forward::Column::FromTenantId)
                .ne(Expr::col(ticket_forward::Column::ToTenantId)),
        )
        .order_by_asc(ticket_forward::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Decides a waiting forward as returned without a user (nobody accepted it in time); true if
/// it was still waiting and this call returned it.
pub(crate) async fn system_return_forward(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    id: Uuid,
    pending: &str,
    returned: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let result = ticket_forward::Entity::update_many()
        .col_expr(ticket_forward::Column::State, Expr::value(returned))
        .col_expr(ticket_forward::Column::DecidedAt, Expr::value(at))
        .col_expr(ticket_forward::Column::ReturnReason, Expr::value(reason))
        .filter(ticket_forward::Column::Id.eq(id))
        .filter(ticket_forward::Column::State.eq(pending))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

// --- The Verbund's forwarding traffic (`VerbundTrafficScope`: operators, coordinators) --------

/// The forwards from one tenant to another made in `[start, end)`.
pub(crate) async fn verbund_forwards(
    db: &impl ConnectionTrait,
    _scope: &VerbundTrafficScope,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<ticket_forward::Model>> {
    Ok(ticket_forward::Entity::find()
        .filter(
            Expr::col(ticket_forward::Column::FromTenantId)
                .ne(Expr::col(ticket_forward::Column::ToTenantId)),
        )
        .filter(ticket_forward::Column::CreatedAt.gte(start))
        .filter(ticket_forward::Column::CreatedAt.lt(end))
        .order_by_asc(ticket_forward::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Of the forwards with these ids, those escalated at `level` to `audience` (their ids).
pub(crate) async fn verbund_escalated_forwards(
    db: &impl ConnectionTrait,
    _scope: &VerbundTrafficScope,
    level: &str,
    audience: &str,
    forward_ids: Vec<String>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in forward_ids.chunks(500) {
        let found: Vec<String> = escalation_notice::Entity::find()
            .select_only()
            .column(escalation_notice::Column::Occasion)
            .filter(escalation_notice::Column::Level.eq(level))
            .filter(escalation_notice::Column::Audience.eq(audience))
            .filter(escalation_notice::Column::Occasion.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

/// Due date and first answer of these tickets (nothing else of them).
pub(crate) async fn verbund_ticket_answers(
    db: &impl ConnectionTrait,
    _scope: &VerbundTrafficScope,
    ids: Vec<TicketId>,
) -> Result<Vec<(TicketId, DateTime<Utc>, Option<DateTime<Utc>>)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let found: Vec<(TicketId, DateTime<Utc>, Option<DateTime<Utc>>)> = ticket::Entity::find()
            .select_only()
            .columns([
                ticket::Column::Id,
                ticket::Column::DueAt,
                ticket::Column::FirstAnsweredAt,
            ])
            .filter(ticket::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

/// Open tickets (`open` states) at risk or overdue that another tenant holds than the one that
/// took the call, or that were forwarded to another tenant; soonest due first, each with the
/// tenant that forwarded it last.
pub(crate) async fn verbund_forwarded_at_risk(
    db: &impl ConnectionTrait,
    _scope: &VerbundTrafficScope,
    open: &[&str],
) -> Result<Vec<(ticket::Model, Option<TenantId>)>> {
    let forwarded = Query::select()
        .column(ticket_forward::Column::TicketId)
        .from(ticket_forward::Entity)
        .and_where(
            Expr::col(ticket_forward::Column::FromTenantId)
                .ne(Expr::col(ticket_forward::Column::ToTenantId)),
        )
        .to_owned();
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::State.is_in(open.iter().copied()))
        .filter(ticket::Column::AtRisk.eq(true))
        .filter(
            Condition::any()
                .add(
                    Expr::col(ticket::Column::TenantId)
                        .ne(Expr::col(ticket::Column::OriginTenantId)),
                )
                .add(ticket::Column::Id.in_subquery(forwarded)),
        )
        .order_by_asc(ticket::Column::DueAt)
        .order_by_asc(ticket::Column::Number)
        .all(db)
        .await?;
    let mut last: std::collections::HashMap<TicketId, TenantId> = std::collections::HashMap::new();
    let ids: Vec<TicketId> = tickets.iter().map(|t| t.id).collect();
    for chunk in ids.chunks(500) {
        let forwards = ticket_forward::Entity::find()
            .filter(ticket_forward::Column::TicketId.is_in(chunk.iter().copied()))
            .filter(
                Expr::col(ticket_forward::Column::FromTenantId)
                    .ne(Expr::col(ticket_forward::Column::ToTenantId)),
            )
            .order_by_asc(ticket_forward::Column::CreatedAt)
            .all(db)
            .await?;
        for f in forwards {
            last.insert(f.ticket_id, f.from_tenant_id);
        }
    }
    Ok(tickets
        .into_iter()
        .map(|t| {
            let by = last.get(&t.id).copied();
            (t, by)
        })
        .collect())
}

#[cfg(test)]
mod tests;

// --- The ticket change feed (see crate::changes) ------------------------------------------------

/// The highest id of the ticket change feed (0 when empty).
pub(crate) async fn system_last_ticket_change(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
) -> Result<i32> {
    Ok(ticket_change::Entity::find()
        .order_by_desc(ticket_change::Column::Id)
        .one(db)
        .await?
        .map(|c| c.id)
        .unwrap_or(0))
}

/// Up to `limit` feed rows with an id above `after`, oldest first.
pub(crate) async fn system_ticket_changes_after(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    after: i32,
    limit: u64,
) -> Result<Vec<ticket_change::Model>> {
    Ok(ticket_change::Entity::find()
        .filter(ticket_change::Column::Id.gt(after))
        .order_by_asc(ticket_change::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The tenants that see each of `ids` now (the visibility rule of [`visible_tickets`] read
/// the other way round): holder, origin and every tenant that forwarded it.
pub(crate) async fn system_ticket_audiences(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    ids: &BTreeSet<Uuid>,
) -> Result<std::collections::HashMap<Uuid, BTreeSet<TenantId>>> {
    let mut out: std::collections::HashMap<Uuid, BTreeSet<TenantId>> =
        std::collections::HashMap::new();
    let tickets: Vec<(Uuid, TenantId, TenantId)> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Id)
        .column(ticket::Column::TenantId)
        .column(ticket::Column::OriginTenantId)
        .filter(ticket::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    for (id, holder, origin) in tickets {
        let set = out.entry(id).or_default();
        set.insert(holder);
        set.insert(origin);
    }
    let forwards: Vec<(Uuid, TenantId)> = ticket_forward::Entity::find()
        .select_only()
        .column(ticket_forward::Column::TicketId)
        .column(ticket_forward::Column::FromTenantId)
        .filter(ticket_forward::Column::TicketId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    for (id, from) in forwards {
        out.entry(id).or_default().insert(from);
    }
    Ok(out)
}

/// Deletes feed rows written before `before` (every follower is far past them).
pub(crate) async fn system_prune_ticket_changes(
    db: &impl ConnectionTrait,
    _system: &SystemScope,
    before: DateTime<Utc>,
) -> Result<u64> {
    Ok(ticket_change::Entity::delete_many()
        .filter(ticket_change::Column::CreatedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

// --- Ticket detail: forward targets and who changed a ticket -----------------------------------

/// Where a ticket held by the scope's tenant can be forwarded: every active tenant (by name)
/// and the back-office units (`backoffice:<unit>`) the holder's tickets and forwards name.
/// `scope` proves `HandleTickets` on the holder (from `load_for_work`).
pub(crate) async fn forward_targets(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
) -> Result<(Vec<tenant::Model>, Vec<String>)> {
    let tenants = tenant::Entity::find()
        .filter(tenant::Column::Active.eq(true))
        .order_by_asc(tenant::Column::Name)
        .all(db)
        .await?;
    let mut queues: BTreeSet<String> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Queue)
        .distinct()
        .filter(scope.filter(ticket::Column::TenantId))
        .filter(ticket::Column::Queue.starts_with("backoffice:"))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    queues.extend(
        ticket_forward::Entity::find()
            .select_only()
            .column(ticket_forward::Column::ToQueue)
            .distinct()
            .filter(scope.filter(ticket_forward::Column::ToTenantId))
            .filter(ticket_forward::Column::ToQueue.starts_with("backoffice:"))
            .into_tuple::<String>()
            .all(db)
            .await?,
    );
    Ok((tenants, queues.into_iter().collect()))
}

/// The display name of the user who wrote an event of ticket `t` (loaded by the caller
/// through the visibility rule): only a user named by one of `t`'s events is found.
pub(crate) async fn event_author_name(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    user_id: Uuid,
) -> Result<Option<String>> {
    let wrote = ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(t.id))
        .filter(ticket_event::Column::ActorUserId.eq(user_id))
        .one(db)
        .await?
        .is_some();
    if !wrote {
        return Ok(None);
    }
    Ok(user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(|u| u.display_name))
}
