//! The knowledge base of Verbund: service descriptions (Leistungen) per tenant.
//!
//! This part of the crate is pure (no database):
//! - [`leika`]: the LeiKa key that identifies a service ([`LeikaKey`]);
//! - [`model`]: the typed content of a description ([`ServiceContent`], [`Modules`]), its
//!   validation, and the table of FIM text modules with their LeiKa codes and German labels
//!   ([`ModuleField`]);
//! - [`import`]: parsers for NDJSON and a subset of XZuFi 2.2 that report one error per bad
//!   item and keep the good ones.

pub mod import;
pub mod leika;
pub mod model;

pub use import::{ImportFormat, ImportItem, ItemError, OrgUnitImport, ParsedImport, ndjson, xzufi};
pub use leika::{LeikaKey, LeikaKeyError};
pub use model::{
    AmountError, CostAmount, Costs, Link, ModuleField, ModuleValue, Modules, PublishState,
    ServiceContent, UnknownPublishState, ValidationError,
};

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
