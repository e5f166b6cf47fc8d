//! What the benchmark binaries of `benches/` share: the machine's load, a seeded random
//! generator for the data, and running wrk. Each benchmark is a crate of its own (`mod
//! support;`) and uses only some of it.
#![allow(
    dead_code,
    reason = "each benchmark uses only part of the shared support"
)]

pub mod machine;
pub mod municipal;
pub mod rng;
pub mod wrk;
