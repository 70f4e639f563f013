//! What staff do to get in, and what the admin tool records: users invited with a one-time
//! link, a password set from it, sign-in with a password then an authenticator code (set up
//! on the first sign-in), lockout after repeated failures, sessions that expire, the audit log.

use crate::clock::Clock;
use crate::ids;
use crate::ports::{Store, StoreError};
use crate::staff::secrets::{self, MIN_PASSWORD};
use crate::staff::{AuditEntry, Role, StaffSession, User};

/// A sign-in link works for a day.
pub const LINK_MS: i64 = 24 * 60 * 60 * 1000;
/// A session lasts a working day, however active.
pub const SESSION_MS: i64 = 8 * 60 * 60 * 1000;
/// Wrong passwords or codes in a row before the account is locked, and for how long.
pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// Why staff are turned away, in words the pages show.
#[derive(Debug, thiserror::Error)]
pub enum StaffRefusal {
    #[error("Enter a valid email address")]
    BadEmail,
    #[error("This link has expired or has already been used")]
    BadLink,
    #[error("Your password must be at least 10 characters")]
    ShortPassword,
    #[error("The passwords do not match")]
    PasswordsDiffer,
    #[error("The email address or password is not correct")]
    WrongPassword,
    #[error("The security code is not correct")]
    WrongCode,
    #[error("Your account is locked after too many attempts. Try again in 15 minutes")]
    Locked,
    #[error("A user with this email address already exists")]
    Exists,
    #[error("There is no such user")]
    NoSuchUser,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn valid_email(email: &str) -> bool {
    let email = email.trim();
    email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !email.chars().any(char::is_whitespace)
}

/// A new user with `role` on `service_id`, and the one-time link token to set a password.
pub async fn create_user(
    store: &dyn Store,
    clock: &dyn Clock,
    email: &str,
    service_id: &str,
    role: Role,
) -> Result<(User, String), StaffRefusal> {
    let email = email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(StaffRefusal::BadEmail);
    }
    if store.service(service_id).await?.is_none() {
        return Err(StaffRefusal::NoSuchUser);
    }
    let now = clock.now_ms();
    let user = User {
        id: ids::new_id(),
        email,
        password_hash: None,
        totp_secret: None,
        totp_confirmed: false,
        disabled: false,
        failed_attempts: 0,
        locked_until_ms: 0,
        created_ms: now,
    };
    match store.insert_user(&user).await {
        Err(StoreError::Duplicate) => return Err(StaffRefusal::Exists),
        other => other?,
    }
    store.set_role(&user.id, service_id, role).await?;
    let token = new_link(store, clock, &user).await?;
    Ok((user, token))
}

/// A fresh one-time link token for `user` (an invitation, or a reset).
pub async fn new_link(
    store: &dyn Store,
    clock: &dyn Clock,
    user: &User,
) -> Result<String, StaffRefusal> {
    let (token, hash) = secrets::new_token();
    store
        .insert_link(&hash, &user.id, clock.now_ms() + LINK_MS)
        .await?;
    Ok(token)
}

/// The user a link is for, if it is live (not spending it).
pub async fn link_user(
    store: &dyn Store,
    clock: &dyn Clock,
    token: &str,
) -> Result<User, StaffRefusal> {
    let user_id = store
        .link_user(&secrets::token_hash(token), clock.now_ms())
        .await?
        .ok_or(StaffRefusal::BadLink)?;
    store
        .user(&user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(StaffRefusal::BadLink)
}

/// Sets the password from a link, spending it (once, even if two tabs race).
pub async fn set_password(
    store: &dyn Store,
    clock: &dyn Clock,
    token: &str,
    password: &str,
    confirm: &str,
) -> Result<User, StaffRefusal> {
    let mut user = link_user(store, clock, token).await?;
    if password.chars().count() < MIN_PASSWORD {
        return Err(StaffRefusal::ShortPassword);
    }
    if password != confirm {
        return Err(StaffRefusal::PasswordsDiffer);
    }
    if !store
        .spend_link(&secrets::token_hash(token), clock.now_ms())
        .await?
    {
        return Err(StaffRefusal::BadLink);
    }
    user.password_hash = Some(secrets::hash_password(password));
    user.failed_attempts = 0;
    user.locked_until_ms = 0;
    store.update_user(&user).await?;
    Ok(user)
}

async fn failed(store: &dyn Store, clock: &dyn Clock, mut user: User) -> Result<(), StoreError> {
    user.failed_attempts += 1;
    if user.failed_attempts >= MAX_FAILURES {
        user.locked_until_ms = clock.now_ms() + LOCKOUT_MS;
        user.failed_attempts = 0;
    }
    store.update_user(&user).await
}

/// The first factor: the user, if the password is theirs and the account is open.
pub async fn check_password(
    store: &dyn Store,
    clock: &dyn Clock,
    email: &str,
    password: &str,
) -> Result<User, StaffRefusal> {
    let email = email.trim().to_lowercase();
    let Some(user) = store.user_by_email(&email).await? else {
        // Hash anyway, so a wrong email takes as long as a wrong password.
        let _ = secrets::password_matches(password, &secrets::hash_password("x"));
        return Err(StaffRefusal::WrongPassword);
    };
    if user.locked_until_ms > clock.now_ms() {
        return Err(StaffRefusal::Locked);
    }
    let right = !user.disabled
        && user
            .password_hash
            .as_deref()
            .is_some_and(|h| secrets::password_matches(password, h));
    if !right {
        failed(store, clock, user).await?;
        return Err(StaffRefusal::WrongPassword);
    }
    Ok(user)
}

/// The second factor: an authenticator code. Confirms the app's set-up the first time.
pub async fn check_code(
    store: &dyn Store,
    clock: &dyn Clock,
    user_id: &str,
    code: &str,
) -> Result<User, StaffRefusal> {
    let mut user = store.user(user_id).await?.ok_or(StaffRefusal::NoSuchUser)?;
    if user.locked_until_ms > clock.now_ms() {
        return Err(StaffRefusal::Locked);
    }
    let right = user
        .totp_secret
        .as_deref()
        .is_some_and(|s| secrets::code_matches(s, &user.email, code, clock.now_ms()));
    if !right {
        failed(store, clock, user).await?;
        return Err(StaffRefusal::WrongCode);
    }
    user.totp_confirmed = true;
    user.failed_attempts = 0;
    store.update_user(&user).await?;
    Ok(user)
}

/// The user's authenticator secret, made now if set-up has not started.
pub async fn totp_secret(store: &dyn Store, mut user: User) -> Result<User, StaffRefusal> {
    if user.totp_secret.is_none() {
        user.totp_secret = Some(secrets::new_totp_secret());
        store.update_user(&user).await?;
    }
    Ok(user)
}

/// A new session for `user` (password given, second factor not yet): the cookie's token.
pub async fn start_session(
    store: &dyn Store,
    clock: &dyn Clock,
    user: &User,
) -> Result<(String, StaffSession), StaffRefusal> {
    let (token, id_hash) = secrets::new_token();
    let now = clock.now_ms();
    let session = StaffSession {
        id_hash,
        user_id: user.id.clone(),
        csrf: ids::random_base32(32),
        created_ms: now,
        expires_ms: now + SESSION_MS,
        two_factor_ms: None,
    };
    store.insert_session(&session).await?;
    Ok((token, session))
}

/// The live session a cookie's token names, and its user (open, not disabled).
pub async fn session(
    store: &dyn Store,
    clock: &dyn Clock,
    token: &str,
) -> Result<Option<(StaffSession, User)>, StoreError> {
    let Some(session) = store.session(&secrets::token_hash(token)).await? else {
        return Ok(None);
    };
    if session.expires_ms <= clock.now_ms() {
        store.delete_session(&session.id_hash).await?;
        return Ok(None);
    }
    let user = store.user(&session.user_id).await?;
    Ok(user.filter(|u| !u.disabled).map(|u| (session, u)))
}

/// Records `action` by `user` (on `service_id`, if it concerns one).
pub async fn audit(
    store: &dyn Store,
    clock: &dyn Clock,
    user: &User,
    service_id: Option<&str>,
    action: &str,
    detail: &str,
) -> Result<(), StoreError> {
    store
        .insert_audit(&AuditEntry {
            id: ids::new_id(),
            user_id: user.id.clone(),
            service_id: service_id.map(str::to_string),
            action: action.to_string(),
            detail: detail.to_string(),
            created_ms: clock.now_ms(),
        })
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn emails() {
        for good in ["a@b.co", "first.last@council.gov.uk"] {
            assert!(super::valid_email(good), "{good}");
        }
        for bad in ["", "a", "a@b", "@b.co", "a b@c.d", "a@.co"] {
            assert!(!super::valid_email(bad), "{bad}");
        }
    }
}
