//! Dev-only helpers: the real Pence node on port 0 with a fresh database (a temp SQLite file,
//! or a fresh schema on the PostgreSQL named by `PENCE_TEST_POSTGRES_URL`), an HTTP client
//! whose every public-API response is validated against the GOV.UK Pay spec.

pub mod browser;
pub mod db;
pub mod paying_user;
pub mod proxy;
pub mod receiver;
pub mod server;
pub mod spec;

pub use browser::{Browser, ServiceSite};
pub use db::{Engine, TestDb};
pub use proxy::SpecProxy;
pub use receiver::{Answer, Received, Receiver};
pub use server::{Reply, ServerOptions, TestServer};
