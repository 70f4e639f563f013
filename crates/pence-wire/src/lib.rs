//! Wire models of the GOV.UK Pay public API (`spec/govuk-pay-openapi-1.0.3.json`).
//!
//! Pure data: serde structs for requests and responses, HAL links, the error body and the one
//! table of public error codes. No I/O, so the server and the client share it.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod agreement;
pub mod dates;
pub mod dispute;
pub mod error;
pub mod events;
pub mod payment;
pub mod refund;
pub mod search;
pub mod webhook;

pub use agreement::*;
pub use dispute::*;
pub use error::{ApiError, ErrorCode, RequestError};
pub use events::*;
pub use payment::*;
pub use refund::*;
pub use search::*;
pub use webhook::WebhookMessage;
