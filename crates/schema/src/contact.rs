use crate::types::Channel;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: crate::ids::TenantId,
    pub center_id: Option<Uuid>,
    pub agent_user_id: Uuid,
    pub channel: Channel,
    pub service_id: Option<crate::ids::ServiceId>,
    pub topic: Option<String>,
    pub solved_first_contact: bool,
    pub duration_seconds: i32,
    pub ticket_id: Option<crate::ids::TicketId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
