//! sea-orm entities of the knowledge tables (schema in `migrations/`).

pub mod base_text;
pub mod change;
pub mod org_unit;
pub mod service;
pub mod service_version;
