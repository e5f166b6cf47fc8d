use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "center_tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub center_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: crate::ids::TenantId,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
