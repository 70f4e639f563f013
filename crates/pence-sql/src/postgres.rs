//! PostgreSQL through sqlx. Reads use the pool, except a payment by id, which is looked up a
//! group at a time (`grouped_reads`). Writes queue to a few writer tasks that group-commit: a
//! group of insert-only changes (creating payments) is one statement, an array per column; a
//! group with conditional statements runs change by change, each in its own SAVEPOINT. The
//! writers and grouped readers keep their own connections (`Own`).

mod combined;
mod deadlocks;
mod grouped_reads;
mod inserts;
pub(crate) mod migrate;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pence_store_error::StoreError;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgRow};
use sqlx::query::Query;
use sqlx::{Column, ConnectOptions, Connection, PgPool, Postgres, Row as _, TypeInfo};
use tokio::sync::{mpsc, oneshot};

use crate::db::ByKey;
use crate::db::{observe_group, Db, Engine, MetricsSlot};
use crate::value::{insert_run, Change, Row, Stmt, Ty, Val};
use grouped_reads::Grouped;
use inserts::{insert_rows, merged_inserts};

pub(crate) fn err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate,
        _ => StoreError::driver("postgres", e),
    }
}

fn bind<'q>(
    mut q: Query<'q, Postgres, PgArguments>,
    params: impl IntoIterator<Item = &'q Val>,
) -> Query<'q, Postgres, PgArguments> {
    for p in params {
        q = match p {
            Val::Null(Ty::Int) => q.bind(None::<i64>),
            Val::Null(Ty::Text) => q.bind(None::<String>),
            Val::Null(Ty::Bool) => q.bind(None::<bool>),
            Val::Int(v) => q.bind(*v),
            Val::Text(s) => q.bind(s.as_str()),
            Val::Bool(b) => q.bind(*b),
            Val::Bytes(b) => q.bind(b.as_slice()),
        };
    }
    q
}

fn decode(row: &PgRow, names: &Arc<[String]>) -> Result<Row, sqlx::Error> {
    let mut vals = Vec::with_capacity(names.len());
    for (i, col) in row.columns().iter().enumerate() {
        let v = match col.type_info().name() {
            "INT8" => row.try_get::<Option<i64>, _>(i)?.map(Val::Int),
            "INT4" => row
                .try_get::<Option<i32>, _>(i)?
                .map(|v| Val::Int(v.into())),
            "INT2" => row
                .try_get::<Option<i16>, _>(i)?
                .map(|v| Val::Int(v.into())),
            "BOOL" => row.try_get::<Option<bool>, _>(i)?.map(Val::Bool),
            "BYTEA" => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Val::Bytes),
            _ => row.try_get::<Option<String>, _>(i)?.map(Val::Text),
        };
        vals.push(v.unwrap_or(Val::Null(Ty::Text)));
    }
    Ok(Row::new(names.clone(), vals))
}

/// A read: its rows, decoded. Busy connections are not pinged before use, so a read whose
/// connection has died (the server restarted, a proxy dropped it) is tried once more.
pub(crate) async fn query(
    pool: &PgPool,
    sql: &str,
    params: &[Val],
) -> Result<Vec<Row>, StoreError> {
    let rows = retrying(|| bind(sqlx::query(sql), params).fetch_all(pool)).await?;
    decode_all(&rows)
}

/// `read()`, and once more if the connection it used was lost.
async fn retrying<F, Fut>(read: F) -> Result<Vec<PgRow>, StoreError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<PgRow>, sqlx::Error>>,
{
    match read().await {
        Err(e) if connection_lost(&e) => read().await.map_err(err),
        other => other.map_err(err),
    }
}

pub(crate) fn decode_all(rows: &[PgRow]) -> Result<Vec<Row>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let names: Arc<[String]> = first
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    rows.iter()
        .map(|r| decode(r, &names))
        .collect::<Result<_, _>>()
        .map_err(err)
}

/// Reader tasks per grouped lookup (`grouped_reads`).
const GROUPED_READERS: usize = 4;

struct Job {
    change: Change,
    reply: oneshot::Sender<Result<Vec<Row>, StoreError>>,
}

/// How long a connection may have been idle and still be used without a ping first.
pub(crate) const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// How long a writer may wait for work before its connection is checked again.
const WRITER_IDLE_BEFORE_PING: Duration = Duration::from_millis(1);

/// A connection a writer or a grouped reader keeps to itself, so its queries skip the pool:
/// sqlx pings each connection as it goes back to its pool, a round trip for every query.
/// Opened when first needed and again once found lost; pinged first after a second idle.
pub(crate) struct Own {
    options: Arc<PgConnectOptions>,
    conn: Option<PgConnection>,
    used: Instant,
}

impl Own {
    pub(crate) fn new(pool: &PgPool) -> Own {
        Own {
            options: pool.connect_options(),
            conn: None,
            used: Instant::now(),
        }
    }

    /// The connection, opened if there is none (or the idle one no longer answers).
    pub(crate) async fn get(&mut self) -> Result<&mut PgConnection, StoreError> {
        if self.used.elapsed() > IDLE_BEFORE_PING {
            self.check().await;
        }
        self.used = Instant::now();
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.options.connect().await.map_err(err)?,
        };
        Ok(self.conn.insert(conn))
    }

    /// Keeps the connection only if it still answers (after a failure, or idleness).
    pub(crate) async fn check(&mut self) {
        if let Some(conn) = &mut self.conn {
            if conn.ping().await.is_err() {
                self.conn = None;
            }
        }
    }

    /// Drops a connection found lost.
    pub(crate) fn lost(&mut self) {
        self.conn = None;
    }
}

/// Whether a query failed because its connection is gone (rather than for what it asked):
/// the socket failed, or the server ended the session (SQLSTATE class 08, connection
/// exception, or 57P, the server shutting down or terminating the backend).
pub(crate) fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

pub(crate) struct PgDb {
    pool: PgPool,
    /// The grouped lookups started so far, by their `ByKey`'s address.
    grouped: std::sync::Mutex<HashMap<usize, Arc<Grouped>>>,
    /// The writers' queue; taken at close, which ends them (and their connections).
    tx: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    closed: AtomicBool,
    metrics: MetricsSlot,
}

impl PgDb {
    pub(crate) fn new(pool: PgPool, writers: usize, max_batch: usize) -> PgDb {
        let (tx, rx) = mpsc::channel(16_384);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let metrics = MetricsSlot::default();
        for _ in 0..writers.max(1) {
            let slot = metrics.clone();
            tokio::spawn(writer(pool.clone(), rx.clone(), max_batch.max(1), slot));
        }
        PgDb {
            pool,
            grouped: Default::default(),
            tx: std::sync::Mutex::new(Some(tx)),
            closed: AtomicBool::new(false),
            metrics,
        }
    }
}

/// What is queued, `most` at most, once there is something (`None`: the queue has closed).
/// Tasks sharing a queue take turns: one waits on it while the others work.
pub(crate) async fn next_group<T>(
    rx: &tokio::sync::Mutex<mpsc::Receiver<T>>,
    most: usize,
) -> Option<Vec<T>> {
    let mut rx = rx.lock().await;
    let mut group = vec![rx.recv().await?];
    while group.len() < most {
        match rx.try_recv() {
            Ok(next) => group.push(next),
            Err(_) => break,
        }
    }
    Some(group)
}

async fn writer(
    pool: PgPool,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
    metrics: MetricsSlot,
) {
    let mut own = Own::new(&pool);
    // When the last group ended, and whether it failed for a reason other than a refusal.
    let (mut done, mut doubt) = (Instant::now(), false);
    while let Some(group) = next_group(&rx, max_batch).await {
        let started = Instant::now();
        // A write is never retried blindly (it may have committed), so a connection that
        // may have gone is checked before a group: after the writer has waited for work a
        // moment (the server may have ended the session meanwhile), or after a failure.
        // Groups back to back under load skip the round trip, which cost a fifth of
        // PostgreSQL's creates.
        if doubt || done.elapsed() > WRITER_IDLE_BEFORE_PING {
            own.check().await;
        }
        let outcomes = match own.get().await {
            Ok(conn) => {
                let mut outcomes = write_group(conn, &group).await;
                deadlocks::again(conn, &group, &mut outcomes).await;
                outcomes
            }
            Err(e) => shared_failure(&group, "postgres: connect", e),
        };
        doubt = outcomes
            .iter()
            .any(|o| matches!(o, Err(StoreError::Database { .. })));
        done = Instant::now();
        observe_group(&metrics, group.len(), started.elapsed());
        for (job, outcome) in group.into_iter().zip(outcomes) {
            let _ = job.reply.send(outcome);
        }
    }
}

/// A group's changes: inserts alone as one statement, else change by change.
async fn write_group(conn: &mut PgConnection, group: &[Job]) -> Vec<Result<Vec<Row>, StoreError>> {
    let insert_only = group
        .iter()
        .all(|j| j.change.iter().all(|s| matches!(s, Stmt::Insert { .. })));
    if !insert_only {
        return one_by_one(conn, group).await;
    }
    match merged_inserts(conn, group).await {
        Ok(()) => group.iter().map(|_| Ok(Vec::new())).collect(),
        // One bad row must not fail its neighbours: apply each alone to find it.
        Err(_) if group.len() > 1 => {
            let mut outcomes = Vec::new();
            for job in group {
                outcomes.push(one_by_one(conn, std::slice::from_ref(job)).await.remove(0));
            }
            outcomes
        }
        Err(e) => vec![Err(e)],
    }
}

/// The same failure for every change of a group.
fn shared_failure(
    group: &[Job],
    context: &str,
    e: StoreError,
) -> Vec<Result<Vec<Row>, StoreError>> {
    let e: Arc<dyn std::error::Error + Send + Sync> = Arc::new(e);
    group
        .iter()
        .map(|_| Err(StoreError::shared(context, e.clone())))
        .collect()
}

/// What applying one change inside a transaction came to.
enum Applied {
    Done(Vec<Row>),
    /// A conditional statement matched no row; `clean` when it was the change's first
    /// statement, so that nothing of the change was written.
    Conflict {
        clean: bool,
    },
    /// A statement failed, which aborts PostgreSQL's transaction (or its savepoint).
    Failed(StoreError),
    /// The change as one statement matched or failed somewhere (`combined`): which of its
    /// statements, and so what the change comes to, only applying them one by one tells.
    Again,
}

/// A change's statements, in order, on `conn` (inside a transaction): as one statement
/// when `combine` and `combined` can, else one by one.
async fn apply_change(conn: &mut PgConnection, change: &Change, combine: bool) -> Applied {
    if let Some(one) = combine.then(|| combined::combine(change)).flatten() {
        let answered = bind(sqlx::query(&one.sql), one.params)
            .fetch_one(&mut *conn)
            .await;
        return match answered {
            Ok(row) if (0..one.conditions).all(|i| row.try_get::<i64, _>(i).ok() == Some(1)) => {
                Applied::Done(Vec::new())
            }
            // A condition not met (the rest ran all the same) or a statement failed: the
            // change one statement at a time says which, as it always did.
            _ => Applied::Again,
        };
    }
    let mut returned = Vec::new();
    let mut rest = change.as_slice();
    let mut first = true;
    while let Some((stmt, tail)) = rest.split_first() {
        // A run of inserts into one table (a batch's log rows) goes as one.
        let (run, after) = insert_run(stmt, tail);
        rest = after;
        let result = match stmt {
            Stmt::Insert {
                table,
                columns,
                values,
            } => {
                let rows: Vec<&[Val]> = run
                    .iter()
                    .filter_map(|s| match s {
                        Stmt::Insert { values, .. } => Some(values.as_slice()),
                        _ => None,
                    })
                    .collect();
                insert_rows(conn, table, columns, values.len(), &rows)
                    .await
                    .map_err(err)
            }
            Stmt::Exec {
                sql,
                params,
                expect_one,
            } => match bind(sqlx::query(sql), params).execute(&mut *conn).await {
                Ok(done) if *expect_one && done.rows_affected() != 1 => {
                    return Applied::Conflict { clean: first };
                }
                other => other.map(|_| ()).map_err(err),
            },
            Stmt::Returning { sql, params } => bind(sqlx::query(sql), params)
                .fetch_all(&mut *conn)
                .await
                .map_err(err)
                .and_then(|rows| decode_all(&rows))
                .map(|rows| returned.extend(rows)),
        };
        if let Err(e) = result {
            return Applied::Failed(e);
        }
        first = false;
    }
    Applied::Done(returned)
}

/// A group with conditional statements in one transaction. Without savepoints first: they
/// cost two round trips a change and are needed only to undo a change that failed after
/// writing something; should that happen, the group is rolled back and applied again with a
/// savepoint around each change.
async fn one_by_one(conn: &mut PgConnection, group: &[Job]) -> Vec<Result<Vec<Row>, StoreError>> {
    match without_savepoints(conn, group).await {
        Some(outcomes) => outcomes,
        None => with_savepoints(conn, group).await,
    }
}

/// The group's changes one after another in one transaction; `None` when one failed part
/// way in a group of several, or one applied as a single statement did not go through (the
/// transaction is then rolled back).
async fn without_savepoints(
    conn: &mut PgConnection,
    group: &[Job],
) -> Option<Vec<Result<Vec<Row>, StoreError>>> {
    let all_fail = |e: StoreError| shared_failure(group, "postgres: transaction", e);
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(e) => return Some(all_fail(err(e))),
    };
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        let outcome = match apply_change(&mut tx, &job.change, true).await {
            Applied::Done(rows) => Ok(rows),
            Applied::Again => {
                let _ = tx.rollback().await;
                return None;
            }
            Applied::Conflict { clean: true } => Err(StoreError::Conflict),
            // A group of one: its transaction is the change's.
            Applied::Conflict { clean: false } if group.len() == 1 => Err(StoreError::Conflict),
            Applied::Failed(e) if group.len() == 1 => Err(e),
            Applied::Conflict { .. } | Applied::Failed(_) => {
                let _ = tx.rollback().await;
                return None;
            }
        };
        if group.len() == 1 && outcome.is_err() {
            let _ = tx.rollback().await;
            return Some(vec![outcome]);
        }
        outcomes.push(outcome);
    }
    Some(match tx.commit().await {
        Ok(()) => outcomes,
        Err(e) => all_fail(err(e)),
    })
}

/// The group in one transaction, each change in its own savepoint.
async fn with_savepoints(
    conn: &mut PgConnection,
    group: &[Job],
) -> Vec<Result<Vec<Row>, StoreError>> {
    let all_fail = |e: StoreError| shared_failure(group, "postgres: transaction", e);
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(e) => return all_fail(err(e)),
    };
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        if let Err(e) = sqlx::query("SAVEPOINT change").execute(&mut *tx).await {
            return all_fail(err(e));
        }
        let outcome = match apply_change(&mut tx, &job.change, false).await {
            Applied::Done(rows) => Ok(rows),
            Applied::Conflict { .. } | Applied::Again => Err(StoreError::Conflict),
            Applied::Failed(e) => Err(e),
        };
        let end = if outcome.is_ok() {
            "RELEASE change"
        } else {
            "ROLLBACK TO change"
        };
        if let Err(e) = sqlx::query(end).execute(&mut *tx).await {
            return all_fail(err(e));
        }
        outcomes.push(outcome);
    }
    match tx.commit().await {
        Ok(()) => outcomes,
        Err(e) => all_fail(err(e)),
    }
}

fn gone() -> StoreError {
    StoreError::database("the database is closed")
}

#[async_trait]
impl Db for PgDb {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        query(&self.pool, sql, &params).await
    }

    async fn query_together(
        &self,
        queries: Vec<(String, Vec<Val>)>,
    ) -> Result<Vec<Vec<Row>>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let mut out = Vec::with_capacity(queries.len());
        for (sql, params) in &queries {
            let rows = bind(sqlx::query(sql), params)
                .fetch_all(&mut *tx)
                .await
                .map_err(err)?;
            out.push(decode_all(&rows)?);
        }
        tx.rollback().await.map_err(err)?;
        Ok(out)
    }

    async fn read_by_key(&self, by: &'static ByKey, key: &str) -> Result<Option<Row>, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(gone());
        }
        // No stored text holds a NUL (PostgreSQL refuses it); asked in a group, it would fail
        // the other keys' query too.
        if key.contains('\0') {
            return Ok(None);
        }
        let grouped = {
            let mut all = self.grouped.lock().unwrap_or_else(|e| e.into_inner());
            all.entry(by as *const ByKey as usize)
                .or_insert_with(|| Arc::new(Grouped::start(self.pool.clone(), by, GROUPED_READERS)))
                .clone()
        };
        grouped.read(key).await
    }

    async fn apply_returning(&self, change: Change) -> Result<Vec<Row>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
        tx.ok_or_else(gone)?
            .send(Job { change, reply })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Dropping the queues ends the writers and grouped readers, closing their connections.
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.grouped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.pool.close().await;
    }

    fn metrics(&self) -> &MetricsSlot {
        &self.metrics
    }

    fn connections(&self) -> (u32, u32) {
        let idle = self.pool.num_idle() as u32;
        (self.pool.size().saturating_sub(idle), idle)
    }
}
