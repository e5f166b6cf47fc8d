//! Tenants, service centers, users, roles, passwords, tokens and the access checks of Verbund.
//!
//! This crate is the one place that decides whether an actor may do something for a tenant
//! (see [`access`]). Every other crate depends on it and asks it.

pub mod access;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod coverage;
pub mod db;
pub mod demo;
pub mod directory;
pub mod domain;
pub mod error;
pub mod html_entities;
pub mod mail_domains;
pub mod password;
pub mod problem;
mod repo;
pub mod settings;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod text;
pub mod throttle;
pub mod token;
pub mod users;

pub use access::{Actor, Permission, Role, TenantScope, Visibility};
pub use error::{Error, Result};
pub use problem::ProblemKind;
