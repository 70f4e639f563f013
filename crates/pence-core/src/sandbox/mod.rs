//! The sandbox: what a test service controls that GOV.UK Pay's own sandbox does not — faults
//! injected into the API, the clock, and a paying user driven without a browser.

pub mod fault_rules;
pub mod faults;
pub mod operations;
