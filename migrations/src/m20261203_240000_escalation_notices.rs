//! Escalation notices: one row per ticket, level and tenant told (`at_risk`, `overdue`,
//! `unaccepted`), written when the escalation job marks a ticket and sent by the same job at
//! the told tenant's next opening. The unique key makes "at most once per ticket and level" a
//! property of the database, not only of the code: a second instance's insert does nothing.
//! `occasion` is `deadline` for the deadline levels and the forward's id for `unaccepted`, so
//! a ticket forwarded twice can escalate once per forward.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum EscalationNotices {
    Table,
    Id,
    TenantId,
    TicketId,
    Level,
    Audience,
    Occasion,
    CreatedAt,
    SendAfter,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EscalationNotices::Table)
                .col(pk_uuid(EscalationNotices::Id))
                .col(uuid(EscalationNotices::TenantId))
                .col(uuid(EscalationNotices::TicketId))
                .col(string_len(EscalationNotices::Level, 16).check((
                    "ck_escalation_notices_level",
                    Expr::col(EscalationNotices::Level).is_in(["at_risk", "overdue", "unaccepted"]),
                )))
                .col(string_len(EscalationNotices::Audience, 16).check((
                    "ck_escalation_notices_audience",
                    Expr::col(EscalationNotices::Audience).is_in(["holder", "origin", "receiver"]),
                )))
                .col(string_len(EscalationNotices::Occasion, 64))
                .col(timestamp_with_time_zone(EscalationNotices::CreatedAt))
                .col(timestamp_with_time_zone(EscalationNotices::SendAfter))
                .col(timestamp_with_time_zone_null(EscalationNotices::SentAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(EscalationNotices::Table, EscalationNotices::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(EscalationNotices::Table, EscalationNotices::TicketId)
                        .to(Tickets::Table, Tickets::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_escalation_notices_once")
                .table(EscalationNotices::Table)
                .col(EscalationNotices::TenantId)
                .col(EscalationNotices::TicketId)
                .col(EscalationNotices::Level)
                .col(EscalationNotices::Occasion)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_escalation_notices_tenant_unsent")
                .table(EscalationNotices::Table)
                .col(EscalationNotices::TenantId)
                .col(EscalationNotices::SentAt)
                .col(EscalationNotices::SendAfter)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(EscalationNotices::Table).to_owned())
            .await
    }
}
