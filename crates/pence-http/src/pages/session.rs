//! The paying user's browser session: an encrypted, authenticated cookie (AES-GCM, through
//! axum-extra's private jar) holding the payments this browser has opened (at most 10, the
//! oldest dropped) and the CSRF secret its forms carry.

use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

const COOKIE: &str = "pence_session";
const MAX_PAYMENTS: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    csrf: String,
    payments: Vec<String>,
}

impl Session {
    /// The browser's session, or a fresh one.
    pub fn from_jar(jar: &PrivateCookieJar) -> Session {
        jar.get(COOKIE)
            .and_then(|c| serde_json::from_str(c.value()).ok())
            .unwrap_or_else(|| Session {
                csrf: pence_core::ids::random_base32(32),
                payments: Vec::new(),
            })
    }

    pub fn has(&self, payment_id: &str) -> bool {
        self.payments.iter().any(|p| p == payment_id)
    }

    pub fn add(&mut self, payment_id: &str) {
        self.payments.retain(|p| p != payment_id);
        self.payments.push(payment_id.to_string());
        if self.payments.len() > MAX_PAYMENTS {
            self.payments.remove(0);
        }
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn csrf_ok(&self, sent: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(sent.as_bytes()))
    }

    /// The jar with this session written back.
    pub fn store(&self, jar: PrivateCookieJar, secure: bool) -> PrivateCookieJar {
        let value = serde_json::to_string(self).unwrap_or_default();
        let cookie = Cookie::build((COOKIE, value))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .build();
        jar.add(cookie)
    }
}
