//! A description an office offers (import of offices from XZuFi or NDJSON).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_org_unit_services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: crate::ids::TenantId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_unit_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: crate::ids::ServiceId,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
