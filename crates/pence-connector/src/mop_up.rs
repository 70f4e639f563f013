//! The mop-up job GOV.UK Pay's guidance asks every service to run: every so often (30
//! minutes), check by API each journey that is still not finished and was started long enough
//! ago (3 hours: its payment has certainly finished by then), and record what happened. A
//! claim (a lease on each journey) keeps several instances from checking one journey at once.

use std::time::Duration;

use pence_sql::{Stmt, Val};
use serde::Serialize;

use crate::{Connector, Error};

#[derive(Debug, Clone)]
pub struct MopUpOptions {
    pub every: Duration,
    /// Journeys started more recently than this are left alone.
    pub older_than: Duration,
    /// Journeys checked in one go.
    pub batch: usize,
}

impl Default for MopUpOptions {
    fn default() -> Self {
        MopUpOptions {
            every: Duration::from_secs(30 * 60),
            older_than: Duration::from_secs(3 * 60 * 60),
            batch: 100,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MopUpReport {
    pub checked: usize,
    /// Journeys it finished: (journey id, status).
    pub resolved: Vec<(String, String)>,
    /// Checks that failed (they are tried again next run).
    pub errors: usize,
}

impl Connector {
    /// One run of the mop-up.
    pub async fn mop_up_once(&self, options: &MopUpOptions) -> Result<MopUpReport, Error> {
        let mut report = MopUpReport::default();
        let run = crate::returns::new_secret();
        loop {
            let now = self.clock.now_ms();
            let cutoff = now - options.older_than.as_millis() as i64;
            let claimed = self
                .db
                .apply_returning(vec![Stmt::returning(
                    "UPDATE pence_journeys SET lease_until_ms = $1 \
                     WHERE journey_id IN (SELECT journey_id FROM pence_journeys \
                       WHERE rank < 4 AND payment_id IS NOT NULL AND started_ms <= $2 \
                       AND lease_until_ms <= $3 AND (checked_run IS NULL OR checked_run <> $5) \
                       ORDER BY started_ms LIMIT $4) \
                     AND rank < 4 AND lease_until_ms <= $3 \
                     RETURNING journey_id, payment_id",
                    vec![
                        // Held for one period at most: a crashed instance's claims lapse.
                        Val::from(now + options.every.as_millis().max(60_000) as i64),
                        Val::from(cutoff),
                        Val::from(now),
                        Val::from(options.batch as i64),
                        Val::from(run.as_str()),
                    ],
                )])
                .await?;
            if claimed.is_empty() {
                return Ok(report);
            }
            for mut row in claimed {
                let (journey_id, payment_id) = (row.text("journey_id")?, row.text("payment_id")?);
                report.checked += 1;
                match self.client.get_payment(&payment_id).await {
                    Ok(payment) => {
                        self.apply_payment(&payment, "mop_up").await?;
                        if payment.state.finished {
                            report
                                .resolved
                                .push((journey_id.clone(), payment.state.status.clone()));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(journey_id, error = %e, "mop-up could not check a payment");
                        report.errors += 1;
                    }
                }
                // Checked this run (found open, or failed): not again until the next one.
                self.db
                    .apply(vec![Stmt::exec(
                        "UPDATE pence_journeys SET checked_ms = $1, checked_run = $2, \
                         lease_until_ms = 0 WHERE journey_id = $3",
                        vec![
                            Val::from(self.clock.now_ms()),
                            Val::from(run.as_str()),
                            Val::from(journey_id),
                        ],
                    )])
                    .await?;
            }
        }
    }

    /// Runs the mop-up every `options.every` until the task is dropped.
    pub async fn run_mop_up(self, options: MopUpOptions) {
        let mut tick = tokio::time::interval(options.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.mop_up_once(&options).await {
                Ok(report) if report.checked > 0 => tracing::info!(
                    checked = report.checked,
                    resolved = report.resolved.len(),
                    errors = report.errors,
                    "mop-up"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "mop-up failed"),
            }
        }
    }
}
