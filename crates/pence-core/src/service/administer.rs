//! What staff (in the admin tool) and operators (on the command line) change about a service:
//! its settings, who works on it and in which role, its API keys, and whether a user may sign
//! in at all. One use case per change, whatever the front-end. A change by a member of staff
//! is written with its audit row in one transaction: a change that commits is always audited,
//! and an audit row never tells of a change that did not happen. An operator holds the
//! database itself, so their changes are not audited.

use crate::clock::Clock;
use crate::ids;
use crate::ports::{Store, StoreError};
use crate::service::Service;
use crate::staff::secrets;
pub use crate::staff::Actor;
use crate::staff::{Invitation, Role, User};

use crate::staff::operations::{valid_email, StaffRefusal, LINK_MS};

/// Saves a service's settings as `service` has them.
pub async fn save_settings(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service: &Service,
) -> Result<(), StoreError> {
    let audit = actor.entry(
        clock,
        Some(&service.id),
        "settings",
        "saved the service's settings".into(),
    );
    store.update_service(service, audit.as_ref()).await
}

/// A new user with `role` on `service_id`, and the one-time link token to set a password,
/// written in one change (a user is never left without their role or link).
pub async fn invite_user(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    email: &str,
    service_id: &str,
    role: Role,
) -> Result<(User, String), StaffRefusal> {
    let email = email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(StaffRefusal::BadEmail);
    }
    if store.service(service_id).await?.is_none() {
        return Err(StaffRefusal::NoSuchService);
    }
    let now = clock.now_ms();
    let user = User {
        id: ids::new_id(),
        email,
        password_hash: None,
        totp_secret: None,
        totp_confirmed: false,
        disabled: false,
        created_ms: now,
    };
    let (token, link_hash) = secrets::new_token();
    let invitation = Invitation {
        service_id,
        role,
        link_hash: &link_hash,
        link_expires_ms: now + LINK_MS,
    };
    let detail = format!("invited {} as {}", user.email, role.as_str());
    let audit = actor.entry(clock, Some(service_id), "team", detail);
    match store.insert_user(&user, &invitation, audit.as_ref()).await {
        Err(StoreError::Duplicate) => Err(StaffRefusal::Exists),
        Err(e) => Err(e.into()),
        Ok(()) => Ok((user, token)),
    }
}

/// What giving someone a role on a service came to.
#[derive(Debug)]
pub enum Given {
    /// They were known (from another service): they have the role now.
    Role(User),
    /// They were new: invited, with the link token to set a password.
    Invited(User, String),
}

/// Gives the person with `email` `role` on `service_id`: a user known from another service
/// gets the role, anyone else is invited.
pub async fn give_role(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service_id: &str,
    email: &str,
    role: Role,
) -> Result<Given, StaffRefusal> {
    let known = store.user_by_email(&email.trim().to_lowercase()).await?;
    match known {
        Some(user) => {
            set_role(store, clock, actor, service_id, &user, role).await?;
            Ok(Given::Role(user))
        }
        None => {
            let (user, token) = invite_user(store, clock, actor, email, service_id, role).await?;
            Ok(Given::Invited(user, token))
        }
    }
}

/// Changes the role of a member of the service's team (no one changes their own: an admin
/// could otherwise leave a service with none).
pub async fn change_role(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service_id: &str,
    user_id: &str,
    role: Role,
) -> Result<User, StaffRefusal> {
    let members = store.members(service_id).await?;
    let Some((user, _)) = members.into_iter().find(|(u, _)| u.id == user_id) else {
        return Err(StaffRefusal::NoSuchUser);
    };
    let detail = format!("changed {}'s role to {}", user.email, role.as_str());
    write_role(store, clock, actor, service_id, &user, role, detail).await?;
    Ok(user)
}

/// Gives `user` `role` on `service_id`, member of its team or not yet.
pub async fn set_role(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service_id: &str,
    user: &User,
    role: Role,
) -> Result<(), StaffRefusal> {
    let detail = format!("gave {} the {} role", user.email, role.as_str());
    write_role(store, clock, actor, service_id, user, role, detail).await
}

async fn write_role(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service_id: &str,
    user: &User,
    role: Role,
    detail: String,
) -> Result<(), StaffRefusal> {
    if actor.is(user) {
        return Err(StaffRefusal::OwnRole);
    }
    if store.service(service_id).await?.is_none() {
        return Err(StaffRefusal::NoSuchService);
    }
    let audit = actor.entry(clock, Some(service_id), "team", detail);
    store
        .set_role(&user.id, service_id, role, audit.as_ref())
        .await?;
    Ok(())
}

/// What revoking a key came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    Now,
    /// Before (a form sent twice acts once, and is audited once).
    Already,
    NoSuchKey,
}

/// Revokes an API key (of `service_id` only, when one is given, as the admin tool works on
/// one service).
pub async fn revoke_key(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service_id: Option<&str>,
    key_id: &str,
) -> Result<Revoked, StoreError> {
    let keys = store.api_keys().await?;
    let Some(key) = keys
        .iter()
        .find(|k| k.id == key_id && service_id.is_none_or(|s| s == k.service_id))
    else {
        return Ok(Revoked::NoSuchKey);
    };
    let detail = format!("revoked API key {key_id}");
    let audit = actor.entry(clock, Some(&key.service_id), "api key", detail);
    let revoked = store
        .revoke_api_key(key_id, clock.now_ms(), audit.as_ref())
        .await?;
    Ok(if revoked {
        Revoked::Now
    } else {
        Revoked::Already
    })
}

/// Stops `user` signing in: their sessions end at their next request.
pub async fn disable_user(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    user: &User,
) -> Result<(), StoreError> {
    let mut user = user.clone();
    user.disabled = true;
    let detail = format!("disabled {}", user.email);
    let audit = actor.entry(clock, None, "team", detail);
    store.update_user(&user, audit.as_ref()).await
}
