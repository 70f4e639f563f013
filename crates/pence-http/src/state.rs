//! What every handler shares.

use std::sync::Arc;

use axum::extract::FromRef;
use axum_extra::extract::cookie::Key;
use pence_core::clock::Clock;
use pence_core::journey::next_url::TokenSigner;
use pence_core::psp::PaymentProvider;
use pence_core::sandbox::faults::Faults;
use pence_core::service::setup::Secrets;
use pence_core::{Store, WebhookStore};

use crate::access_log::AccessLog;
use crate::authed::AuthCache;
use crate::rate_limit::{RateLimitConfig, RateLimiter};

pub struct AppStateParts {
    pub store: Arc<dyn Store>,
    /// The same store's webhook side (the control API manages subscriptions).
    pub webhooks: Arc<dyn WebhookStore>,
    pub clock: Arc<dyn Clock>,
    pub secrets: Secrets,
    /// The URL clients reach this node at, without a trailing slash.
    pub public_url: String,
    pub rate_limits: RateLimitConfig,
    /// How long a verified API key is trusted before it is looked up again (revocation delay).
    pub auth_cache_ms: u64,
    pub psp: Arc<dyn PaymentProvider>,
    /// Test services' fault rules, shared with the provider they may fail.
    pub faults: Arc<Faults>,
    /// What the node counts for `/metrics`.
    pub telemetry: Arc<pence_telemetry::Telemetry>,
    /// Where the access log's lines go; `None`: as tracing events.
    pub access_log: Option<AccessLog>,
    /// The node's webhook delivery, which a test service's clock move drives on the way.
    pub delivery: Arc<dyn pence_core::webhook::DueDelivery>,
}

#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub clock: Arc<dyn Clock>,
    pub(crate) signer: TokenSigner,
    /// The instance's secrets (the API-key checksum's key among them).
    pub(crate) secrets: Secrets,
    pub public_url: String,
    pub(crate) auth: AuthCache,
    pub(crate) limiter: RateLimiter,
    pub psp: Arc<dyn PaymentProvider>,
    pub(crate) faults: Arc<Faults>,
    pub(crate) telemetry: Arc<pence_telemetry::Telemetry>,
    pub(crate) access_log: Option<AccessLog>,
    pub(crate) delivery: Arc<dyn pence_core::webhook::DueDelivery>,
    pub(crate) cookie_key: Key,
    /// Session cookies are marked Secure when the node is reached over https.
    pub(crate) secure_cookies: bool,
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.cookie_key.clone()
    }
}

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        let secure_cookies = parts.public_url.starts_with("https://");
        AppState(Arc::new(Inner {
            cookie_key: Key::from(&parts.secrets.session),
            secure_cookies,
            psp: parts.psp,
            faults: parts.faults,
            telemetry: parts.telemetry,
            access_log: parts.access_log,
            delivery: parts.delivery,
            store: parts.store,
            webhooks: parts.webhooks,
            clock: parts.clock,
            signer: TokenSigner::new(parts.secrets.token.clone()),
            secrets: parts.secrets.clone(),
            public_url: parts.public_url.trim_end_matches('/').to_string(),
            auth: AuthCache::new(parts.auth_cache_ms),
            limiter: RateLimiter::new(parts.rate_limits),
        }))
    }

    /// What the paying user's journey runs on, on `clock` (the payment's service's).
    pub(crate) fn journey<'a>(&'a self, clock: &'a dyn Clock) -> pence_core::journey::Deps<'a> {
        pence_core::journey::Deps {
            store: self.store.as_ref(),
            clock,
            psp: self.psp.as_ref(),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
