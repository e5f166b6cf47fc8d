//! The schema of Verbund. The schema is defined only here; entities in the domain crates mirror
//! it. Never edit a migration once it has landed: add a new one.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_foundation;
mod m20261128_000002_ticketing;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_foundation::Migration),
            Box::new(m20261128_000002_ticketing::Migration),
        ]
    }
}
