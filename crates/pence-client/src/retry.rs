//! How failed requests are tried again: exponential backoff with jitter.

use std::time::Duration;

use rand::Rng;

/// Retries of requests safe to repeat, after 429, a 5xx or no answer.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries after the first.
    pub retries: u32,
    /// The first wait's ceiling; each retry doubles it, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three retries, waiting up to 0.2 s, 0.4 s, 0.8 s: GOV.UK Pay's rate limits count per
    /// second.
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry `attempt` (0 for the first): a random time between half the
    /// ceiling and the ceiling, so clients that failed together do not retry together.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        let ms = ceiling.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
    }
}
