//! A database opened by URL with a schema migrated in it: the one handle users of the engine
//! read and write through.

use std::sync::Arc;

use pence_store_error::StoreError;

use crate::connect::Options;
use crate::db::{ByKey, CommitObserver, Db, Engine};
use crate::migrate::Schema;
use crate::value::{Change, Row, Val};

/// A database with a schema migrated in it; cloning shares the connections.
#[derive(Clone)]
pub struct Database(Arc<dyn Db>);

impl Database {
    /// Opens `url` (`postgres://…`, or a SQLite file path) and applies `schema`'s migrations.
    pub async fn open(
        url: &str,
        options: Options,
        schema: &'static Schema,
    ) -> Result<Database, StoreError> {
        crate::connect::open(url, options, schema)
            .await
            .map(Database)
    }

    pub fn engine(&self) -> Engine {
        self.0.engine()
    }

    /// A read: `sql` with `$1…` placeholders.
    pub async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        self.0.query(sql, params).await
    }

    /// Several reads that see one snapshot of the database, as one read transaction: rows
    /// copied from many tables that must agree with each other.
    pub async fn query_together(
        &self,
        queries: Vec<(String, Vec<Val>)>,
    ) -> Result<Vec<Vec<Row>>, StoreError> {
        self.0.query_together(queries).await
    }

    /// Applies a change durably: all its statements or none.
    pub async fn apply(&self, change: Change) -> Result<(), StoreError> {
        self.0.apply(change).await
    }

    /// Applies a change durably, answering the rows of its `Returning` statements.
    pub async fn apply_returning(&self, change: Change) -> Result<Vec<Row>, StoreError> {
        self.0.apply_returning(change).await
    }

    /// One row by its key. PostgreSQL answers lookups asked at the same moment with one
    /// query; SQLite reads inline, where that would not pay.
    pub async fn read_by_key(
        &self,
        by: &'static ByKey,
        key: &str,
    ) -> Result<Option<Row>, StoreError> {
        self.0.read_by_key(by, key).await
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.0.close().await
    }

    /// Read connections (PostgreSQL: the pool's): (in use, idle).
    pub fn connections(&self) -> (u32, u32) {
        self.0.connections()
    }

    /// Tells `observer` of every group commit from now on; only the first observer given is
    /// kept (false for a later one).
    pub fn observe_commits(&self, observer: Arc<dyn CommitObserver>) -> bool {
        self.0.metrics().set(observer).is_ok()
    }
}
