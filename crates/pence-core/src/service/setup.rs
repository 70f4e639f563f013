//! Setting a node up: the instance secrets, services, API keys, the first start.

use crate::clock::Clock;
use crate::ids;
use crate::ports::{Store, StoreError};
use crate::service::api_key::{self, ApiKeyRecord};
use crate::service::Service;
use crate::staff::Actor;

/// The instance's secrets, shared by every node on the database.
#[derive(Clone)]
pub struct Secrets {
    /// Signs next_url tokens.
    pub token: Vec<u8>,
    /// Keys the API-key checksum.
    pub api_key: Vec<u8>,
    /// Encrypts the paying user's session cookie (64 bytes).
    pub session: Vec<u8>,
}

fn fresh_secret(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

pub async fn secrets(store: &dyn Store) -> Result<Secrets, StoreError> {
    Ok(Secrets {
        token: store.secret("next_url_token", &fresh_secret(32)).await?,
        api_key: store.secret("api_key_checksum", &fresh_secret(32)).await?,
        session: store.secret("session_cookie", &fresh_secret(64)).await?,
    })
}

/// Records the address users reach the nodes at, for the command line's links (`pence user`
/// prints set-password links).
pub async fn note_public_url(store: &dyn Store, url: &str) -> Result<(), StoreError> {
    store.put_setting(PUBLIC_URL, url).await
}

/// The address a node recorded with `note_public_url`, if one has run.
pub async fn public_url(store: &dyn Store) -> Result<Option<String>, StoreError> {
    store.setting(PUBLIC_URL).await
}

const PUBLIC_URL: &str = "public_url";

/// Seals every stored secret with the node's current key (after a key rotation); how many
/// were sealed anew.
pub async fn reseal_secrets(store: &dyn Store) -> Result<u64, StoreError> {
    store.reseal_secrets().await
}

/// A new sandbox service (test unless `live`).
pub async fn create_service(
    store: &dyn Store,
    clock: &dyn Clock,
    name: &str,
    live: bool,
) -> Result<Service, StoreError> {
    let service = Service::new_sandbox(ids::new_id(), name.to_string(), live, clock.now_ms());
    store.insert_service(&service).await?;
    Ok(service)
}

/// A new API key for `service`: the record stored and the key itself, which is shown once.
pub async fn create_api_key(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor<'_>,
    secrets: &Secrets,
    service: &Service,
    description: &str,
) -> Result<(ApiKeyRecord, String), StoreError> {
    let key = api_key::generate(&secrets.api_key, service.live);
    let record = ApiKeyRecord {
        id: ids::new_id(),
        service_id: service.id.clone(),
        token_hash: api_key::hash(&key),
        display_prefix: api_key::display_prefix(&key),
        description: description.to_string(),
        created_ms: clock.now_ms(),
        revoked_ms: None,
        last_used_ms: None,
    };
    let detail = format!("created API key {} ({description})", record.id);
    let audit = actor.entry(clock, Some(&service.id), "api key", detail);
    store.insert_api_key(&record, audit.as_ref()).await?;
    Ok((record, key))
}

/// On an empty database, creates the sandbox service and its first test key.
pub async fn bootstrap(
    store: &dyn Store,
    clock: &dyn Clock,
    secrets: &Secrets,
) -> Result<Option<(Service, String)>, StoreError> {
    if !store.services().await?.is_empty() {
        return Ok(None);
    }
    let service = create_service(store, clock, "Sandbox service", false).await?;
    let (_, key) = create_api_key(
        store,
        clock,
        Actor::Operator,
        secrets,
        &service,
        "created at first start",
    )
    .await?;
    Ok(Some((service, key)))
}

/// The service `key create` uses when none is named: the first test service on the sandbox.
pub async fn default_service(store: &dyn Store) -> Result<Option<Service>, StoreError> {
    Ok(store
        .services()
        .await?
        .into_iter()
        .find(|s| !s.live && s.payment_provider == "sandbox"))
}
