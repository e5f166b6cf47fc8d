//! sea-orm entities of the foundation tables. They mirror `migrations/`; the schema is defined
//! there only.

pub mod audit_event;
pub mod center_coverage;
pub mod center_tenant;
pub mod login_throttle;
pub mod role_assignment;
pub mod service_center;
pub mod session;
pub mod tenant;
pub mod tenant_mail_address;
pub mod tenant_mail_domain;
pub mod user;
