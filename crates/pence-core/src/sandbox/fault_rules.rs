//! A test service's fault rules added, listed and removed: one use case each, whatever the
//! front-end (the control API's `/sandbox/v1/faults`, `pence sandbox fault`). A node that
//! applies the rules keeps a copy for a second (`Faults`); the change is seen at once by the
//! node given here, by other nodes and processes within that second.

use crate::clock::Clock;
use crate::ports::FaultStore;
use crate::refusal::sandbox::SandboxRefusal;
use crate::refusal::{Failure, Refusal};
use crate::service::Service;

use super::faults::rule::{FaultRule, RuleRequest};
use super::faults::Faults;

/// Adds the rule `request` asks for to the service's rules.
pub async fn add(
    store: &dyn FaultStore,
    node: Option<&Faults>,
    clock: &dyn Clock,
    service: &Service,
    request: RuleRequest,
) -> Result<FaultRule, Failure> {
    let rule = request
        .rule(&service.id, clock.now_ms())
        .map_err(|why| Refusal::Sandbox(SandboxRefusal::BadFaultRule(why)))?;
    store.insert_fault_rule(&rule).await?;
    if let Some(node) = node {
        node.forget(&service.id);
    }
    Ok(rule)
}

/// The service's rules still in force, oldest first.
pub async fn list(
    store: &dyn FaultStore,
    clock: &dyn Clock,
    service: &Service,
) -> Result<Vec<FaultRule>, Failure> {
    Ok(store.fault_rules(&service.id, clock.now_ms()).await?)
}

/// Removes one of the service's rules; `NotFound` when it has none of that id.
pub async fn remove(
    store: &dyn FaultStore,
    node: Option<&Faults>,
    service: &Service,
    id: &str,
) -> Result<(), Failure> {
    if !store.delete_fault_rule(&service.id, id).await? {
        return Err(Refusal::NotFound.into());
    }
    if let Some(node) = node {
        node.forget(&service.id);
    }
    Ok(())
}
