use crate::types::{AnswerChannel, ForwardState, Priority, TicketState};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: crate::ids::TicketId,
    pub tenant_id: crate::ids::TenantId,
    pub number: String,
    pub subject: String,
    pub question: String,
    pub citizen_name: Option<String>,
    pub citizen_phone: Option<String>,
    pub citizen_email: Option<String>,
    pub citizen_address: Option<String>,
    pub answer_channel: AnswerChannel,
    pub callback_windows: Json,
    pub service_id: Option<crate::ids::ServiceId>,
    pub state: TicketState,
    pub assignee_user_id: Option<Uuid>,
    pub queue: String,
    pub priority: Priority,
    pub due_at: DateTimeUtc,
    pub at_risk: bool,
    pub overdue: bool,
    pub failed_call_attempts: i32,
    pub needs_other_channel: bool,
    pub origin_tenant_id: crate::ids::TenantId,
    pub forward_state: ForwardState,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub first_answered_at: Option<DateTimeUtc>,
    pub anonymized_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
