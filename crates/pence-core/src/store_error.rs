//! How storage fails, as the domain sees it: below every module that stores or refuses. The
//! type lives in its own crate so that the engine layer (pence-sql) returns it too.

pub use pence_store_error::StoreError;
