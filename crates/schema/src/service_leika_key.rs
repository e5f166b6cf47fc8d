//! The LeiKa keys of a service description: zero, one or several per description, and
//! several descriptions (variants) per key in one tenant.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_service_leika_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: crate::ids::ServiceId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub leika_key: String,
    pub tenant_id: crate::ids::TenantId,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
