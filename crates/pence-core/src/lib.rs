//! Pence's domain: entities, validation of requests into domain values, the payment state
//! machine and its one transition gate (`transition`), ledger events, the refusals a request
//! can meet (`refusal`), use cases, and the ports the domain needs (Store, Clock). No HTTP,
//! no SQL.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod agreement;
pub mod api_key;
pub mod card;
pub mod clock;
pub mod create_payment;
pub mod dispute;
pub mod emails;
pub mod export;
pub mod faults;
pub mod idempotency;
pub mod ids;
pub mod journey;
pub mod ledger;
pub mod metadata;
pub mod moto_api;
pub mod next_url;
pub mod payment;
pub mod ports;
pub mod present;
pub mod psp;
pub mod recurring;
pub mod refund;
pub mod refusal;
pub mod return_url;
pub mod search;
pub mod service;
pub mod staff;
pub mod status;
pub mod store_error;
pub mod sweeps;
pub mod text;
pub mod timefmt;
pub mod transition;
pub mod usecases;
pub mod webhook;

pub use ports::{
    AgreementStore, DisputeStore, EmailStore, FaultStore, InstanceStore, KeyStore, PaymentStore,
    RefundStore, ServiceStore, StaffStore, Store, StoreError, WebhookStore,
};
