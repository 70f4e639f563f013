//! Webhook messages a service receives: the `Pay-Signature` checked (HMAC-SHA256 of the raw
//! body, hex), against one or more secrets so a rotation loses nothing, in constant time;
//! then the body parsed.

use hmac::{Hmac, Mac};
use pence_wire::WebhookMessage;
use sha2::Sha256;
use subtle::ConstantTimeEq;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("no Pay-Signature header")]
    NoSignature,
    #[error("the Pay-Signature matches none of the webhook's signing secrets")]
    BadSignature,
    #[error("the body is not a GOV.UK Pay webhook message: {0}")]
    NotAMessage(String),
}

/// Whether `signature` (the `Pay-Signature` header) signs `body` with one of `secrets`.
pub fn signed(body: &[u8], signature: &str, secrets: &[&str]) -> bool {
    let Ok(given) = data_encoding::HEXLOWER_PERMISSIVE.decode(signature.trim().as_bytes()) else {
        return false;
    };
    secrets.iter().fold(false, |found, secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        // Every secret is checked, so the time taken says nothing about which one matched.
        found | bool::from(expected.as_slice().ct_eq(&given))
    })
}

/// The message in `body`, if `signature` (the `Pay-Signature` header, `None` when absent)
/// signs it with one of `secrets`.
pub fn verify(
    body: &[u8],
    signature: Option<&str>,
    secrets: &[&str],
) -> Result<WebhookMessage, WebhookError> {
    let signature = signature.ok_or(WebhookError::NoSignature)?;
    if !signed(body, signature, secrets) {
        return Err(WebhookError::BadSignature);
    }
    serde_json::from_slice(body).map_err(|e| WebhookError::NotAMessage(e.to_string()))
}
