use crate::types::ForwardState;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_forwards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub ticket_id: crate::ids::TicketId,
    pub from_tenant_id: crate::ids::TenantId,
    pub to_tenant_id: crate::ids::TenantId,
    pub to_queue: String,
    pub reason: String,
    pub forwarded_by: Uuid,
    pub state: ForwardState,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTimeUtc>,
    pub return_reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
