//! The Clock port's implementation: system time plus an offset the sandbox can move, so
//! expiry and retry ladders are testable without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the domain gets "now" from.
pub trait Clock: Send + Sync {
    /// UTC epoch milliseconds.
    fn now_ms(&self) -> i64;
}

/// System time shifted by an adjustable offset (zero in production use).
#[derive(Debug, Default)]
pub struct AdjustableClock {
    offset_ms: AtomicI64,
}

impl AdjustableClock {
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }
}

/// The machine's time, never moved: for what must not follow the sandbox's Clock (leases).
pub fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Clock for AdjustableClock {
    fn now_ms(&self) -> i64 {
        system_now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }
}

/// A clock ahead of another by a fixed offset: a test service's time (`Service::clock`).
#[derive(Clone, Copy)]
pub struct Offset<'a> {
    pub base: &'a dyn Clock,
    pub offset_ms: i64,
}

impl Clock for Offset<'_> {
    fn now_ms(&self) -> i64 {
        self.base.now_ms() + self.offset_ms
    }
}
