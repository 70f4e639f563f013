//! Delivery inside a test service's clock move (issue 31). The move's timers have made their
//! messages, dated when their events happened; here each subscription's due messages are
//! attempted in the order they fell due, each attempt dated at that time, and a failed one
//! is retried at its rung of the ladder when that too falls before the move's end. So a month
//! moved at once leaves the same delivery log as a month moved an hour at a time.

use pence_core::clock::system_now_ms;
use pence_core::ids;
use pence_core::webhook::delivery::RETRY_DELAYS_MS;
use pence_core::webhook::{DueDelivery, Subscription};
use pence_core::StoreError;

use crate::worker::{send_claimed, When};
use crate::Deliverer;

/// Rounds one subscription may take in one move: a month of any receiver's ladder takes far
/// fewer; this only bounds a store that keeps handing back what it was told was attempted.
const MOST_ROUNDS: usize = 100_000;

#[async_trait::async_trait]
impl DueDelivery for Deliverer {
    async fn deliver_due(&self, service_id: &str, until_ms: i64) -> Result<usize, StoreError> {
        self.refresh().await;
        let mut attempted = 0;
        for sub in self.store.webhooks(Some(service_id)).await? {
            if sub.active {
                attempted += ladder(self, &sub, until_ms).await?;
            }
        }
        Ok(attempted)
    }
}

/// One subscription's messages due by `until_ms`, round by round: the earliest due message,
/// with every other one due within the ladder's first rung of it. An attempt that fails in a
/// round is retried a rung later at the soonest, after everything that round attempted, so
/// the receiver sees the attempts in the order of their times.
async fn ladder(
    shared: &Deliverer,
    sub: &Subscription,
    until_ms: i64,
) -> Result<usize, StoreError> {
    let mut attempted = 0;
    for _ in 0..MOST_ROUNDS {
        // Leases run on the machine's time, as the node's own delivery's do.
        let wall = system_now_ms();
        let lease_until = wall + shared.settings.lease_ms();
        let first_claim = ids::random_base32(26);
        let first = shared
            .store
            .claim_webhook_messages(&sub.id, until_ms, wall, lease_until, &first_claim, 1)
            .await?;
        let Some(earliest) = first.first().map(|m| m.next_attempt_ms) else {
            break;
        };
        let horizon = (earliest + RETRY_DELAYS_MS[0] - 1).min(until_ms);
        let rest_claim = ids::random_base32(26);
        let rest = shared
            .store
            .claim_webhook_messages(
                &sub.id,
                horizon,
                wall,
                lease_until,
                &rest_claim,
                shared.settings.batch.saturating_sub(1).max(1),
            )
            .await?;
        let (id, service, url) = (&sub.id, &sub.service_id, &sub.callback_url);
        attempted += send_claimed(shared, id, service, url, &first_claim, first, When::Due).await?;
        attempted += send_claimed(shared, id, service, url, &rest_claim, rest, When::Due).await?;
    }
    Ok(attempted)
}
