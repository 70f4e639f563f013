//! The searches' WHERE clauses and paging, shared by payments, refunds and disputes.

use pence_core::search::PaymentFilter;
use pence_core::StoreError;

use super::clause::Where;
use super::frozen::HourCounts;
use super::SqlStore;
use pence_sql::Engine;
use pence_sql::{Row, Val};

impl SqlStore {
    /// How many rows of `table` match `w` (unless the caller knows: `total`), and the page
    /// of them at `offset`, newest first. A deep page starts in the hour `hours` says it
    /// does, so the rows skipped are only those of that hour.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn page_of<T>(
        &self,
        table: &str,
        columns: &str,
        mut w: Where,
        hours: Option<&HourCounts>,
        total: Option<u64>,
        limit: u32,
        offset: u64,
        from: fn(Row) -> Result<T, StoreError>,
    ) -> Result<(u64, Vec<T>), StoreError> {
        let total = match total {
            Some(total) => total,
            None => {
                let count_sql = format!("SELECT COUNT(*) AS total FROM {table} WHERE {}", w.sql);
                self.total(&count_sql, w.params.clone()).await?
            }
        };
        if total == 0 || offset >= total {
            return Ok((total, Vec::new()));
        }
        // Pages in the older half are read from the oldest end, so the rows skipped are
        // never more than half of the matches (page 2000 of 2000 skips none).
        let limit = (limit as u64).min(total - offset);
        let from_oldest = offset + limit > total / 2 + 1;
        let (order, mut skip) = if from_oldest {
            ("created_ms ASC, id ASC", total - offset - limit)
        } else {
            ("created_ms DESC, id DESC", offset)
        };
        if let Some((clause, bound, rest)) = hours.and_then(|h| h.narrow(from_oldest, skip)) {
            w.add(clause, bound.into());
            skip = rest;
        }
        let n = w.params.len();
        let page_sql = format!(
            "SELECT {columns} FROM {table} WHERE {} ORDER BY {order} LIMIT ${} OFFSET ${}",
            w.sql,
            n + 1,
            n + 2
        );
        let mut params = w.params;
        params.push(Val::Int(limit as i64));
        params.push(Val::Int(skip as i64));
        let mut rows = self.db.query(&page_sql, params).await?;
        if from_oldest {
            rows.reverse();
        }
        Ok((total, rows.into_iter().map(from).collect::<Result<_, _>>()?))
    }
}

/// `%text%` for LIKE, with LIKE's own wildcards in `text` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// An FTS5 query finding the rows whose `columns` contain each text (3+ characters; shorter
/// ones cannot use trigrams and are left to the LIKE alone).
fn trigram_match<'a>(texts: impl Iterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let terms: Vec<String> = texts
        .filter(|(_, v)| v.chars().count() >= 3)
        .map(|(column, v)| format!("{column} : \"{}\"", v.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// A payments search's WHERE clause: the LIKEs decide the text filters; on PostgreSQL the
/// trigram indexes serve them (`with_trigram_hint` adds SQLite's).
///
/// `probes` are the parts of the text filters (in `texts` order) to ask PostgreSQL's trigram
/// indexes for instead of the whole (`probes.rs`); the whole text's LIKE then still decides,
/// written so that no index serves it (`|| ''`).
pub(crate) fn search_where(
    service_id: &str,
    f: &PaymentFilter,
    probes: &Probes,
    engine: Engine,
) -> Where {
    let mut w = Where::new("service_id = ?", service_id.into());
    if let Some(statuses) = &f.statuses {
        w.add_in(
            "status",
            statuses.iter().map(|s| Val::from(s.as_str())).collect(),
        );
    }
    // Both sides folded by one function: SQLite's own LOWER knows only ASCII letters, so it
    // has `fold` (Unicode, `sqlite::fold`); PostgreSQL's LOWER is what its trigram indexes
    // are built on.
    let fold = match engine {
        Engine::Sqlite => "fold",
        Engine::Postgres => "LOWER",
    };
    let like = format!("{fold}({{}}) LIKE {fold}(?) ESCAPE '\\'");
    for ((column, value), probe) in texts(f).into_iter().zip(probes) {
        if let Some(v) = value {
            if let Some(probe) = probe {
                w.add(&like.replace("{}", column), contains_pattern(probe).into());
                let unindexed = format!("{fold}({column}) || ''");
                w.add(&like.replace("{}", &unindexed), contains_pattern(v).into());
            } else {
                w.add(&like.replace("{}", column), contains_pattern(v).into());
            }
        }
    }
    // No index serves it: the admin tool's occasional search, over the service's rows.
    if let Some(v) = &f.metadata {
        w.add(&like.replace("{}", "metadata"), contains_pattern(v).into());
    }
    for (clause, value) in [
        ("card_brand = ?", &f.card_brand),
        ("first_digits = ?", &f.first_digits),
        ("last_digits = ?", &f.last_digits),
        ("agreement_id = ?", &f.agreement_id),
    ] {
        if let Some(v) = value {
            w.add(clause, v.into());
        }
    }
    w.add_dates(&f.dates);
    w
}

/// Per text filter of `texts`, the part to ask the trigram index for, where not the whole.
pub(crate) type Probes = [Option<String>; 3];

pub(crate) fn texts(f: &PaymentFilter) -> [(&'static str, &Option<String>); 3] {
    [
        ("reference", &f.reference),
        ("email", &f.email),
        ("cardholder_name", &f.cardholder_name),
    ]
}

impl Where {
    /// On SQLite, the search's text filters asked of the trigram FTS table first: the way to
    /// few matches among many rows, but a list of every row when most match. The clause
    /// comes last, so the other placeholders keep their numbers.
    pub(crate) fn with_trigram_hint(&self, engine: Engine, f: &PaymentFilter) -> Option<Where> {
        if engine != Engine::Sqlite {
            return None;
        }
        let given = texts(f)
            .into_iter()
            .filter_map(|(c, v)| v.as_deref().map(|v| (c, v)));
        let query = trigram_match(given)?;
        let mut w = self.clone();
        // Payments above the index's mark (migration 0031) are candidates too.
        w.add(
            "rowid IN (SELECT rowid FROM payments_text WHERE payments_text MATCH ? \
             UNION ALL SELECT rowid FROM payments \
             WHERE rowid > (SELECT upto FROM text_index_mark WHERE id = 1))",
            query.into(),
        );
        Some(w)
    }
}
