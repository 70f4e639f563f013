//! Delivery counters, logged every few seconds while there is traffic (and on /metrics once
//! that exists).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub attempts: AtomicU64,
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    latency_ms_sum: AtomicU64,
    latency_ms_max: AtomicU64,
}

/// What happened since the last snapshot.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub attempts: u64,
    pub delivered: u64,
    pub retried: u64,
    pub failed: u64,
    pub mean_latency_ms: u64,
    pub max_latency_ms: u64,
}

impl Metrics {
    pub(crate) fn attempt(&self, latency_ms: i64) {
        let ms = latency_ms.max(0) as u64;
        self.attempts.fetch_add(1, Ordering::Relaxed);
        self.latency_ms_sum.fetch_add(ms, Ordering::Relaxed);
        self.latency_ms_max.fetch_max(ms, Ordering::Relaxed);
    }

    /// Counts since the last call, and resets them.
    pub fn take(&self) -> Snapshot {
        let attempts = self.attempts.swap(0, Ordering::Relaxed);
        let sum = self.latency_ms_sum.swap(0, Ordering::Relaxed);
        Snapshot {
            attempts,
            delivered: self.delivered.swap(0, Ordering::Relaxed),
            retried: self.retried.swap(0, Ordering::Relaxed),
            failed: self.failed.swap(0, Ordering::Relaxed),
            mean_latency_ms: sum.checked_div(attempts).unwrap_or(0),
            max_latency_ms: self.latency_ms_max.swap(0, Ordering::Relaxed),
        }
    }
}
