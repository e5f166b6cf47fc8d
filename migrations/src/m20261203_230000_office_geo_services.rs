//! Offices from real exports: an office's geo position (WGS 84 latitude and longitude, both
//! or neither) and the descriptions it offers (`knowledge_org_unit_services`, one row per
//! office and description, keyed by tenant first like every tenant-owned key).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum KnowledgeOrgUnits {
    Table,
    Id,
    Latitude,
    Longitude,
}

#[derive(DeriveIden)]
enum KnowledgeServices {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum KnowledgeOrgUnitServices {
    Table,
    TenantId,
    OrgUnitId,
    ServiceId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [KnowledgeOrgUnits::Latitude, KnowledgeOrgUnits::Longitude] {
            m.alter_table(
                Table::alter()
                    .table(KnowledgeOrgUnits::Table)
                    .add_column(double_null(column))
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(KnowledgeOrgUnitServices::Table)
                .col(uuid(KnowledgeOrgUnitServices::TenantId))
                .col(uuid(KnowledgeOrgUnitServices::OrgUnitId))
                .col(uuid(KnowledgeOrgUnitServices::ServiceId))
                .col(timestamp_with_time_zone(
                    KnowledgeOrgUnitServices::CreatedAt,
                ))
                .primary_key(
                    Index::create()
                        .col(KnowledgeOrgUnitServices::TenantId)
                        .col(KnowledgeOrgUnitServices::OrgUnitId)
                        .col(KnowledgeOrgUnitServices::ServiceId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            KnowledgeOrgUnitServices::Table,
                            KnowledgeOrgUnitServices::TenantId,
                        )
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            KnowledgeOrgUnitServices::Table,
                            KnowledgeOrgUnitServices::OrgUnitId,
                        )
                        .to(KnowledgeOrgUnits::Table, KnowledgeOrgUnits::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            KnowledgeOrgUnitServices::Table,
                            KnowledgeOrgUnitServices::ServiceId,
                        )
                        .to(KnowledgeServices::Table, KnowledgeServices::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // "Which offices offer this description?"
        m.create_index(
            Index::create()
                .name("idx_knowledge_org_unit_services_service")
                .table(KnowledgeOrgUnitServices::Table)
                .col(KnowledgeOrgUnitServices::TenantId)
                .col(KnowledgeOrgUnitServices::ServiceId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(KnowledgeOrgUnitServices::Table)
                .to_owned(),
        )
        .await?;
        for column in [KnowledgeOrgUnits::Longitude, KnowledgeOrgUnits::Latitude] {
            m.alter_table(
                Table::alter()
                    .table(KnowledgeOrgUnits::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
