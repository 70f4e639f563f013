//! Per-service rate limits in fixed one-second windows, with GOV.UK Pay's buckets (reference
//! §10): create-payment POSTs, capture POSTs, other POSTs, and each other method. On
//! PostgreSQL the windows are counted in the database, so several nodes together allow the
//! limit once (GOV.UK Pay counts per account across its instances); a node that has alone
//! seen more than the limit refuses without asking. On SQLite one node counts in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::Method;
use pence_core::service::{RateLimits, Service};
use pence_core::InstanceStore;

#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    /// Off for load testing.
    pub enabled: bool,
    /// Limits for services without their own.
    pub defaults: RateLimits,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            defaults: RateLimits::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Bucket {
    CreatePayment,
    Capture,
    OtherPost,
    Other(Method),
}

impl Bucket {
    fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Bucket::CreatePayment => "create_payment".into(),
            Bucket::Capture => "capture".into(),
            Bucket::OtherPost => "other_post".into(),
            Bucket::Other(method) => method.as_str().to_string().into(),
        }
    }
}

pub(crate) struct RateLimiter {
    config: RateLimitConfig,
    /// (service, bucket) -> (window second, requests in it)
    windows: Mutex<HashMap<(String, Bucket), (u64, u32)>>,
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts the request; false when it is over the service's limit for this second.
    pub(crate) async fn allow(
        &self,
        store: &dyn InstanceStore,
        service: &Service,
        method: &Method,
        path: &str,
    ) -> bool {
        let limits = service.rate_limits(self.config.defaults);
        self.allow_for(store, &service.id, limits, method, path)
            .await
    }

    /// Counts a `POST /v1/auth`, which has no API key: GOV.UK Pay counts those under an empty
    /// account id, one bucket for every service, at the default limits (reference §8).
    pub(crate) async fn allow_without_key(
        &self,
        store: &dyn InstanceStore,
        method: &Method,
        path: &str,
    ) -> bool {
        self.allow_for(store, "", self.config.defaults, method, path)
            .await
    }

    async fn allow_for(
        &self,
        store: &dyn InstanceStore,
        key: &str,
        limits: RateLimits,
        method: &Method,
        path: &str,
    ) -> bool {
        if !self.config.enabled {
            return true;
        }
        let (bucket, limit) = if method == Method::POST {
            if path.ends_with("/capture") {
                (Bucket::Capture, limits.capture)
            } else if path.ends_with("/payments") {
                (Bucket::CreatePayment, limits.create_payment)
            } else {
                (Bucket::OtherPost, limits.other_post)
            }
        } else {
            (Bucket::Other(method.clone()), limits.get)
        };
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let here = {
            let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            if windows.len() > 10_000 {
                windows.retain(|_, (w, _)| *w == second);
            }
            let entry = windows
                .entry((key.to_string(), bucket.clone()))
                .or_insert((second, 0));
            if entry.0 != second {
                *entry = (second, 0);
            }
            entry.1 += 1;
            entry.1
        };
        if here > limit {
            return false;
        }
        match store
            .count_request(key, &bucket.name(), second as i64)
            .await
        {
            Ok(Some(everywhere)) => everywhere <= u64::from(limit),
            Ok(None) => true,
            // The database is what every request needs anyway; if it cannot count, this
            // node's own count decides.
            Err(e) => {
                tracing::warn!(error = %e, "shared rate-limit count failed; counting per node");
                true
            }
        }
    }
}
