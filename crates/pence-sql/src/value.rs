//! Engine-neutral values and rows, so every query is written once for both engines.

use std::sync::Arc;

use pence_store_error::StoreError;

/// The type of a NULL (PostgreSQL wants typed parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Text,
    Bool,
}

/// A bound parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null(Ty),
    Int(i64),
    Text(String),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Bool(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(v.clone())
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Self {
        Val::Bytes(v.to_vec())
    }
}
macro_rules! nullable {
    ($($t:ty => $ty:expr),*) => {$(
        impl From<Option<$t>> for Val {
            fn from(v: Option<$t>) -> Self {
                v.map_or(Val::Null($ty), Into::into)
            }
        }
    )*};
}
nullable!(i64 => Ty::Int, bool => Ty::Bool, String => Ty::Text, &String => Ty::Text, &str => Ty::Text);

/// `vals![a, b, c]`: a parameter list.
#[macro_export]
macro_rules! vals {
    ($($v:expr),* $(,)?) => { vec![$($crate::Val::from($v)),*] };
}

/// A result row, owned. Columns are looked up by name.
#[derive(Debug, Clone)]
pub struct Row {
    pub(crate) names: Arc<[String]>,
    pub(crate) vals: Vec<Val>,
    /// Where the next `take` looks first: rows are mostly decoded in column order, and a
    /// payment has some sixty columns to search by name otherwise.
    next: usize,
}

fn bad(name: &str, want: &str, got: &Val) -> StoreError {
    StoreError::database(format!("column {name}: expected {want}, found {got:?}"))
}

impl Row {
    /// A row of `vals` under `names` (one per value): what a query answers, or a row made
    /// to be decoded as if read (a snapshot's rows checked before they are written).
    pub fn new(names: Arc<[String]>, vals: Vec<Val>) -> Row {
        Row {
            names,
            vals,
            next: 0,
        }
    }

    /// A column's value, if the row has the column.
    pub(crate) fn get(&self, name: &str) -> Option<&Val> {
        let i = self.names.iter().position(|n| n == name)?;
        self.vals.get(i)
    }

    /// The row's values, in its columns' order.
    pub fn into_values(self) -> Vec<Val> {
        self.vals
    }

    /// Moves a column's value out (a row is decoded once, so nothing needs copying).
    fn take(&mut self, name: &str) -> Result<Val, StoreError> {
        let (earlier, later) = self.names.split_at(self.next.min(self.names.len()));
        let i = later
            .iter()
            .position(|n| n == name)
            .map(|i| i + earlier.len())
            .or_else(|| earlier.iter().position(|n| n == name))
            .ok_or_else(|| StoreError::database(format!("no column {name}")))?;
        self.next = i + 1;
        Ok(std::mem::replace(&mut self.vals[i], Val::Null(Ty::Text)))
    }

    pub fn opt_i64(&mut self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.take(name)? {
            Val::Null(_) => Ok(None),
            Val::Int(v) => Ok(Some(v)),
            Val::Bool(b) => Ok(Some(b as i64)),
            other => Err(bad(name, "integer", &other)),
        }
    }

    pub fn i64(&mut self, name: &str) -> Result<i64, StoreError> {
        self.opt_i64(name)?
            .ok_or_else(|| bad(name, "integer", &Val::Null(Ty::Int)))
    }

    pub fn bool(&mut self, name: &str) -> Result<bool, StoreError> {
        Ok(self.i64(name)? != 0)
    }

    pub fn opt_text(&mut self, name: &str) -> Result<Option<String>, StoreError> {
        match self.take(name)? {
            Val::Null(_) => Ok(None),
            Val::Text(s) => Ok(Some(s)),
            other => Err(bad(name, "text", &other)),
        }
    }

    pub fn text(&mut self, name: &str) -> Result<String, StoreError> {
        self.opt_text(name)?
            .ok_or_else(|| bad(name, "text", &Val::Null(Ty::Text)))
    }

    pub fn bytes(&mut self, name: &str) -> Result<Vec<u8>, StoreError> {
        match self.take(name)? {
            Val::Bytes(b) => Ok(b),
            Val::Text(s) => Ok(s.into_bytes()),
            other => Err(bad(name, "bytes", &other)),
        }
    }
}

/// One statement of a change.
#[derive(Debug, Clone)]
pub enum Stmt {
    /// A single-row insert; writers may merge many into one multi-row INSERT.
    Insert {
        table: &'static str,
        columns: &'static str,
        values: Vec<Val>,
    },
    /// Any statement; with `expect_one`, matching no row fails the change with `Conflict`
    /// (a conditional update that lost a race).
    Exec {
        sql: &'static str,
        params: Vec<Val>,
        expect_one: bool,
    },
    /// A statement whose rows (`RETURNING …`) the change answers with.
    Returning { sql: &'static str, params: Vec<Val> },
}

impl Stmt {
    pub fn insert(table: &'static str, columns: &'static str, values: Vec<Val>) -> Stmt {
        Stmt::Insert {
            table,
            columns,
            values,
        }
    }

    pub fn exec(sql: &'static str, params: Vec<Val>) -> Stmt {
        Stmt::Exec {
            sql,
            params,
            expect_one: false,
        }
    }

    pub fn returning(sql: &'static str, params: Vec<Val>) -> Stmt {
        Stmt::Returning { sql, params }
    }

    pub fn exec_one(sql: &'static str, params: Vec<Val>) -> Stmt {
        Stmt::Exec {
            sql,
            params,
            expect_one: true,
        }
    }
}

/// Statements that commit together or not at all: a state change with its ledger event and
/// outbox rows. The writers group-commit many changes, each still atomic on its own.
pub type Change = Vec<Stmt>;

/// `($1, $2, …), (…)` for `rows` rows of `cols` values.
pub(crate) fn placeholders(rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * cols + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// The SQL of a single-row insert.
/// `first` and the inserts right after it into the same table and columns (a change's log
/// rows), which go to the database as one multi-row insert; and what follows them.
pub(crate) fn insert_run<'a>(first: &'a Stmt, rest: &'a [Stmt]) -> (Vec<&'a Stmt>, &'a [Stmt]) {
    let Stmt::Insert { table, columns, .. } = first else {
        return (vec![first], rest);
    };
    let same = rest
        .iter()
        .take_while(|s| matches!(s, Stmt::Insert { table: t, columns: c, .. } if t == table && c == columns))
        .count();
    let (run, after) = rest.split_at(same);
    (std::iter::once(first).chain(run).collect(), after)
}

pub(crate) fn insert_sql(table: &str, columns: &str, count: usize) -> String {
    format!(
        "INSERT INTO {table} ({columns}) VALUES {}",
        placeholders(1, count)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns are found by name whatever the order they are taken in; the one taken first
    /// is only where the search starts.
    #[test]
    fn columns_are_taken_by_name_in_any_order() {
        let names: Arc<[String]> = ["a", "b", "c", "d"].iter().map(|n| n.to_string()).collect();
        let vals = (1..=4).map(Val::Int).collect();
        let mut row = Row::new(names, vals);
        assert_eq!(row.i64("c").unwrap(), 3);
        assert_eq!(row.i64("d").unwrap(), 4);
        assert_eq!(row.i64("a").unwrap(), 1);
        assert_eq!(row.i64("b").unwrap(), 2);
        assert!(row.take("e").is_err());
        // Taken already: moved out.
        assert_eq!(row.opt_i64("c").unwrap(), None);
    }
}
