use sea_orm::entity::prelude::*;

/// One escalation notice: a tenant told about a ticket at one level, once (unique on tenant,
/// ticket, level and occasion). Written when the escalation job marks the ticket; sent when
/// `send_after` (the told tenant's next opening) has come; `sent_at` set by the instance that
/// sent it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "escalation_notices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant that is told.
    pub tenant_id: crate::ids::TenantId,
    pub ticket_id: crate::ids::TicketId,
    /// `at_risk`, `overdue` or `unaccepted`.
    pub level: String,
    /// `holder` (the tenant holding the ticket), `origin` (the tenant that took the call or
    /// forwarded it) or `receiver` (the tenant that did not accept a forward in time).
    pub audience: String,
    /// `deadline` for the deadline levels, the forward's id for `unaccepted`.
    pub occasion: String,
    pub created_at: DateTimeUtc,
    pub send_after: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
