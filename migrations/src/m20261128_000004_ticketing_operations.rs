//! Operating the 115 promise: in-app notifications from escalation, coverage between centers,
//! text modules, and the access log of personal data.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ServiceCenters {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    TenantId,
    UserId,
    Queue,
    TicketId,
    Kind,
    Body,
    CreatedAt,
    ReadAt,
}

#[derive(DeriveIden)]
enum CenterCoverages {
    Table,
    Id,
    TenantId,
    CenterId,
    StartsAt,
    EndsAt,
    Reason,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum TextTemplates {
    Table,
    Id,
    TenantId,
    Name,
    Body,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PersonalDataAccess {
    Table,
    Id,
    TenantId,
    TicketId,
    UserId,
    Action,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(pk_uuid(Notifications::Id))
                .col(uuid(Notifications::TenantId))
                .col(uuid_null(Notifications::UserId))
                .col(string_len_null(Notifications::Queue, 80))
                .col(uuid_null(Notifications::TicketId))
                .col(string_len(Notifications::Kind, 32))
                .col(text(Notifications::Body))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Notifications::Table, Notifications::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_notifications_tenant_user")
                .table(Notifications::Table)
                .col(Notifications::TenantId)
                .col(Notifications::UserId)
                .col(Notifications::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CenterCoverages::Table)
                .col(pk_uuid(CenterCoverages::Id))
                .col(uuid(CenterCoverages::TenantId))
                .col(uuid(CenterCoverages::CenterId))
                .col(timestamp_with_time_zone(CenterCoverages::StartsAt))
                .col(timestamp_with_time_zone(CenterCoverages::EndsAt))
                .col(text(CenterCoverages::Reason))
                .col(uuid(CenterCoverages::CreatedBy))
                .col(timestamp_with_time_zone(CenterCoverages::CreatedAt))
                .col(timestamp_with_time_zone_null(CenterCoverages::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CenterCoverages::Table, CenterCoverages::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CenterCoverages::Table, CenterCoverages::CenterId)
                        .to(ServiceCenters::Table, ServiceCenters::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_center_coverages_center")
                .table(CenterCoverages::Table)
                .col(CenterCoverages::CenterId)
                .col(CenterCoverages::EndsAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_center_coverages_tenant")
                .table(CenterCoverages::Table)
                .col(CenterCoverages::TenantId)
                .col(CenterCoverages::EndsAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TextTemplates::Table)
                .col(pk_uuid(TextTemplates::Id))
                .col(uuid(TextTemplates::TenantId))
                .col(string_len(TextTemplates::Name, 200))
                .col(text(TextTemplates::Body))
                .col(timestamp_with_time_zone(TextTemplates::CreatedAt))
                .col(timestamp_with_time_zone(TextTemplates::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(TextTemplates::Table, TextTemplates::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_text_templates_tenant_name")
                .table(TextTemplates::Table)
                .col(TextTemplates::TenantId)
                .col(TextTemplates::Name)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PersonalDataAccess::Table)
                .col(pk_uuid(PersonalDataAccess::Id))
                .col(uuid(PersonalDataAccess::TenantId))
                .col(uuid(PersonalDataAccess::TicketId))
                .col(uuid(PersonalDataAccess::UserId))
                .col(string_len(PersonalDataAccess::Action, 32))
                .col(timestamp_with_time_zone(PersonalDataAccess::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_personal_data_access_tenant_time")
                .table(PersonalDataAccess::Table)
                .col(PersonalDataAccess::TenantId)
                .col(PersonalDataAccess::CreatedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PersonalDataAccess::Table.into_iden(),
            TextTemplates::Table.into_iden(),
            CenterCoverages::Table.into_iden(),
            Notifications::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
