//! One revision of a base text (the content it had), for showing an editor what changed.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_base_text_revisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub base_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub revision: i32,
    pub title: String,
    pub synonyms: Json,
    pub modules: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
