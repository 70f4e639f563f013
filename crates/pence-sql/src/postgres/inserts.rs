//! A group's inserts in as few round trips as PostgreSQL allows: every table's rows as one
//! array per column, or multi-row INSERTs where a column's values differ in type.

use pence_store_error::StoreError;
use sqlx::postgres::{PgArguments, PgConnection};
use sqlx::query::Query;
use sqlx::{Connection, Postgres};

use super::{bind, err, Job};
use crate::value::{placeholders, Stmt, Ty, Val};

/// Rows per multi-row INSERT, largest first: a few fixed shapes keep statements cached.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// Every insert of the group, per table, as one statement: each table's rows go as one array
/// per column (`INSERT … SELECT * FROM UNNEST($1::text[], …)`), the tables joined by WITH, so
/// a group is one round trip and its own transaction, whatever its size. A column whose values
/// are of more than one type falls back to multi-row INSERTs in a transaction.
pub(super) async fn merged_inserts(
    conn: &mut PgConnection,
    group: &[Job],
) -> Result<(), StoreError> {
    let mut tables: Vec<(&'static str, &'static str, usize, Vec<&[Val]>)> = Vec::new();
    for job in group {
        for stmt in &job.change {
            if let Stmt::Insert {
                table,
                columns,
                values,
            } = stmt
            {
                match tables.iter_mut().find(|t| t.0 == *table && t.1 == *columns) {
                    Some(t) => t.3.push(values),
                    None => tables.push((table, columns, values.len(), vec![values])),
                }
            }
        }
    }
    let mut sql = String::new();
    let mut arrays = Vec::new();
    for (i, (table, columns, count, rows)) in tables.iter().enumerate() {
        let first = arrays.len();
        for c in 0..*count {
            match Array::of(rows, c) {
                Some(column) => arrays.push(column),
                None => return chunked_inserts(conn, &tables).await,
            }
        }
        let unnest = arrays[first..]
            .iter()
            .enumerate()
            .map(|(k, a)| format!("${}::{}", first + k + 1, a.sql_type()))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!("INSERT INTO {table} ({columns}) SELECT * FROM UNNEST({unnest})");
        // WITH t0 AS (INSERT …), t1 AS (INSERT …) INSERT …
        sql.push_str(&match (i == 0, i + 1 == tables.len()) {
            (_, true) => insert,
            (true, false) => format!("WITH t{i} AS ({insert})"),
            (false, false) => format!(", t{i} AS ({insert})"),
        });
        if i + 2 == tables.len() {
            sql.push(' ');
        }
    }
    let mut q = sqlx::query(&sql);
    for a in arrays {
        q = a.bind(q);
    }
    q.execute(conn).await.map(|_| ()).map_err(err)
}

/// One column of a group's rows, as the array its UNNEST takes.
enum Array<'a> {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<&'a str>>),
    Bool(Vec<Option<bool>>),
    Bytes(Vec<Option<&'a [u8]>>),
}

impl<'a> Array<'a> {
    /// Column `c` of `rows`; `None` when its values are not all of one type.
    fn of(rows: &[&'a [Val]], c: usize) -> Option<Array<'a>> {
        // The first value that is not NULL decides; a column of NULLs goes by their type.
        let decides = rows
            .iter()
            .map(|r| &r[c])
            .find(|v| !matches!(v, Val::Null(_)))
            .unwrap_or(&rows[0][c]);
        let n = rows.len();
        let mut out = match decides {
            Val::Int(_) | Val::Null(Ty::Int) => Array::Int(Vec::with_capacity(n)),
            Val::Bool(_) | Val::Null(Ty::Bool) => Array::Bool(Vec::with_capacity(n)),
            Val::Bytes(_) => Array::Bytes(Vec::with_capacity(n)),
            Val::Text(_) | Val::Null(Ty::Text) => Array::Text(Vec::with_capacity(n)),
        };
        for r in rows {
            match (&mut out, &r[c]) {
                (Array::Int(v), Val::Int(x)) => v.push(Some(*x)),
                (Array::Int(v), Val::Null(_)) => v.push(None),
                (Array::Text(v), Val::Text(x)) => v.push(Some(x)),
                (Array::Text(v), Val::Null(_)) => v.push(None),
                (Array::Bool(v), Val::Bool(x)) => v.push(Some(*x)),
                (Array::Bool(v), Val::Null(_)) => v.push(None),
                (Array::Bytes(v), Val::Bytes(x)) => v.push(Some(x)),
                (Array::Bytes(v), Val::Null(_)) => v.push(None),
                _ => return None,
            }
        }
        Some(out)
    }

    fn sql_type(&self) -> &'static str {
        match self {
            Array::Int(_) => "int8[]",
            Array::Text(_) => "text[]",
            Array::Bool(_) => "bool[]",
            Array::Bytes(_) => "bytea[]",
        }
    }

    fn bind<'q>(self, q: Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments>
    where
        'a: 'q,
    {
        match self {
            Array::Int(v) => q.bind(v),
            Array::Text(v) => q.bind(v),
            Array::Bool(v) => q.bind(v),
            Array::Bytes(v) => q.bind(v),
        }
    }
}

/// The group's inserts as multi-row INSERTs in one transaction (for columns of mixed types).
async fn chunked_inserts(
    conn: &mut PgConnection,
    tables: &[(&'static str, &'static str, usize, Vec<&[Val]>)],
) -> Result<(), StoreError> {
    let mut tx = conn.begin().await.map_err(err)?;
    for (table, columns, count, rows) in tables {
        insert_rows(&mut tx, table, columns, *count, rows)
            .await
            .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}

/// Rows of one table as multi-row INSERTs, in the fixed chunk sizes.
pub(super) async fn insert_rows(
    conn: &mut PgConnection,
    table: &str,
    columns: &str,
    count: usize,
    rows: &[&[Val]],
) -> Result<(), sqlx::Error> {
    let mut rest = rows;
    while !rest.is_empty() {
        let n = CHUNKS
            .iter()
            .copied()
            .find(|c| *c <= rest.len())
            .unwrap_or(1);
        let (chunk, tail) = rest.split_at(n);
        let sql = format!(
            "INSERT INTO {table} ({columns}) VALUES {}",
            placeholders(n, count)
        );
        let flat: Vec<Val> = chunk.iter().flat_map(|r| r.iter().cloned()).collect();
        bind(sqlx::query(&sql), &flat).execute(&mut *conn).await?;
        rest = tail;
    }
    Ok(())
}
