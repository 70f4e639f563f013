//! Snapshots of a test service (issue 31): its whole state — payments and their events,
//! refunds, disputes, agreements, webhook subscriptions and their delivery log, emails, fault
//! rules, payment links, and its clock — kept under a name, put back exactly (same ids, same
//! events, later additions gone), emptied, and carried to another node or engine as a file.
//!
//! What a state holds row by row is the store's to say (`ports::SnapshotStore`); here are the
//! rules: test services only, names a file system and a URL take as they are, and the clock.
//! A restored service's clock reads again what it read when the snapshot was taken, and runs
//! on from there, so nothing the snapshot holds falls due merely because time passed between
//! saving and restoring: the service answers as it did then.
//!
//! Left out on purpose: the service's settings and API keys (a restore must not lock the test
//! out), the admin tool's staff and audit log, and what the node derives and rebuilds itself
//! (search counts, text indexes, what the sweeps have frozen).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::ports::Store;
use crate::refusal::sandbox::SandboxRefusal;
use crate::refusal::{Failure, Refusal};
use crate::service::Service;
use crate::StoreError;

/// What a snapshot file says it is; a file of another format is refused.
pub const FORMAT: &str = "pence-snapshot/1";

/// The longest name a snapshot takes.
const NAME_MAX: usize = 64;

/// One table's rows as a snapshot keeps them: the columns' names, and per row one JSON value
/// per column (a number, a string, true or false, or null).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// A service's state: its tables' rows, by table.
pub type ServiceState = BTreeMap<String, TableRows>;

/// A snapshot as a file holds it (`GET /sandbox/v1/snapshots/{name}`, `pence sandbox
/// snapshot export`): secrets in the clear, so keep the file as you would a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub format: String,
    pub name: String,
    /// The service's clock when the snapshot was taken (`2026-12-07T10:00:00.000Z`).
    pub saved_at: String,
    pub tables: ServiceState,
}

/// A kept snapshot: its name, when it was taken (service clock), and its rows per table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotSummary {
    pub name: String,
    pub saved_at: String,
    pub rows: BTreeMap<String, u64>,
}

impl SnapshotSummary {
    pub fn of(name: &str, saved_ms: i64, state: &ServiceState) -> Self {
        SnapshotSummary {
            name: name.to_string(),
            saved_at: crate::timefmt::date_time(saved_ms),
            rows: state
                .iter()
                .map(|(table, t)| (table.clone(), t.rows.len() as u64))
                .collect(),
        }
    }
}

fn refused(r: SandboxRefusal) -> Failure {
    Failure::Refused(Refusal::Sandbox(r))
}

/// The control API is for test services only: a live one has no snapshots.
fn test_only(service: &Service) -> Result<(), Failure> {
    if service.live {
        return Err(Refusal::NotFound.into());
    }
    Ok(())
}

/// A name of 1 to 64 letters, digits, `-`, `_` and `.`, not starting with a dot: one a URL
/// path segment and a file name take as they are.
fn check_name(name: &str) -> Result<(), Failure> {
    let fits = !name.is_empty()
        && name.len() <= NAME_MAX
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fits {
        return Ok(());
    }
    Err(refused(SandboxRefusal::BadSnapshot(format!(
        "A snapshot's name is 1 to {NAME_MAX} letters, digits, '-', '_' or '.', not starting \
         with '.'"
    ))))
}

/// The service's clock as the database has it now (another node may have moved it).
async fn service_now(store: &dyn Store, node: &dyn Clock, id: &str) -> Result<i64, Failure> {
    Ok(super::operations::clock(store, node, id).await?.now_ms)
}

/// Takes a snapshot of the service's state now under `name` (replacing one of that name).
pub async fn save(
    store: &dyn Store,
    node: &dyn Clock,
    service: &Service,
    name: &str,
) -> Result<SnapshotSummary, Failure> {
    test_only(service)?;
    check_name(name)?;
    let now_ms = service_now(store, node, &service.id).await?;
    let state = store.service_state(&service.id).await?;
    Ok(store
        .save_snapshot(&service.id, name, now_ms, &state)
        .await?)
}

/// Puts the service back as the snapshot `name` has it, its clock reading again what it
/// read then.
pub async fn restore(
    store: &dyn Store,
    node: &dyn Clock,
    service: &Service,
    name: &str,
) -> Result<SnapshotSummary, Failure> {
    test_only(service)?;
    let (saved_ms, state) = store
        .snapshot(&service.id, name)
        .await?
        .ok_or(Refusal::NotFound)?;
    replace(store, service, &state, saved_ms - node.now_ms()).await?;
    Ok(SnapshotSummary::of(name, saved_ms, &state))
}

/// Empties the service: no payments, agreements, subscriptions, emails, fault rules or
/// links, and its clock back on the node's. Its settings, keys and snapshots stay.
pub async fn reset(store: &dyn Store, service: &Service) -> Result<(), Failure> {
    test_only(service)?;
    replace(store, service, &ServiceState::new(), 0).await
}

async fn replace(
    store: &dyn Store,
    service: &Service,
    state: &ServiceState,
    offset_ms: i64,
) -> Result<(), Failure> {
    match store
        .replace_service_state(&service.id, state, offset_ms)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(Refusal::NotFound.into()),
        Err(StoreError::Duplicate) => Err(refused(SandboxRefusal::SnapshotClash)),
        Err(e) => Err(e.into()),
    }
}

/// The service's snapshots, by name.
pub async fn list(store: &dyn Store, service: &Service) -> Result<Vec<SnapshotSummary>, Failure> {
    test_only(service)?;
    Ok(store.snapshots(&service.id).await?)
}

/// Deletes the snapshot `name`.
pub async fn delete(store: &dyn Store, service: &Service, name: &str) -> Result<(), Failure> {
    test_only(service)?;
    if store.delete_snapshot(&service.id, name).await? {
        Ok(())
    } else {
        Err(Refusal::NotFound.into())
    }
}

/// The snapshot `name` as a file holds it, secrets opened.
pub async fn export(store: &dyn Store, service: &Service, name: &str) -> Result<Snapshot, Failure> {
    test_only(service)?;
    let (saved_ms, state) = store
        .snapshot(&service.id, name)
        .await?
        .ok_or(Refusal::NotFound)?;
    Ok(Snapshot {
        format: FORMAT.to_string(),
        name: name.to_string(),
        saved_at: crate::timefmt::date_time(saved_ms),
        tables: store.opened_state(state)?,
    })
}

/// Keeps a snapshot file's state as the service's snapshot `name` (the file's own name when
/// none is given), ready to restore: from another node, or another engine.
pub async fn import(
    store: &dyn Store,
    service: &Service,
    snapshot: Snapshot,
    name: Option<&str>,
) -> Result<SnapshotSummary, Failure> {
    test_only(service)?;
    let bad = |why: String| refused(SandboxRefusal::BadSnapshot(why));
    if snapshot.format != FORMAT {
        return Err(bad(format!(
            "format must be {FORMAT} (a file from pence sandbox snapshot export)"
        )));
    }
    let name = name.unwrap_or(&snapshot.name);
    check_name(name)?;
    let saved_ms = crate::timefmt::parse(&snapshot.saved_at).ok_or_else(|| {
        bad("saved_at must be a date and time like 2026-12-07T10:00:00.000Z".into())
    })?;
    let state = store.checked_state(snapshot.tables).map_err(bad)?;
    Ok(store
        .save_snapshot(&service.id, name, saved_ms, &state)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_path_and_a_file_take_as_they_are() {
        for good in ["seeded", "before-refund_2", "v1.2", "a"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        let long = "x".repeat(NAME_MAX + 1);
        for bad in ["", ".hidden", "a/b", "a b", "é", "..", long.as_str()] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
