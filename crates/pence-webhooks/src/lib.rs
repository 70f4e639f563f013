//! Delivery of the webhook outbox. Each node runs workers per active subscription: a worker
//! claims a batch of that subscription's due messages (a lease in the database, so no two
//! workers on any node hold one at once), POSTs them with bounded concurrency, and records
//! every attempt and each message's next state in one transaction. A slow or dead receiver
//! only ever occupies its own subscription's workers.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod metrics;
mod on_move;
mod send;
mod worker;

pub use metrics::Metrics;
pub use send::{send_signed, Answered};
pub use worker::{Delivered, Deliverer, DeliverySettings, DeliveryStore};
