//! Who a request was made as, once its API key is checked (`auth`): the service (`Authed`),
//! what the access log says of it (`MadeBy`, `Turned`), and the verified keys a node trusts
//! for a short time. A leaf, so the node's state, the access log and the control API name
//! these without depending on authentication itself.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use pence_core::service::Service;

/// The service the request's API key belongs to.
#[derive(Clone)]
pub(crate) struct Authed(pub Arc<Service>);

const MAX_ENTRIES: usize = 10_000;

/// Verified keys, trusted for a short time so that a request costs no key lookup. A revoked
/// key stops working within that time (GOV.UK Pay's cache keeps one for up to a minute).
pub(crate) struct AuthCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Instant, Arc<Service>)>>,
}

impl AuthCache {
    pub(crate) fn new(ttl_ms: u64) -> Self {
        AuthCache {
            ttl: Duration::from_millis(ttl_ms),
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn cached(&self, key: &str) -> Option<Arc<Service>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, s)| s.clone())
    }

    /// Forgets every key of `service_id`, so its next request reads the service afresh (its
    /// clock was just moved).
    pub(crate) fn forget_service(&self, service_id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (_, s)| s.id != service_id);
    }

    pub(crate) fn remember(&self, key: &str, service: Arc<Service>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
        }
        entries.insert(key.to_string(), (Instant::now(), service));
    }
}

/// Why a request was turned away before its handler, for the access log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Turned(pub &'static str);

/// The service a request was made as, for the access log.
#[derive(Clone, Debug)]
pub(crate) struct MadeBy(pub String);
