use crate::types::ServiceStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: crate::ids::ServiceId,
    pub tenant_id: crate::ids::TenantId,
    pub title: String,
    pub synonyms: Json,
    pub modules: Json,
    pub status: ServiceStatus,
    pub version: i32,
    pub org_unit_id: Option<Uuid>,
    pub contact_org_unit_id: Option<Uuid>,
    pub base_id: Option<Uuid>,
    pub base_reviewed_revision: Option<i32>,
    pub demo: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    /// The source system's id of the description (imports match on it), unique per tenant.
    pub external_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
