//! Tenants, service centers, users, role assignments, sessions, login throttling and the audit
//! trail.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    Ags,
    State,
    TimeZone,
    TicketPrefix,
    Settings,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TenantMailAddresses {
    Table,
    Address,
    TenantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ServiceCenters {
    Table,
    Id,
    Slug,
    Name,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CenterTenants {
    Table,
    CenterId,
    TenantId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    PasswordHash,
    TenantId,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RoleAssignments {
    Table,
    Id,
    UserId,
    Role,
    TenantId,
    CenterId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    ClientIp,
    UserAgent,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStartedAt,
    LockedUntil,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    TenantId,
    ActorUserId,
    Action,
    TargetType,
    TargetId,
    Detail,
    CreatedAt,
}

/// A counter bumped in every transaction that changes who may do what (logout, deactivation,
/// roles, centers, tenants). Instances poll it to drop their cached actors.
#[derive(DeriveIden)]
enum AuthEpoch {
    Table,
    Id,
    Epoch,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tenants::Table)
                .col(pk_uuid(Tenants::Id))
                .col(string_len_uniq(Tenants::Slug, 63))
                .col(string_len(Tenants::Name, 200))
                .col(string_len(Tenants::Ags, 12))
                .col(string_len(Tenants::State, 2))
                .col(string_len(Tenants::TimeZone, 64))
                .col(string_len_uniq(Tenants::TicketPrefix, 8))
                .col(json(Tenants::Settings))
                .col(boolean(Tenants::Active))
                .col(timestamp_with_time_zone(Tenants::CreatedAt))
                .col(timestamp_with_time_zone(Tenants::UpdatedAt))
                .to_owned(),
        )
        .await?;

        // Inbound addresses are a global routing table: one address selects exactly one tenant.
        m.create_table(
            Table::create()
                .table(TenantMailAddresses::Table)
                .col(string_len(TenantMailAddresses::Address, 254).primary_key())
                .col(uuid(TenantMailAddresses::TenantId))
                .col(timestamp_with_time_zone(TenantMailAddresses::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(TenantMailAddresses::Table, TenantMailAddresses::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_tenant_mail_addresses_tenant")
                .table(TenantMailAddresses::Table)
                .col(TenantMailAddresses::TenantId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ServiceCenters::Table)
                .col(pk_uuid(ServiceCenters::Id))
                .col(string_len_uniq(ServiceCenters::Slug, 63))
                .col(string_len(ServiceCenters::Name, 200))
                .col(boolean(ServiceCenters::Active))
                .col(timestamp_with_time_zone(ServiceCenters::CreatedAt))
                .col(timestamp_with_time_zone(ServiceCenters::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(CenterTenants::Table)
                .col(uuid(CenterTenants::CenterId))
                .col(uuid(CenterTenants::TenantId))
                .col(timestamp_with_time_zone(CenterTenants::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(CenterTenants::CenterId)
                        .col(CenterTenants::TenantId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CenterTenants::Table, CenterTenants::CenterId)
                        .to(ServiceCenters::Table, ServiceCenters::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CenterTenants::Table, CenterTenants::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_center_tenants_tenant")
                .table(CenterTenants::Table)
                .col(CenterTenants::TenantId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_uuid(Users::Id))
                .col(string_len_uniq(Users::Email, 254))
                .col(string_len(Users::DisplayName, 200))
                .col(string_len(Users::PasswordHash, 255))
                .col(uuid_null(Users::TenantId))
                .col(boolean(Users::Active))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Users::Table, Users::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_users_tenant")
                .table(Users::Table)
                .col(Users::TenantId)
                .col(Users::Email)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(RoleAssignments::Table)
                .col(pk_uuid(RoleAssignments::Id))
                .col(uuid(RoleAssignments::UserId))
                .col(string_len(RoleAssignments::Role, 32))
                .col(uuid_null(RoleAssignments::TenantId))
                .col(uuid_null(RoleAssignments::CenterId))
                .col(timestamp_with_time_zone(RoleAssignments::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RoleAssignments::Table, RoleAssignments::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(RoleAssignments::Table, RoleAssignments::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(RoleAssignments::Table, RoleAssignments::CenterId)
                        .to(ServiceCenters::Table, ServiceCenters::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_role_assignments_user")
                .table(RoleAssignments::Table)
                .col(RoleAssignments::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_role_assignments_tenant")
                .table(RoleAssignments::Table)
                .col(RoleAssignments::TenantId)
                .col(RoleAssignments::Role)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_role_assignments_center")
                .table(RoleAssignments::Table)
                .col(RoleAssignments::CenterId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(pk_uuid(Sessions::Id))
                .col(uuid(Sessions::UserId))
                .col(timestamp_with_time_zone(Sessions::CreatedAt))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                .col(string_len_null(Sessions::ClientIp, 64))
                .col(string_len_null(Sessions::UserAgent, 255))
                .foreign_key(
                    ForeignKey::create()
                        .from(Sessions::Table, Sessions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LoginThrottle::Table)
                .col(string_len(LoginThrottle::Key, 300).primary_key())
                .col(integer(LoginThrottle::Failures))
                .col(timestamp_with_time_zone(LoginThrottle::WindowStartedAt))
                .col(timestamp_with_time_zone_null(LoginThrottle::LockedUntil))
                .col(timestamp_with_time_zone(LoginThrottle::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(pk_uuid(AuditEvents::Id))
                .col(uuid_null(AuditEvents::TenantId))
                .col(uuid_null(AuditEvents::ActorUserId))
                .col(string_len(AuditEvents::Action, 64))
                .col(string_len(AuditEvents::TargetType, 32))
                .col(string_len(AuditEvents::TargetId, 64))
                .col(json(AuditEvents::Detail))
                .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuthEpoch::Table)
                .col(integer(AuthEpoch::Id).primary_key())
                .col(big_integer(AuthEpoch::Epoch))
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::insert()
                .into_table(AuthEpoch::Table)
                .columns([AuthEpoch::Id, AuthEpoch::Epoch])
                .values_panic([1.into(), 0i64.into()])
                .to_owned(),
        )
        .await?;

        m.create_index(
            Index::create()
                .name("idx_audit_events_tenant_time")
                .table(AuditEvents::Table)
                .col(AuditEvents::TenantId)
                .col(AuditEvents::CreatedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuthEpoch::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            LoginThrottle::Table.into_iden(),
            Sessions::Table.into_iden(),
            RoleAssignments::Table.into_iden(),
            Users::Table.into_iden(),
            CenterTenants::Table.into_iden(),
            ServiceCenters::Table.into_iden(),
            TenantMailAddresses::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
