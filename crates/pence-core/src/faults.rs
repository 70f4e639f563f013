//! Fault injection for test services (the control API, issue 15): rules that make a
//! service's API requests, or its payment provider's answers, go wrong on purpose: an
//! error answer, a delay, a dropped connection, an authorisation that times out, a capture
//! or refund the provider fails. A rule may fire only on the next N matches, or on a fraction
//! of them chosen by a seeded sequence (so a run can be repeated), and expires.
//!
//! Rules live in the database, so every node applies them; each node keeps a service's rules
//! for up to a second (`Faults`), and counts matches in the database, so "the next N" is
//! exact across nodes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::{Rng, SeedableRng};

use crate::card::ValidCard;
use crate::ids;
use crate::payment::PaymentRecord;
use crate::ports::{Store, StoreError};
use crate::psp::{Authorisation, DisputePlan, PaymentProvider, RefundOutcome};
use crate::timefmt;
use pence_wire::ErrorCode;

/// What a provider fault breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderFault {
    /// The provider never answers an authorisation: the payment ends in error (P0050).
    AuthorisationTimeout,
    /// The provider refuses to capture: the capture is retried, then fails.
    CaptureFailure,
    /// The provider fails a refund: it ends in `error`.
    RefundFailure,
}

impl ProviderFault {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderFault::AuthorisationTimeout => "authorisation_timeout",
            ProviderFault::CaptureFailure => "capture_failure",
            ProviderFault::RefundFailure => "refund_failure",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderFault> {
        [
            ProviderFault::AuthorisationTimeout,
            ProviderFault::CaptureFailure,
            ProviderFault::RefundFailure,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
    }
}

/// What happens when a rule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// This answer instead of the operation's (GOV.UK Pay's error shape).
    Answer {
        status: u16,
        code: String,
        description: String,
    },
    /// The request waits this long, then goes on.
    Delay {
        ms: u64,
    },
    /// The connection is closed without an answer.
    Drop,
    Provider(ProviderFault),
}

/// A fault rule of one test service.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub id: String,
    pub service_id: String,
    /// The API requests it applies to (`None`: any method); provider faults have no path.
    pub method: Option<String>,
    pub path: Option<String>,
    /// Fires only this many more times (`None`: every time).
    pub remaining: Option<i64>,
    /// Fires on this share of the matches, decided by `seed` and the match's number.
    pub fraction: Option<f64>,
    pub seed: i64,
    /// Requests (or provider calls) it has matched so far.
    pub matched: i64,
    pub action: FaultAction,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// What a rule is asked about: an API request, or a provider call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Request { method: &'a str, path: &'a str },
    Provider(ProviderFault),
}

impl FaultRule {
    /// Whether the rule is about `target` (before counting whether it fires).
    pub fn applies_to(&self, target: Target<'_>) -> bool {
        match (target, &self.action) {
            (Target::Provider(want), FaultAction::Provider(have)) => want == *have,
            (Target::Provider(_), _) | (_, FaultAction::Provider(_)) => false,
            (Target::Request { method, path }, _) => {
                self.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                    && self.path.as_deref().is_some_and(|p| path_matches(p, path))
            }
        }
    }

    /// Whether its `matched`-th match fires (the fraction's seeded draw).
    pub fn fires_on(&self, matched: i64) -> bool {
        match self.fraction {
            None => true,
            Some(fraction) => {
                let mut draw = rand::rngs::StdRng::seed_from_u64(
                    (self.seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ matched as u64,
                );
                draw.random::<f64>() < fraction
            }
        }
    }
}

/// `/v1/payments/*/capture` matches `/v1/payments/abc/capture`: `*` is any one segment, a
/// trailing `/**` any rest, `*` alone everything.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let path = path.split('?').next().unwrap_or(path);
    let mut want = pattern.trim_end_matches('/').split('/');
    let mut have = path.trim_end_matches('/').split('/');
    loop {
        match (want.next(), have.next()) {
            (Some("**"), _) => return true,
            (Some(w), Some(h)) if w == "*" || w == h => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Rules last this long unless the request says otherwise, and at most a day.
const DEFAULT_LIFE_S: i64 = 60 * 60;
const LONGEST_LIFE_S: i64 = 24 * 60 * 60;
const LONGEST_DELAY_MS: u64 = 60_000;

/// A new rule's answer, as the control API takes it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub status: u16,
    pub code: Option<String>,
    pub description: Option<String>,
}

/// A new rule, as the control API (and `pence sandbox fault add`) takes it.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    pub method: Option<String>,
    pub path: Option<String>,
    pub next: Option<i64>,
    pub fraction: Option<f64>,
    pub seed: Option<i64>,
    pub expires_in_seconds: Option<i64>,
    pub answer: Option<AnswerRequest>,
    pub delay_ms: Option<u64>,
    pub drop_connection: Option<bool>,
    pub provider: Option<String>,
}

impl RuleRequest {
    /// The rule a request describes, or why it cannot be one.
    pub fn rule(self, service_id: &str, now_ms: i64) -> Result<FaultRule, String> {
        let body = self;
        let action = match (
            body.answer,
            body.delay_ms,
            body.drop_connection,
            body.provider,
        ) {
            (Some(a), None, None, None) => {
                if !(400..=599).contains(&a.status) {
                    return Err("answer.status must be from 400 to 599".into());
                }
                let default = if a.status == 429 {
                    ErrorCode::TOO_MANY_REQUESTS
                } else {
                    ErrorCode::CREATE_PAYMENT_CONNECTOR
                };
                FaultAction::Answer {
                    status: a.status,
                    code: a.code.unwrap_or_else(|| default.code.to_string()),
                    description: a.description.unwrap_or_else(|| default.describe(&[])),
                }
            }
            (None, Some(ms), None, None) if ms <= LONGEST_DELAY_MS => FaultAction::Delay { ms },
            (None, Some(_), None, None) => {
                return Err(format!("delay_ms must be at most {LONGEST_DELAY_MS}"))
            }
            (None, None, Some(true), None) => FaultAction::Drop,
            (None, None, None, Some(p)) => FaultAction::Provider(ProviderFault::parse(&p).ok_or(
                "provider must be authorisation_timeout, capture_failure or refund_failure",
            )?),
            _ => {
                return Err(
                    "give one of answer, delay_ms, drop_connection: true or provider".into(),
                )
            }
        };
        let is_provider = matches!(action, FaultAction::Provider(_));
        if is_provider && (body.path.is_some() || body.method.is_some()) {
            return Err("a provider fault has no method or path".into());
        }
        if !is_provider
            && !body
                .path
                .as_deref()
                .is_some_and(|p| p == "*" || p.starts_with("/v1/"))
        {
            return Err("path must be a public API path such as /v1/payments or /v1/payments/*/capture, or *".into());
        }
        if body.next.is_some_and(|n| n < 1) {
            return Err("next must be at least 1".into());
        }
        if body.fraction.is_some_and(|f| !(0.0..=1.0).contains(&f)) {
            return Err("fraction must be from 0 to 1".into());
        }
        let life = body.expires_in_seconds.unwrap_or(DEFAULT_LIFE_S);
        if !(1..=LONGEST_LIFE_S).contains(&life) {
            return Err(format!(
                "expires_in_seconds must be from 1 to {LONGEST_LIFE_S}"
            ));
        }
        Ok(FaultRule {
            id: ids::new_id(),
            service_id: service_id.to_string(),
            method: body.method.map(|m| m.to_ascii_uppercase()),
            path: body.path,
            remaining: body.next,
            fraction: body.fraction,
            seed: body.seed.unwrap_or(0),
            matched: 0,
            action,
            created_ms: now_ms,
            expires_ms: now_ms + life * 1000,
        })
    }
}

impl FaultRule {
    /// The rule as the control API shows it.
    pub fn shown(&self) -> serde_json::Value {
        let r = self;
        let mut v = serde_json::json!({
            "id": r.id,
            "method": r.method,
            "path": r.path,
            "next": r.remaining,
            "fraction": r.fraction,
            "seed": r.seed,
            "matched": r.matched,
            "created_date": timefmt::date_time(r.created_ms),
            "expires_date": timefmt::date_time(r.expires_ms),
        });
        match &r.action {
            FaultAction::Answer {
                status,
                code,
                description,
            } => {
                v["answer"] =
                    serde_json::json!({"status": status, "code": code, "description": description})
            }
            FaultAction::Delay { ms } => v["delay_ms"] = serde_json::json!(ms),
            FaultAction::Drop => v["drop_connection"] = serde_json::json!(true),
            FaultAction::Provider(p) => v["provider"] = serde_json::json!(p.as_str()),
        }
        v
    }
}

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
