//! A kept value as JSON and back, and a file's table checked before it is kept.

use std::sync::Arc;

use pence_core::sandbox::snapshots::TableRows;
use pence_sql::{Row, Ty, Val};
use serde_json::Value;

use super::tables::{Column, Table, Written};

/// A column's value as a snapshot keeps it (SQLite's booleans are integers).
pub(super) fn to_json(c: &Column, v: Val) -> Value {
    match (v, c.ty) {
        (Val::Null(_), _) => Value::Null,
        (Val::Int(i), Ty::Bool) => Value::Bool(i != 0),
        (Val::Int(i), _) => Value::from(i),
        (Val::Bool(b), _) => Value::Bool(b),
        (Val::Text(s), _) => Value::String(s),
        (Val::Bytes(b), _) => Value::String(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// A kept value as the column's own type, or why not.
pub(super) fn to_val(c: &Column, v: &Value) -> Result<Val, String> {
    Ok(match (v, c.ty) {
        (Value::Null, ty) if c.nullable => Val::Null(ty),
        (Value::Number(n), Ty::Int) => n
            .as_i64()
            .map(Val::Int)
            .ok_or_else(|| format!("{} must be a whole number", c.name))?,
        (Value::String(s), Ty::Text) if !s.contains('\0') => Val::Text(s.clone()),
        (Value::Bool(b), Ty::Bool) => Val::Bool(*b),
        (_, ty) => {
            let kind = match ty {
                Ty::Int => "a whole number",
                Ty::Text => "a string",
                Ty::Bool => "true or false",
            };
            let or_null = if c.nullable { " or null" } else { "" };
            return Err(format!("{} must be {kind}{or_null}", c.name));
        }
    })
}

/// One table of a file's state: its columns those kept (in any order; put in the kept order
/// here), every value of its column's type, every row one the store reads back.
pub(super) fn checked_table(t: &Table, w: &Written, rows: &mut TableRows) -> Result<(), String> {
    let at = |what: String| format!("tables.{}.{what}", t.name);
    let mut order = Vec::with_capacity(w.columns.len());
    for c in &w.columns {
        let i = rows
            .columns
            .iter()
            .position(|n| n == c.name)
            .ok_or_else(|| at(format!("columns lacks {}", c.name)))?;
        order.push(i);
    }
    if rows.columns.len() != w.columns.len() {
        let extra = rows
            .columns
            .iter()
            .find(|n| !w.columns.iter().any(|c| c.name == n.as_str()))
            .map_or("a column twice", String::as_str);
        return Err(at(format!(
            "columns has {extra}, which a snapshot does not hold"
        )));
    }
    let names: Arc<[String]> = w
        .columns
        .iter()
        .map(|c| c.name)
        .chain(t.left_out.iter().copied())
        .chain(["service_id"])
        .map(str::to_string)
        .collect();
    for (n, row) in rows.rows.iter_mut().enumerate() {
        if row.len() != order.len() {
            return Err(at(format!(
                "rows[{n}] has {} values, not {}",
                row.len(),
                order.len()
            )));
        }
        let mut ordered: Vec<Value> = order.iter().map(|i| row[*i].take()).collect();
        let mut values = Vec::with_capacity(names.len());
        for (c, v) in w.columns.iter().zip(&ordered) {
            values.push(to_val(c, v).map_err(|why| at(format!("rows[{n}].{why}")))?);
        }
        if let Some(check) = t.check {
            values.extend(t.left_out.iter().map(|_| Val::Null(Ty::Text)));
            values.push(Val::from(""));
            check(Row::new(names.clone(), values))
                .map_err(|_| at(format!("rows[{n}] is not a row Pence reads back")))?;
        }
        std::mem::swap(row, &mut ordered);
    }
    rows.columns = w.columns.iter().map(|c| c.name.to_string()).collect();
    Ok(())
}
