//! Fault injection for test services (the control API, issue 15): rules that make a
//! service's API requests, or its payment provider's answers, go wrong on purpose: an
//! error answer, a delay, a dropped connection, an authorisation that times out, a capture
//! or refund the provider fails. A rule may fire only on the next N matches, or on a fraction
//! of them chosen by a seeded sequence (so a run can be repeated), and expires.
//!
//! Rules live in the database, so every node applies them; each node keeps a service's rules
//! for up to a second (`Faults`), and counts matches in the database, so "the next N" is
//! exact across nodes.

pub mod rule;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use self::rule::{FaultAction, FaultRule, ProviderFault, Target};
use crate::journey::card::ValidCard;
use crate::payment::PaymentRecord;
use crate::ports::{Store, StoreError};
use crate::psp::{Authorisation, DisputePlan, PaymentProvider, RefundOutcome};

/// How long a node trusts its copy of a service's rules.
const KEPT: Duration = Duration::from_secs(1);

/// A service's rules as read at an instant.
type Kept = (Instant, Arc<Vec<FaultRule>>);

/// The fault rules, as a node applies them.
pub struct Faults {
    store: Arc<dyn Store>,
    kept: RwLock<HashMap<String, Kept>>,
}

impl Faults {
    pub fn new(store: Arc<dyn Store>) -> Arc<Faults> {
        Arc::new(Faults {
            store,
            kept: RwLock::new(HashMap::new()),
        })
    }

    /// Forgets this node's copy of a service's rules (they were just changed here).
    pub fn forget(&self, service_id: &str) {
        self.kept
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(service_id);
    }

    async fn rules(
        &self,
        service_id: &str,
        now_ms: i64,
    ) -> Result<Arc<Vec<FaultRule>>, StoreError> {
        if let Some((at, rules)) = self
            .kept
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(service_id)
        {
            if at.elapsed() < KEPT {
                return Ok(rules.clone());
            }
        }
        let rules = Arc::new(self.store.fault_rules(service_id, now_ms).await?);
        self.kept
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(service_id.to_string(), (Instant::now(), rules.clone()));
        Ok(rules)
    }

    /// The action of the first of the service's rules that fires on `target`, if any. Each
    /// rule that applies counts the match in the database; a store fault is logged and
    /// treated as no fault (a test helper must never break the service it tests).
    pub async fn fired(
        &self,
        service_id: &str,
        target: Target<'_>,
        now_ms: i64,
    ) -> Option<FaultAction> {
        let rules = match self.rules(service_id, now_ms).await {
            Ok(rules) => rules,
            Err(e) => {
                tracing::warn!(error = %e, "reading fault rules failed");
                return None;
            }
        };
        for rule in rules.iter().filter(|r| r.applies_to(target)) {
            match self.store.count_fault_match(&rule.id, now_ms).await {
                Ok(Some(matched)) if rule.fires_on(matched) => {
                    let taken = match rule.remaining {
                        None => Ok(true),
                        Some(_) => self.store.take_fault(&rule.id).await,
                    };
                    match taken {
                        Ok(true) => return Some(rule.action.clone()),
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "counting a fault failed"),
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "counting a fault match failed"),
            }
        }
        None
    }
}

/// A payment provider whose answers the service's provider faults may replace.
pub struct FaultyProvider<P> {
    inner: P,
    faults: Arc<Faults>,
    clock: Arc<dyn crate::clock::Clock>,
}

impl<P> FaultyProvider<P> {
    pub fn new(inner: P, faults: Arc<Faults>, clock: Arc<dyn crate::clock::Clock>) -> Self {
        FaultyProvider {
            inner,
            faults,
            clock,
        }
    }

    async fn fails(&self, payment: &PaymentRecord, fault: ProviderFault) -> bool {
        self.faults
            .fired(
                &payment.service_id,
                Target::Provider(fault),
                self.clock.now_ms(),
            )
            .await
            .is_some()
    }
}

fn timed_out() -> Authorisation {
    Authorisation::Error {
        message: "sandbox fault: the authorisation timed out".into(),
    }
}

#[async_trait]
impl<P: PaymentProvider> PaymentProvider for FaultyProvider<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn authorise(&self, payment: &PaymentRecord, card: &ValidCard) -> Authorisation {
        if self
            .fails(payment, ProviderFault::AuthorisationTimeout)
            .await
        {
            return timed_out();
        }
        self.inner.authorise(payment, card).await
    }

    async fn authorise_3ds(&self, payment: &PaymentRecord, passed: bool) -> Authorisation {
        if self
            .fails(payment, ProviderFault::AuthorisationTimeout)
            .await
        {
            return timed_out();
        }
        self.inner.authorise_3ds(payment, passed).await
    }

    async fn authorisation_status(&self, payment: &PaymentRecord) -> Authorisation {
        self.inner.authorisation_status(payment).await
    }

    async fn authorise_recurring(&self, payment: &PaymentRecord) -> Authorisation {
        if self
            .fails(payment, ProviderFault::AuthorisationTimeout)
            .await
        {
            return timed_out();
        }
        self.inner.authorise_recurring(payment).await
    }

    async fn capture(&self, payment: &PaymentRecord) -> Result<(), String> {
        if self.fails(payment, ProviderFault::CaptureFailure).await {
            return Err("sandbox fault: the capture failed".into());
        }
        self.inner.capture(payment).await
    }

    async fn cancel(&self, payment: &PaymentRecord) -> Result<(), String> {
        self.inner.cancel(payment).await
    }

    async fn refund(&self, payment: &PaymentRecord, amount: i64) -> RefundOutcome {
        if self.fails(payment, ProviderFault::RefundFailure).await {
            return RefundOutcome::Failed;
        }
        self.inner.refund(payment, amount).await
    }

    async fn refund_result(&self, payment: &PaymentRecord, amount: i64) -> RefundOutcome {
        self.inner.refund_result(payment, amount).await
    }

    fn dispute(&self, payment: &PaymentRecord) -> Option<DisputePlan> {
        self.inner.dispute(payment)
    }
}

#[cfg(test)]
mod tests {
    use super::rule::path_matches;
    use super::*;

    #[test]
    fn paths_match_by_segment() {
        assert!(path_matches("/v1/payments", "/v1/payments"));
        assert!(path_matches("/v1/payments", "/v1/payments?state=success"));
        assert!(!path_matches("/v1/payments", "/v1/payments/abc"));
        assert!(path_matches(
            "/v1/payments/*/capture",
            "/v1/payments/abc/capture"
        ));
        assert!(!path_matches(
            "/v1/payments/*/capture",
            "/v1/payments/abc/cancel"
        ));
        assert!(path_matches(
            "/v1/payments/**",
            "/v1/payments/abc/refunds/def"
        ));
        assert!(path_matches("*", "/v1/refunds"));
    }

    #[test]
    fn a_fraction_is_the_same_for_the_same_seed() {
        let rule = |seed| FaultRule {
            id: "f".into(),
            service_id: "s".into(),
            method: None,
            path: Some("*".into()),
            remaining: None,
            fraction: Some(0.3),
            seed,
            matched: 0,
            action: FaultAction::Drop,
            created_ms: 0,
            expires_ms: 1,
        };
        let run = |seed| {
            (1..=1000)
                .filter(|n| rule(seed).fires_on(*n))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let share = run(7).len();
        assert!((250..350).contains(&share), "{share} of 1000 at 0.3");
    }
}
