//! Tables for a person at a terminal, laid out by comfy-table: as wide as the terminal (or
//! `COLUMNS`), unbounded when piped (a script reads whole lines). Only free-text columns
//! wrap; ids, states, dates and numbers keep their whole width, as they are read at a glance
//! or copied into the next command.

use std::io::IsTerminal;

use comfy_table::{presets, ColumnConstraint, ContentArrangement, Table};

/// The columns that may wrap: text of any length.
const WRAPS: &[&str] = &[
    "REFERENCE",
    "NAME",
    "DESCRIPTION",
    "URL",
    "SUBJECT",
    "TO",
    "EMAIL",
    "ROLES",
    "VALUE",
    "TAKES",
];

/// A table with `header`; every column not in `WRAPS` keeps its content's width.
pub fn new(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING).set_header(header.to_vec());
    match width() {
        Some(Width::Terminal) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
        }
        Some(Width::Columns(n)) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(n);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for (i, name) in header.iter().enumerate() {
        if !WRAPS.contains(name) {
            if let Some(c) = t.column_mut(i) {
                c.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
    }
    t
}

enum Width {
    /// The terminal's, as comfy-table finds it.
    Terminal,
    /// `COLUMNS`, when set.
    Columns(u16),
}

/// How wide tables may be: `COLUMNS` when set, else the terminal's; none when piped.
fn width() -> Option<Width> {
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    match columns {
        Some(n) => Some(Width::Columns(n)),
        None if std::io::stdout().is_terminal() => Some(Width::Terminal),
        None => None,
    }
}

/// Prints `t` unless it has no rows (scripts read an empty answer as "none").
pub fn print(t: &Table) {
    if t.row_count() > 0 {
        println!("{t}");
    }
}

/// `2026-11-30 16:47`: a time to the minute, UTC.
pub fn minute(ms: i64) -> String {
    let full = pence_core::timefmt::date_time(ms);
    format!("{} {}", &full[..10], &full[11..16])
}
