//! The SnapshotStore port: a test service's whole state copied out, kept under a name, and
//! put back (`sandbox::snapshots`).

use async_trait::async_trait;

use super::StoreError;
use crate::sandbox::snapshots::{ServiceState, SnapshotSummary};

/// A test service's state as rows, and the snapshots kept of it. Which tables and columns a
/// state holds is the store's to say; the domain only keeps and moves them.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// The service's state now (payments and their events, refunds, disputes, agreements,
    /// webhook subscriptions and their log, emails, fault rules, payment links), every
    /// table read in one snapshot of the database, secrets as stored.
    async fn service_state(&self, service_id: &str) -> Result<ServiceState, StoreError>;
    /// Replaces a test service's state with `state` (empty: a reset) and sets its clock
    /// offset, in one transaction; false when there is no such test service. `Duplicate`
    /// when a row of `state` belongs to another service already (an import on the node it
    /// was exported from).
    async fn replace_service_state(
        &self,
        service_id: &str,
        state: &ServiceState,
        clock_offset_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Keeps `state` as the service's snapshot `name` (replacing one of that name), taken
    /// when the service's clock read `saved_ms`.
    async fn save_snapshot(
        &self,
        service_id: &str,
        name: &str,
        saved_ms: i64,
        state: &ServiceState,
    ) -> Result<SnapshotSummary, StoreError>;
    /// A snapshot of the service: when it was taken (service clock) and its state.
    async fn snapshot(
        &self,
        service_id: &str,
        name: &str,
    ) -> Result<Option<(i64, ServiceState)>, StoreError>;
    /// The service's snapshots, by name.
    async fn snapshots(&self, service_id: &str) -> Result<Vec<SnapshotSummary>, StoreError>;
    /// Deletes a snapshot; false when the service had none of that name.
    async fn delete_snapshot(&self, service_id: &str, name: &str) -> Result<bool, StoreError>;
    /// `state` with its secrets opened, to leave the node in a file.
    fn opened_state(&self, state: ServiceState) -> Result<ServiceState, StoreError>;
    /// A state from a file made fit to keep: every table and column one a state holds, every
    /// value of its column's type, every row one the store can read back; its secrets
    /// sealed. Why not, in words, otherwise.
    fn checked_state(&self, state: ServiceState) -> Result<ServiceState, String>;
}
