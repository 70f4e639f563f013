//! `Idempotency-Key` on creating a payment of an agreement (reference §9): the same key with
//! the same request within a day gives back the payment it created; with another request it
//! is refused (409 P0191). Web and MOTO creates validate the header and ignore it.

use serde_json::json;

use crate::payment::create::CreatePaymentRequest;

/// Keys are forgotten after a day (GOV.UK Pay's `IDEMPOTENCY_KEY_EXPIRY_WINDOW_SECONDS`).
pub const WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// A key as stored with the payment it created, in the creation's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub service_id: String,
    pub key: String,
    /// The request as parsed (`fingerprint`): two bodies that mean the same match.
    pub fingerprint: String,
    pub payment_id: String,
    pub created_ms: i64,
}

impl IdempotencyKey {
    /// Whether the key still stands at `now_ms`.
    pub fn live(&self, now_ms: i64) -> bool {
        self.created_ms > now_ms - WINDOW_MS
    }
}

/// The request as GOV.UK Pay's connector compares it: after parsing, so key order, spacing
/// and defaults spelled out make no difference. serde_json's maps are ordered by key, so the
/// text is canonical.
pub fn fingerprint(r: &CreatePaymentRequest) -> String {
    json!({
        "amount": r.amount,
        "reference": r.reference,
        "description": r.description,
        "agreement_id": r.agreement_id,
        "agreement_payment_type": r.agreement_payment_type.as_deref().unwrap_or("recurring"),
        "language": r.language.as_str(),
        "delayed_capture": r.delayed_capture,
        "metadata": r.metadata,
        "authorisation_mode": r.authorisation_mode.as_str(),
    })
    .to_string()
}
