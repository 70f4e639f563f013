//! Pence's domain, no HTTP and no SQL. One folder per aggregate (payment, journey, refund,
//! dispute, agreement, service, staff, webhook, search, sandbox, link), each with its entity, its
//! rules and its use cases; the payment's one transition gate is `payment::transition`. What
//! they share sits here at the top: the ports (Store, Clock, PaymentProvider), how storage
//! fails, the refusals a request can meet, ledger events, ids, dates and text.

#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod agreement;
pub mod clock;
pub mod dispute;
pub mod emails;
pub mod ids;
pub mod journey;
pub mod ledger;
pub mod link;
pub mod payment;
pub mod ports;
pub mod psp;
pub mod refund;
pub mod refusal;
pub mod sandbox;
pub mod search;
pub mod service;
pub mod staff;
pub mod store_error;
pub mod sweeps;
pub mod text;
pub mod timefmt;
pub mod webhook;

pub use ports::{
    AgreementStore, DisputeStore, EmailStore, FaultStore, InstanceStore, KeyStore, LinkStore,
    PaymentStore, RefundStore, ServiceStore, StaffStore, Store, StoreError, WebhookStore,
};
