//! Matching the user who comes back from the payment pages to their journey. The return URL
//! carries nothing GOV.UK Pay or a bystander could use: either a random secret in the URL, or
//! a fixed URL and the secret in a cookie the service seals (encrypts and authenticates) with
//! its own key. Only the secret's SHA-256 is stored, so the database alone cannot forge a
//! return either.

use axum_extra::extract::cookie::{Cookie, SameSite};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The cookie holding the return secret when journeys return by cookie.
pub const RETURN_COOKIE: &str = "pay_return";

/// Where the user comes back to.
#[derive(Debug, Clone)]
pub enum ReturnVia {
    /// `{base}/{secret}`: the secret is in the return URL itself. Works when the user returns
    /// on another device or with cookies blocked.
    UrlSecret { base: String },
    /// This exact URL; the service sets `Started::return_cookie` (sealed with
    /// `PrivateCookieJar`) before redirecting, and reads it back on return.
    Cookie { url: String },
}

impl ReturnVia {
    pub(crate) fn return_url(&self, secret: &str) -> String {
        match self {
            ReturnVia::UrlSecret { base } => format!("{}/{secret}", base.trim_end_matches('/')),
            ReturnVia::Cookie { url } => url.clone(),
        }
    }
}

/// 256 random bits, URL-safe.
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    data_encoding::BASE64URL_NOPAD.encode(&bytes)
}

/// A local id for a journey (random, so it says nothing about how many there are).
pub(crate) fn new_journey_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "j_{}",
        data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase()
    )
}

pub(crate) fn hash(secret: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(secret.as_bytes()))
}

/// The cookie for a journey returning by cookie: HTTP only, sent on the top-level navigation
/// back from the payment pages (`SameSite=Lax`; `Strict` would drop it), `Secure` over https.
pub(crate) fn cookie(secret: String, secure: bool) -> Cookie<'static> {
    Cookie::build((RETURN_COOKIE, secret))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::hours(6))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unguessable_and_stored_hashed() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
    }

    #[test]
    fn the_return_url_carries_only_the_secret() {
        let via = ReturnVia::UrlSecret {
            base: "https://service.example/return/".into(),
        };
        assert_eq!(
            via.return_url("s3cr3t"),
            "https://service.example/return/s3cr3t"
        );
        let via = ReturnVia::Cookie {
            url: "https://service.example/return".into(),
        };
        assert_eq!(via.return_url("s3cr3t"), "https://service.example/return");
    }
}
