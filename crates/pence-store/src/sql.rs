//! The engine layer on its own, for crates that keep their own tables with Pence's SQLite and
//! PostgreSQL handling (`pence-connector`, in a service's database): open by URL, migrate a
//! `Schema`, read, and apply group-committed changes. SQL is written once with `$1`
//! placeholders, as in the store.

use std::sync::Arc;

use pence_core::StoreError;

use crate::connect::StoreOptions;
use crate::db::Db;
pub use crate::db::Engine;
pub use crate::migrate::Schema;
pub use crate::value::{Change, Row, Stmt, Ty, Val};

/// A database with a schema migrated in it; cloning shares the connections.
#[derive(Clone)]
pub struct Database(Arc<dyn Db>);

impl Database {
    /// Opens `url` (`postgres://…`, or a SQLite file path) and applies `schema`'s migrations.
    pub async fn open(
        url: &str,
        options: StoreOptions,
        schema: &'static Schema,
    ) -> Result<Database, StoreError> {
        crate::connect::open(url, options, schema)
            .await
            .map(Database)
    }

    pub fn engine(&self) -> Engine {
        self.0.engine()
    }

    /// A read.
    pub async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        self.0.query(sql, params).await
    }

    /// Applies a change durably: all its statements or none.
    pub async fn apply(&self, change: Change) -> Result<(), StoreError> {
        self.0.apply(change).await
    }

    /// Applies a change durably, answering the rows of its `Returning` statements.
    pub async fn apply_returning(&self, change: Change) -> Result<Vec<Row>, StoreError> {
        self.0.apply_returning(change).await
    }

    pub async fn close(&self) {
        self.0.close().await
    }
}
