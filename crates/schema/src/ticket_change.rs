use sea_orm::entity::prelude::*;

/// The ticket change feed: one row per change of a ticket, written with its history row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub ticket_id: crate::ids::TicketId,
    /// The tenant holding the ticket after the change.
    pub tenant_id: crate::ids::TenantId,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
