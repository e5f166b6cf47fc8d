//! One row (`id = 1`): a counter raised whenever sessions or roles change, so every instance
//! drops its cached authentication state (`verbund_tenant::auth`). Read and written with plain
//! SQL there; this entity mirrors the table for the schema drift test.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_epoch")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub epoch: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
