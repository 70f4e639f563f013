//! Use cases: what a request does, independent of HTTP and SQL, split by what they serve.
//! Each returns the domain's `Failure` (a `Refusal` or a store fault); pence-http answers it.

pub mod administer;
pub mod agreements;
pub mod moto;
pub mod payments;
pub mod refunds;
pub mod sandbox;
pub mod searches;
pub mod setup;
pub mod staff;
pub mod staff_views;

pub use agreements::{cancel_agreement, create_agreement, find_agreement, search_agreements};
pub use payments::{
    cancel_payment, capture_payment, create_payment, find_payment, payment_events, Created,
};
pub use refunds::{create_refund, refund, refunds};
pub use searches::{search_disputes, search_payments, search_refunds, Found};
pub use setup::{
    bootstrap, create_api_key, create_service, default_service, note_public_url, public_url,
    reseal_secrets, secrets, Secrets,
};
