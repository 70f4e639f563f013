//! Staff sessions in the browser: a private (encrypted, authenticated) cookie holding the
//! session's random token, looked up by its hash (`staff::operations::session`); and, before
//! sign-in, a private cookie with the CSRF token of the sign-in and password forms.

use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use pence_core::staff;
use pence_core::staff::{StaffSession, User};
use subtle::ConstantTimeEq;

use crate::state::AppState;

const SESSION: &str = "pence_admin";
const ANONYMOUS_CSRF: &str = "pence_admin_csrf";

/// Who is signed in, for the header (and the sign-out form's CSRF token).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub email: String,
    pub csrf: String,
}

/// A signed-in member of staff (both factors given).
pub struct Staff {
    pub session: StaffSession,
    pub user: User,
}

impl Staff {
    pub fn signed_in(&self) -> SignedIn {
        SignedIn {
            email: self.user.email.clone(),
            csrf: self.session.csrf.clone(),
        }
    }

    pub fn csrf_ok(&self, sent: &str) -> bool {
        same(&self.session.csrf, sent)
    }
}

/// Whether a form's CSRF token is the expected one (in constant time).
pub fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/admin")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build()
}

/// The browser's session at any stage (the second factor perhaps still to come).
pub async fn current(state: &AppState, jar: &PrivateCookieJar) -> Option<(StaffSession, User)> {
    let token = jar.get(SESSION)?;
    staff::operations::session(state.store.as_ref(), state.clock.as_ref(), token.value())
        .await
        .ok()
        .flatten()
}

/// The signed-in member of staff, or where to send the browser instead.
pub async fn require(state: &AppState, jar: &PrivateCookieJar) -> Result<Staff, Response> {
    match current(state, jar).await {
        Some((session, user)) if session.two_factor_ms.is_some() => Ok(Staff { session, user }),
        Some(_) => Err(super::see_other("/admin/two-factor")),
        None => Err(super::see_other("/admin/login")),
    }
}

/// The jar holding a new session's token.
pub fn start(state: &AppState, jar: PrivateCookieJar, token: String) -> PrivateCookieJar {
    jar.add(cookie(SESSION, token, state.secure_cookies))
        .remove(Cookie::build(ANONYMOUS_CSRF).path("/admin"))
}

/// The jar without the session.
pub fn end(jar: PrivateCookieJar) -> PrivateCookieJar {
    jar.remove(Cookie::build(SESSION).path("/admin"))
}

/// The CSRF token of the forms before sign-in, made now if the browser has none.
pub fn anonymous_csrf(state: &AppState, jar: PrivateCookieJar) -> (PrivateCookieJar, String) {
    if let Some(c) = jar.get(ANONYMOUS_CSRF) {
        let token = c.value().to_string();
        return (jar, token);
    }
    let token = pence_core::ids::random_base32(32);
    let jar = jar.add(cookie(ANONYMOUS_CSRF, token.clone(), state.secure_cookies));
    (jar, token)
}

pub fn anonymous_csrf_ok(jar: &PrivateCookieJar, sent: &str) -> bool {
    jar.get(ANONYMOUS_CSRF)
        .is_some_and(|c| same(c.value(), sent))
}
