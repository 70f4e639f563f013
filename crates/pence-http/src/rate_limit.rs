//! Per-service rate limits in fixed one-second windows, with GOV.UK Pay's buckets (reference
//! §10): create-payment POSTs, capture POSTs, other POSTs, and each other method. Counted
//! per node; several nodes on one database each allow the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::Method;
use pence_core::service::{RateLimits, Service};

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
    pub(crate) fn allow(&self, service: &Service, method: &Method, path: &str) -> bool {
        let limits = service.rate_limits(self.config.defaults);
        self.allow_for(&service.id, limits, method, path)
    }

    /// Counts a `POST /v1/auth`, which has no API key: GOV.UK Pay counts those under an empty
    /// account id, one bucket for every service, at the default limits (reference §8).
    pub(crate) fn allow_without_key(&self, method: &Method, path: &str) -> bool {
        self.allow_for("", self.config.defaults, method, path)
    }

    fn allow_for(&self, key: &str, limits: RateLimits, method: &Method, path: &str) -> bool {
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
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 10_000 {
            windows.retain(|_, (w, _)| *w == second);
        }
        let entry = windows
            .entry((key.to_string(), bucket))
            .or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        entry.1 += 1;
        entry.1 <= limit
    }
}
