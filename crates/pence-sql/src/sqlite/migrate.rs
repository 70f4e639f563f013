//! Applying a `Schema`'s migrations on SQLite, each in its own exclusive transaction on the
//! writer's connection, so two processes starting at once apply each version once.

use pence_store_error::StoreError;

use super::err;
use crate::migrate::{create_table, in_order, now_ms, summarise, Schema};

pub(crate) fn run(conn: &rusqlite::Connection, schema: &Schema) -> Result<(), StoreError> {
    conn.execute_batch(&create_table(schema)).map_err(err)?;
    let done_sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE version = ?1)",
        schema.table
    );
    let record_sql = format!(
        "INSERT INTO {} (version, applied_ms) VALUES (?1, ?2)",
        schema.table
    );
    let mut applied_now = Vec::new();
    for (version, sql) in in_order(schema.common, schema.sqlite) {
        conn.execute_batch("BEGIN EXCLUSIVE").map_err(err)?;
        let done: bool = conn
            .query_row(&done_sql, [version], |r| r.get(0))
            .map_err(err)?;
        let applied = if done {
            Ok(())
        } else {
            conn.execute_batch(sql)
                .and_then(|_| conn.execute(&record_sql, [*version, now_ms()]))
                .map(|_| applied_now.push(*version))
        };
        match applied {
            Ok(()) => conn.execute_batch("COMMIT").map_err(err)?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(err(e));
            }
        }
    }
    summarise(&applied_now);
    Ok(())
}
