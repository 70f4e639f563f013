//! The Store port on SQLite (embedded default) and PostgreSQL (several nodes on one database).
//!
//! Every query is written once (`store`), with the same SQL text on both engines (`$1`
//! placeholders), through the engine layer (pence-sql: connections, group commit, value
//! binding, migrations). This crate holds Pence's tables: their migrations (`schema.rs`),
//! their columns and queries (`store/`), and the sealing of secrets at rest.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod connect;
mod schema;
mod sealing;
mod store;

pub use connect::{connect, StoreOptions};
pub use pence_sql::{create_postgres_schema, sqlite_file};
pub use sealing::{SealingKey, SealingKeys};
pub use store::SqlStore;
