//! Inbound mail counts its processing attempts. The count is raised in its own committed
//! statement before a stored mail is parsed, so that a mail whose processing aborts the
//! process (which no code can catch) is seen after the restart: a mail still unprocessed
//! after two attempts is quarantined for a human instead of being processed again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InboundMails {
    Table,
    Attempts,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(InboundMails::Table)
                .add_column(integer(InboundMails::Attempts).default(0))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(InboundMails::Table)
                .drop_column(InboundMails::Attempts)
                .to_owned(),
        )
        .await
    }
}
