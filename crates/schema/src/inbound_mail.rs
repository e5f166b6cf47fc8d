use crate::types::InboundOutcome;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_mails")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Option<crate::ids::TenantId>,
    pub source: String,
    pub mailbox_id: Option<Uuid>,
    pub message_id: Option<String>,
    pub content_hash: String,
    pub raw: Option<Vec<u8>>,
    pub size: i64,
    pub state: String,
    pub outcome: Option<InboundOutcome>,
    pub ticket_id: Option<crate::ids::TicketId>,
    pub outbox_id: Option<Uuid>,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub body_text: Option<String>,
    pub quoted_text: Option<String>,
    pub auto_reason: Option<String>,
    pub sender_mismatch: bool,
    pub error: Option<String>,
    /// Processing attempts begun (raised before parsing, in its own statement).
    pub attempts: i32,
    pub claimed_until: Option<DateTimeUtc>,
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
