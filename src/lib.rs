//! bellows: zero-downtime, declarative schema changes for live databases.
//!
//! A target schema (YAML, read by [`spec`]) and a live database (read by
//! introspection) become the same canonical [`model::Schema`]; the diff of
//! the two is planned as expand → migrate → contract steps of safe SQL.
//! The library never prints: the binary renders what it returns.

pub mod apply;
pub mod conn;
pub mod diff;
pub mod introspect;
pub mod model;
pub mod plan;
pub mod render;
pub mod spec;
pub mod sql;
mod suggest;
#[cfg(test)]
mod testing;
