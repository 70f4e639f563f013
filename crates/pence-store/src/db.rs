//! The port the store's queries are written against, implemented by `sqlite` and `postgres`.

use async_trait::async_trait;
use pence_core::StoreError;

use crate::value::{Change, Row, Val};

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

    /// Applies a change durably (group-committed with whatever else is queued), answering
    /// the rows of its `Returning` statements.
    async fn apply_returning(&self, change: Change) -> Result<Vec<Row>, StoreError>;

    /// Applies a change durably.
    async fn apply(&self, change: Change) -> Result<(), StoreError> {
        self.apply_returning(change).await.map(|_| ())
    }

    /// Closes every connection; later calls fail.
    async fn close(&self);
}
