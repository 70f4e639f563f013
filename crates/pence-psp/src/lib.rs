//! Payment providers. Only the sandbox exists: it decides by the exact card number, as GOV.UK
//! Pay's sandbox does (reference §4), plus the cards Pence adds (3-D Secure, refund errors).

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod sandbox;

pub use sandbox::Sandbox;
