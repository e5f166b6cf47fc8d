//! Newtype ids for the keys that are easy to mix up: a tenant, a ticket, a service
//! description. Each wraps the row's `Uuid`, is stored as that `Uuid` (sea-orm
//! `DeriveValueType`), and is written and read as the plain UUID string (`serde(transparent)`;
//! in the OpenAPI document a DTO field keeps the `string`/`uuid` schema of a `Uuid`).
//!
//! Entity fields, repository functions and domain functions take the id type, so passing a
//! ticket's id where a tenant's is expected does not compile. Applied: [`TenantId`]
//! (`tenants.id`, every `tenant_id`, `tickets.origin_tenant_id`, the `from_tenant_id` and
//! `to_tenant_id` of forwards; the access proofs `GrantScope::Tenant`, `TenantScope`,
//! `Visibility`, `Actor::authorize`/`may`, and the tenant functions of every crate),
//! [`TicketId`] (`tickets.id`, every `ticket_id`, the ticket functions of ticketing and email)
//! and [`ServiceId`] (`knowledge_services.id`, every `service_id`, the description functions of
//! knowledge). DTOs keep plain `Uuid` fields (`.uuid()` at the view, `.into()` where a DTO's id
//! meets a function), so the OpenAPI document is unchanged; the search index keeps plain UUIDs
//! internally. See `verbund_tenant::Actor::authorize` for the same proof on a real function.
//!
//! ```compile_fail,E0308
//! use verbund_schema::ids::{TenantId, TicketId};
//!
//! fn tickets_of(_tenant: TenantId) {}
//!
//! let ticket = TicketId::from(uuid::Uuid::nil());
//! tickets_of(ticket); // error[E0308]: mismatched types: expected `TenantId`, found `TicketId`
//! ```
//!
//! while the right one does:
//!
//! ```
//! use verbund_schema::ids::{TenantId, TicketId};
//!
//! fn tickets_of(_tenant: TenantId) {}
//!
//! tickets_of(TenantId::from(uuid::Uuid::nil()));
//! let _ = TicketId::from(uuid::Uuid::nil());
//! ```

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize,
            Deserialize, DeriveValueType,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7), as every row gets.
            pub fn now_v7() -> Self {
                Self(Uuid::now_v7())
            }

            /// The plain UUID.
            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<Uuid> for $name {
            fn eq(&self, other: &Uuid) -> bool {
                self.0 == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        /// A UUID primary key is never made from a number (as for `Uuid` itself).
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, DbErr> {
                Err(DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        /// The schema of a `Uuid` (`string`, format `uuid`), inline: the OpenAPI document is
        /// the same as with a plain `Uuid` field.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Uuid,
                    )))
                    .into()
            }
        }
    };
}

id_type!(
    /// The id of a tenant (`tenants.id`, every `tenant_id`).
    TenantId
);
id_type!(
    /// The id of a ticket (`tickets.id`, every `ticket_id`).
    TicketId
);
id_type!(
    /// The id of a service description (`knowledge_services.id`, every `service_id`).
    ServiceId
);
