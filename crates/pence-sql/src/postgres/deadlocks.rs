//! Changes PostgreSQL failed to end a deadlock: each was undone whole, and the other side has
//! since committed or is committing, so each goes again alone.

use pence_store_error::StoreError;
use sqlx::PgConnection;

use super::{one_by_one, Job};
use crate::value::Row;

/// How many times a change that lost a deadlock goes again.
const RETRIES: usize = 3;

/// Applies again, alone, each change of `group` whose outcome is a lost deadlock.
pub(super) async fn again(
    conn: &mut PgConnection,
    group: &[Job],
    outcomes: &mut [Result<Vec<Row>, StoreError>],
) {
    for (job, outcome) in group.iter().zip(outcomes.iter_mut()) {
        for _ in 0..RETRIES {
            if !matches!(outcome, Err(e) if deadlocked(e)) {
                break;
            }
            *outcome = one_by_one(conn, std::slice::from_ref(job)).await.remove(0);
        }
    }
}

/// Whether PostgreSQL ended a deadlock by failing this change (SQLSTATE 40P01).
fn deadlocked(e: &StoreError) -> bool {
    let StoreError::Database {
        source: Some(source),
        ..
    } = e
    else {
        return false;
    };
    matches!(
        source.downcast_ref::<sqlx::Error>(),
        Some(sqlx::Error::Database(d)) if d.code().as_deref() == Some("40P01")
    )
}
