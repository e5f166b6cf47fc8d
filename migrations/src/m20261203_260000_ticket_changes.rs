//! The ticket change feed: one `ticket_changes` row for every change of a ticket, written in
//! the statement batch or transaction that writes the ticket's history row. Every instance
//! follows it, so the live queues of all instances learn of a change made on any of them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TicketChanges {
    Table,
    Id,
    TicketId,
    TenantId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TicketChanges::Table)
                .col(pk_auto(TicketChanges::Id))
                .col(uuid(TicketChanges::TicketId))
                .col(uuid(TicketChanges::TenantId))
                .col(timestamp_with_time_zone(TicketChanges::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ticket_changes_created_at")
                .table(TicketChanges::Table)
                .col(TicketChanges::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TicketChanges::Table).to_owned())
            .await
    }
}
