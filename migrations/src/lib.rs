//! The schema of Verbund. The schema is defined only here; the entities in `crates/schema` mirror
//! it. Never edit a migration once it has landed: add a new one.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_foundation;
mod m20261128_000002_ticketing;
mod m20261128_000003_knowledge;
mod m20261128_000004_ticketing_operations;
mod m20261129_000005_email;
mod m20261203_000001_tenant_mail_domains;
mod m20261203_090000_inbound_mail_attempts;
mod m20261203_100000_mailbox_error_classes;
pub mod m20261203_120000_state_checks;
mod m20261203_220000_service_identity;
mod m20261203_230000_office_geo_services;
mod m20261203_240000_escalation_notices;
pub mod m20261203_240100_coordinator_role;
mod m20261203_260000_ticket_changes;
mod m20261203_330000_base_text_revisions;
mod m20261203_390000_check_triggers_without_in;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_foundation::Migration),
            Box::new(m20261128_000002_ticketing::Migration),
            Box::new(m20261128_000003_knowledge::Migration),
            Box::new(m20261128_000004_ticketing_operations::Migration),
            Box::new(m20261129_000005_email::Migration),
            Box::new(m20261203_000001_tenant_mail_domains::Migration),
            Box::new(m20261203_090000_inbound_mail_attempts::Migration),
            Box::new(m20261203_100000_mailbox_error_classes::Migration),
            Box::new(m20261203_120000_state_checks::Migration),
            Box::new(m20261203_220000_service_identity::Migration),
            Box::new(m20261203_230000_office_geo_services::Migration),
            Box::new(m20261203_240000_escalation_notices::Migration),
            Box::new(m20261203_240100_coordinator_role::Migration),
            Box::new(m20261203_260000_ticket_changes::Migration),
            Box::new(m20261203_330000_base_text_revisions::Migration),
            Box::new(m20261203_390000_check_triggers_without_in::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_named_by_date_and_in_order() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        assert!(!names.is_empty());
        for name in &names {
            let rest = name.strip_prefix('m').unwrap_or_default();
            assert!(rest.len() > 16, "{name}");
            assert!(rest[..8].bytes().all(|b| b.is_ascii_digit()), "{name}");
            assert_eq!(&rest[8..9], "_", "{name}");
            assert!(rest[9..15].bytes().all(|b| b.is_ascii_digit()), "{name}");
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            names, sorted,
            "migrations must be listed in order, without duplicates"
        );
    }
}
