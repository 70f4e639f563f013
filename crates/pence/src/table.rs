//! Tables for a person at a terminal, laid out by comfy-table within 80 columns: id columns
//! keep their whole width (they are copied into the next command), the others wrap.

use comfy_table::{presets, ColumnConstraint, ContentArrangement, Table};

/// The width every table fits in.
pub const WIDTH: u16 = 80;

/// A table with `header`; the columns named in `ids` never wrap.
pub fn new(header: &[&str], ids: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH)
        .set_header(header.to_vec());
    for &i in ids {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    t
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
