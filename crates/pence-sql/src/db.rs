//! The port the store's queries are written against, implemented by `sqlite` and `postgres`.

use async_trait::async_trait;
use pence_store_error::StoreError;

use crate::value::{Change, Row, Val};

/// What is told of each group commit: a node's metrics, for example. The engine knows no
/// metrics library; its user gives an observer once the database is open.
pub trait CommitObserver: Send + Sync {
    /// One group commit of `changes` changes took `took` (statements and the commit's flush).
    fn group_committed(&self, changes: usize, took: std::time::Duration);
}

/// Where the writers find the observer, once given.
pub(crate) type MetricsSlot =
    std::sync::Arc<std::sync::OnceLock<std::sync::Arc<dyn CommitObserver>>>;

/// Tells the observer, if there is one, of a group commit.
pub(crate) fn observe_group(slot: &MetricsSlot, changes: usize, took: std::time::Duration) {
    if let Some(o) = slot.get() {
        o.group_committed(changes, took);
    }
}

/// Which engine a database runs on, for the few places their SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

#[async_trait]
pub(crate) trait Db: Send + Sync {
    fn engine(&self) -> Engine;

    /// A read: `sql` with `$1…` placeholders.
    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<Row>, StoreError>;

    /// One row by its key (`by.one`). PostgreSQL answers lookups asked at the same moment
    /// with one query (`grouped_reads`); SQLite reads inline, where that would not pay.
    async fn read_by_key(&self, by: &'static ByKey, key: &str) -> Result<Option<Row>, StoreError> {
        let rows = self
            .query(&by.one, vec![Val::Text(key.to_string())])
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Several reads that see one snapshot of the database (one read transaction), run off
    /// the async workers: a copy of many rows that must agree with each other.
    async fn query_together(
        &self,
        queries: Vec<(String, Vec<Val>)>,
    ) -> Result<Vec<Vec<Row>>, StoreError>;

    /// Applies a change durably (group-committed with whatever else is queued), answering
    /// the rows of its `Returning` statements.
    async fn apply_returning(&self, change: Change) -> Result<Vec<Row>, StoreError>;

    /// Applies a change durably.
    async fn apply(&self, change: Change) -> Result<(), StoreError> {
        self.apply_returning(change).await.map(|_| ())
    }

    /// Closes every connection; later calls fail.
    async fn close(&self);

    /// Where the writers record what they commit.
    fn metrics(&self) -> &MetricsSlot;

    /// Read connections (PostgreSQL: the pool's): (in use, idle).
    fn connections(&self) -> (u32, u32);
}

/// A read of one row by a text key, in both forms.
pub struct ByKey {
    /// `SELECT … WHERE {key} = $1`
    pub one: String,
    /// `SELECT … WHERE {key} = ANY($1)`
    pub many: String,
    /// The key's column, which `columns` must include.
    pub key: &'static str,
}

impl ByKey {
    pub fn new(columns: &str, table: &str, key: &'static str) -> ByKey {
        ByKey {
            one: format!("SELECT {columns} FROM {table} WHERE {key} = $1"),
            many: format!("SELECT {columns} FROM {table} WHERE {key} = ANY($1)"),
            key,
        }
    }
}
