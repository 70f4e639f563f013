//! The sandbox: what a test service controls that GOV.UK Pay's own sandbox does not — faults
//! injected into the API, the clock, a paying user driven without a browser, fixtures and snapshots.

pub mod fault_rules;
pub mod faults;
pub mod fixtures;
pub mod operations;
pub mod snapshots;
pub mod timeline;

/// How long the nodes' sweeps leave a service alone while a fixture loads or its clock's
/// timers fire, at most (one that stops half way lets them back after this).
pub(crate) const HOLD_SWEEPS_MS: i64 = 15 * 60 * 1000;
