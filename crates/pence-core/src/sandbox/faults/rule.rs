//! A fault rule: which requests or provider calls it breaks, how, how often and until when;
//! and the control API's request to make one.

use rand::{Rng, SeedableRng};

use crate::ids;
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
