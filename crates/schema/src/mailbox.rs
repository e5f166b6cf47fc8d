use crate::types::MailboxSecurity;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "mailboxes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: crate::ids::TenantId,
    pub name: String,
    pub host: String,
    pub port: i32,
    pub security: MailboxSecurity,
    pub username: String,
    pub secret: String,
    pub folder: String,
    pub processed_folder: Option<String>,
    pub interval_seconds: i32,
    pub enabled: bool,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    pub last_polled_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
