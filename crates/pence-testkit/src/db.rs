//! Fresh databases for tests.

use std::sync::atomic::{AtomicU64, Ordering};

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Whether PostgreSQL tests can run here (`PENCE_TEST_POSTGRES_URL` is set).
pub fn postgres_configured() -> bool {
    postgres_url().is_some()
}

/// Declares, for each async test function `name(engine: Engine)`, a module `name` with a
/// test per engine (`name::sqlite`, `name::postgres`), so a failure names its engine and the
/// engines run in parallel. Without `PENCE_TEST_POSTGRES_URL` the PostgreSQL test says so
/// and does nothing (CI always sets it). `multi_thread:` gives the tests a multi-threaded
/// runtime; `sync:` is for tests that run their own (property tests).
#[macro_export]
macro_rules! engine_tests {
    (sync: $($name:ident),* $(,)?) => {
        $(mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::Engine::Sqlite)
            }

            #[test]
            fn postgres() {
                if $crate::db::postgres_configured() {
                    super::$name($crate::Engine::Postgres)
                } else {
                    eprintln!("PENCE_TEST_POSTGRES_URL is not set: not run on PostgreSQL");
                }
            }
        })*
    };
    (multi_thread: $($name:ident),* $(,)?) => {
        $($crate::engine_tests!(@one [tokio::test(flavor = "multi_thread")] $name);)*
    };
    ($($name:ident),* $(,)?) => {
        $($crate::engine_tests!(@one [tokio::test] $name);)*
    };
    (@one [$($attr:tt)*] $name:ident) => {
        mod $name {
            #[$($attr)*]
            async fn sqlite() {
                super::$name($crate::Engine::Sqlite).await
            }

            #[$($attr)*]
            async fn postgres() {
                if $crate::db::postgres_configured() {
                    super::$name($crate::Engine::Postgres).await
                } else {
                    eprintln!("PENCE_TEST_POSTGRES_URL is not set: not run on PostgreSQL");
                }
            }
        }
    };
}

fn postgres_url() -> Option<String> {
    std::env::var("PENCE_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A database that exists for one test: the temp directory (SQLite) lives as long as this.
pub struct TestDb {
    pub engine: Engine,
    pub url: String,
    /// The SQLite file, for tests that read the raw bytes.
    pub path: Option<std::path::PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    pub async fn new(engine: Engine) -> TestDb {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("pence.db");
                TestDb {
                    engine,
                    url: path.to_string_lossy().into_owned(),
                    path: Some(path),
                    _dir: Some(dir),
                }
            }
            Engine::Postgres => {
                let base = postgres_url().expect("PENCE_TEST_POSTGRES_URL");
                let schema = format!(
                    "t{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    pence_core::ids::random_base32(6)
                );
                pence_store::create_postgres_schema(&base, &schema)
                    .await
                    .expect("PENCE_TEST_POSTGRES_URL must reach PostgreSQL");
                let sep = if base.contains('?') { '&' } else { '?' };
                TestDb {
                    engine,
                    url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
                    path: None,
                    _dir: None,
                }
            }
        }
    }
}
