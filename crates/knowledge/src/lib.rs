//! The knowledge base of Verbund: service descriptions (Leistungen) per tenant, base texts,
//! org units with opening hours, the publish workflow, search and import.
//!
//! Storage and service API (each function takes the acting user):
//! - [`services`]: descriptions, versions, publish/archive ([`access`] holds the read rule);
//! - [`org_units`]: offices and "open now / next opening";
//! - [`catalog`]: the operator's base texts, adoption and the merged view;
//! - [`changes`]: the change feed that keeps every instance's search index current.
//!
//! The pure part (no database):
//! - [`leika`]: the LeiKa key that identifies a service ([`LeikaKey`]);
//! - [`model`]: the typed content of a description ([`ServiceContent`], [`Modules`]), its
//!   validation, and the table of FIM text modules with their LeiKa codes and German labels
//!   ([`ModuleField`]);
//! - [`import`]: parsers for NDJSON and a subset of XZuFi 2.2 that report one error per bad
//!   item and keep the good ones.

pub mod access;
pub mod catalog;
pub mod changes;
pub mod demo;
pub mod export_xzufi;
pub mod import;
pub mod leika;
pub mod model;
mod offices;
pub mod org_units;
mod repo;
pub mod search;
pub mod services;
pub mod status;
pub mod store;

pub use import::{ImportFormat, ImportItem, ItemError, OrgUnitImport, ParsedImport, ndjson, xzufi};
pub use leika::{LeikaKey, LeikaKeyError, LeikaPrefix};
pub use model::{
    AmountError, CostAmount, Costs, Link, ModuleField, ModuleValue, Modules, PublishState,
    ServiceContent, UnknownPublishState, ValidationError,
};
pub use status::ServiceStatus;

/// Shortens `s` to at most `max` characters, marking the cut with `…`.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}
