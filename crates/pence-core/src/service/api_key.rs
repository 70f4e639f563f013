//! API keys of GOV.UK Pay's form: `api_test_` or `api_live_`, 26 random base-32 digits, then a
//! 32-character checksum (HMAC-SHA1 of the rest under an instance secret, lower-case base32hex
//! without padding). The checksum lets the server reject malformed keys without a lookup.
//!
//! Keys are stored only as a SHA-256 hash. GOV.UK Pay uses bcrypt; a key carries 130 random
//! bits, so a fast hash is as safe here and keeps authentication off the hot path's CPU.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids;

pub const CHECKSUM_LEN: usize = 32;
const MIN_LEN: usize = 33;
const MAX_LEN: usize = 9 + 26 + CHECKSUM_LEN;

fn checksum(secret: &[u8], body: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body.as_bytes());
    data_encoding::BASE32HEX_NOPAD
        .encode(&mac.finalize().into_bytes())
        .to_ascii_lowercase()
}

/// Makes a new key for a test (`api_test_`) or live (`api_live_`) service.
pub fn generate(secret: &[u8], live: bool) -> String {
    let prefix = if live { "api_live_" } else { "api_test_" };
    let body = format!("{prefix}{}", ids::random_base32(26));
    let sum = checksum(secret, &body);
    body + &sum
}

/// True when the key has a plausible length and its checksum matches (constant-time).
pub fn checksum_ok(secret: &[u8], key: &str) -> bool {
    if key.len() < MIN_LEN || key.len() > MAX_LEN || !key.is_ascii() {
        return false;
    }
    let (body, sum) = key.split_at(key.len() - CHECKSUM_LEN);
    checksum(secret, body)
        .as_bytes()
        .ct_eq(sum.as_bytes())
        .into()
}

/// The stored form of a key.
pub fn hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    data_encoding::HEXLOWER.encode(&digest)
}

/// The part of a key that is safe to show in listings (`api_test_abcd…`).
pub fn display_prefix(key: &str) -> String {
    key.chars().take(13).collect()
}

/// A key as stored: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub service_id: String,
    pub token_hash: String,
    pub display_prefix: String,
    pub description: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
    /// When a request last came with it (kept to the minute).
    pub last_used_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_verify_and_tampered_ones_do_not() {
        let secret = b"instance secret";
        let key = generate(secret, false);
        assert!(key.starts_with("api_test_"));
        assert_eq!(key.len(), 9 + 26 + 32);
        assert!(checksum_ok(secret, &key));
        assert!(!checksum_ok(b"other secret", &key));
        let mut tampered = key.clone().into_bytes();
        tampered[12] = if tampered[12] == b'a' { b'b' } else { b'a' };
        assert!(!checksum_ok(secret, &String::from_utf8(tampered).unwrap()));
        assert!(!checksum_ok(secret, "short"));
        assert!(generate(secret, true).starts_with("api_live_"));
    }
}
