//! A change's statements as one PostgreSQL statement, so the change costs one round trip
//! rather than one a statement: each becomes a data-modifying CTE
//! (`WITH c0 AS (UPDATE … RETURNING 1), c1 AS (INSERT …) SELECT (SELECT count(*) FROM c0)`),
//! and the conditional ones report how many rows they matched. A payment's move — its
//! conditional update, its event, its outbox rows — took three round trips or more, which
//! bound every PostgreSQL transition (a 30-day clock move spent half its time idle waiting
//! on them).
//!
//! The CTEs of one statement all see the database as it was before the statement, and none
//! sees another's rows. So a change is combined only when no statement reads or writes a
//! table another one writes (a run of plain inserts into one table goes as one multi-row
//! insert); otherwise it runs statement by statement as before.
//!
//! A conditional statement that matched nothing does not stop the others, and a failing one
//! may hide which statement was the cause (a conditional update that missed, then an insert
//! it would have prevented): so when the one statement does not go through, the group is
//! rolled back and applied again with this change one statement at a time, in a savepoint,
//! which answers exactly as before. That costs more, but only on a conflict.

use crate::value::{insert_run, placeholders, Change, Stmt, Val};

/// One change as one statement: its SQL, its parameters in order, and how many conditional
/// statements it holds (each must have matched exactly one row).
pub(super) struct Combined<'a> {
    pub(super) sql: String,
    pub(super) params: Vec<&'a Val>,
    pub(super) conditions: usize,
}

/// The change as one statement, when that is sure to do what its statements do one by one.
pub(super) fn combine(change: &Change) -> Option<Combined<'_>> {
    if change.len() < 2 {
        return None;
    }
    let mut parts: Vec<Part<'_>> = Vec::with_capacity(change.len());
    let mut rest = change.as_slice();
    while let Some((stmt, tail)) = rest.split_first() {
        // A run of inserts into one table goes as one multi-row insert: its rows then get
        // their serial ids in order (an event log's order), which separate CTEs would not
        // promise.
        let (rows, after) = insert_run(stmt, tail);
        rest = after;
        parts.push(Part::of(rows)?);
    }
    if parts.len() < 2 {
        return None;
    }
    for (i, part) in parts.iter().enumerate() {
        for (j, other) in parts.iter().enumerate() {
            if i != j && other.mentions(part.table) {
                return None;
            }
        }
    }
    let mut sql = String::from("WITH ");
    let mut params = Vec::new();
    let mut checks = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("c{i} AS ("));
        renumber_into(&mut sql, &part.sql, params.len());
        if part.conditional {
            sql.push_str(" RETURNING 1");
            checks.push(format!("(SELECT count(*) FROM c{i})"));
        }
        sql.push(')');
        params.extend(part.stmts.iter().flat_map(|s| stmt_params(s)));
    }
    sql.push_str(" SELECT ");
    if checks.is_empty() {
        sql.push('1');
    } else {
        sql.push_str(&checks.join(", "));
    }
    Some(Combined {
        sql,
        params,
        conditions: checks.len(),
    })
}

/// One statement of the combined one: a change's statement, or its run of inserts.
struct Part<'a> {
    stmts: Vec<&'a Stmt>,
    sql: std::borrow::Cow<'a, str>,
    /// The table it writes.
    table: &'a str,
    /// Every identifier in its text (what it may read or write).
    words: Vec<&'a str>,
    /// Must match exactly one row.
    conditional: bool,
}

impl<'a> Part<'a> {
    fn of(stmts: Vec<&'a Stmt>) -> Option<Part<'a>> {
        match stmts[0] {
            Stmt::Insert {
                table,
                columns,
                values,
            } => Some(Part {
                sql: format!(
                    "INSERT INTO {table} ({columns}) VALUES {}",
                    placeholders(stmts.len(), values.len())
                )
                .into(),
                stmts,
                table,
                words: vec![table],
                conditional: false,
            }),
            Stmt::Exec {
                sql, expect_one, ..
            } => {
                let words: Vec<&str> = sql
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .collect();
                let table = match words.as_slice() {
                    [first, "INTO", table, ..] if first.eq_ignore_ascii_case("insert") => table,
                    [first, "FROM", table, ..] if first.eq_ignore_ascii_case("delete") => table,
                    [first, table, ..] if first.eq_ignore_ascii_case("update") => table,
                    _ => return None,
                };
                // Its own RETURNING would change what the statement answers; a dollar in a
                // literal would be taken for a parameter.
                let returns = words.iter().any(|w| w.eq_ignore_ascii_case("returning"));
                if returns || dollar_in_literal(sql) {
                    return None;
                }
                Some(Part {
                    sql: (*sql).into(),
                    stmts,
                    table,
                    words,
                    conditional: *expect_one,
                })
            }
            Stmt::Returning { .. } => None,
        }
    }

    fn mentions(&self, table: &str) -> bool {
        self.words.iter().any(|w| w.eq_ignore_ascii_case(table))
    }
}

/// Whether a `$` stands inside a quoted literal (or a dollar-quoted one).
fn dollar_in_literal(sql: &str) -> bool {
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => quoted = !quoted,
            '$' if quoted => return true,
            _ => {}
        }
    }
    sql.contains("$$")
}

fn stmt_params(stmt: &Stmt) -> &[Val] {
    match stmt {
        Stmt::Insert { values, .. } => values,
        Stmt::Exec { params, .. } | Stmt::Returning { params, .. } => params,
    }
}

/// Appends `sql` with each `$n` moved up by `offset`.
fn renumber_into(out: &mut String, sql: &str, offset: usize) {
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while let Some((j, d)) = chars.peek().copied() {
            if !d.is_ascii_digit() {
                break;
            }
            end = j + 1;
            chars.next();
        }
        match sql[start..end].parse::<usize>() {
            Ok(n) => out.push_str(&format!("${}", n + offset)),
            Err(_) => out.push('$'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vals;

    fn update() -> Stmt {
        Stmt::exec_one(
            "UPDATE payments SET status = $1 WHERE id = $2 AND version = $3",
            vals!["success", "p1", 3],
        )
    }

    #[test]
    fn an_update_with_its_rows_becomes_one_statement() {
        let change = vec![
            update(),
            Stmt::insert("payment_events", "payment_id, kind", vals!["p1", "X"]),
            Stmt::insert("payment_events", "payment_id, kind", vals!["p1", "Y"]),
            Stmt::exec(
                "INSERT INTO webhook_messages (id, payment_id) SELECT $1 || w.tag, $2 \
                 FROM webhooks w WHERE w.service_id = $3",
                vals!["m", "p1", "s"],
            ),
        ];
        let c = combine(&change).expect("combined");
        assert_eq!(
            c.sql,
            "WITH c0 AS (UPDATE payments SET status = $1 WHERE id = $2 AND version = $3 \
             RETURNING 1), c1 AS (INSERT INTO payment_events (payment_id, kind) VALUES ($4, \
             $5), ($6, $7)), c2 AS (INSERT INTO webhook_messages (id, payment_id) SELECT $8 \
             || w.tag, $9 FROM webhooks w WHERE w.service_id = $10) SELECT (SELECT count(*) \
             FROM c0)"
        );
        assert_eq!(c.params.len(), 10);
        assert_eq!(c.conditions, 1);
    }

    #[test]
    fn statements_that_would_see_each_other_stay_apart() {
        // The second reads the table the first writes: one statement would hide the write.
        let reads = vec![
            update(),
            Stmt::exec(
                "INSERT INTO payment_counts (n) SELECT count(*) FROM payments",
                vec![],
            ),
        ];
        assert!(combine(&reads).is_none());
        // Two writes of one table may touch one row.
        let twice = vec![update(), update()];
        assert!(combine(&twice).is_none());
        // Inserts into one table apart from each other: separate CTEs would not keep their
        // order.
        let apart = vec![
            Stmt::insert("payment_events", "payment_id", vals!["p1"]),
            update(),
            Stmt::insert("payment_events", "payment_id", vals!["p1"]),
        ];
        assert!(combine(&apart).is_none());
        // A lone statement, or a lone run of inserts, has nothing to save.
        assert!(combine(&vec![update()]).is_none());
        let run = vec![
            Stmt::insert("payment_events", "payment_id", vals!["p1"]),
            Stmt::insert("payment_events", "payment_id", vals!["p2"]),
        ];
        assert!(combine(&run).is_none());
    }
}
