//! What the admin tool shows staff, read for it: the services a user works on and their role
//! there, a service's team, API keys, takings by day and audit log (its webhooks are read
//! through `webhook::queries`, as the control API reads them). The access rule lives here with the reads: a service's things are found only
//! through that service, and a user sees only the services they have a role on.

use std::collections::HashMap;

use crate::ports::{DayTotals, KeyStore, StaffStore, Store, StoreError};
use crate::service::api_key::ApiKeyRecord;
use crate::service::Service;
use crate::staff::{AuditEntry, Role, User};

/// The services `user_id` has a role on, with the role, by service id.
pub async fn services_of(
    store: &dyn Store,
    user_id: &str,
) -> Result<Vec<(Service, Role)>, StoreError> {
    let mut services = Vec::new();
    for (id, role) in store.roles(user_id).await? {
        if let Some(service) = store.service(&id).await? {
            services.push((service, role));
        }
    }
    Ok(services)
}

/// The service and `user_id`'s role on it; `None` when they have none (for them the service
/// does not exist).
pub async fn on_service(
    store: &dyn Store,
    user_id: &str,
    service_id: &str,
) -> Result<Option<(Service, Role)>, StoreError> {
    let roles = store.roles(user_id).await?;
    let Some((_, role)) = roles.into_iter().find(|(s, _)| s == service_id) else {
        return Ok(None);
    };
    Ok(store.service(service_id).await?.map(|s| (s, role)))
}

/// A user as stored now (their guesses and set-up may have changed since the page began).
pub async fn user(store: &dyn StaffStore, id: &str) -> Result<Option<User>, StoreError> {
    store.user(id).await
}

/// The people with a role on the service, by email.
pub async fn team(
    store: &dyn StaffStore,
    service_id: &str,
) -> Result<Vec<(User, Role)>, StoreError> {
    store.members(service_id).await
}

/// The service's API keys, oldest first.
pub async fn api_keys(
    store: &dyn KeyStore,
    service_id: &str,
) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let mut keys = store.api_keys().await?;
    keys.retain(|k| k.service_id == service_id);
    Ok(keys)
}

/// The service's takings and refunds per day from `from_ms`.
pub async fn daily_totals(
    store: &dyn StaffStore,
    service_id: &str,
    from_ms: i64,
) -> Result<Vec<DayTotals>, StoreError> {
    store.daily_totals(service_id, from_ms).await
}

/// An audit entry and the email of who made it.
pub struct Audited {
    pub entry: AuditEntry,
    pub email: String,
}

/// What staff did on the service, newest first, `limit` at most.
pub async fn audit_log(
    store: &dyn StaffStore,
    service_id: &str,
    limit: u32,
) -> Result<Vec<Audited>, StoreError> {
    let entries = store.service_audit_log(service_id, limit).await?;
    let mut emails: HashMap<String, String> = HashMap::new();
    let mut log = Vec::with_capacity(entries.len());
    for entry in entries {
        if !emails.contains_key(&entry.user_id) {
            let email = store.user(&entry.user_id).await?.map(|u| u.email);
            emails.insert(entry.user_id.clone(), email.unwrap_or_default());
        }
        let email = emails[&entry.user_id].clone();
        log.push(Audited { entry, email });
    }
    Ok(log)
}
