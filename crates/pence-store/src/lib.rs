//! The Store port on SQLite (embedded default) and PostgreSQL (several nodes on one database).
//!
//! One `SqlStore` over an enum of pools; the same SQL text runs on both engines (`$1`
//! placeholders), with a per-engine branch only where the engines differ. Payment inserts go
//! through a group-commit writer (`batch`) so many concurrent creates share one fsync.

mod batch;
mod connect;
mod engine;
mod migrate;
mod rows;
mod store;

pub use connect::{connect, create_postgres_schema, StoreOptions};
pub use store::SqlStore;
