//! Exact search totals without recounting the past (migration 0017).
//!
//! GOV.UK Pay's `total` is an exact count, and a search matching most of a million payments
//! costs a scan of most of them. But a payment whose public state is final
//! (`Status::state_is_final`) never again matches a search differently, so the freezing
//! sweep marks such payments in numbered batches (`freeze_state.seq`, taken under that row's
//! lock, so batches commit in number order). A search's count over the batches up to `seq`
//! is then true for good: the node keeps it, and later totals add only what is not frozen
//! or was frozen since, which `payments_by_service_frozen` finds. Each count reads `seq` and
//! rows in one statement, so both come from one snapshot. A count that was slow to take is
//! kept in the database too (migration 0033, named by an HMAC of the search so no filter
//! text is stored), so a node after a restart, or another node, starts from it.
//!
//! The same batches are counted by service, status and hour of creation (migration 0029), so
//! a search by state and creation dates alone is totalled from its whole hours' counts plus
//! its partial hours and what is not frozen (`hour_total`): bounded work the first time too.
//!
//! Settlement dates change after a payment is final; searches by them are not cached.

use std::num::NonZeroUsize;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use lru::LruCache;
use pence_core::payment::status::Status;
use pence_core::ports::InstanceStore;
use pence_core::search::PaymentFilter;
use pence_core::StoreError;

use super::clause::Where;
use super::SqlStore;
use pence_sql::Engine;
use pence_sql::{vals, Row, Stmt, Val};

/// The service's state generation, read in a count's statement: a search's `$1` is its
/// service (`search::search_where`).
const GENERATION: &str = "(SELECT state_generation FROM services WHERE id = $1) AS generation";

/// Searches a node remembers the frozen count of.
const REMEMBERED: usize = 4096;

/// A kept count behind the freezing sweep is kept again this often when used, so a node
/// starting later counts only a little of what was frozen since.
const KEEP_AGAIN_AFTER: Duration = Duration::from_secs(600);
/// Kept counts not kept again for this long are deleted.
const FORGET_AFTER_MS: i64 = 30 * 24 * 3_600_000;
/// Part of every kept count's name: a change to what a search's text means changes it.
const KEPT_VERSION: &str = "1|";

/// What one search counted over the frozen batches up to `seq`, and when it was last kept
/// in the database (the batch and the time), if it was.
#[derive(Debug, Clone, Copy)]
struct Frozen {
    count: u64,
    seq: i64,
    /// The service's state generation counted (`services.state_generation`).
    generation: i64,
    kept: Option<(i64, Instant)>,
}

/// The frozen counts this node has taken, by search, and the secret naming kept ones.
pub(crate) struct FrozenTotals {
    counts: Mutex<LruCache<String, Frozen>>,
    secret: tokio::sync::OnceCell<Vec<u8>>,
    /// A count that took this long is kept in the database too (`search_counts`), so the
    /// next node to start does not take it again; quicker ones are only remembered.
    keep_slower_than: Duration,
}

impl FrozenTotals {
    pub(crate) fn new(keep_slower_than: Duration) -> Self {
        FrozenTotals {
            counts: Mutex::new(LruCache::new(
                NonZeroUsize::new(REMEMBERED).expect("non-zero"),
            )),
            secret: tokio::sync::OnceCell::new(),
            keep_slower_than,
        }
    }
}

/// `'A', 'B', …`: the statuses whose public state is final, as the partial index names them.
pub(crate) static FINAL_STATUSES: LazyLock<String> = LazyLock::new(|| {
    Status::ALL
        .iter()
        .filter(|s| s.state_is_final())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
});

/// Freezes up to `$1` final payments as the next batch. The subquery repeats the partial
/// index's condition word for word, which is what lets SQLite use it; SQLite is also told
/// to (its planner would rather walk every CAPTURED payment, frozen or not, by status).
/// On PostgreSQL the same statement adds the batch to the hour counts (migration 0029);
/// SQLite's trigger does it there.
fn freeze_sql(engine: Engine) -> String {
    // PostgreSQL's writers change payments in group transactions on several connections:
    // a batch that waited for a row one of them holds, while that group waits for a row the
    // batch took, would deadlock. The batch takes only rows no one holds (the rest are
    // frozen by a later batch), so it never waits.
    let (indexed_by, unheld) = match engine {
        Engine::Sqlite => (" INDEXED BY payments_to_freeze", ""),
        Engine::Postgres => ("", " FOR UPDATE SKIP LOCKED"),
    };
    let freeze = format!(
        "UPDATE payments SET frozen_seq = (SELECT seq FROM freeze_state WHERE id = 1) \
         WHERE id IN (SELECT id FROM payments{indexed_by} WHERE frozen_seq IS NULL \
         AND status IN ({}) LIMIT $1{unheld})",
        *FINAL_STATUSES
    );
    match engine {
        Engine::Sqlite => format!("{freeze} RETURNING id"),
        Engine::Postgres => format!(
            "WITH frozen AS ({freeze} RETURNING id, service_id, status, created_ms), \
             counted AS (INSERT INTO frozen_hour_counts (service_id, status, hour, n) \
               SELECT service_id, status, created_ms / {HOUR_MS}, COUNT(*) FROM frozen \
               GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
               ON CONFLICT (service_id, status, hour) \
               DO UPDATE SET n = frozen_hour_counts.n + EXCLUDED.n) \
             SELECT id FROM frozen"
        ),
    }
}

/// The hour counts' bucket (migration 0029).
const HOUR_MS: i64 = 3_600_000;
static FREEZE_SQLITE: LazyLock<String> = LazyLock::new(|| freeze_sql(Engine::Sqlite));
static FREEZE_POSTGRES: LazyLock<String> = LazyLock::new(|| freeze_sql(Engine::Postgres));
const NEXT_BATCH: &str = "UPDATE freeze_state SET seq = seq + 1 WHERE id = 1";

impl SqlStore {
    /// One batch of the freezing sweep; how many payments it froze.
    pub(crate) async fn freeze_batch(&self, limit: u32) -> Result<u64, StoreError> {
        let change = vec![
            Stmt::exec(NEXT_BATCH, Vec::new()),
            Stmt::returning(
                match self.engine_kind() {
                    Engine::Sqlite => FREEZE_SQLITE.as_str(),
                    Engine::Postgres => FREEZE_POSTGRES.as_str(),
                },
                vals![limit as i64],
            ),
        ];
        Ok(self.db.apply_returning(change).await?.len() as u64)
    }

    /// How many payments match `w` (a payments search's WHERE clause): the count kept for
    /// its frozen payments (by this node, or in `search_counts`) plus a count of the rest,
    /// or, the first time, a full count, using `hinted` (`w` and SQLite's trigram hint) when
    /// there is one. The hint stays out of the rest's count: it would list every match
    /// before the frozen index narrows them.
    pub(crate) async fn payments_total(
        &self,
        w: &Where,
        hinted: Option<&Where>,
    ) -> Result<u64, StoreError> {
        let search = format!("{}|{:?}", w.sql, w.params);
        let remembered = self
            .frozen
            .counts
            .lock()
            .expect("not poisoned")
            .get(&search)
            .copied();
        let known = match remembered {
            Some(before) => Some(before),
            None => self.kept_count(&search).await?,
        };
        let started = Instant::now();
        let since = match known {
            Some(before) => self.count_since(w, before).await?,
            None => None,
        };
        let (total, mut frozen) = match since {
            Some(counted) => counted,
            None => self.count_all(w, hinted).await?,
        };
        let costly = started.elapsed() >= self.frozen.keep_slower_than;
        let stale = frozen
            .kept
            .is_some_and(|(seq, at)| seq < frozen.seq && at.elapsed() >= KEEP_AGAIN_AFTER);
        if costly || stale {
            frozen.kept = Some((frozen.seq, Instant::now()));
            self.keep_count(&search, frozen).await;
        }
        self.frozen
            .counts
            .lock()
            .expect("not poisoned")
            .put(search, frozen);
        Ok(total)
    }

    /// The total from a count `before` of the frozen batches: it plus what is not frozen
    /// or was frozen since, and the frozen count now. `None` when the service was restored
    /// or reset since (another generation): the count is of rows that are gone.
    async fn count_since(
        &self,
        w: &Where,
        before: Frozen,
    ) -> Result<Option<(u64, Frozen)>, StoreError> {
        let sql = format!(
            "SELECT (SELECT seq FROM freeze_state WHERE id = 1) AS seq, {GENERATION}, \
             COUNT(*) AS total, COUNT(frozen_seq) AS frozen FROM payments \
             WHERE {} AND (frozen_seq IS NULL OR frozen_seq > ${})",
            w.sql,
            w.params.len() + 1
        );
        let mut params = w.params.clone();
        params.push(Val::Int(before.seq));
        let mut row = self.one_row(&sql, params).await?;
        if row.i64("generation")? != before.generation {
            return Ok(None);
        }
        Ok(Some((
            before.count + count(&mut row, "total")?,
            Frozen {
                count: before.count + count(&mut row, "frozen")?,
                seq: row.i64("seq")?,
                generation: before.generation,
                kept: before.kept,
            },
        )))
    }

    /// The total counted in full, and the frozen part of it: everything (as fast as the
    /// filter's own index allows, or `hinted`) and what is not frozen (few) in one
    /// statement, frozen = total - live. The hint's placeholder comes last, so `w`'s numbers
    /// hold in both.
    async fn count_all(
        &self,
        w: &Where,
        hinted: Option<&Where>,
    ) -> Result<(u64, Frozen), StoreError> {
        let all = hinted.unwrap_or(w);
        let sql = format!(
            "SELECT (SELECT seq FROM freeze_state WHERE id = 1) AS seq, {GENERATION}, \
             (SELECT COUNT(*) FROM payments WHERE {}) AS total, \
             (SELECT COUNT(*) FROM payments WHERE {} AND frozen_seq IS NULL) AS live",
            all.sql, w.sql,
        );
        let mut row = self.one_row(&sql, all.params.clone()).await?;
        let total = count(&mut row, "total")?;
        Ok((
            total,
            Frozen {
                count: total.saturating_sub(count(&mut row, "live")?),
                seq: row.i64("seq")?,
                generation: row.i64("generation")?,
                kept: None,
            },
        ))
    }

    /// Reads (or, the first time, makes) the secret naming kept counts: at start, so that
    /// a search never writes it.
    pub(crate) async fn ready_kept_counts(&self) -> Result<(), StoreError> {
        self.frozen
            .secret
            .get_or_try_init(|| async {
                let fresh = pence_core::ids::random_base32(52).into_bytes();
                self.secret("search_counts", &fresh).await
            })
            .await
            .map(|_| ())
    }

    /// The name `search` is kept under in `search_counts`: an HMAC under an instance
    /// secret, so the table holds no filter text (an email fragment, a name).
    async fn kept_name(&self, search: &str) -> Result<String, StoreError> {
        self.ready_kept_counts().await?;
        let secret = self.frozen.secret.get().expect("just made ready");
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(KEPT_VERSION.as_bytes());
        mac.update(search.as_bytes());
        Ok(mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }

    /// The count another node, or this one before a restart, kept for `search`.
    async fn kept_count(&self, search: &str) -> Result<Option<Frozen>, StoreError> {
        let name = self.kept_name(search).await?;
        let rows = self
            .db
            .query(
                "SELECT n, seq, generation FROM search_counts WHERE key = $1",
                vals![name],
            )
            .await?;
        let Some(mut row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let seq = row.i64("seq")?;
        Ok(Some(Frozen {
            count: count(&mut row, "n")?,
            seq,
            generation: row.i64("generation")?,
            kept: Some((seq, Instant::now())),
        }))
    }

    /// Keeps `frozen` as `search`'s count in the database, unless a later one is kept
    /// already, and lets counts unused for `FORGET_AFTER_MS` go. In the background: the
    /// search's answer does not wait for a commit, and a count that is not kept is only
    /// counted again.
    async fn keep_count(&self, search: &str, frozen: Frozen) {
        let name = match self.kept_name(search).await {
            Ok(name) => name,
            Err(e) => return tracing::warn!(error = %e, "a search count was not kept"),
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let change = vec![
            Stmt::exec(
                "INSERT INTO search_counts (key, n, seq, kept_ms, generation) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (key) DO UPDATE SET n = EXCLUDED.n, seq = EXCLUDED.seq, \
                 kept_ms = EXCLUDED.kept_ms, generation = EXCLUDED.generation \
                 WHERE search_counts.generation < EXCLUDED.generation \
                 OR (search_counts.generation = EXCLUDED.generation \
                 AND search_counts.seq < EXCLUDED.seq)",
                vals![
                    name,
                    frozen.count as i64,
                    frozen.seq,
                    now_ms,
                    frozen.generation
                ],
            ),
            Stmt::exec(
                "DELETE FROM search_counts WHERE kept_ms < $1",
                vals![now_ms - FORGET_AFTER_MS],
            ),
        ];
        let db = self.db.clone();
        tokio::spawn(async move {
            if let Err(e) = db.apply(change).await {
                tracing::warn!(error = %e, "a search count was not kept");
            }
        });
    }

    /// How many payments a search naming only states and creation dates
    /// (`by_state_and_dates`) matches, hour by hour, when it spans a whole hour: the frozen
    /// payments of its whole hours from their hour counts, plus what is not frozen and its
    /// partial first and last hours from the payments, all in one statement (one snapshot).
    /// It reads two hours of payments, the unfrozen ones and a row per hour and status,
    /// however many payments the range holds.
    pub(crate) async fn hour_counts(
        &self,
        service_id: &str,
        f: &PaymentFilter,
    ) -> Result<Option<HourCounts>, StoreError> {
        if !by_state_and_dates(f) {
            return Ok(None);
        }
        let (after, before) = (f.dates.created_after_ms, f.dates.created_before_ms);
        // Whole hours h: h * HOUR_MS > after and (h + 1) * HOUR_MS <= before.
        let first = after.map(|a| a.div_euclid(HOUR_MS) + 1);
        let end = before.map(|b| b.div_euclid(HOUR_MS));
        if let (Some(first), Some(end)) = (first, end) {
            if first >= end {
                return Ok(None);
            }
        }
        let mut params = vec![Val::from(service_id)];
        let mut arg = |v: Val| {
            params.push(v);
            format!("${}", params.len())
        };
        let states = match &f.statuses {
            Some(statuses) if statuses.is_empty() => " AND status IS NULL".to_string(),
            Some(statuses) => {
                let marks: Vec<String> = statuses
                    .iter()
                    .map(|s| arg(Val::from(s.as_str())))
                    .collect();
                format!(" AND status IN ({})", marks.join(", "))
            }
            None => String::new(),
        };
        let (mut hours, mut window, mut edges) = (String::new(), String::new(), Vec::new());
        let mut buckets = Vec::new();
        // Each end of the range: its bound, the whole hours' end there, which end it is.
        let lower = after.zip(first).map(|(bound, hour)| (bound, hour, true));
        let upper = before.zip(end).map(|(bound, hour)| (bound, hour, false));
        for (bound, hour, is_lower) in lower.into_iter().chain(upper) {
            let (bound_arg, hour_arg, ms) = (
                arg(bound.into()),
                arg(hour.into()),
                arg((hour * HOUR_MS).into()),
            );
            let (op, edge) = if is_lower {
                buckets.push(Bucket::new(bound + 1, hour * HOUR_MS));
                (
                    ">=",
                    format!("created_ms > {bound_arg} AND created_ms < {ms}"),
                )
            } else {
                buckets.push(Bucket::new(hour * HOUR_MS, bound));
                (
                    "<",
                    format!("created_ms >= {ms} AND created_ms < {bound_arg}"),
                )
            };
            hours.push_str(&format!(" AND hour {op} {hour_arg}"));
            window.push_str(&format!(" AND created_ms {op} {ms}"));
            edges.push(edge);
        }
        // Not frozen (few): found by the frozen index, which SQLite is told to use (its
        // planner would rather walk the window by date).
        let by_frozen = match self.engine_kind() {
            Engine::Sqlite => " INDEXED BY payments_by_service_frozen",
            Engine::Postgres => "",
        };
        // Rows: -1 and -2 the partial hours (in `buckets`' order), else an hour's count.
        let mut sql = format!(
            "SELECT hour, CAST(SUM(n) AS BIGINT) AS n FROM frozen_hour_counts \
             WHERE service_id = $1{states}{hours} GROUP BY hour \
             UNION ALL SELECT created_ms / {HOUR_MS}, COUNT(*) FROM payments{by_frozen} \
             WHERE service_id = $1 AND frozen_seq IS NULL{states}{window} \
             GROUP BY created_ms / {HOUR_MS}"
        );
        for (i, edge) in edges.iter().enumerate() {
            sql.push_str(&format!(
                " UNION ALL SELECT {}, COUNT(*) FROM payments WHERE service_id = $1{states} \
                 AND {edge}",
                -1 - i as i64
            ));
        }
        let mut by_hour = std::collections::BTreeMap::new();
        for mut row in self.db.query(&sql, params).await? {
            let (hour, n) = (row.i64("hour")?, count(&mut row, "n")?);
            match hour {
                -1 | -2 => buckets[(-1 - hour) as usize].n += n,
                hour => *by_hour.entry(hour).or_insert(0) += n,
            }
        }
        let whole = by_hour.into_iter().map(|(hour, n)| Bucket {
            n,
            ..Bucket::new(hour * HOUR_MS, (hour + 1) * HOUR_MS)
        });
        let mut buckets: Vec<Bucket> = buckets.into_iter().chain(whole).collect();
        buckets.retain(|b| b.n > 0);
        buckets.sort_by_key(|b| b.from_ms);
        Ok(Some(HourCounts { buckets }))
    }

    async fn one_row(&self, sql: &str, params: Vec<Val>) -> Result<Row, StoreError> {
        self.db
            .query(sql, params)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::database("a count answered no row"))
    }
}

/// A search's matches by creation time, oldest first: its partial first and last hours
/// and every whole hour with a match.
pub(crate) struct HourCounts {
    buckets: Vec<Bucket>,
}

/// Matches created in `from_ms..until_ms`.
struct Bucket {
    from_ms: i64,
    until_ms: i64,
    n: u64,
}

impl Bucket {
    fn new(from_ms: i64, until_ms: i64) -> Self {
        Bucket {
            from_ms,
            until_ms,
            n: 0,
        }
    }
}

/// Skips shorter than this are walked in the index as they are.
const NARROW_FROM: u64 = 5_000;

impl HourCounts {
    pub(crate) fn total(&self) -> u64 {
        self.buckets.iter().map(|b| b.n).sum()
    }

    /// A page that skips `skip` matches from the newest (or the oldest) end starts in one
    /// hour: the bound leaving out the hours before it (`created_ms < ?` or
    /// `created_ms >= ?`) and what is left to skip within it, or nothing for a short skip.
    pub(crate) fn narrow(&self, from_oldest: bool, skip: u64) -> Option<(&'static str, i64, u64)> {
        if skip < NARROW_FROM {
            return None;
        }
        let mut passed = 0;
        let mut walk: Box<dyn Iterator<Item = &Bucket>> = if from_oldest {
            Box::new(self.buckets.iter())
        } else {
            Box::new(self.buckets.iter().rev())
        };
        walk.find_map(|b| {
            if passed + b.n <= skip {
                passed += b.n;
                return None;
            }
            Some(if from_oldest {
                ("created_ms >= ?", b.from_ms, skip - passed)
            } else {
                ("created_ms < ?", b.until_ms, skip - passed)
            })
        })
    }
}

/// Whether a search names nothing but states and creation dates (the hour counts' kind).
fn by_state_and_dates(f: &PaymentFilter) -> bool {
    // Every field named, so a new filter has to be placed here.
    let PaymentFilter {
        statuses: _,
        reference,
        email,
        card_brand,
        cardholder_name,
        first_digits,
        last_digits,
        agreement_id,
        metadata,
        dates,
    } = f;
    [
        reference,
        email,
        card_brand,
        cardholder_name,
        first_digits,
        last_digits,
        agreement_id,
        metadata,
    ]
    .iter()
    .all(|v| v.is_none())
        && dates.settled_from_ms.is_none()
        && dates.settled_before_ms.is_none()
}

fn count(row: &mut Row, name: &str) -> Result<u64, StoreError> {
    Ok(row.i64(name)?.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migration_indexes_the_final_statuses_of_the_core() {
        let migration = include_str!("../migrations/common/0017_frozen_payments.sql");
        let condition = format!(
            "WHERE frozen_seq IS NULL AND status IN ({})",
            *FINAL_STATUSES
        );
        assert!(
            migration.contains(&condition),
            "0017's payments_to_freeze must say {condition}"
        );
        for engine in [Engine::Sqlite, Engine::Postgres] {
            assert!(freeze_sql(engine).contains(&condition));
        }
    }
}
