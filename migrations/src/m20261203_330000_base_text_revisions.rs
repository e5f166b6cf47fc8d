//! The revisions of the base texts (Stammtexte): one row per revision with the content it
//! had, written in the transaction that creates or changes the base text. An editor whose
//! description adopts a base text sees what changed between the revision last confirmed and
//! the current one. The catalogue is shared by the whole Verbund (not tenant-owned), so the
//! key is the base text and the revision. Existing base texts get their current revision.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KnowledgeBaseTextRevisions {
    Table,
    BaseId,
    Revision,
    Title,
    Synonyms,
    Modules,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(KnowledgeBaseTextRevisions::Table)
                .col(uuid(KnowledgeBaseTextRevisions::BaseId))
                .col(integer(KnowledgeBaseTextRevisions::Revision))
                .col(string_len(KnowledgeBaseTextRevisions::Title, 300))
                .col(json(KnowledgeBaseTextRevisions::Synonyms))
                .col(json(KnowledgeBaseTextRevisions::Modules))
                .col(timestamp_with_time_zone(
                    KnowledgeBaseTextRevisions::CreatedAt,
                ))
                .primary_key(
                    Index::create()
                        .col(KnowledgeBaseTextRevisions::BaseId)
                        .col(KnowledgeBaseTextRevisions::Revision),
                )
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO knowledge_base_text_revisions \
                 (base_id, revision, title, synonyms, modules, created_at) \
                 SELECT id, revision, title, synonyms, modules, updated_at \
                 FROM knowledge_base_texts",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(KnowledgeBaseTextRevisions::Table)
                .to_owned(),
        )
        .await
    }
}
