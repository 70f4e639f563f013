//! The two engines behind one store, and `on_engine!`, which writes a body once for both.

use sqlx::{PgPool, SqlitePool};

#[derive(Clone, Debug)]
pub(crate) enum Engine {
    /// One writer connection (SQLite has one writer anyway) and a pool of readers (WAL).
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the engine's reading or writing pool. The body is
/// compiled once per engine, so the same query code serves both.
macro_rules! on_engine {
    ($engine:expr, read $pool:ident => $body:expr) => {
        match $engine {
            crate::engine::Engine::Sqlite { read: $pool, .. } => $body,
            crate::engine::Engine::Postgres($pool) => $body,
        }
    };
    ($engine:expr, write $pool:ident => $body:expr) => {
        match $engine {
            crate::engine::Engine::Sqlite { write: $pool, .. } => $body,
            crate::engine::Engine::Postgres($pool) => $body,
        }
    };
}

pub(crate) use on_engine;
