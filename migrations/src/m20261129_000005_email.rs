//! The e-mail channel: raw inbound mail (stored before anything else happens), its
//! attachments, IMAP mailboxes per tenant, and the durable outbox.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Mailboxes {
    Table,
    Id,
    TenantId,
    Name,
    Host,
    Port,
    Security,
    Username,
    Secret,
    Folder,
    ProcessedFolder,
    IntervalSeconds,
    Enabled,
    LockedBy,
    LockedUntil,
    LastPolledAt,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InboundMails {
    Table,
    Id,
    TenantId,
    Source,
    MailboxId,
    MessageId,
    ContentHash,
    Raw,
    Size,
    State,
    Outcome,
    TicketId,
    OutboxId,
    FromAddress,
    Subject,
    BodyText,
    QuotedText,
    AutoReason,
    SenderMismatch,
    Error,
    ClaimedUntil,
    ReceivedAt,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum MailAttachments {
    Table,
    Id,
    InboundMailId,
    TenantId,
    TicketId,
    Filename,
    ContentType,
    Size,
    Inline,
    ContentId,
    Data,
    Omitted,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxMails {
    Table,
    Id,
    TenantId,
    TicketId,
    Kind,
    FromAddress,
    FromName,
    ToAddress,
    Subject,
    Body,
    MessageId,
    InReplyTo,
    References,
    AutoSubmitted,
    State,
    Attempts,
    NextAttemptAt,
    ClaimToken,
    ClaimedUntil,
    LastError,
    SentAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

fn tenant_fk(table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Mailboxes::Table)
                .col(pk_uuid(Mailboxes::Id))
                .col(uuid(Mailboxes::TenantId))
                .col(string_len(Mailboxes::Name, 200))
                .col(string_len(Mailboxes::Host, 253))
                .col(integer(Mailboxes::Port))
                .col(string_len(Mailboxes::Security, 16))
                .col(string_len(Mailboxes::Username, 254))
                .col(text(Mailboxes::Secret))
                .col(string_len(Mailboxes::Folder, 200))
                .col(string_len_null(Mailboxes::ProcessedFolder, 200))
                .col(integer(Mailboxes::IntervalSeconds))
                .col(boolean(Mailboxes::Enabled))
                .col(string_len_null(Mailboxes::LockedBy, 64))
                .col(timestamp_with_time_zone_null(Mailboxes::LockedUntil))
                .col(timestamp_with_time_zone_null(Mailboxes::LastPolledAt))
                .col(text_null(Mailboxes::LastError))
                .col(timestamp_with_time_zone(Mailboxes::CreatedAt))
                .col(timestamp_with_time_zone(Mailboxes::UpdatedAt))
                .foreign_key(&mut tenant_fk(Mailboxes::Table, Mailboxes::TenantId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_mailboxes_tenant")
                .table(Mailboxes::Table)
                .col(Mailboxes::TenantId)
                .to_owned(),
        )
        .await?;

        // No foreign key to tenants: a mail for no tenant waits in the operators' catch-all.
        m.create_table(
            Table::create()
                .table(InboundMails::Table)
                .col(pk_uuid(InboundMails::Id))
                .col(uuid_null(InboundMails::TenantId))
                .col(string_len(InboundMails::Source, 8))
                .col(uuid_null(InboundMails::MailboxId))
                .col(string_len_null(InboundMails::MessageId, 998))
                .col(string_len(InboundMails::ContentHash, 64))
                .col(blob_null(InboundMails::Raw))
                .col(big_integer(InboundMails::Size))
                .col(string_len(InboundMails::State, 16))
                .col(string_len_null(InboundMails::Outcome, 24))
                .col(uuid_null(InboundMails::TicketId))
                .col(uuid_null(InboundMails::OutboxId))
                .col(string_len_null(InboundMails::FromAddress, 254))
                .col(text_null(InboundMails::Subject))
                .col(text_null(InboundMails::BodyText))
                .col(text_null(InboundMails::QuotedText))
                .col(string_len_null(InboundMails::AutoReason, 24))
                .col(boolean(InboundMails::SenderMismatch))
                .col(text_null(InboundMails::Error))
                .col(timestamp_with_time_zone_null(InboundMails::ClaimedUntil))
                .col(timestamp_with_time_zone(InboundMails::ReceivedAt))
                .col(timestamp_with_time_zone_null(InboundMails::ProcessedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_inbound_mails_hash")
                .table(InboundMails::Table)
                .col(InboundMails::ContentHash)
                .unique()
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_inbound_mails_message_id",
                vec![InboundMails::MessageId],
            ),
            (
                "idx_inbound_mails_ticket",
                vec![InboundMails::TicketId, InboundMails::ReceivedAt],
            ),
            (
                "idx_inbound_mails_tenant_state",
                vec![
                    InboundMails::TenantId,
                    InboundMails::State,
                    InboundMails::ReceivedAt,
                ],
            ),
            (
                "idx_inbound_mails_state",
                vec![InboundMails::State, InboundMails::ReceivedAt],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(InboundMails::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(MailAttachments::Table)
                .col(pk_uuid(MailAttachments::Id))
                .col(uuid(MailAttachments::InboundMailId))
                .col(uuid_null(MailAttachments::TenantId))
                .col(uuid_null(MailAttachments::TicketId))
                .col(string_len_null(MailAttachments::Filename, 255))
                .col(string_len(MailAttachments::ContentType, 255))
                .col(big_integer(MailAttachments::Size))
                .col(boolean(MailAttachments::Inline))
                .col(string_len_null(MailAttachments::ContentId, 255))
                .col(blob_null(MailAttachments::Data))
                .col(boolean(MailAttachments::Omitted))
                .col(timestamp_with_time_zone(MailAttachments::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(MailAttachments::Table, MailAttachments::InboundMailId)
                        .to(InboundMails::Table, InboundMails::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_mail_attachments_mail")
                .table(MailAttachments::Table)
                .col(MailAttachments::InboundMailId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OutboxMails::Table)
                .col(pk_uuid(OutboxMails::Id))
                .col(uuid(OutboxMails::TenantId))
                .col(uuid_null(OutboxMails::TicketId))
                .col(string_len(OutboxMails::Kind, 16))
                .col(string_len(OutboxMails::FromAddress, 254))
                .col(string_len_null(OutboxMails::FromName, 200))
                .col(string_len(OutboxMails::ToAddress, 254))
                .col(text(OutboxMails::Subject))
                .col(text(OutboxMails::Body))
                .col(string_len_uniq(OutboxMails::MessageId, 255))
                .col(string_len_null(OutboxMails::InReplyTo, 998))
                .col(text_null(OutboxMails::References))
                .col(boolean(OutboxMails::AutoSubmitted))
                .col(string_len(OutboxMails::State, 16))
                .col(integer(OutboxMails::Attempts))
                .col(timestamp_with_time_zone(OutboxMails::NextAttemptAt))
                .col(uuid_null(OutboxMails::ClaimToken))
                .col(timestamp_with_time_zone_null(OutboxMails::ClaimedUntil))
                .col(text_null(OutboxMails::LastError))
                .col(timestamp_with_time_zone_null(OutboxMails::SentAt))
                .col(uuid_null(OutboxMails::CreatedBy))
                .col(timestamp_with_time_zone(OutboxMails::CreatedAt))
                .col(timestamp_with_time_zone(OutboxMails::UpdatedAt))
                .foreign_key(&mut tenant_fk(OutboxMails::Table, OutboxMails::TenantId))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "idx_outbox_mails_due",
                vec![OutboxMails::State, OutboxMails::NextAttemptAt],
            ),
            (
                "idx_outbox_mails_tenant",
                vec![OutboxMails::TenantId, OutboxMails::CreatedAt],
            ),
            (
                "idx_outbox_mails_ticket",
                vec![OutboxMails::TicketId, OutboxMails::CreatedAt],
            ),
            (
                "idx_outbox_mails_receipts",
                vec![
                    OutboxMails::ToAddress,
                    OutboxMails::Kind,
                    OutboxMails::CreatedAt,
                ],
            ),
            ("idx_outbox_mails_claim", vec![OutboxMails::ClaimToken]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(OutboxMails::Table);
            for c in cols {
                idx.col(c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            OutboxMails::Table.into_iden(),
            MailAttachments::Table.into_iden(),
            InboundMails::Table.into_iden(),
            Mailboxes::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
