//! SQLite through rusqlite. Reads run inline on a small pool of connections (a primary-key
//! lookup takes microseconds; handing it to another thread would cost more than running it).
//! Writes all go to one writer thread, which owns the only writing connection: it takes every
//! change queued, applies them in one transaction (a SAVEPOINT around each only when one is
//! refused after writing) and commits them together: one fsync (WAL, synchronous=FULL) for
//! the whole group. How the bundled SQLite is compiled (each connection its own page cache, no
//! global mutex around it) is set in the workspace's `.cargo/config.toml`.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pence_store_error::StoreError;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::{oneshot, Semaphore};

use crate::db::{observe_group, Db, Engine, MetricsSlot};
use crate::migrate::Schema;
use crate::value::{insert_sql, Change, Row, Stmt, Val};

mod migrate;
mod readers;

use readers::{shm_path, Reader, Readers};

pub(crate) fn err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        {
            return StoreError::Duplicate;
        }
    }
    StoreError::driver("sqlite", e)
}

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null(_) => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Val::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(*b as i64)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

/// `$1` → `?1`: SQLite numbers `?NNN` parameters explicitly, so the shared SQL text binds the
/// same way on both engines.
fn sqlite_sql(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn open_connection(path: &str, write: bool) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    if write {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(err)?;
    // A statement that may need undoing alone (one firing a trigger, as a create's insert
    // does), and a change inside a SAVEPOINT (when its group is applied again), keep a
    // sub-journal that SQLite otherwise writes to a temporary file (a pwrite per page
    // touched); it only serves to roll back inside the open transaction, never crash recovery
    // (the WAL does that), so memory is enough.
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(err)?;
    // No memory map (`mmap_size`): it made get payment 8% faster, but every page a
    // connection touched counted in the node's resident memory, once per connection (a
    // 2-phase bench peaked at 230 MiB against 93 MiB), and a node must stay under 150 MB.
    conn.set_prepared_statement_cache_capacity(256);
    conn.create_scalar_function(
        "fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| fold(ctx.get_raw(0)),
    )
    .map_err(err)?;
    Ok(conn)
}

/// `fold(x)`: text in lower case for searches, every letter (SQLite's LOWER folds only
/// ASCII, so `TALU-ŴYL` could not find itself); NULL stays NULL, numbers are their text.
fn fold(value: ValueRef<'_>) -> rusqlite::Result<Option<String>> {
    use rusqlite::types::ValueRef;
    Ok(match value {
        ValueRef::Null => None,
        ValueRef::Text(t) => Some(match std::str::from_utf8(t) {
            Ok(s) if s.is_ascii() => s.to_ascii_lowercase(),
            Ok(s) => s.to_lowercase(),
            Err(_) => String::from_utf8_lossy(t).to_lowercase(),
        }),
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(r) => Some(r.to_string()),
        ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).to_lowercase()),
    })
}

/// A query's SQLite text and its column names.
type Prepared = std::rc::Rc<(String, Arc<[String]>)>;

thread_local! {
    /// Per query text, worked out once. Hashed with foldhash: a lookup hashes the whole text
    /// (a payment's SELECT names every column), and the standard SipHash took about 3,000
    /// instructions of a get; nothing outside chooses these keys.
    static PREPARED: std::cell::RefCell<foldhash::HashMap<String, Prepared>> = Default::default();
}

fn run_query(conn: &Connection, sql: &str, params: &[Val]) -> Result<Vec<Row>, StoreError> {
    let known = PREPARED.with(|p| p.borrow().get(sql).cloned());
    let prepared = match known {
        Some(known) => known,
        None => {
            let text = sqlite_sql(sql).into_owned();
            let stmt = conn.prepare_cached(&text).map_err(err)?;
            let names: Arc<[String]> = stmt.column_names().iter().map(|n| n.to_string()).collect();
            let prepared = std::rc::Rc::new((text, names));
            PREPARED.with(|p| p.borrow_mut().insert(sql.to_string(), prepared.clone()));
            prepared
        }
    };
    let (text, names) = &*prepared;
    let mut stmt = conn.prepare_cached(text).map_err(err)?;
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, p).map_err(err)?;
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::with_capacity(1);
    while let Some(r) = rows.next().map_err(err)? {
        let mut vals = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            vals.push(match r.get_ref(i).map_err(err)? {
                ValueRef::Null => Val::Null(crate::value::Ty::Text),
                ValueRef::Integer(v) => Val::Int(v),
                ValueRef::Real(f) => Val::Int(f as i64),
                ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Val::Bytes(b.to_vec()),
            });
        }
        out.push(Row::new(names.clone(), vals));
    }
    Ok(out)
}

/// A statement a change runs, named by the addresses of its `&'static str` parts.
#[derive(PartialEq, Eq, Hash)]
enum Written {
    Exec {
        sql: usize,
        len: usize,
    },
    Insert {
        table: usize,
        columns: usize,
        values: usize,
    },
}

thread_local! {
    /// The writer's statements in SQLite's text, worked out once each.
    static WRITTEN: std::cell::RefCell<foldhash::HashMap<Written, std::rc::Rc<str>>> =
        Default::default();
}

/// A change's statement in SQLite's text, from the writer's cache.
fn written_sql(key: Written, make: impl FnOnce() -> String) -> std::rc::Rc<str> {
    WRITTEN.with(|w| {
        w.borrow_mut()
            .entry(key)
            .or_insert_with(|| sqlite_sql(&make()).into_owned().into())
            .clone()
    })
}

fn execute(conn: &Connection, sql: &str, params: &[Val]) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(err)?;
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, p).map_err(err)?;
    }
    stmt.raw_execute().map_err(err)
}

/// A change that did not apply: why, and whether it wrote nothing before failing (its first
/// statement failed, and SQLite undoes a failing statement by itself), so that the rest of
/// its group's transaction can stand without a savepoint around it.
struct Refused {
    error: StoreError,
    clean: bool,
}

fn apply_change(conn: &Connection, change: &Change) -> Result<Vec<Row>, Refused> {
    let mut returned = Vec::new();
    for (i, stmt) in change.iter().enumerate() {
        let refused = |error: StoreError, wrote: bool| Refused {
            error,
            clean: i == 0 && !wrote,
        };
        match stmt {
            Stmt::Insert {
                table,
                columns,
                values,
            } => {
                let key = Written::Insert {
                    table: table.as_ptr() as usize,
                    columns: columns.as_ptr() as usize,
                    values: values.len(),
                };
                let sql = written_sql(key, || insert_sql(table, columns, values.len()));
                execute(conn, &sql, values).map_err(|e| refused(e, false))?;
            }
            Stmt::Exec {
                sql,
                params,
                expect_one,
            } => {
                let key = Written::Exec {
                    sql: sql.as_ptr() as usize,
                    len: sql.len(),
                };
                let sql = written_sql(key, || sql.to_string());
                let n = execute(conn, &sql, params).map_err(|e| refused(e, false))?;
                if *expect_one && n != 1 {
                    return Err(refused(StoreError::Conflict, n > 0));
                }
            }
            Stmt::Returning { sql, params } => {
                returned.extend(run_query(conn, sql, params).map_err(|e| refused(e, false))?)
            }
        }
    }
    Ok(returned)
}

struct Job {
    change: Change,
    reply: oneshot::Sender<Result<Vec<Row>, StoreError>>,
}

/// Applies a group of changes in one transaction, so that one failing change does not take
/// the others with it: first without savepoints (each costs a statement before and after a
/// change, and SQLite copies every page a change touches into the savepoint's journal); a
/// change refused after writing something is undone only by a savepoint, so then the group
/// is applied again with one around each change.
fn write_group(conn: &Connection, jobs: &[Job]) -> Vec<Result<Vec<Row>, StoreError>> {
    without_savepoints(conn, jobs).unwrap_or_else(|| with_savepoints(conn, jobs))
}

/// A transaction statement, prepared once per connection.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The group with nothing around each change; None (and nothing written) when a change was
/// refused after writing, which only a savepoint undoes.
fn without_savepoints(
    conn: &Connection,
    jobs: &[Job],
) -> Option<Vec<Result<Vec<Row>, StoreError>>> {
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
        return Some(all_fail(jobs, "sqlite: begin", e));
    }
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        match apply_change(conn, &job.change) {
            Ok(rows) => outcomes.push(Ok(rows)),
            // Some failures (a full disk, I/O) end SQLite's transaction, not just the
            // statement: then nothing of the group stands.
            Err(refused) if refused.clean && !conn.is_autocommit() => {
                outcomes.push(Err(refused.error))
            }
            Err(refused) => {
                if !conn.is_autocommit() {
                    let _ = run(conn, "ROLLBACK");
                }
                // A group of one: its transaction was the change's.
                return (jobs.len() == 1).then(|| vec![Err(refused.error)]);
            }
        }
    }
    Some(commit(conn, jobs, outcomes))
}

/// The group in one transaction, each change in its own savepoint.
fn with_savepoints(conn: &Connection, jobs: &[Job]) -> Vec<Result<Vec<Row>, StoreError>> {
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
        return all_fail(jobs, "sqlite: begin", e);
    }
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome = execute(conn, "SAVEPOINT change", &[])
            .and_then(|_| apply_change(conn, &job.change).map_err(|refused| refused.error));
        if outcome.is_err() {
            let _ = execute(conn, "ROLLBACK TO change", &[]);
        }
        let _ = execute(conn, "RELEASE change", &[]);
        outcomes.push(outcome);
    }
    commit(conn, jobs, outcomes)
}

/// Commits the group's transaction: `outcomes` stand, or every change fails.
fn commit(
    conn: &Connection,
    jobs: &[Job],
    outcomes: Vec<Result<Vec<Row>, StoreError>>,
) -> Vec<Result<Vec<Row>, StoreError>> {
    if let Err(e) = run(conn, "COMMIT") {
        if !conn.is_autocommit() {
            let _ = run(conn, "ROLLBACK");
        }
        return all_fail(jobs, "sqlite: commit", e);
    }
    outcomes
}

/// The same failure for every change of a group whose transaction failed.
fn all_fail(jobs: &[Job], context: &str, e: rusqlite::Error) -> Vec<Result<Vec<Row>, StoreError>> {
    let e: Arc<dyn std::error::Error + Send + Sync> = Arc::new(e);
    jobs.iter()
        .map(|_| Err(StoreError::shared(context, e.clone())))
        .collect()
}

/// Groups between two runs of the idle work while changes keep coming.
const IDLE_EVERY: u32 = 16;

fn writer(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    max_batch: usize,
    metrics: MetricsSlot,
    idle: &'static [&'static str],
) {
    // Whether the idle work may have something to do, and groups since it last ran.
    let (mut idle_due, mut groups) = (!idle.is_empty(), 0u32);
    loop {
        let first = match rx.try_recv() {
            Ok(job) => job,
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {
                if idle_due {
                    idle_due = idle_work(&conn, idle);
                    continue;
                }
                match rx.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            }
        };
        let mut group = vec![first];
        while group.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let outcomes = write_group(&conn, &group);
        observe_group(&metrics, group.len(), started.elapsed());
        for (job, outcome) in group.into_iter().zip(outcomes) {
            let _ = job.reply.send(outcome);
        }
        if !idle.is_empty() {
            idle_due = true;
            groups += 1;
            if groups >= IDLE_EVERY {
                groups = 0;
                idle_work(&conn, idle);
            }
        }
    }
}

/// One run of the schema's idle work, in its own transaction; whether there may be more.
fn idle_work(conn: &Connection, statements: &[&str]) -> bool {
    let work = || -> rusqlite::Result<bool> {
        run(conn, "BEGIN IMMEDIATE")?;
        let mut changed = 0;
        for sql in statements {
            changed = conn.prepare_cached(sql)?.execute([])?;
        }
        run(conn, "COMMIT")?;
        Ok(changed > 0)
    };
    work().unwrap_or_else(|e| {
        let _ = run(conn, "ROLLBACK");
        tracing::warn!(error = %e, "the SQLite writer's idle work failed");
        false
    })
}

pub(crate) struct SqliteDb {
    readers: Arc<Readers>,
    permits: Semaphore,
    reader_count: u32,
    metrics: MetricsSlot,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    closed: AtomicBool,
}

impl SqliteDb {
    pub(crate) fn open(
        path: &str,
        readers: usize,
        max_batch: usize,
        schema: &Schema,
    ) -> Result<SqliteDb, StoreError> {
        let write = open_connection(path, true)?;
        migrate::run(&write, schema)?;
        let wal: String = write
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .map_err(err)?;
        let readers = (0..readers.max(1))
            .map(|_| {
                open_connection(path, false).map(|conn| Reader {
                    conn,
                    snapshot: None,
                    seen: None,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let reader_count = readers.len();
        let readers = Readers::new(
            readers,
            wal.eq_ignore_ascii_case("wal")
                .then(|| shm_path(path))
                .flatten(),
        );
        let (tx, rx) = mpsc::channel();
        let idle = schema.sqlite_idle;
        let metrics = MetricsSlot::default();
        let slot = metrics.clone();
        std::thread::Builder::new()
            .name("pence-sqlite-writer".into())
            .spawn(move || writer(write, rx, max_batch.max(1), slot, idle))
            .map_err(|e| StoreError::driver("sqlite: writer thread", e))?;
        Ok(SqliteDb {
            permits: Semaphore::new(reader_count),
            reader_count: reader_count as u32,
            metrics,
            readers,
            writer: Mutex::new(Some(tx)),
            closed: AtomicBool::new(false),
        })
    }

    fn gone() -> StoreError {
        StoreError::database("the database is closed")
    }
}

#[async_trait]
impl Db for SqliteDb {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        let _permit = self.permits.acquire().await.map_err(|_| Self::gone())?;
        if self.closed.load(Ordering::Acquire) {
            return Err(Self::gone());
        }
        let mut reader = self.readers.take().ok_or_else(Self::gone)?;
        let result = self.readers.read(&mut reader, sql, &params);
        self.readers.give_back(reader);
        result
    }

    async fn query_together(
        &self,
        queries: Vec<(String, Vec<Val>)>,
    ) -> Result<Vec<Vec<Row>>, StoreError> {
        let _permit = self.permits.acquire().await.map_err(|_| Self::gone())?;
        if self.closed.load(Ordering::Acquire) {
            return Err(Self::gone());
        }
        let mut reader = self.readers.take().ok_or_else(Self::gone)?;
        let readers = self.readers.clone();
        let (reader, result) = tokio::task::spawn_blocking(move || {
            let result = readers.read_together(&mut reader, &queries);
            (reader, result)
        })
        .await
        .map_err(|e| StoreError::database(format!("a read stopped: {e}")))?;
        self.readers.give_back(reader);
        result
    }

    async fn apply_returning(&self, change: Change) -> Result<Vec<Row>, StoreError> {
        let (reply, answer) = oneshot::channel();
        {
            let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let tx = writer.as_ref().ok_or_else(Self::gone)?;
            tx.send(Job { change, reply }).map_err(|_| Self::gone())?;
        }
        answer.await.map_err(|_| Self::gone())?
    }

    fn metrics(&self) -> &MetricsSlot {
        &self.metrics
    }

    fn connections(&self) -> (u32, u32) {
        let idle = (self.permits.available_permits() as u32).min(self.reader_count);
        (self.reader_count - idle, idle)
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.permits.close();
        self.readers.close();
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    /// `.cargo/config.toml` compiles SQLite with a page cache per connection and without
    /// memory statistics; a build that missed it would pass every other test, only slower.
    #[test]
    fn sqlite_is_compiled_with_a_page_cache_per_connection() {
        let conn = Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }
}
