//! The node's background loop: the domain's sweeps (capture, expiry) once a second.

use std::time::Duration;

use crate::state::AppState;

/// Runs `pence_core::sweeps::run_once` every `every` until the task is dropped or aborted.
pub fn spawn_sweeps(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let swept = pence_core::sweeps::run_once(
                state.store.as_ref(),
                state.clock.as_ref(),
                state.psp.as_ref(),
            )
            .await;
            match swept {
                Ok(s) if s.captured + s.expired + s.refunds + s.settled > 0 => {
                    tracing::info!(
                        captured = s.captured,
                        expired = s.expired,
                        refunds = s.refunds,
                        settled = s.settled,
                        "swept payments"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweep failed; retrying next tick"),
            }
        }
    })
}
