//! Pence's database engine layer, with no tables of its own: SQLite (embedded) or PostgreSQL
//! opened by URL, a `Schema`'s migrations applied at start, reads, and changes (statements
//! that commit together) group-committed, many concurrent changes sharing one transaction and
//! one flush, each still atomic on its own. SQL is written once with `$1` placeholders and
//! runs on both engines. Pence's store (pence-store) and the service-side connector
//! (pence-connector, in a service's own database) are both built on it.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod connect;
mod database;
mod db;
mod migrate;
mod postgres;
mod sqlite;
mod value;

pub use connect::{create_postgres_schema, sqlite_file, Options};
pub use database::Database;
pub use db::{ByKey, CommitObserver, Engine};
pub use migrate::{in_order, Schema};
pub use pence_store_error::StoreError;
pub use value::{Change, Row, Stmt, Ty, Val};
