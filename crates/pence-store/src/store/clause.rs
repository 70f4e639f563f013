//! A WHERE clause built up with `$n` placeholders, as every search and sweep of the store
//! writes them.

use pence_core::ports::Scope;
use pence_core::search::Dates;

use pence_sql::Val;

/// A WHERE clause built up with `$n` placeholders.
#[derive(Clone)]
pub(crate) struct Where {
    pub(crate) sql: String,
    pub(crate) params: Vec<Val>,
}

impl Where {
    pub(crate) fn new(first: &str, value: Val) -> Self {
        let mut w = Where {
            sql: String::new(),
            params: Vec::new(),
        };
        w.add(first, value);
        w
    }

    /// Adds `clause`, whose `?` stands for `value`.
    pub(crate) fn add(&mut self, clause: &str, value: Val) {
        self.params.push(value);
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql
            .push_str(&clause.replace('?', &format!("${}", self.params.len())));
    }

    /// The searches' date filters: creation after/before (both exclusive), settlement from
    /// (inclusive) and before.
    pub(crate) fn add_dates(&mut self, d: &Dates) {
        for (clause, value) in [
            ("created_ms > ?", d.created_after_ms),
            ("created_ms < ?", d.created_before_ms),
            ("settled_ms >= ?", d.settled_from_ms),
            ("settled_ms < ?", d.settled_before_ms),
        ] {
            if let Some(v) = value {
                self.add(clause, v.into());
            }
        }
    }

    /// A sweep round's services: those on the node's clock, or the one whose clock is moved.
    pub(crate) fn add_scope(&mut self, scope: Scope<'_>) {
        match scope {
            Scope::NodeClock => self.add(
                "service_id NOT IN (SELECT id FROM services WHERE clock_offset_ms <> 0 \
                 OR sweeps_held_until_ms > ?)",
                pence_core::clock::system_now_ms().into(),
            ),
            Scope::Service(id) => self.add("service_id = ?", id.into()),
        }
    }

    /// `SELECT {columns} FROM {table} WHERE … ORDER BY {order} LIMIT limit`, with its
    /// parameters.
    pub(crate) fn select(
        mut self,
        columns: &str,
        table: &str,
        order: &str,
        limit: u32,
    ) -> (String, Vec<Val>) {
        self.params.push(Val::Int(i64::from(limit)));
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE {} ORDER BY {order} LIMIT ${}",
            self.sql,
            self.params.len()
        );
        (sql, self.params)
    }

    pub(crate) fn add_in(&mut self, column: &str, values: Vec<Val>) {
        let mut marks = Vec::new();
        for v in values {
            self.params.push(v);
            marks.push(format!("${}", self.params.len()));
        }
        if marks.is_empty() {
            marks.push("NULL".into());
        }
        self.sql
            .push_str(&format!(" AND {column} IN ({})", marks.join(", ")));
    }
}
