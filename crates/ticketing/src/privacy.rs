//! Data protection: the citizen's personal data on a ticket is anonymised a number of days
//! after closing (tenant setting `anonymize_after_days`, default 30) or on request, keeping the
//! numbers that statistics need; and every read of a ticket's personal data is logged.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::entities::tenant;
use verbund_tenant::settings::TenantSettings;
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::entities::{
    call_attempt, inbound_mail, mail_attachment, outbox_mail, personal_data_access, ticket,
    ticket_event, ticket_forward, ticket_note,
};
use crate::model::TicketState;
use crate::tickets::{Access, TicketView, record_event, view_with_slugs};

pub const REDACTED: &str = "[anonymisiert]";

/// Removes the personal data of one ticket, in the caller's transaction.
pub(crate) async fn anonymize_in(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    actor: Option<Uuid>,
    why: &str,
) -> Result<ticket::Model> {
    let mut active: ticket::ActiveModel = t.clone().into();
    active.citizen_name = Set(None);
    active.citizen_phone = Set(None);
    active.citizen_email = Set(None);
    active.citizen_address = Set(None);
    active.callback_windows = Set(serde_json::json!([]));
    active.question = Set(REDACTED.to_owned());
    active.anonymized_at = Set(Some(now()));
    active.version = Set(t.version + 1);
    let saved = active.update(db).await?;
    ticket_note::Entity::update_many()
        .col_expr(
            ticket_note::Column::Body,
            sea_orm::sea_query::Expr::value(REDACTED),
        )
        .filter(ticket_note::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;
    call_attempt::Entity::update_many()
        .col_expr(
            call_attempt::Column::Note,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(call_attempt::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;
    ticket_forward::Entity::update_many()
        .col_expr(
            ticket_forward::Column::Reason,
            sea_orm::sea_query::Expr::value(REDACTED),
        )
        .col_expr(
            ticket_forward::Column::ReturnReason,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(ticket_forward::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;
    // Mail: the raw message, its text and attachments; the outbox keeps only its state.
    use sea_orm::sea_query::Expr;
    inbound_mail::Entity::update_many()
        .col_expr(
            inbound_mail::Column::Raw,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .col_expr(
            inbound_mail::Column::FromAddress,
            Expr::value(Option::<String>::None),
        )
        .col_expr(inbound_mail::Column::Subject, Expr::value(REDACTED))
        .col_expr(inbound_mail::Column::BodyText, Expr::value(REDACTED))
        .col_expr(
            inbound_mail::Column::QuotedText,
            Expr::value(Option::<String>::None),
        )
        .filter(inbound_mail::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;
    mail_attachment::Entity::delete_many()
        .filter(mail_attachment::Column::TicketId.eq(t.id))
        .exec(db)
        .await?;
    outbox_mail::Entity::update_many()
        .col_expr(outbox_mail::Column::ToAddress, Expr::value(REDACTED))
        .col_expr(outbox_mail::Column::Subject, Expr::value(REDACTED))
        .col_expr(outbox_mail::Column::Body, Expr::value(REDACTED))
        .filter(outbox_mail::Column::TicketId.eq(t.id))
        .filter(outbox_mail::Column::State.ne("queued"))
        .filter(outbox_mail::Column::State.ne("sending"))
        .exec(db)
        .await?;
    // Free text in the history (forward and return reasons, mail recipients) goes too.
    for event in ticket_event::Entity::find()
        .filter(ticket_event::Column::TicketId.eq(t.id))
        .all(db)
        .await?
    {
        if event.after.get("reason").is_some() || event.after.get("to").is_some() {
            let mut after = event.after.clone();
            for key in ["reason", "to", "from"] {
                if after.get(key).is_some() {
                    after[key] = REDACTED.into();
                }
            }
            let mut e: ticket_event::ActiveModel = event.into();
            e.after = Set(after);
            e.update(db).await?;
        }
    }
    record_event(
        db,
        &saved,
        actor,
        "anonymized",
        serde_json::Value::Null,
        serde_json::json!({ "reason": why }),
    )
    .await?;
    Ok(saved)
}

/// Anonymises closed tickets whose tenant's waiting time has passed. Safe on several
/// instances: each ticket is claimed by its `anonymized_at` being empty inside the transaction.
pub async fn run_due_anonymization(db: &DatabaseConnection, at: DateTime<Utc>) -> Result<usize> {
    let mut done = 0;
    for t in tenant::Entity::find().all(db).await? {
        let days = TenantSettings::from_json(&t.settings).anonymize_after_days;
        let cutoff = at - chrono::Duration::days(i64::from(days));
        let due = ticket::Entity::find()
            .filter(ticket::Column::TenantId.eq(t.id))
            .filter(ticket::Column::State.eq(TicketState::Closed.as_str()))
            .filter(ticket::Column::ClosedAt.lte(cutoff))
            .filter(ticket::Column::AnonymizedAt.is_null())
            .limit(500)
            .all(db)
            .await?;
        for candidate in due {
            let txn = begin_write(db).await?;
            let claimed = ticket::Entity::find_by_id(candidate.id)
                .filter(ticket::Column::AnonymizedAt.is_null())
                .one(&txn)
                .await?;
            if let Some(current) = claimed {
                anonymize_in(&txn, &current, None, "retention").await?;
                txn.commit().await?;
                done += 1;
            } else {
                txn.rollback().await?;
            }
        }
    }
    Ok(done)
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnonymizeRequest {
    /// Why, e.g. "Löschersuchen der Bürgerin vom 28.11.2026".
    pub reason: String,
}

/// Anonymises a ticket on request (tenant admins of the tenant holding it).
#[instrument(skip_all, fields(ticket = %id))]
pub async fn anonymize_on_request(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    req: AnonymizeRequest,
) -> Result<TicketView> {
    let why = req.reason.trim();
    if why.is_empty() || why.chars().count() > 500 {
        return Err(Error::invalid("reason", "must have 1-500 characters"));
    }
    let txn = begin_write(db).await?;
    let (t, _) = crate::tickets::load_visible(&txn, actor, id).await?;
    actor.authorize(Permission::ManageTenant, t.tenant_id)?;
    if t.anonymized_at.is_some() {
        return Err(Error::Conflict("the ticket is already anonymised".into()));
    }
    let saved = anonymize_in(&txn, &t, Some(actor.user_id()), why).await?;
    txn.commit().await?;
    view_with_slugs(db, saved, Access::Full).await
}

/// Records that a user read a ticket's personal data.
pub(crate) async fn log_access(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    user: Uuid,
    action: &str,
) -> Result<()> {
    personal_data_access::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(t.tenant_id),
        ticket_id: Set(t.id),
        user_id: Set(user),
        action: Set(action.to_owned()),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccessLogQuery {
    /// Ticket number or id.
    pub ticket: Option<String>,
    pub user: Option<Uuid>,
    /// 1-1000, default 100.
    pub limit: Option<u64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AccessLogEntry {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub ticket_number: Option<String>,
    pub user_id: Uuid,
    pub user_email: Option<String>,
    pub action: String,
    pub at: DateTime<Utc>,
}

/// Who read which ticket's personal data (tenant admins).
pub async fn access_log(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    q: AccessLogQuery,
) -> Result<Vec<AccessLogEntry>> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageTenant, t.id)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1..=1000"));
    }
    let mut query = personal_data_access::Entity::find()
        .filter(scope.filter(personal_data_access::Column::TenantId));
    if let Some(key) = q.ticket.as_deref() {
        let id = crate::tickets::resolve(db, key).await?;
        query = query.filter(personal_data_access::Column::TicketId.eq(id));
    }
    if let Some(user) = q.user {
        query = query.filter(personal_data_access::Column::UserId.eq(user));
    }
    let rows = query
        .order_by_desc(personal_data_access::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?;
    let tickets: std::collections::HashMap<Uuid, String> = ticket::Entity::find()
        .filter(ticket::Column::Id.is_in(rows.iter().map(|r| r.ticket_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.number))
        .collect();
    let users: std::collections::HashMap<Uuid, String> =
        verbund_tenant::entities::user::Entity::find()
            .filter(
                verbund_tenant::entities::user::Column::Id.is_in(rows.iter().map(|r| r.user_id)),
            )
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect();
    Ok(rows
        .into_iter()
        .map(|r| AccessLogEntry {
            id: r.id,
            ticket_number: tickets.get(&r.ticket_id).cloned(),
            ticket_id: r.ticket_id,
            user_email: users.get(&r.user_id).cloned(),
            user_id: r.user_id,
            action: r.action,
            at: r.created_at,
        })
        .collect())
}
