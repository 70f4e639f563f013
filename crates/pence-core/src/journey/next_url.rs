//! next_url tokens. GOV.UK Pay stores a new random token on every GET of an unfinished
//! payment; Pence signs one instead, so minting costs no database write. The token carries
//! the payment id, when it was issued and a random nonce, under an HMAC-SHA256 of the
//! instance secret. It is recorded only when the paying user spends it (single use).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::ids;

const ID_LEN: usize = 26;
const ISSUED_LEN: usize = 11;
const NONCE_LEN: usize = 8;
const MAC_LEN: usize = 32;
const TOKEN_LEN: usize = ID_LEN + ISSUED_LEN + NONCE_LEN + MAC_LEN;

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub payment_id: String,
    pub issued_ms: i64,
}

#[derive(Clone)]
pub struct TokenSigner {
    /// The MAC with the secret already taken in: HMAC hashes the key into a block of its
    /// own on each side before any message, work every token would repeat.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(..)")
    }
}

impl TokenSigner {
    pub fn new(secret: Vec<u8>) -> Self {
        TokenSigner {
            keyed: Hmac::<Sha256>::new_from_slice(&secret).expect("any key length"),
        }
    }

    fn mac(&self, payload: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(payload.as_bytes());
        let bytes = mac.finalize().into_bytes();
        data_encoding::BASE32HEX_NOPAD
            .encode(&bytes[..20])
            .to_ascii_lowercase()
    }

    /// A fresh token for `payment_id`, issued at `now_ms`.
    pub fn mint(&self, payment_id: &str, now_ms: i64) -> String {
        let mut payload = String::with_capacity(TOKEN_LEN);
        payload.push_str(payment_id);
        let issued = to_base32(now_ms.max(0) as u64);
        payload.extend(std::iter::repeat_n(
            '0',
            ISSUED_LEN.saturating_sub(issued.len()),
        ));
        payload.push_str(&issued);
        payload.push_str(&ids::random_base32(NONCE_LEN));
        let mac = self.mac(&payload);
        payload + &mac
    }

    /// A MAC over `text`, for values the pages hand out and take back (the 3-D Secure
    /// return), so a value Pence did not issue is refused.
    pub fn seal(&self, text: &str) -> String {
        self.mac(text)
    }

    pub fn check_seal(&self, text: &str, seal: &str) -> bool {
        bool::from(self.mac(text).as_bytes().ct_eq(seal.as_bytes()))
    }

    /// The claims of a token this instance signed, or None for anything else.
    pub fn verify(&self, token: &str) -> Option<TokenClaims> {
        if token.len() != TOKEN_LEN || !ids::is_base32(token) {
            return None;
        }
        let (payload, mac) = token.split_at(TOKEN_LEN - MAC_LEN);
        if !bool::from(self.mac(payload).as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let issued = u64::from_str_radix(&payload[ID_LEN..ID_LEN + ISSUED_LEN], 32).ok()?;
        Some(TokenClaims {
            payment_id: payload[..ID_LEN].to_string(),
            issued_ms: issued as i64,
        })
    }
}

fn to_base32(mut n: u64) -> String {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 32) as usize]);
        n /= 32;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_differ_each_time() {
        let signer = TokenSigner::new(b"k".to_vec());
        let id = ids::new_id();
        let a = signer.mint(&id, 1_700_000_000_123);
        let b = signer.mint(&id, 1_700_000_000_123);
        assert_ne!(a, b);
        let claims = signer.verify(&a).unwrap();
        assert_eq!(claims.payment_id, id);
        assert_eq!(claims.issued_ms, 1_700_000_000_123);
        assert!(TokenSigner::new(b"other".to_vec()).verify(&a).is_none());
        let mut forged = a.clone();
        forged.replace_range(0..1, if a.starts_with('a') { "b" } else { "a" });
        assert!(signer.verify(&forged).is_none());
    }
}
