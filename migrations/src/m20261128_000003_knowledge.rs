//! Knowledge: service descriptions per tenant with their versions, org units (offices) with
//! opening hours, the operator's catalogue of base texts, and the change feed that keeps every
//! instance's search index up to date.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum KnowledgeBaseTexts {
    Table,
    Id,
    Leika,
    Level,
    Title,
    Synonyms,
    Modules,
    Revision,
    Demo,
    CreatedAt,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum KnowledgeOrgUnits {
    Table,
    Id,
    TenantId,
    ExternalId,
    Name,
    Street,
    HouseNumber,
    PostalCode,
    City,
    Phone,
    Email,
    WeeklyHours,
    ClosingDays,
    SpecialDays,
    Demo,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum KnowledgeServices {
    Table,
    Id,
    TenantId,
    Leika,
    Title,
    Synonyms,
    Modules,
    Status,
    Version,
    OrgUnitId,
    ContactOrgUnitId,
    BaseId,
    BaseReviewedRevision,
    Demo,
    CreatedBy,
    CreatedAt,
    UpdatedBy,
    UpdatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum KnowledgeServiceVersions {
    Table,
    Id,
    TenantId,
    ServiceId,
    Version,
    Kind,
    Status,
    Title,
    Synonyms,
    Modules,
    OrgUnitId,
    ContactOrgUnitId,
    AuthorUserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum KnowledgeChanges {
    Table,
    Id,
    TenantId,
    ServiceId,
    CreatedAt,
}

fn tenant_fk(table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The operator's catalogue (Stammtexte): shared by the whole Verbund, not tenant-owned.
        m.create_table(
            Table::create()
                .table(KnowledgeBaseTexts::Table)
                .col(pk_uuid(KnowledgeBaseTexts::Id))
                .col(string_len(KnowledgeBaseTexts::Leika, 14))
                .col(string_len(KnowledgeBaseTexts::Level, 16))
                .col(string_len(KnowledgeBaseTexts::Title, 300))
                .col(json(KnowledgeBaseTexts::Synonyms))
                .col(json(KnowledgeBaseTexts::Modules))
                .col(integer(KnowledgeBaseTexts::Revision))
                .col(boolean(KnowledgeBaseTexts::Demo))
                .col(timestamp_with_time_zone(KnowledgeBaseTexts::CreatedAt))
                .col(timestamp_with_time_zone(KnowledgeBaseTexts::UpdatedAt))
                .col(uuid_null(KnowledgeBaseTexts::UpdatedBy))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_knowledge_base_texts_leika")
                .table(KnowledgeBaseTexts::Table)
                .col(KnowledgeBaseTexts::Leika)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(KnowledgeOrgUnits::Table)
                .col(pk_uuid(KnowledgeOrgUnits::Id))
                .col(uuid(KnowledgeOrgUnits::TenantId))
                .col(string_len_null(KnowledgeOrgUnits::ExternalId, 200))
                .col(string_len(KnowledgeOrgUnits::Name, 300))
                .col(string_len_null(KnowledgeOrgUnits::Street, 200))
                .col(string_len_null(KnowledgeOrgUnits::HouseNumber, 20))
                .col(string_len_null(KnowledgeOrgUnits::PostalCode, 10))
                .col(string_len_null(KnowledgeOrgUnits::City, 200))
                .col(string_len_null(KnowledgeOrgUnits::Phone, 50))
                .col(string_len_null(KnowledgeOrgUnits::Email, 254))
                .col(json(KnowledgeOrgUnits::WeeklyHours))
                .col(json(KnowledgeOrgUnits::ClosingDays))
                .col(json(KnowledgeOrgUnits::SpecialDays))
                .col(boolean(KnowledgeOrgUnits::Demo))
                .col(integer(KnowledgeOrgUnits::Version))
                .col(timestamp_with_time_zone(KnowledgeOrgUnits::CreatedAt))
                .col(timestamp_with_time_zone(KnowledgeOrgUnits::UpdatedAt))
                .foreign_key(&mut tenant_fk(
                    KnowledgeOrgUnits::Table,
                    KnowledgeOrgUnits::TenantId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_knowledge_org_units_external")
                .table(KnowledgeOrgUnits::Table)
                .col(KnowledgeOrgUnits::TenantId)
                .col(KnowledgeOrgUnits::ExternalId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_knowledge_org_units_tenant_name")
                .table(KnowledgeOrgUnits::Table)
                .col(KnowledgeOrgUnits::TenantId)
                .col(KnowledgeOrgUnits::Name)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(KnowledgeServices::Table)
                .col(pk_uuid(KnowledgeServices::Id))
                .col(uuid(KnowledgeServices::TenantId))
                .col(string_len(KnowledgeServices::Leika, 14))
                .col(string_len(KnowledgeServices::Title, 300))
                .col(json(KnowledgeServices::Synonyms))
                .col(json(KnowledgeServices::Modules))
                .col(string_len(KnowledgeServices::Status, 16))
                .col(integer(KnowledgeServices::Version))
                .col(uuid_null(KnowledgeServices::OrgUnitId))
                .col(uuid_null(KnowledgeServices::ContactOrgUnitId))
                .col(uuid_null(KnowledgeServices::BaseId))
                .col(integer_null(KnowledgeServices::BaseReviewedRevision))
                .col(boolean(KnowledgeServices::Demo))
                .col(uuid_null(KnowledgeServices::CreatedBy))
                .col(timestamp_with_time_zone(KnowledgeServices::CreatedAt))
                .col(uuid_null(KnowledgeServices::UpdatedBy))
                .col(timestamp_with_time_zone(KnowledgeServices::UpdatedAt))
                .col(timestamp_with_time_zone_null(
                    KnowledgeServices::PublishedAt,
                ))
                .foreign_key(&mut tenant_fk(
                    KnowledgeServices::Table,
                    KnowledgeServices::TenantId,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(KnowledgeServices::Table, KnowledgeServices::OrgUnitId)
                        .to(KnowledgeOrgUnits::Table, KnowledgeOrgUnits::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            KnowledgeServices::Table,
                            KnowledgeServices::ContactOrgUnitId,
                        )
                        .to(KnowledgeOrgUnits::Table, KnowledgeOrgUnits::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(KnowledgeServices::Table, KnowledgeServices::BaseId)
                        .to(KnowledgeBaseTexts::Table, KnowledgeBaseTexts::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        // One description per tenant and LeiKa key: imports are idempotent on it.
        m.create_index(
            Index::create()
                .name("uq_knowledge_services_tenant_leika")
                .table(KnowledgeServices::Table)
                .col(KnowledgeServices::TenantId)
                .col(KnowledgeServices::Leika)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_knowledge_services_tenant_status_title")
                .table(KnowledgeServices::Table)
                .col(KnowledgeServices::TenantId)
                .col(KnowledgeServices::Status)
                .col(KnowledgeServices::Title)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_knowledge_services_tenant_base")
                .table(KnowledgeServices::Table)
                .col(KnowledgeServices::TenantId)
                .col(KnowledgeServices::BaseId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(KnowledgeServiceVersions::Table)
                .col(pk_uuid(KnowledgeServiceVersions::Id))
                .col(uuid(KnowledgeServiceVersions::TenantId))
                .col(uuid(KnowledgeServiceVersions::ServiceId))
                .col(integer(KnowledgeServiceVersions::Version))
                .col(string_len(KnowledgeServiceVersions::Kind, 32))
                .col(string_len(KnowledgeServiceVersions::Status, 16))
                .col(string_len(KnowledgeServiceVersions::Title, 300))
                .col(json(KnowledgeServiceVersions::Synonyms))
                .col(json(KnowledgeServiceVersions::Modules))
                .col(uuid_null(KnowledgeServiceVersions::OrgUnitId))
                .col(uuid_null(KnowledgeServiceVersions::ContactOrgUnitId))
                .col(uuid_null(KnowledgeServiceVersions::AuthorUserId))
                .col(timestamp_with_time_zone(
                    KnowledgeServiceVersions::CreatedAt,
                ))
                .foreign_key(&mut tenant_fk(
                    KnowledgeServiceVersions::Table,
                    KnowledgeServiceVersions::TenantId,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            KnowledgeServiceVersions::Table,
                            KnowledgeServiceVersions::ServiceId,
                        )
                        .to(KnowledgeServices::Table, KnowledgeServices::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_knowledge_service_versions")
                .table(KnowledgeServiceVersions::Table)
                .col(KnowledgeServiceVersions::TenantId)
                .col(KnowledgeServiceVersions::ServiceId)
                .col(KnowledgeServiceVersions::Version)
                .unique()
                .to_owned(),
        )
        .await?;

        // The change feed: one row per changed description, written in the transaction of the
        // change. Every instance polls it (by id) to update its search index.
        m.create_table(
            Table::create()
                .table(KnowledgeChanges::Table)
                .col(pk_auto(KnowledgeChanges::Id))
                .col(uuid(KnowledgeChanges::TenantId))
                .col(uuid(KnowledgeChanges::ServiceId))
                .col(timestamp_with_time_zone(KnowledgeChanges::CreatedAt))
                .foreign_key(&mut tenant_fk(
                    KnowledgeChanges::Table,
                    KnowledgeChanges::TenantId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_knowledge_changes_tenant_service")
                .table(KnowledgeChanges::Table)
                .col(KnowledgeChanges::TenantId)
                .col(KnowledgeChanges::ServiceId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            KnowledgeChanges::Table.into_iden(),
            KnowledgeServiceVersions::Table.into_iden(),
            KnowledgeServices::Table.into_iden(),
            KnowledgeOrgUnits::Table.into_iden(),
            KnowledgeBaseTexts::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
