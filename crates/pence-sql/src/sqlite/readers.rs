//! SQLite's reading connections and the snapshots they keep between reads.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pence_store_error::StoreError;
use rusqlite::Connection;

use super::{run, run_query};
use crate::value::{Row, Val};

/// A reading connection, and the snapshot it keeps between reads.
pub(super) struct Reader {
    pub(super) conn: Connection,
    /// A read transaction is open, begun when the database's WAL-index header read so.
    pub(super) snapshot: Option<Header>,
    /// The header at this reader's last read: a different one now means a commit since.
    pub(super) seen: Option<Header>,
}

/// The WAL-index header (the first 48 bytes of the `-shm` file): SQLite rewrites it at every
/// commit, by any connection of any process (<https://www.sqlite.org/walformat.html>).
type Header = [u8; 48];

/// How often idle readers' outdated snapshots are ended.
const TIDY_EVERY: Duration = Duration::from_millis(100);
/// How long after a commit was last seen snapshots are not kept between reads.
const QUIET: Duration = Duration::from_millis(100);

/// The reading connections. Each keeps its read transaction open between reads for as long as
/// nothing is committed: starting and ending one takes SQLite's shared-memory mutex and two
/// `fcntl` locks, which the readers on both tokio workers waited on each other for (futex
/// waits, a tenth of a get's CPU); checking the WAL-index header is one `pread`. A snapshot
/// is refreshed at the first read after any commit, here or by another process (the CLI), so
/// every read sees everything committed before it started. Snapshots are kept only while the
/// database is quiet (no commit seen for `QUIET`): a reader holding a snapshot between reads
/// keeps the writer from starting the WAL over, so under a steady stream of writes the WAL
/// would only grow (200 MiB in 20 s of creates and gets); then each read is its own
/// transaction, as SQLite does by itself. Idle readers' outdated snapshots are ended every
/// `TIDY_EVERY`.
pub(super) struct Readers {
    idle: Mutex<Vec<Reader>>,
    /// When a commit was last seen, in ms since `since`.
    changed_ms: std::sync::atomic::AtomicU64,
    since: std::time::Instant,
    /// The `-shm` file, when the database is in WAL mode; without it, every read is its own
    /// transaction.
    shm: Option<std::fs::File>,
}

/// The `-shm` file beside a database file (none for in-memory or URI names).
pub(super) fn shm_path(path: &str) -> Option<String> {
    (!path.starts_with("file:") && !path.starts_with(':')).then(|| format!("{path}-shm"))
}

impl Readers {
    pub(super) fn new(readers: Vec<Reader>, shm: Option<String>) -> Arc<Readers> {
        let shm = shm.and_then(|path| std::fs::File::open(path).ok());
        let keeps = shm.is_some();
        let readers = Arc::new(Readers {
            idle: Mutex::new(readers),
            changed_ms: std::sync::atomic::AtomicU64::new(0),
            since: std::time::Instant::now(),
            shm,
        });
        if keeps {
            let weak = Arc::downgrade(&readers);
            let _ = std::thread::Builder::new()
                .name("pence-sqlite-tidy".into())
                .spawn(move || loop {
                    std::thread::sleep(TIDY_EVERY);
                    match weak.upgrade() {
                        Some(readers) => readers.tidy(),
                        None => break,
                    }
                });
        }
        readers
    }

    /// The header as it is now; `None` when it cannot be read (no snapshot is kept then).
    fn header(&self) -> Option<Header> {
        use std::os::unix::fs::FileExt;
        let mut header = [0u8; 48];
        self.shm.as_ref()?.read_exact_at(&mut header, 0).ok()?;
        Some(header)
    }

    pub(super) fn take(&self) -> Option<Reader> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    pub(super) fn give_back(&self, reader: Reader) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(reader);
    }

    /// `sql` on `reader`, in its snapshot when nothing was committed since it began.
    pub(super) fn read(
        &self,
        reader: &mut Reader,
        sql: &str,
        params: &[Val],
    ) -> Result<Vec<Row>, StoreError> {
        let now = self.header();
        if reader.snapshot.is_some() && (now.is_none() || reader.snapshot != now) {
            end_snapshot(reader);
        }
        if reader.snapshot.is_none() && now.is_some() {
            // The header is read before the transaction's first read, so the snapshot holds
            // at least what the header says: a commit in between only makes it look older.
            if run(&reader.conn, "BEGIN").is_ok() {
                reader.snapshot = now;
            }
        }
        let result = run_query(&reader.conn, sql, params);
        let elapsed = self.since.elapsed().as_millis() as u64;
        if reader.seen.is_some() && reader.seen != now {
            self.changed_ms.store(elapsed, Ordering::Relaxed);
        }
        reader.seen = now;
        let quiet = elapsed.saturating_sub(self.changed_ms.load(Ordering::Relaxed))
            >= QUIET.as_millis() as u64;
        if reader.snapshot.is_some() && (result.is_err() || !quiet) {
            end_snapshot(reader);
        }
        result
    }

    /// `queries` in one read transaction of their own, begun and ended here.
    pub(super) fn read_together(
        &self,
        reader: &mut Reader,
        queries: &[(String, Vec<Val>)],
    ) -> Result<Vec<Vec<Row>>, StoreError> {
        end_snapshot(reader);
        run(&reader.conn, "BEGIN").map_err(super::err)?;
        let result = queries
            .iter()
            .map(|(sql, params)| run_query(&reader.conn, sql, params))
            .collect();
        let _ = run(&reader.conn, "ROLLBACK");
        result
    }

    /// Ends the outdated snapshots of the readers not in use.
    fn tidy(&self) {
        let now = self.header();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        for reader in idle.iter_mut() {
            if reader.snapshot.is_some() && (now.is_none() || reader.snapshot != now) {
                end_snapshot(reader);
            }
        }
    }

    pub(super) fn close(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn end_snapshot(reader: &mut Reader) {
    reader.snapshot = None;
    if !reader.conn.is_autocommit() {
        let _ = run(&reader.conn, "ROLLBACK");
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::db::Db;
    use crate::migrate;
    use crate::sqlite::SqliteDb;
    use crate::value::Stmt;

    const SCHEMA: migrate::Schema = migrate::Schema {
        table: "test_migrations",
        lock_key: 0,
        common: &[(
            1,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)",
        )],
        sqlite: &[],
        postgres: &[],
        sqlite_idle: &[],
    };

    fn value(rows: &[Row]) -> Option<String> {
        match rows.first()?.get("v")? {
            Val::Text(v) => Some(v.clone()),
            _ => None,
        }
    }

    async fn read(db: &SqliteDb) -> Option<String> {
        value(
            &db.query("SELECT v FROM t WHERE id = 1", Vec::new())
                .await
                .unwrap(),
        )
    }

    /// A reader keeps its snapshot between reads only while nothing is committed: a change by
    /// this node's writer, or by another connection as another process (the CLI) makes, is
    /// seen by the next read.
    #[tokio::test]
    async fn a_read_sees_every_commit_made_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db").to_string_lossy().into_owned();
        let db = SqliteDb::open(&path, 1, 8, &SCHEMA).unwrap();
        assert!(db.readers.shm.is_some(), "WAL mode keeps snapshots");
        assert_eq!(read(&db).await, None);
        db.apply(vec![Stmt::exec(
            "INSERT INTO t VALUES (1, 'ours')",
            Vec::new(),
        )])
        .await
        .unwrap();
        assert_eq!(read(&db).await.as_deref(), Some("ours"));
        assert_eq!(read(&db).await.as_deref(), Some("ours"));
        let other = Connection::open(&path).unwrap();
        other
            .execute("UPDATE t SET v = 'theirs' WHERE id = 1", [])
            .unwrap();
        assert_eq!(read(&db).await.as_deref(), Some("theirs"));
        other
            .execute("UPDATE t SET v = 'again' WHERE id = 1", [])
            .unwrap();
        assert_eq!(read(&db).await.as_deref(), Some("again"));
    }

    /// Under a steady stream of commits, with reads between them, the WAL is started over as
    /// usual (readers holding snapshots between reads kept it from ever being: it only grew).
    #[tokio::test]
    async fn the_wal_stays_small_under_steady_writes_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db").to_string_lossy().into_owned();
        let db = SqliteDb::open(&path, 2, 8, &SCHEMA).unwrap();
        let text = "x".repeat(3000);
        for i in 0..4000 {
            let change = vec![Stmt::exec(
                "INSERT OR REPLACE INTO t VALUES ($1, $2)",
                vec![Val::Int(i % 50), Val::Text(text.clone())],
            )];
            db.apply(change).await.unwrap();
            read(&db).await;
        }
        let wal = std::fs::metadata(format!("{path}-wal")).unwrap().len();
        assert!(wal < 8 << 20, "the WAL grew to {} MiB", wal >> 20);
    }

    /// A reader not in use does not hold an outdated snapshot for long (it would keep a
    /// checkpoint from reaching the end of the WAL).
    #[tokio::test]
    async fn idle_readers_let_go_of_outdated_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db").to_string_lossy().into_owned();
        let db = SqliteDb::open(&path, 1, 8, &SCHEMA).unwrap();
        // Snapshots are kept once the database has been quiet for a while.
        read(&db).await;
        tokio::time::sleep(QUIET * 2).await;
        read(&db).await;
        let open = |db: &SqliteDb| {
            let idle = db.readers.idle.lock().unwrap();
            !idle[0].conn.is_autocommit()
        };
        assert!(open(&db), "the snapshot is kept after a read");
        db.apply(vec![Stmt::exec(
            "INSERT INTO t VALUES (1, 'x')",
            Vec::new(),
        )])
        .await
        .unwrap();
        let waited = std::time::Instant::now();
        while open(&db) {
            assert!(waited.elapsed() < TIDY_EVERY * 20, "never ended");
            tokio::time::sleep(TIDY_EVERY / 4).await;
        }
    }
}
