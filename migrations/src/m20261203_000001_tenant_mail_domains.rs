//! Mail domains per tenant: the operator assigns them, and a tenant may claim inbound addresses
//! (and its sender address) only in its own domains.
//!
//! Existing data: every tenant gets the domains of the addresses it already has, so nothing that
//! works today stops working. A configured sender (`settings.mail_from`) that is not one of the
//! tenant's own addresses is adopted as an address when it lies in one of the tenant's domains and
//! no tenant has it yet; otherwise it is removed, and the tenant sends from its first own address
//! again (the default).

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TenantMailDomains {
    Table,
    TenantId,
    Domain,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Keyed by tenant first (a tenant-sharded database stays possible). The same domain may
        // be assigned to several tenants on purpose (a shared domain); addresses stay unique
        // across the Verbund through `tenant_mail_addresses`' primary key.
        m.create_table(
            Table::create()
                .table(TenantMailDomains::Table)
                .col(uuid(TenantMailDomains::TenantId))
                .col(string_len(TenantMailDomains::Domain, 253))
                .col(timestamp_with_time_zone(TenantMailDomains::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(TenantMailDomains::TenantId)
                        .col(TenantMailDomains::Domain),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(TenantMailDomains::Table, TenantMailDomains::TenantId)
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_tenant_mail_domains_domain")
                .table(TenantMailDomains::Table)
                .col(TenantMailDomains::Domain)
                .to_owned(),
        )
        .await?;

        let db = m.get_connection();
        let sql: [&str; 3] = match m.get_database_backend() {
            DatabaseBackend::Postgres => [
                // Addresses are stored lower-cased with exactly one '@'.
                "INSERT INTO tenant_mail_domains (tenant_id, domain, created_at) \
                 SELECT tenant_id, split_part(address, '@', 2), MIN(created_at) \
                 FROM tenant_mail_addresses GROUP BY tenant_id, split_part(address, '@', 2)",
                "INSERT INTO tenant_mail_addresses (address, tenant_id, created_at) \
                 SELECT DISTINCT ON (lower(trim(t.settings->>'mail_from'))) \
                        lower(trim(t.settings->>'mail_from')), t.id, t.updated_at \
                 FROM tenants t \
                 WHERE t.settings->>'mail_from' IS NOT NULL \
                   AND EXISTS (SELECT 1 FROM tenant_mail_domains d WHERE d.tenant_id = t.id \
                       AND d.domain = split_part(lower(trim(t.settings->>'mail_from')), '@', 2)) \
                   AND NOT EXISTS (SELECT 1 FROM tenant_mail_addresses a \
                       WHERE a.address = lower(trim(t.settings->>'mail_from'))) \
                 ORDER BY lower(trim(t.settings->>'mail_from')), t.id",
                "UPDATE tenants SET settings = (settings::jsonb - 'mail_from')::json \
                 WHERE settings->>'mail_from' IS NOT NULL \
                   AND NOT EXISTS (SELECT 1 FROM tenant_mail_addresses a \
                       WHERE a.tenant_id = tenants.id \
                         AND a.address = lower(trim(tenants.settings->>'mail_from')))",
            ],
            _ => [
                "INSERT INTO tenant_mail_domains (tenant_id, domain, created_at) \
                 SELECT tenant_id, substr(address, instr(address, '@') + 1), MIN(created_at) \
                 FROM tenant_mail_addresses \
                 GROUP BY tenant_id, substr(address, instr(address, '@') + 1)",
                // On a conflict between two tenants naming the same sender, the first wins
                // (OR IGNORE); the other's sender is removed by the next statement.
                "INSERT OR IGNORE INTO tenant_mail_addresses (address, tenant_id, created_at) \
                 SELECT lower(trim(json_extract(t.settings, '$.mail_from'))), t.id, t.updated_at \
                 FROM tenants t \
                 WHERE json_extract(t.settings, '$.mail_from') IS NOT NULL \
                   AND EXISTS (SELECT 1 FROM tenant_mail_domains d WHERE d.tenant_id = t.id \
                       AND d.domain = substr(lower(trim(json_extract(t.settings, '$.mail_from'))), \
                           instr(lower(trim(json_extract(t.settings, '$.mail_from'))), '@') + 1)) \
                 ORDER BY t.id",
                "UPDATE tenants SET settings = json_remove(settings, '$.mail_from') \
                 WHERE json_extract(settings, '$.mail_from') IS NOT NULL \
                   AND NOT EXISTS (SELECT 1 FROM tenant_mail_addresses a \
                       WHERE a.tenant_id = tenants.id \
                         AND a.address = lower(trim(json_extract(tenants.settings, '$.mail_from'))))",
            ],
        };
        for statement in sql {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TenantMailDomains::Table).to_owned())
            .await
    }
}
