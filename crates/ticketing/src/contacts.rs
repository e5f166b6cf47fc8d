//! Contacts (Kontakte): every handled call or message is logged in one request; an unsolved
//! one becomes a ticket in the same transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_tenant::access::{GrantScope, RoleRules};
use verbund_tenant::db::Db;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant_for;
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::forward::forward_within;
use crate::model::{Channel, FRONT_QUEUE};
use crate::tickets::{
    Access, NewTicket, TicketView, insert_ticket, reserve_number, view_with_slugs,
};
use verbund_schema::contact;
use verbund_schema::ids::ServiceId;

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    /// The tenant the citizen asked about: one the center serves, or any tenant of the Verbund.
    pub tenant: String,
    pub channel: Channel,
    /// The service description used to answer, if any: a published one, or one of the asked
    /// tenant's own.
    pub service_id: Option<Uuid>,
    /// A short topic when no service description fits.
    pub topic: Option<String>,
    /// Solved at first contact (Direktlösung)?
    pub solved: bool,
    pub duration_seconds: u32,
    /// Required when `solved` is false: the ticket to open.
    pub ticket: Option<NewTicket>,
    /// When the asked tenant is not one the agent works for: the own tenant that opens the
    /// ticket and forwards it there (default: the only one the agent works for).
    pub on_behalf_of: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ContactView {
    pub id: Uuid,
    pub tenant: String,
    pub channel: Channel,
    pub service_id: Option<Uuid>,
    pub topic: Option<String>,
    pub solved: bool,
    pub duration_seconds: u32,
    pub created_at: DateTime<Utc>,
    pub ticket: Option<TicketView>,
}

/// The center the agent answers from: the one serving the asked tenant, else its first.
fn center_of(actor: &Actor, tenant_id: verbund_schema::ids::TenantId) -> Option<Uuid> {
    let centers: Vec<_> = actor
        .grants()
        .iter()
        .filter_map(|g| match g.scope {
            GrantScope::Center(c) if g.role.grants(Permission::HandleContacts) => Some((c, g)),
            _ => None,
        })
        .collect();
    centers
        .iter()
        .find(|(_, g)| g.reaches(tenant_id))
        .or_else(|| centers.first())
        .map(|(c, _)| *c)
}

#[instrument(skip_all, fields(tenant = input.tenant))]
pub async fn log_contact(db: &Db, actor: &Actor, input: NewContact) -> Result<ContactView> {
    let asked = find_tenant_for(db, actor, &input.tenant)
        .await
        .map_err(|_| Error::invalid("tenant", format!("unknown tenant {}", input.tenant)))?;
    if !asked.active {
        return Err(Error::invalid("tenant", "the tenant is not active"));
    }
    let own = actor.may(Permission::HandleContacts, asked.id);
    let handles_any = !actor
        .visibility(Permission::HandleContacts)
        .tenants()
        .is_some_and(|t| t.is_empty());
    if !own && !handles_any {
        return Err(Error::Forbidden("only agents log contacts"));
    }
    if input.duration_seconds > 24 * 3600 {
        return Err(Error::invalid(
            "duration_seconds",
            "must be at most one day",
        ));
    }
    let topic = match input.topic.as_deref().map(str::trim) {
        Some(t) if t.chars().count() > 300 => {
            return Err(Error::invalid("topic", "must have at most 300 characters"));
        }
        Some("") | None => None,
        Some(t) => Some(t.to_owned()),
    };
    let ticket_input = match (input.solved, input.ticket) {
        (true, Some(_)) => {
            return Err(Error::invalid("ticket", "a solved contact opens no ticket"));
        }
        (false, None) => {
            return Err(Error::invalid(
                "ticket",
                "is required when the contact is not solved",
            ));
        }
        (true, None) => None,
        (false, Some(t)) => Some(t.validate()?),
    };
    // Who opens the ticket: the asked tenant if the agent works its tickets, else an own tenant
    // that forwards it.
    let opener = match &ticket_input {
        None => None,
        Some(_) if actor.may(Permission::HandleTickets, asked.id) => Some(asked.clone()),
        Some(_) => {
            let slug = match input.on_behalf_of.as_deref() {
                Some(s) => s.to_owned(),
                None => {
                    let own: Vec<_> = actor
                        .profile()
                        .tenants
                        .iter()
                        .filter(|t| actor.may(Permission::HandleTickets, t.id.into()))
                        .collect();
                    match own.as_slice() {
                        [only] => only.slug.clone(),
                        _ => {
                            return Err(Error::invalid(
                                "on_behalf_of",
                                "name the own tenant that opens the ticket",
                            ));
                        }
                    }
                }
            };
            let t = find_tenant_for(db, actor, &slug)
                .await
                .map_err(|_| Error::invalid("on_behalf_of", format!("unknown tenant {slug}")))?;
            actor.authorize(Permission::HandleTickets, t.id)?;
            Some(t)
        }
    };

    // The contact refers to the asked tenant's service; the ticket ends up held by it too
    // (opened there, or forwarded there at once).
    crate::tickets::check_service(db, "service_id", input.service_id, asked.id).await?;
    if let Some(valid) = &ticket_input {
        crate::tickets::check_service(db, "ticket.service_id", valid.service_id(), asked.id)
            .await?;
    }
    let at = now();
    let number = match (&ticket_input, &opener) {
        (Some(_), Some(opener)) => reserve_number(db, opener, at).await?,
        _ => None,
    };
    let txn = begin_write(db).await?;
    let ticket = match (ticket_input, opener) {
        (Some(valid), Some(opener)) => {
            let mut t =
                insert_ticket(&txn, &opener, valid, Some(actor.user_id()), at, number).await?;
            if opener.id != asked.id {
                let why = format!("Anliegen betrifft {}", asked.name);
                let scope = actor.authorize(Permission::HandleTickets, opener.id)?;
                t = forward_within(
                    &txn,
                    &scope,
                    &t,
                    &asked,
                    FRONT_QUEUE.to_owned(),
                    why,
                    t.version,
                )
                .await?;
            }
            Some(t)
        }
        _ => None,
    };
    let model = contact::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(asked.id),
        center_id: Set(center_of(actor, asked.id)),
        agent_user_id: Set(actor.user_id()),
        channel: Set(input.channel),
        service_id: Set(input.service_id.map(ServiceId::from)),
        topic: Set(topic),
        solved_first_contact: Set(input.solved),
        duration_seconds: Set(input.duration_seconds as i32),
        ticket_id: Set(ticket.as_ref().map(|t| t.id)),
        created_at: Set(at),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    let ticket = match ticket {
        Some(t) => {
            let access = Access::after_change(actor, t.tenant_id);
            Some(view_with_slugs(db, t, access).await?)
        }
        None => None,
    };
    Ok(ContactView {
        id: model.id,
        tenant: asked.slug,
        channel: input.channel,
        service_id: model.service_id.map(ServiceId::uuid),
        topic: model.topic,
        solved: model.solved_first_contact,
        duration_seconds: input.duration_seconds,
        created_at: model.created_at,
        ticket,
    })
}
