//! The migration runner: a `Schema`'s migrations (those whose SQL is the same on both engines
//! listed once, each engine's own beside them) applied in version order at start and recorded
//! in the schema's table of versions. On PostgreSQL an advisory lock keeps two starting nodes
//! apart; on SQLite the writer connection's exclusive transaction does. Each user of the
//! engine brings its own `Schema` (Pence's store, the connector).

/// A set of migrations and where they are recorded.
#[derive(Debug)]
pub struct Schema {
    /// The table recording applied versions (so several schemas can share one database).
    pub table: &'static str,
    /// The PostgreSQL advisory lock held while migrating.
    pub lock_key: i64,
    /// Migrations whose SQL is the same on both engines.
    pub common: &'static [(i64, &'static str)],
    pub sqlite: &'static [(i64, &'static str)],
    pub postgres: &'static [(i64, &'static str)],
    /// Work SQLite's writer does in batches when nothing is queued (and every few groups
    /// under load), each run one transaction: statements whose last changes a row while
    /// there is more to do.
    pub sqlite_idle: &'static [&'static str],
}

/// An engine's migrations in version order: its own among the common ones.
pub fn in_order(
    common: &'static [(i64, &'static str)],
    own: &'static [(i64, &'static str)],
) -> Vec<&'static (i64, &'static str)> {
    let mut all: Vec<_> = common.iter().chain(own).collect();
    all.sort_by_key(|(version, _)| *version);
    all
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn create_table(schema: &Schema) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        schema.table
    )
}

/// One line for the migrations a start applied, however many (none: nothing said).
pub(crate) fn summarise(applied: &[i64]) {
    if let (Some(first), Some(last)) = (applied.first(), applied.last()) {
        tracing::info!(
            count = applied.len(),
            "applied {} migrations ({first} to {last})",
            applied.len()
        );
    }
}
