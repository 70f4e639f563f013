//! A test service's state as rows (`SnapshotStore`, issue 31): read from every table of the
//! service in one snapshot of the database, kept as JSON in `snapshots` (migration 0040), and
//! put back in one transaction that deletes the service's rows and inserts the kept ones.
//!
//! `TABLES` names every table a state holds and which of its columns; a test
//! (`every_column_is_kept_or_left_out_on_purpose`) fails when a migration adds a column that
//! is in neither list. Left out: `service_id` (always the service's own, so a state moves to
//! a service of another node), and the node's working state that a put-back row must not
//! carry — what the freezing sweep froze (`frozen_seq`: a restored payment is frozen again,
//! its hour counts with it), and the claims of a message or email being sent. Event ids are
//! not kept either: rows are put back in their order and numbered anew, so they cannot clash
//! on another node.
//!
//! What the node derives is made true again by the same transaction: the service's frozen
//! hour counts go (nothing of it is frozen any more); `payment_counts` and SQLite's text index
//! follow the deletes and inserts by their triggers and mark (`LOWER_TEXT_MARK`); and `services.state_generation`
//! is raised, which retires every search count taken of the old state (`frozen.rs`) and gives
//! each restored versioned row a version no writer can have read before the restore (the
//! generation above bit 40), so a change in flight across a restore conflicts rather than
//! applies to the restored row.

mod tables;
mod values;

use async_trait::async_trait;
use pence_core::ports::SnapshotStore;
use pence_core::sandbox::snapshots::{ServiceState, SnapshotSummary, TableRows};
use pence_core::StoreError;
use pence_sql::{vals, Engine, Stmt, Val};
use serde_json::Value;

use super::SqlStore;
use tables::{TABLES, WRITTEN};
use values::{checked_table, to_json, to_val};

/// SQLite numbers a new row one past the highest row left, so once the newest payments are
/// deleted, rows put back could take numbers at or below the text index's mark (0031) and
/// never be indexed or counted. Every row above the highest left was deleted (its index
/// entries and count with it), so the mark comes down to it.
const LOWER_TEXT_MARK: &str = "UPDATE text_index_mark SET upto = \
     MIN(upto, COALESCE((SELECT MAX(rowid) FROM payments), 0)) WHERE id = 1";

/// Tables whose `version` column a writer's conditional change names.
const VERSIONED: [&str; 2] = ["payments", "agreements"];
/// Where a restore's generation goes in a restored row's version.
const GENERATION_SHIFT: u32 = 40;
/// Tables with a secret sealed at rest, and its column.
const SEALED: [(&str, &str); 1] = [("webhook_secrets", "secret")];

fn bad(why: impl Into<String>) -> StoreError {
    StoreError::database(why.into())
}

/// A stored version put back under `generation`.
fn restored_version(saved: i64, generation: i64) -> i64 {
    (saved & ((1 << GENERATION_SHIFT) - 1)) | (generation << GENERATION_SHIFT)
}

impl SqlStore {
    /// Applies `f` to every value of the sealed columns of `state`.
    fn map_sealed(
        mut state: ServiceState,
        f: impl Fn(String) -> Result<String, StoreError>,
    ) -> Result<ServiceState, StoreError> {
        for (table, column) in SEALED {
            let Some(rows) = state.get_mut(table) else {
                continue;
            };
            let Some(i) = rows.columns.iter().position(|c| c == column) else {
                continue;
            };
            for row in &mut rows.rows {
                if let Some(Value::String(s)) = row.get_mut(i) {
                    *s = f(std::mem::take(s))?;
                }
            }
        }
        Ok(state)
    }

    /// The insert statements putting `state` back as `service_id`'s, restored versions under
    /// `generation`.
    fn insert_rows(
        state: &ServiceState,
        service_id: &str,
        generation: i64,
    ) -> Result<Vec<Stmt>, StoreError> {
        let mut out = Vec::new();
        for (t, w) in TABLES.iter().zip(WRITTEN.iter()) {
            let Some(rows) = state.get(t.name) else {
                continue;
            };
            let names: Vec<&str> = w.columns.iter().map(|c| c.name).collect();
            if rows.columns != names {
                return Err(bad(format!("a snapshot's {} has other columns", t.name)));
            }
            let version = VERSIONED
                .contains(&t.name)
                .then(|| names.iter().position(|n| *n == "version"))
                .flatten();
            for row in &rows.rows {
                let mut values = Vec::with_capacity(row.len() + 1);
                for (c, v) in w.columns.iter().zip(row) {
                    values.push(to_val(c, v).map_err(bad)?);
                }
                if let Some(Val::Int(v)) = version.and_then(|i| values.get_mut(i)) {
                    *v = restored_version(*v, generation);
                }
                if t.service_id {
                    values.push(Val::from(service_id));
                }
                out.push(Stmt::insert(t.name, &w.insert_columns, values));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl SnapshotStore for SqlStore {
    async fn service_state(&self, service_id: &str) -> Result<ServiceState, StoreError> {
        let queries = WRITTEN
            .iter()
            .map(|w| (w.select.clone(), vals![service_id]))
            .collect();
        let tables = self.db.query_together(queries).await?;
        let mut state = ServiceState::new();
        for ((t, w), rows) in TABLES.iter().zip(WRITTEN.iter()).zip(tables) {
            let rows = rows
                .into_iter()
                .map(|r| {
                    w.columns
                        .iter()
                        .zip(r.into_values())
                        .map(|(c, v)| to_json(c, v))
                        .collect()
                })
                .collect();
            let columns = w.columns.iter().map(|c| c.name.to_string()).collect();
            state.insert(t.name.to_string(), TableRows { columns, rows });
        }
        Ok(state)
    }

    async fn replace_service_state(
        &self,
        service_id: &str,
        state: &ServiceState,
        clock_offset_ms: i64,
    ) -> Result<bool, StoreError> {
        // The generation is raised only from the one read here, so a restore racing another
        // of the same service conflicts and reads again.
        for _ in 0..5 {
            let rows = self
                .db
                .query(
                    "SELECT state_generation FROM services WHERE id = $1 AND NOT live",
                    vals![service_id],
                )
                .await?;
            let Some(mut row) = rows.into_iter().next() else {
                return Ok(false);
            };
            let before = row.i64("state_generation")?;
            let mut change = vec![Stmt::exec_one(
                "UPDATE services SET state_generation = $1, clock_offset_ms = $2 \
                 WHERE id = $3 AND NOT live AND state_generation = $4",
                vals![before + 1, clock_offset_ms, service_id, before],
            )];
            change.extend(
                WRITTEN
                    .iter()
                    .rev()
                    .map(|w| Stmt::exec(&w.delete, vals![service_id])),
            );
            change.push(Stmt::exec(
                "DELETE FROM frozen_hour_counts WHERE service_id = $1",
                vals![service_id],
            ));
            if self.engine_kind() == Engine::Sqlite {
                change.push(Stmt::exec(LOWER_TEXT_MARK, Vec::new()));
            }
            change.extend(Self::insert_rows(state, service_id, before + 1)?);
            match self.db.apply(change).await {
                Err(StoreError::Conflict) => continue,
                other => return other.map(|()| true),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn save_snapshot(
        &self,
        service_id: &str,
        name: &str,
        saved_ms: i64,
        state: &ServiceState,
    ) -> Result<SnapshotSummary, StoreError> {
        let summary = SnapshotSummary::of(name, saved_ms, state);
        let rows = serde_json::to_string(&summary.rows).map_err(|e| bad(e.to_string()))?;
        let body = serde_json::to_string(state).map_err(|e| bad(e.to_string()))?;
        self.db
            .apply(vec![
                Stmt::exec(
                    "DELETE FROM snapshots WHERE service_id = $1 AND name = $2",
                    vals![service_id, name],
                ),
                Stmt::exec(
                    "INSERT INTO snapshots (service_id, name, saved_ms, rows_by_table, state) \
                     VALUES ($1, $2, $3, $4, $5)",
                    vals![service_id, name, saved_ms, rows, body],
                ),
            ])
            .await?;
        Ok(summary)
    }

    async fn snapshot(
        &self,
        service_id: &str,
        name: &str,
    ) -> Result<Option<(i64, ServiceState)>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT saved_ms, state FROM snapshots WHERE service_id = $1 AND name = $2",
                vals![service_id, name],
            )
            .await?;
        let Some(mut row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let saved_ms = row.i64("saved_ms")?;
        let state = serde_json::from_str(&row.text("state")?)
            .map_err(|e| bad(format!("a kept snapshot does not read: {e}")))?;
        Ok(Some((saved_ms, state)))
    }

    async fn snapshots(&self, service_id: &str) -> Result<Vec<SnapshotSummary>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT name, saved_ms, rows_by_table FROM snapshots WHERE service_id = $1 \
                 ORDER BY name",
                vals![service_id],
            )
            .await?;
        rows.into_iter()
            .map(|mut r| {
                Ok(SnapshotSummary {
                    name: r.text("name")?,
                    saved_at: pence_core::timefmt::date_time(r.i64("saved_ms")?),
                    rows: serde_json::from_str(&r.text("rows_by_table")?)
                        .map_err(|e| bad(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn delete_snapshot(&self, service_id: &str, name: &str) -> Result<bool, StoreError> {
        let gone = self
            .db
            .apply_returning(vec![Stmt::returning(
                "DELETE FROM snapshots WHERE service_id = $1 AND name = $2 RETURNING name",
                vals![service_id, name],
            )])
            .await?;
        Ok(!gone.is_empty())
    }

    fn opened_state(&self, state: ServiceState) -> Result<ServiceState, StoreError> {
        Self::map_sealed(state, |s| self.opened_text(s))
    }

    fn checked_state(&self, mut state: ServiceState) -> Result<ServiceState, String> {
        if let Some(unknown) = state.keys().find(|k| !TABLES.iter().any(|t| t.name == *k)) {
            return Err(format!("tables.{unknown} is not a table a snapshot holds"));
        }
        for (t, w) in TABLES.iter().zip(WRITTEN.iter()) {
            let Some(rows) = state.get_mut(t.name) else {
                continue;
            };
            checked_table(t, w, rows)?;
        }
        Self::map_sealed(state, |s| Ok(self.sealed_text(&s))).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_version_is_above_every_version_of_an_earlier_generation() {
        let v = restored_version(7, 3);
        assert!(v > restored_version((1 << GENERATION_SHIFT) - 1, 2));
        assert_eq!(
            restored_version(v, 3),
            v,
            "a restored row kept and restored again"
        );
        assert_eq!(v & ((1 << GENERATION_SHIFT) - 1), 7);
    }
}
