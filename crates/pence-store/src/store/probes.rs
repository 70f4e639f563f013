//! PostgreSQL's partial text searches, asked of the trigram index by their rare part only.
//!
//! `LOWER(reference) LIKE '%inv-6587100%'` asks the GIN trigram index for every trigram of the
//! text, and at 10,000,000 payments whose references all start `INV-` the posting lists of
//! `inv` and its neighbours hold every row: reading them took 65 ms where the digits' alone
//! took 3.6 ms. pg_trgm keeps no trigram frequencies, so each node samples a few thousand of
//! the column's values now and then and counts them itself; a search then asks the index for
//! the longest run of the text whose trigrams are uncommon (its *probe*), and the full LIKE,
//! written so the index cannot serve it, still decides. The answer is the same either way.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pence_core::StoreError;

use super::SqlStore;
use pence_sql::Engine;
use pence_sql::Val;

/// Tables smaller than this are searched as they are (a full scan of posting lists is cheap).
const FROM_ROWS: i64 = 20_000;
/// Values sampled per column.
const SAMPLE: f64 = 5_000.0;
/// How long a node trusts its sample.
const KEPT: Duration = Duration::from_secs(600);
/// A trigram found in more than this share of the sampled values is common.
const COMMON: f64 = 0.02;

/// How often each trigram occurs in a sample of a column's (lower-cased) values.
#[derive(Debug, Default)]
pub(crate) struct Commonness {
    values: u32,
    counts: HashMap<[char; 3], u32>,
}

impl Commonness {
    pub(crate) fn of<'a>(values: impl IntoIterator<Item = &'a str>) -> Commonness {
        let mut out = Commonness::default();
        for v in values {
            out.values += 1;
            let chars: Vec<char> = v.chars().collect();
            let seen: HashSet<[char; 3]> = chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect();
            for t in seen {
                *out.counts.entry(t).or_default() += 1;
            }
        }
        out
    }

    fn common(&self, t: [char; 3]) -> bool {
        f64::from(self.counts.get(&t).copied().unwrap_or(0)) > f64::from(self.values) * COMMON
    }

    /// The longest run of `text` (lower-cased) within one word — pg_trgm indexes words of
    /// letters and digits — whose trigrams are all uncommon, if there is one of three
    /// characters or more and it is not `text` itself.
    pub(crate) fn probe(&self, text: &str) -> Option<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut best: Option<(usize, usize)> = None;
        let mut run: Option<usize> = None;
        for i in 0..chars.len().saturating_sub(2) {
            let t = [chars[i], chars[i + 1], chars[i + 2]];
            if t.iter().all(|c| c.is_alphanumeric()) && !self.common(t) {
                let start = *run.get_or_insert(i);
                let end = i + 3;
                if best.is_none_or(|(s, e)| e - s < end - start) {
                    best = Some((start, end));
                }
            } else {
                run = None;
            }
        }
        let (start, end) = best?;
        (end - start < chars.len()).then(|| chars[start..end].iter().collect())
    }
}

/// A column's sample as taken at an instant (`None`: the table was too small to sample).
type Sampled = (Instant, Option<Arc<Commonness>>);

/// Each node's samples, by column.
#[derive(Default)]
pub(crate) struct Samples {
    kept: Mutex<HashMap<&'static str, Sampled>>,
}

impl SqlStore {
    /// The probe for a search of `column` for `text`, on PostgreSQL; `None` where the whole
    /// text is to be asked (SQLite, a small table, no run of rare trigrams).
    pub(crate) async fn probe(
        &self,
        column: &'static str,
        text: &str,
    ) -> Result<Option<String>, StoreError> {
        if self.db.engine() != Engine::Postgres || text.chars().count() < 4 {
            return Ok(None);
        }
        let known = {
            let kept = self.samples.kept.lock().unwrap_or_else(|e| e.into_inner());
            kept.get(column)
                .filter(|(at, _)| at.elapsed() < KEPT)
                .map(|(_, c)| c.clone())
        };
        let commonness = match known {
            Some(c) => c,
            None => {
                let c = self.sample(column).await?.map(Arc::new);
                self.samples
                    .kept
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(column, (Instant::now(), c.clone()));
                c
            }
        };
        // The samples are folded (LOWER), so the text is too before its runs are weighed.
        Ok(commonness.and_then(|c| c.probe(&text.to_lowercase())))
    }

    /// A sample of the column's values across the table (whole pages picked at random), or
    /// `None` when the table is small.
    async fn sample(&self, column: &'static str) -> Result<Option<Commonness>, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT CAST(reltuples AS BIGINT) AS n FROM pg_class \
                 WHERE oid = CAST('payments' AS regclass)",
                vec![],
            )
            .await?;
        let estimate = match rows.into_iter().next() {
            Some(mut row) => row.opt_i64("n")?.unwrap_or(0),
            None => 0,
        };
        if estimate < FROM_ROWS {
            return Ok(None);
        }
        let percent = (SAMPLE * 100.0 / estimate as f64).clamp(0.001, 100.0);
        let sql = format!(
            "SELECT LOWER({column}) AS v FROM payments TABLESAMPLE SYSTEM ({percent:.4}) \
             WHERE {column} IS NOT NULL"
        );
        let mut values = Vec::new();
        for mut row in self.db.query(&sql, Vec::<Val>::new()).await? {
            values.push(row.text("v")?);
        }
        Ok(Some(Commonness::of(values.iter().map(String::as_str))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_is_the_longest_rare_run_within_a_word() {
        let sample: Vec<String> = (0..1000)
            .map(|i| format!("inv-{:07}", i * 7919 % 10_000_000))
            .chain((0..1000).map(|i| format!("user{i}@example.com")))
            .collect();
        let c = Commonness::of(sample.iter().map(String::as_str));
        // Every reference starts `inv-`; the digits are rare.
        assert_eq!(c.probe("inv-6587100").as_deref(), Some("6587100"));
        // Every email starts `user` and ends `@example.com`.
        assert_eq!(c.probe("user4821@example").as_deref(), Some("r4821"));
        // Nothing rare: the whole text is asked.
        assert_eq!(c.probe("example"), None);
        assert_eq!(c.probe("inv-"), None);
        // All of it rare already: nothing to gain.
        assert_eq!(c.probe("zqxwv"), None);
    }
}
