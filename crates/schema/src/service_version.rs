use crate::types::ServiceStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_service_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: crate::ids::TenantId,
    pub service_id: crate::ids::ServiceId,
    pub version: i32,
    pub kind: String,
    pub status: ServiceStatus,
    pub title: String,
    pub synonyms: Json,
    pub modules: Json,
    pub org_unit_id: Option<Uuid>,
    pub contact_org_unit_id: Option<Uuid>,
    pub author_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
