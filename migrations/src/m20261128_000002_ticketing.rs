//! Contacts, tickets with per-tenant numbers, their append-only history, notes, call attempts
//! and forwards between tenants.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    TenantId,
    CenterId,
    AgentUserId,
    Channel,
    ServiceId,
    Topic,
    SolvedFirstContact,
    DurationSeconds,
    TicketId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TicketCounters {
    Table,
    TenantId,
    Year,
    LastNumber,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    TenantId,
    Number,
    Subject,
    Question,
    CitizenName,
    CitizenPhone,
    CitizenEmail,
    CitizenAddress,
    AnswerChannel,
    CallbackWindows,
    ServiceId,
    State,
    AssigneeUserId,
    Queue,
    Priority,
    DueAt,
    AtRisk,
    Overdue,
    FailedCallAttempts,
    NeedsOtherChannel,
    OriginTenantId,
    ForwardState,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ClosedAt,
    FirstAnsweredAt,
    AnonymizedAt,
    Version,
}

#[derive(DeriveIden)]
enum TicketEvents {
    Table,
    Id,
    TenantId,
    TicketId,
    ActorUserId,
    Kind,
    Before,
    After,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TicketNotes {
    Table,
    Id,
    TenantId,
    TicketId,
    AuthorUserId,
    Kind,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CallAttempts {
    Table,
    Id,
    TenantId,
    TicketId,
    AgentUserId,
    Outcome,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TicketForwards {
    Table,
    Id,
    TicketId,
    FromTenantId,
    ToTenantId,
    ToQueue,
    Reason,
    ForwardedBy,
    State,
    DecidedBy,
    DecidedAt,
    ReturnReason,
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
        m.create_table(
            Table::create()
                .table(Tickets::Table)
                .col(pk_uuid(Tickets::Id))
                .col(uuid(Tickets::TenantId))
                .col(string_len(Tickets::Number, 32))
                .col(string_len(Tickets::Subject, 300))
                .col(text(Tickets::Question))
                .col(string_len_null(Tickets::CitizenName, 200))
                .col(string_len_null(Tickets::CitizenPhone, 50))
                .col(string_len_null(Tickets::CitizenEmail, 254))
                .col(text_null(Tickets::CitizenAddress))
                .col(string_len(Tickets::AnswerChannel, 16))
                .col(json(Tickets::CallbackWindows))
                .col(uuid_null(Tickets::ServiceId))
                .col(string_len(Tickets::State, 32))
                .col(uuid_null(Tickets::AssigneeUserId))
                .col(string_len(Tickets::Queue, 80))
                .col(string_len(Tickets::Priority, 16))
                .col(timestamp_with_time_zone(Tickets::DueAt))
                .col(boolean(Tickets::AtRisk))
                .col(boolean(Tickets::Overdue))
                .col(integer(Tickets::FailedCallAttempts))
                .col(boolean(Tickets::NeedsOtherChannel))
                .col(uuid(Tickets::OriginTenantId))
                .col(string_len(Tickets::ForwardState, 16))
                .col(uuid_null(Tickets::CreatedBy))
                .col(timestamp_with_time_zone(Tickets::CreatedAt))
                .col(timestamp_with_time_zone(Tickets::UpdatedAt))
                .col(timestamp_with_time_zone_null(Tickets::ClosedAt))
                .col(timestamp_with_time_zone_null(Tickets::FirstAnsweredAt))
                .col(timestamp_with_time_zone_null(Tickets::AnonymizedAt))
                .col(integer(Tickets::Version))
                .foreign_key(&mut tenant_fk(Tickets::Table, Tickets::TenantId))
                .foreign_key(&mut tenant_fk(Tickets::Table, Tickets::OriginTenantId))
                .to_owned(),
        )
        .await?;
        // Ticket prefixes are unique per tenant, so a number names one ticket in the Verbund;
        // it stays when the ticket is forwarded.
        m.create_index(
            Index::create()
                .name("uq_tickets_number")
                .table(Tickets::Table)
                .col(Tickets::Number)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_tickets_tenant_state_due")
                .table(Tickets::Table)
                .col(Tickets::TenantId)
                .col(Tickets::State)
                .col(Tickets::DueAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_tickets_tenant_due")
                .table(Tickets::Table)
                .col(Tickets::TenantId)
                .col(Tickets::DueAt)
                .col(Tickets::Id)
                .to_owned(),
        )
        .await?;

        m.create_index(
            Index::create()
                .name("idx_tickets_origin_created")
                .table(Tickets::Table)
                .col(Tickets::OriginTenantId)
                .col(Tickets::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TicketCounters::Table)
                .col(uuid(TicketCounters::TenantId))
                .col(integer(TicketCounters::Year))
                .col(big_integer(TicketCounters::LastNumber))
                .primary_key(
                    Index::create()
                        .col(TicketCounters::TenantId)
                        .col(TicketCounters::Year),
                )
                .foreign_key(&mut tenant_fk(
                    TicketCounters::Table,
                    TicketCounters::TenantId,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Contacts::Table)
                .col(pk_uuid(Contacts::Id))
                .col(uuid(Contacts::TenantId))
                .col(uuid_null(Contacts::CenterId))
                .col(uuid(Contacts::AgentUserId))
                .col(string_len(Contacts::Channel, 16))
                .col(uuid_null(Contacts::ServiceId))
                .col(string_len_null(Contacts::Topic, 300))
                .col(boolean(Contacts::SolvedFirstContact))
                .col(integer(Contacts::DurationSeconds))
                .col(uuid_null(Contacts::TicketId))
                .col(timestamp_with_time_zone(Contacts::CreatedAt))
                .foreign_key(&mut tenant_fk(Contacts::Table, Contacts::TenantId))
                .foreign_key(
                    ForeignKey::create()
                        .from(Contacts::Table, Contacts::TicketId)
                        .to(Tickets::Table, Tickets::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_contacts_tenant_time")
                .table(Contacts::Table)
                .col(Contacts::TenantId)
                .col(Contacts::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_contacts_center_time")
                .table(Contacts::Table)
                .col(Contacts::CenterId)
                .col(Contacts::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TicketEvents::Table)
                .col(pk_uuid(TicketEvents::Id))
                .col(uuid(TicketEvents::TenantId))
                .col(uuid(TicketEvents::TicketId))
                .col(uuid_null(TicketEvents::ActorUserId))
                .col(string_len(TicketEvents::Kind, 32))
                .col(json(TicketEvents::Before))
                .col(json(TicketEvents::After))
                .col(timestamp_with_time_zone(TicketEvents::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(TicketEvents::Table, TicketEvents::TicketId)
                        .to(Tickets::Table, Tickets::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ticket_events_ticket")
                .table(TicketEvents::Table)
                .col(TicketEvents::TicketId)
                .col(TicketEvents::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TicketNotes::Table)
                .col(pk_uuid(TicketNotes::Id))
                .col(uuid(TicketNotes::TenantId))
                .col(uuid(TicketNotes::TicketId))
                .col(uuid(TicketNotes::AuthorUserId))
                .col(string_len(TicketNotes::Kind, 16))
                .col(text(TicketNotes::Body))
                .col(timestamp_with_time_zone(TicketNotes::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(TicketNotes::Table, TicketNotes::TicketId)
                        .to(Tickets::Table, Tickets::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ticket_notes_ticket")
                .table(TicketNotes::Table)
                .col(TicketNotes::TicketId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CallAttempts::Table)
                .col(pk_uuid(CallAttempts::Id))
                .col(uuid(CallAttempts::TenantId))
                .col(uuid(CallAttempts::TicketId))
                .col(uuid(CallAttempts::AgentUserId))
                .col(string_len(CallAttempts::Outcome, 16))
                .col(text_null(CallAttempts::Note))
                .col(timestamp_with_time_zone(CallAttempts::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CallAttempts::Table, CallAttempts::TicketId)
                        .to(Tickets::Table, Tickets::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(TicketForwards::Table)
                .col(pk_uuid(TicketForwards::Id))
                .col(uuid(TicketForwards::TicketId))
                .col(uuid(TicketForwards::FromTenantId))
                .col(uuid(TicketForwards::ToTenantId))
                .col(string_len(TicketForwards::ToQueue, 80))
                .col(text(TicketForwards::Reason))
                .col(uuid(TicketForwards::ForwardedBy))
                .col(string_len(TicketForwards::State, 16))
                .col(uuid_null(TicketForwards::DecidedBy))
                .col(timestamp_with_time_zone_null(TicketForwards::DecidedAt))
                .col(text_null(TicketForwards::ReturnReason))
                .col(timestamp_with_time_zone(TicketForwards::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(TicketForwards::Table, TicketForwards::TicketId)
                        .to(Tickets::Table, Tickets::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(&mut tenant_fk(
                    TicketForwards::Table,
                    TicketForwards::FromTenantId,
                ))
                .foreign_key(&mut tenant_fk(
                    TicketForwards::Table,
                    TicketForwards::ToTenantId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ticket_forwards_from")
                .table(TicketForwards::Table)
                .col(TicketForwards::FromTenantId)
                .col(TicketForwards::TicketId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_ticket_forwards_ticket")
                .table(TicketForwards::Table)
                .col(TicketForwards::TicketId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            TicketForwards::Table.into_iden(),
            CallAttempts::Table.into_iden(),
            TicketNotes::Table.into_iden(),
            TicketEvents::Table.into_iden(),
            Contacts::Table.into_iden(),
            TicketCounters::Table.into_iden(),
            Tickets::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
