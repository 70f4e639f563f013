//! The service side of a GOV.UK Pay integration, in the service's own database (SQLite or
//! PostgreSQL, chosen by URL), working unchanged against GOV.UK Pay or Pence:
//!
//! - `journeys`: a payment journey recorded before the user leaves for the payment pages, and
//!   the returning user matched by a secret (in the return URL or a sealed cookie), never by
//!   payment id or reference; the outcome checked by API on return.
//! - `webhooks`: a consumer to mount in the service's router: signature checked, message
//!   stored durably before the 200, processed in the background, once in effect.
//! - `mop_up`: the periodic check of journeys nobody finished.
//! - `reconcile`: settled payments and refunds as CSV, one row per money movement.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod clock;
mod journeys;
pub mod mop_up;
pub mod reconcile;
mod returns;
mod schema;
pub mod webhooks;

use pence_sql::Database;

pub use clock::Clock;
pub use journeys::{Journey, StartPayment, Started};
pub use returns::{ReturnVia, RETURN_COOKIE};

/// What can go wrong in the connector.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// GOV.UK Pay (or the connection to it) failed.
    #[error(transparent)]
    Pay(#[from] pence_client::Error),
    /// The service's database failed.
    #[error(transparent)]
    Database(#[from] pence_sql::StoreError),
}

/// The connector: a GOV.UK Pay client and the service's database, with a clock tests can
/// move. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    pub(crate) client: pence_client::Client,
    pub(crate) db: Database,
    pub(crate) clock: Clock,
}

impl Connector {
    /// Opens (creating or migrating its tables in) the database at `database_url`:
    /// `postgres://…`, or a SQLite file path.
    pub async fn open(client: pence_client::Client, database_url: &str) -> Result<Self, Error> {
        let db =
            Database::open(database_url, pence_sql::Options::default(), &schema::SCHEMA).await?;
        Ok(Connector {
            client,
            db,
            clock: Clock::system(),
        })
    }

    /// Uses `clock` for every time the connector records or compares.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn client(&self) -> &pence_client::Client {
        &self.client
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Closes the database connections.
    pub async fn close(&self) {
        self.db.close().await
    }
}
