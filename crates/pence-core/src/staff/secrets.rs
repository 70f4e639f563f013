//! Passwords (argon2id, PHC strings), authenticator codes (TOTP: RFC 6238, SHA-1, 6 digits,
//! 30 s, one step of drift either way, as authenticator apps expect), and the hashes of the
//! random tokens sign-in links and session cookies carry.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

/// GOV.UK Pay's admin tool asks for at least 10 characters.
pub const MIN_PASSWORD: usize = 10;

pub fn hash_password(password: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .expect("argon2 with its default parameters")
}

pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh shared secret for an authenticator app (160 bits, base32).
pub fn new_totp_secret() -> String {
    let mut bytes = vec![0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    Secret::Raw(bytes).to_encoded().to_string()
}

fn totp(secret: &str, email: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().ok()?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP_S,
        bytes,
        Some("Pence".into()),
        email.to_string(),
    )
    .ok()
}

/// An authenticator code's time step, in seconds.
const STEP_S: u64 = 30;

/// The time step (`now / 30 s`) whose code `code` is, for `secret` at `now_ms`: the current
/// step or one either side (a phone's clock drifts), the current first.
pub fn code_step(secret: &str, email: &str, code: &str, now_ms: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 {
        return None;
    }
    let totp = totp(secret, email)?;
    let now = now_ms.max(0) / 1000 / STEP_S as i64;
    [now, now - 1, now + 1]
        .into_iter()
        .filter(|step| *step >= 0)
        .find(|step| totp.check(&code, *step as u64 * STEP_S))
}

/// The code an app shows at `now_ms` (tests play the app).
pub fn code_at(secret: &str, email: &str, now_ms: i64) -> Option<String> {
    totp(secret, email).map(|t| t.generate((now_ms / 1000).max(0) as u64))
}

/// The `otpauth://` URL an app scans (as a QR code) to add the account.
pub fn otpauth_url(secret: &str, email: &str) -> Option<String> {
    totp(secret, email).map(|t| t.get_url())
}

/// A random token for a link or a cookie (160 bits), and the hash that is stored.
pub fn new_token() -> (String, String) {
    let token = crate::ids::random_base32(32);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(!password_matches("x", "not a hash"));
    }

    #[test]
    fn codes_match_within_a_step() {
        let secret = new_totp_secret();
        let now = 1_800_000_000_000;
        let code = code_at(&secret, "a@b.c", now).unwrap();
        let step = now / 30_000;
        assert_eq!(code_step(&secret, "a@b.c", &code, now), Some(step));
        assert_eq!(code_step(&secret, "a@b.c", &code, now + 30_000), Some(step));
        assert_eq!(code_step(&secret, "a@b.c", &code, now - 30_000), Some(step));
        assert_eq!(code_step(&secret, "a@b.c", &code, now + 90_000), None);
        assert_eq!(code_step(&secret, "a@b.c", "12345", now), None);
        let url = otpauth_url(&secret, "a@b.c").unwrap();
        assert!(
            url.starts_with("otpauth://totp/Pence:a%40b.c?secret="),
            "{url}"
        );
    }
}
