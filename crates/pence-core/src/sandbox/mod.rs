//! The sandbox: what a test service controls that GOV.UK Pay's own sandbox does not — faults
//! injected into the API, the clock, a paying user driven without a browser, fixtures and snapshots.

pub mod fault_rules;
pub mod faults;
pub mod fixtures;
pub mod operations;
pub mod snapshots;
