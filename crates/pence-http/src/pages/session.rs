//! The paying user's browser session: an encrypted, authenticated cookie (AES-GCM, through
//! axum-extra's private jar) holding the payments this browser has opened (at most 10, the
//! oldest dropped) and the CSRF secret its forms carry.

use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// A private cookie's JSON value, if the browser sent one this node sealed.
pub(crate) fn read_cookie<T: DeserializeOwned>(jar: &PrivateCookieJar, name: &str) -> Option<T> {
    jar.get(name)
        .and_then(|c| serde_json::from_str(c.value()).ok())
}

/// The jar with `value` sealed in the cookie `name`: the whole site's, HttpOnly, SameSite=Lax,
/// Secure when the node is reached over https.
pub(crate) fn write_cookie<T: Serialize>(
    jar: PrivateCookieJar,
    name: &'static str,
    value: &T,
    secure: bool,
) -> PrivateCookieJar {
    let value = serde_json::to_string(value).unwrap_or_default();
    let cookie = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    jar.add(cookie)
}

/// The `csrfToken` a posted form carries (empty when none).
pub(crate) fn posted_csrf(body: &[u8]) -> String {
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct Csrf {
        csrf_token: String,
    }
    serde_urlencoded::from_bytes::<Csrf>(body)
        .unwrap_or_default()
        .csrf_token
}

/// Whether a form's token is the session's secret, compared in constant time.
pub(crate) fn same_secret(secret: &str, sent: &str) -> bool {
    bool::from(secret.as_bytes().ct_eq(sent.as_bytes()))
}

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
        read_cookie(jar, COOKIE).unwrap_or_else(|| Session {
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
        same_secret(&self.csrf, sent)
    }

    /// The jar with this session written back.
    pub fn store(&self, jar: PrivateCookieJar, secure: bool) -> PrivateCookieJar {
        write_cookie(jar, COOKIE, self, secure)
    }
}
