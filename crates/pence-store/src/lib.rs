//! The Store port on SQLite (embedded default) and PostgreSQL (several nodes on one database).
//!
//! Every query is written once (`store`), against a small internal port (`db::Db`) that both
//! engines implement with the same SQL text (`$1` placeholders). Writes are changes (a list of
//! statements that commit together) which each engine group-commits: many concurrent changes
//! share one transaction and one fsync, each still atomic on its own.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod connect;
mod db;
mod migrate;
mod postgres;
mod sealing;
pub mod sql;
mod sqlite;
mod store;
mod value;

pub use connect::{connect, create_postgres_schema, sqlite_file, StoreOptions};
pub use sealing::{SealingKey, SealingKeys};
pub use store::SqlStore;
