//! How storage fails. A crate of its own because two crates that must not depend on each
//! other name it: the domain (pence-core, whose ports return it) and the database engine
//! layer (pence-sql, which the service-side connector uses without the domain).

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or answered with an error; the driver's error, when
    /// there is one, is kept as the source so logs show the whole chain.
    #[error("database error: {message}")]
    Database {
        message: String,
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// A row the change expected was changed concurrently (a conditional update matched 0 rows).
    #[error("concurrent change")]
    Conflict,
    /// A unique key already exists.
    #[error("already exists")]
    Duplicate,
}

impl StoreError {
    /// A database failure Pence itself detected (a corrupt value, a missing row).
    pub fn database(message: impl Into<String>) -> Self {
        StoreError::Database {
            message: message.into(),
            source: None,
        }
    }

    /// A failure the driver reported, kept as the source.
    pub fn driver(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Database {
            message: context.to_string(),
            source: Some(Arc::new(e)),
        }
    }

    /// A failure shared by several changes (one group commit failed for all of them).
    pub fn shared(context: &str, e: Arc<dyn std::error::Error + Send + Sync>) -> Self {
        StoreError::Database {
            message: context.to_string(),
            source: Some(e),
        }
    }
}
