//! What staff do to get in, and what the admin tool records: users invited with a one-time
//! link, a password set from it, sign-in with a password then an authenticator code (set up
//! on the first sign-in), lockout after repeated failures, sessions that expire, the audit log.

use crate::clock::Clock;
use crate::ids;
use crate::ports::{Store, StoreError};
use crate::staff::secrets::{self, MIN_PASSWORD};
use crate::staff::{Actor, AuditEntry, StaffSession, User};

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
    #[error("There is no such service")]
    NoSuchService,
    #[error("You cannot change your own role")]
    OwnRole,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn valid_email(email: &str) -> bool {
    let email = email.trim();
    email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !email.chars().any(char::is_whitespace)
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

/// Sets the password from a link, spending it (once, even if two tabs race), and with it
/// every other link of the user; every session of the user ends (a password is set when
/// the old one may be known to someone else).
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
    let hash = secrets::hash_password(password);
    let link = secrets::token_hash(token);
    let audit = Actor::Staff(&user).entry(clock, None, "set password", String::new());
    if !store
        .set_password(&user.id, &hash, &link, clock.now_ms(), audit.as_ref())
        .await?
    {
        return Err(StaffRefusal::BadLink);
    }
    user.password_hash = Some(hash);
    Ok(user)
}

/// Where a sign-in comes from: the client's address as the node sees it.
pub struct Source<'a>(pub &'a str);

/// The key guesses are counted under: the email as typed (whether or not it has an
/// account, so the answers do not tell) and the source (so a stranger's guesses lock only
/// their own source, not the user's).
fn attempts_key(email: &str, source: &Source<'_>) -> String {
    secrets::token_hash(&format!("{email}\n{}", source.0))
}

/// Counts a guess before checking it: `Locked` once `MAX_FAILURES` guesses were made
/// without a completed sign-in, for `LOCKOUT_MS`.
async fn claim(store: &dyn Store, clock: &dyn Clock, key: &str) -> Result<(), StaffRefusal> {
    match store
        .claim_sign_in(key, clock.now_ms(), MAX_FAILURES, LOCKOUT_MS)
        .await?
    {
        true => Ok(()),
        false => Err(StaffRefusal::Locked),
    }
}

/// The first factor: the user, if the password is theirs and the account is open. Every
/// guess counts towards the lock until the second factor is given too.
pub async fn check_password(
    store: &dyn Store,
    clock: &dyn Clock,
    email: &str,
    password: &str,
    source: Source<'_>,
) -> Result<User, StaffRefusal> {
    let email = email.trim().to_lowercase();
    claim(store, clock, &attempts_key(&email, &source)).await?;
    let Some(user) = store.user_by_email(&email).await? else {
        // Hash anyway, so a wrong email takes as long as a wrong password.
        let _ = secrets::password_matches(password, &secrets::hash_password("x"));
        return Err(StaffRefusal::WrongPassword);
    };
    let right = !user.disabled
        && user
            .password_hash
            .as_deref()
            .is_some_and(|h| secrets::password_matches(password, h));
    if !right {
        return Err(StaffRefusal::WrongPassword);
    }
    Ok(user)
}

/// The second factor: an authenticator code, which signs in once (a code seen over a
/// shoulder or replayed is refused). Confirms the app's set-up the first time; the
/// guesses' count starts again.
pub async fn check_code(
    store: &dyn Store,
    clock: &dyn Clock,
    user_id: &str,
    code: &str,
    source: Source<'_>,
) -> Result<User, StaffRefusal> {
    let mut user = store.user(user_id).await?.ok_or(StaffRefusal::NoSuchUser)?;
    let key = attempts_key(&user.email, &source);
    claim(store, clock, &key).await?;
    let step = user
        .totp_secret
        .as_deref()
        .and_then(|s| secrets::code_step(s, &user.email, code, clock.now_ms()));
    let Some(step) = step else {
        return Err(StaffRefusal::WrongCode);
    };
    if !store.spend_totp_step(&user.id, step).await? {
        return Err(StaffRefusal::WrongCode);
    }
    if !user.totp_confirmed {
        user.totp_confirmed = true;
        store.update_user(&user, None).await?;
    }
    store.clear_sign_in(&key).await?;
    Ok(user)
}

/// The user's authenticator secret, made now if set-up has not started.
pub async fn totp_secret(store: &dyn Store, mut user: User) -> Result<User, StaffRefusal> {
    if user.totp_secret.is_none() {
        user.totp_secret = Some(secrets::new_totp_secret());
        store.update_user(&user, None).await?;
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

/// The second factor given: the session goes on under a new token (so a token seen
/// before sign-in is worth nothing after it), marked signed in. The new cookie's token.
pub async fn complete_sign_in(
    store: &dyn Store,
    clock: &dyn Clock,
    session: &StaffSession,
    user: &User,
) -> Result<Option<String>, StoreError> {
    let (token, id_hash) = secrets::new_token();
    let audit = Actor::Staff(user).entry(clock, None, "signed in", String::new());
    let signed_in = StaffSession {
        id_hash,
        two_factor_ms: Some(clock.now_ms()),
        ..session.clone()
    };
    Ok(store
        .replace_session(&session.id_hash, &signed_in, audit.as_ref())
        .await?
        .then_some(token))
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
        store.delete_session(&session.id_hash, None).await?;
        return Ok(None);
    }
    let user = store.user(&session.user_id).await?;
    Ok(user.filter(|u| !u.disabled).map(|u| (session, u)))
}

/// Signs `user` out of `session`, audited in the same change.
pub async fn sign_out(
    store: &dyn Store,
    clock: &dyn Clock,
    session: &StaffSession,
    user: &User,
) -> Result<(), StoreError> {
    let audit = Actor::Staff(user).entry(clock, None, "signed out", String::new());
    store.delete_session(&session.id_hash, audit.as_ref()).await
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
