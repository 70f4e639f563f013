//! Opening Pence's database from a URL (`postgres://…` for PostgreSQL, anything else is a
//! SQLite file): the engine layer opens it and migrates Pence's schema, then the store
//! readies what it keeps.

use std::time::Duration;

use pence_core::StoreError;
use pence_sql::Database;

use crate::schema;
use crate::store::SqlStore;

/// How the store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The engine's connections, group size and writers.
    pub engine: pence_sql::Options,
    /// A search's first full count that takes this long is kept in the database, so the
    /// next node to start does not count it again (`store/frozen.rs`).
    pub keep_counts_slower_than: Duration,
    /// The keys secrets are sealed with (`sealing.rs`); none: stored as they are.
    pub sealing: Option<crate::SealingKeys>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            engine: pence_sql::Options::default(),
            keep_counts_slower_than: Duration::from_millis(20),
            sealing: None,
        }
    }
}

/// Opens (and migrates) Pence's database at `url`.
pub async fn connect(url: &str, options: StoreOptions) -> Result<SqlStore, StoreError> {
    let db = Database::open(url, options.engine, &schema::PENCE).await?;
    let store = SqlStore::new(
        db,
        options.keep_counts_slower_than,
        options.sealing.as_ref(),
    );
    store.ready_kept_counts().await?;
    Ok(store)
}
