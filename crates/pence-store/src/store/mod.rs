//! `SqlStore`: the Store port's queries, written once for both engines, one file per
//! aggregate (`services`, `keys`, `payments`, `refunds`, `disputes`, `webhooks`), with the
//! ledger and outbox rows every change writes in `ledger` and the search WHERE clauses in
//! `search`. Each table's columns are declared once, each name next to how its value is
//! bound (`columns!`), beside the function that reads a row back by name.

use std::sync::Arc;

use async_trait::async_trait;
use pence_core::{InstanceStore, StoreError};

use pence_sql::{vals, Row, Stmt, Val};
use pence_sql::{Database, Engine};

mod agreements;
mod cards;
mod clause;
mod disputes;
mod emails;
mod faults;
mod frozen;
mod idempotency;
mod keys;
mod ledger;
mod links;
mod payments;
mod probes;
mod refunds;
mod search;
mod services;
mod snapshots;
mod staff;
mod webhooks;

/// Declares a table's columns once: `COLUMNS` (their names, in order, for SQL) and
/// `values(record)` (the bound values, in the same order), each name written next to its
/// value, so adding a column is one line and two columns cannot be swapped by position.
macro_rules! columns {
    (
        $(#[$doc:meta])*
        $cols:ident, $values:ident($rec:ident: &$ty:ty) {
            $first:ident: $first_value:expr $(, $name:ident: $value:expr)* $(,)?
        }
    ) => {
        $(#[$doc])*
        pub(crate) const $cols: &str = concat!(stringify!($first) $(, ", ", stringify!($name))*);

        pub(crate) fn $values($rec: &$ty) -> Vec<pence_sql::Val> {
            pence_sql::vals![$first_value $(, $value)*]
        }
    };
}
pub(crate) use columns;

/// `UPDATE table SET c1 = $k, c2 = $(k+1), …` for `columns` (comma-separated), the first
/// bound at `$first`: the SET clause of an update whose values follow `columns`' order.
pub(crate) fn set_clause(table: &str, columns: &str, first: usize) -> String {
    let sets: Vec<String> = columns
        .split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", first + i))
        .collect();
    format!("UPDATE {table} SET {}", sets.join(", "))
}

/// How many columns `columns` (comma-separated) names.
pub(crate) fn count(columns: &str) -> usize {
    columns.split(',').count()
}

#[derive(Clone)]
pub struct SqlStore {
    pub(crate) db: Database,
    /// Search counts over frozen payments this node has taken (`frozen.rs`).
    frozen: Arc<frozen::FrozenTotals>,
    /// Where committed status changes are counted, once the node gives one.
    telemetry: Arc<std::sync::OnceLock<Arc<pence_telemetry::Telemetry>>>,
    /// Samples of the text columns' trigrams (PostgreSQL, `probes.rs`).
    samples: Arc<probes::Samples>,
    /// Seals the secrets the node reads back, when it was given keys (`sealing.rs`).
    sealer: Option<Arc<crate::sealing::Sealer>>,
}

impl SqlStore {
    /// A store on `db` keeping search counts that took at least `keep_counts_slower_than`
    /// in the database (`frozen.rs`).
    pub(crate) fn new(
        db: Database,
        keep_counts_slower_than: std::time::Duration,
        sealing: Option<&crate::SealingKeys>,
    ) -> Self {
        SqlStore {
            db,
            frozen: Arc::new(frozen::FrozenTotals::new(keep_counts_slower_than)),
            telemetry: Arc::default(),
            samples: Arc::default(),
            sealer: sealing.map(|keys| Arc::new(crate::sealing::Sealer::new(keys))),
        }
    }

    /// A secret as it is stored: sealed when the node has keys.
    pub(crate) fn sealed(&self, plain: &[u8]) -> Vec<u8> {
        match &self.sealer {
            Some(sealer) => sealer.seal(plain).into_bytes(),
            None => plain.to_vec(),
        }
    }

    /// `sealed`, for a text column.
    pub(crate) fn sealed_text(&self, plain: &str) -> String {
        String::from_utf8(self.sealed(plain.as_bytes())).expect("sealed text is ASCII")
    }

    /// A stored secret opened (one stored before sealing reads as it is).
    pub(crate) fn opened(&self, stored: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        match &self.sealer {
            Some(sealer) => sealer.open(&stored),
            None if stored.starts_with(b"sealed:") => Err(StoreError::database(
                "a secret is sealed, and this node was given no key (PENCE_SECRET_KEY)",
            )),
            None => Ok(stored),
        }
    }

    /// `opened`, for a text column.
    pub(crate) fn opened_text(&self, stored: String) -> Result<String, StoreError> {
        String::from_utf8(self.opened(stored.into_bytes())?)
            .map_err(|_| StoreError::database("a sealed secret is not text"))
    }

    /// Counts every committed status change of a payment in `telemetry` (`/metrics`).
    pub fn count_in(&self, telemetry: Arc<pence_telemetry::Telemetry>) {
        self.db
            .observe_commits(Arc::new(CommitMetrics(telemetry.db())));
        let _ = self.telemetry.set(telemetry);
    }

    /// A change to payments committed: what it recorded, counted.
    pub(crate) fn committed(&self, record: &pence_core::ledger::record::Record) {
        if let Some(t) = self.telemetry.get() {
            for e in &record.events {
                t.transition(e.status.as_str(), e.kind.as_str());
            }
        }
    }

    pub(crate) fn engine_kind(&self) -> Engine {
        self.db.engine()
    }

    /// Rows of a read, each turned into a record by `from`.
    pub(crate) async fn read<T>(
        &self,
        sql: &str,
        params: Vec<Val>,
        from: fn(Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.db
            .query(sql, params)
            .await?
            .into_iter()
            .map(from)
            .collect()
    }

    /// The first row of a read as a record, if any.
    pub(crate) async fn read_one<T>(
        &self,
        sql: &str,
        params: Vec<Val>,
        from: fn(Row) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.db
            .query(sql, params)
            .await?
            .into_iter()
            .next()
            .map(from)
            .transpose()
    }

    /// The `total` column of `sql`'s one row.
    pub(crate) async fn total(&self, sql: &str, params: Vec<Val>) -> Result<u64, StoreError> {
        Ok(match self.db.query(sql, params).await?.into_iter().next() {
            Some(mut row) => row.opt_i64("total")?.unwrap_or(0).max(0) as u64,
            None => 0,
        })
    }

    /// Bulk import of history: payments with their events and refunds, in one transaction.
    /// `pence-bench search` loads its million payments this way.
    #[cfg(feature = "bulk-load")]
    pub async fn load(
        &self,
        payments: &[pence_core::payment::PaymentRecord],
        events: &[pence_core::ledger::LedgerEvent],
        refunds: &[pence_core::refund::RefundRecord],
    ) -> Result<(), StoreError> {
        let mut change: Vec<Stmt> = payments.iter().map(payments::insert_all).collect();
        change.extend(refunds.iter().map(refunds::insert));
        change.extend(events.iter().map(ledger::event_insert));
        self.db.apply(change).await
    }

    /// Refreshes the planner's statistics (and, on PostgreSQL, the visibility map that
    /// index-only scans rely on), as a long-running database's maintenance would.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        match self.db.engine() {
            Engine::Postgres => self
                .db
                .query("VACUUM ANALYZE", Vec::new())
                .await
                .map(|_| ()),
            Engine::Sqlite => self.db.apply(vec![Stmt::exec("ANALYZE", Vec::new())]).await,
        }
    }

    /// The database's size on disk in bytes (for benchmarks' reports).
    pub async fn database_bytes(&self) -> Result<u64, StoreError> {
        let sql = match self.db.engine() {
            Engine::Postgres => "SELECT pg_database_size(current_database()) AS n",
            Engine::Sqlite => {
                "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()"
            }
        };
        let mut rows = self.db.query(sql, Vec::new()).await?;
        let n = match rows.first_mut() {
            Some(row) => row.i64("n")?,
            None => 0,
        };
        Ok(n.max(0) as u64)
    }

    /// Closes every connection; later calls fail (the node's health turns 503).
    pub async fn close(&self) {
        self.db.close().await;
    }
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::database(format!("bad {what} in database: {value:?}"))
}

#[async_trait]
impl InstanceStore for SqlStore {
    fn engine(&self) -> &'static str {
        self.db.engine().name()
    }

    fn connections(&self) -> (u32, u32) {
        self.db.connections()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db.query("SELECT 1 AS one", vec![]).await.map(|_| ())
    }

    async fn secret(&self, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        let rows = self
            .db
            .query("SELECT value FROM secrets WHERE name = $1", vals![name])
            .await?;
        if let Some(mut row) = rows.into_iter().next() {
            return self.opened(row.bytes("value")?);
        }
        let sealed = self.sealed(fresh);
        self.db
            .apply(vec![Stmt::exec(
                "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                vals![name, sealed.as_slice()],
            )])
            .await?;
        let rows = self
            .db
            .query("SELECT value FROM secrets WHERE name = $1", vals![name])
            .await?;
        let stored = rows
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::database(format!("secret {name} missing")))?
            .bytes("value")?;
        self.opened(stored)
    }

    async fn reseal_secrets(&self) -> Result<u64, StoreError> {
        let Some(sealer) = &self.sealer else {
            return Err(StoreError::database(
                "this node was given no key to seal with (PENCE_SECRET_KEY)",
            ));
        };
        // Each sealed column: how its rows are read (key, value) and written, and whether
        // it holds bytes.
        let columns: [(&str, &'static str, bool); 3] = [
            (
                "SELECT name AS k, value AS v FROM secrets",
                "UPDATE secrets SET value = $1 WHERE name = $2",
                true,
            ),
            (
                "SELECT id AS k, totp_secret AS v FROM users WHERE totp_secret IS NOT NULL",
                "UPDATE users SET totp_secret = $1 WHERE id = $2",
                false,
            ),
            (
                "SELECT webhook_id || ':' || CAST(version AS TEXT) AS k, secret AS v \
                 FROM webhook_secrets",
                "UPDATE webhook_secrets SET secret = $1 \
                 WHERE webhook_id || ':' || CAST(version AS TEXT) = $2",
                false,
            ),
        ];
        let mut change = Vec::new();
        for (read, write, bytes) in columns {
            for mut row in self.db.query(read, vec![]).await? {
                let k = row.text("k")?;
                let stored = match bytes {
                    true => row.bytes("v")?,
                    false => row.text("v")?.into_bytes(),
                };
                if sealer.is_current(&stored) {
                    continue;
                }
                let sealed = sealer.seal(&sealer.open(&stored)?);
                let value = match bytes {
                    true => Val::Bytes(sealed.into_bytes()),
                    false => Val::from(sealed.as_str()),
                };
                change.push(Stmt::exec_one(write, vec![value, Val::from(k.as_str())]));
            }
        }
        let n = change.len() as u64;
        if n > 0 {
            self.db.apply(change).await?;
        }
        Ok(n)
    }

    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT value FROM instance_settings WHERE name = $1",
                vals![name],
            )
            .await?;
        rows.into_iter()
            .next()
            .map(|mut r| r.text("value"))
            .transpose()
    }

    async fn put_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.db
            .apply(vec![Stmt::exec(
                "INSERT INTO instance_settings (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                vals![name, value],
            )])
            .await
    }

    async fn count_request(
        &self,
        key: &str,
        bucket: &str,
        second: i64,
    ) -> Result<Option<u64>, StoreError> {
        if self.db.engine() == Engine::Sqlite {
            return Ok(None);
        }
        // An UNLOGGED table (migration 0025): no WAL, so the count's commit waits for no
        // disk; a lost count after a crash only loses that second's window. Run outside
        // the group-commit writers, so a request never queues behind payments.
        let rows = self
            .db
            .query(
                "INSERT INTO rate_windows (key, bucket, second, count) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (key, bucket, second) \
                 DO UPDATE SET count = rate_windows.count + 1 RETURNING count",
                vals![key, bucket, second],
            )
            .await?;
        let mut row = rows
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::database("no count from rate_windows"))?;
        Ok(Some(row.i64("count")?.max(0) as u64))
    }

    async fn purge_request_counts(&self, before_second: i64) -> Result<(), StoreError> {
        if self.db.engine() == Engine::Sqlite {
            return Ok(());
        }
        self.db
            .query(
                "DELETE FROM rate_windows WHERE second < $1",
                vals![before_second],
            )
            .await
            .map(|_| ())
    }
}

/// The node's group-commit histograms, told of each commit by the engine's writers.
struct CommitMetrics(pence_telemetry::DbMetrics);

impl pence_sql::CommitObserver for CommitMetrics {
    fn group_committed(&self, changes: usize, took: std::time::Duration) {
        self.0.group_size.observe(changes as f64);
        self.0.commit_seconds.observe(took.as_secs_f64());
    }
}
