//! A service description's identity is its own id, not its LeiKa key.
//!
//! - `knowledge_services.external_id`: the id the source system gives the description (e.g.
//!   `1063423`), optional, unique per tenant. Imports match on it first.
//! - `knowledge_service_leika_keys(service_id, tenant_id, leika_key)`: zero, one or several
//!   LeiKa keys per description, several descriptions per key (variants). Indexed by
//!   `(tenant_id, leika_key)` for the `leika=` filters.
//! - `knowledge_services.leika` and its unique index `(tenant_id, leika)` go.
//!
//! Existing data: every description keeps its key as its one row in the key table, in the
//! same migration, so nothing is lost.
//!
//! `down` restores the column from the key table when it can do so without loss: it refuses
//! (and changes nothing) while a description has no key or several, or two descriptions of a
//! tenant share a key, or an external id is set, naming how many.

use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum KnowledgeServices {
    Table,
    Id,
    TenantId,
    Leika,
    ExternalId,
}

#[derive(DeriveIden)]
enum KnowledgeServiceLeikaKeys {
    Table,
    ServiceId,
    TenantId,
    LeikaKey,
}

const UNIQUE_LEIKA: &str = "uq_knowledge_services_tenant_leika";
const UNIQUE_EXTERNAL: &str = "uq_knowledge_services_tenant_external";
const KEY_INDEX: &str = "idx_knowledge_service_leika_keys_tenant_key";

async fn count(m: &SchemaManager<'_>, sql: &str) -> Result<i64, DbErr> {
    let db = m.get_connection();
    let row = db
        .query_one_raw(Statement::from_string(m.get_database_backend(), sql))
        .await?;
    Ok(row
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(KnowledgeServiceLeikaKeys::Table)
                .col(uuid(KnowledgeServiceLeikaKeys::ServiceId))
                .col(uuid(KnowledgeServiceLeikaKeys::TenantId))
                .col(string_len(KnowledgeServiceLeikaKeys::LeikaKey, 14))
                .primary_key(
                    Index::create()
                        .col(KnowledgeServiceLeikaKeys::ServiceId)
                        .col(KnowledgeServiceLeikaKeys::LeikaKey),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            KnowledgeServiceLeikaKeys::Table,
                            KnowledgeServiceLeikaKeys::ServiceId,
                        )
                        .to(KnowledgeServices::Table, KnowledgeServices::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            KnowledgeServiceLeikaKeys::Table,
                            KnowledgeServiceLeikaKeys::TenantId,
                        )
                        .to(Tenants::Table, Tenants::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(KEY_INDEX)
                .table(KnowledgeServiceLeikaKeys::Table)
                .col(KnowledgeServiceLeikaKeys::TenantId)
                .col(KnowledgeServiceLeikaKeys::LeikaKey)
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO knowledge_service_leika_keys (service_id, tenant_id, leika_key) \
                 SELECT id, tenant_id, leika FROM knowledge_services",
            )
            .await?;
        m.drop_index(
            Index::drop()
                .name(UNIQUE_LEIKA)
                .table(KnowledgeServices::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(KnowledgeServices::Table)
                .drop_column(KnowledgeServices::Leika)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(KnowledgeServices::Table)
                .add_column(string_len_null(KnowledgeServices::ExternalId, 200))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(UNIQUE_EXTERNAL)
                .table(KnowledgeServices::Table)
                .col(KnowledgeServices::TenantId)
                .col(KnowledgeServices::ExternalId)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let not_one = count(
            m,
            "SELECT COUNT(*) AS n FROM knowledge_services s WHERE (SELECT COUNT(*) FROM \
             knowledge_service_leika_keys k WHERE k.service_id = s.id) <> 1",
        )
        .await?;
        let shared = count(
            m,
            "SELECT COUNT(*) AS n FROM (SELECT tenant_id, leika_key FROM knowledge_service_leika_keys \
             GROUP BY tenant_id, leika_key HAVING COUNT(*) > 1) shared",
        )
        .await?;
        let external = count(
            m,
            "SELECT COUNT(*) AS n FROM knowledge_services WHERE external_id IS NOT NULL",
        )
        .await?;
        if not_one > 0 || shared > 0 || external > 0 {
            return Err(DbErr::Migration(format!(
                "cannot go back to one LeiKa key per description without losing data: \
                 {not_one} description(s) have no or several keys, {shared} key(s) are shared \
                 by several descriptions of a tenant, {external} description(s) have an \
                 external id"
            )));
        }
        m.drop_index(
            Index::drop()
                .name(UNIQUE_EXTERNAL)
                .table(KnowledgeServices::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(KnowledgeServices::Table)
                .drop_column(KnowledgeServices::ExternalId)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(KnowledgeServices::Table)
                .add_column(string_len(KnowledgeServices::Leika, 14).default(""))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE knowledge_services SET leika = (SELECT k.leika_key FROM \
                 knowledge_service_leika_keys k WHERE k.service_id = knowledge_services.id)",
            )
            .await?;
        m.create_index(
            Index::create()
                .name(UNIQUE_LEIKA)
                .table(KnowledgeServices::Table)
                .col(KnowledgeServices::TenantId)
                .col(KnowledgeServices::Leika)
                .unique()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(KnowledgeServiceLeikaKeys::Table)
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
