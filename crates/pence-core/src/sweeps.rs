//! Background sweeps a node runs every second, each a `run_once` step so tests drain them
//! with a moved clock: capture of payments the user confirmed, and expiry (reference §3.4).
//! Several nodes may sweep at once: every change is conditional, so each happens once.

use crate::clock::Clock;
use crate::ledger::record::Record;
use crate::ledger::{EventKind, LedgerEvent};
use crate::payment::status::Status;
use crate::payment::transition::{self, Applied, Move, Target};
use crate::payment::{AuthorisationMode, PaymentRecord};
use crate::ports::{Scope, Store, StoreError};
use crate::psp::PaymentProvider;
use crate::refusal::Failure;

/// Unfinished payments expire this long after creation.
pub const EXPIRY_MS: i64 = 90 * 60 * 1000;
/// Authorised delayed-capture payments wait this long for the service's capture request.
pub const CAPTURE_WAIT_MS: i64 = 5 * 24 * 60 * 60 * 1000;
/// Payments changed this recently are left for the next sweep (GOV.UK Pay's 5 minutes).
pub const RECENT_MS: i64 = 5 * 60 * 1000;
/// Payments one sweep takes on.
const BATCH: u32 = 200;
/// The sandbox pays captured money out this long after capture (settlement date).
pub const SETTLE_AFTER_MS: i64 = 24 * 60 * 60 * 1000;
/// A payment left waiting for the provider's answer this long lost it (a crash between
/// storing AUTHORISATION READY or 3DS READY and the answer): the provider is asked again.
pub const STUCK_AFTER_MS: i64 = 60 * 1000;
/// A refund the provider left pending is asked about again after this long.
pub const REFUND_RESULT_MS: i64 = 1000;

/// How much one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Authorisations finished after their answer was lost.
    pub resumed: usize,
    /// Agreement payments taken with the saved card.
    pub recurring: usize,
    pub captured: usize,
    pub expired: usize,
    /// Pending refunds whose result was recorded.
    pub refunds: usize,
    /// Captured payments paid out.
    pub settled: usize,
    /// Disputes raised or moved on a step.
    pub disputes: usize,
    /// Idempotency keys forgotten a day after use.
    pub keys_forgotten: usize,
    /// Payments whose public state became final, frozen for the search totals.
    pub frozen: usize,
    /// Webhook attempts made on the way (a clock move only), retries included.
    pub webhook_attempts: usize,
}

/// One round of every sweep: one for the services on the node's clock, then one for each
/// service whose clock is moved, on its own clock (the control API's clock; issue 15).
pub async fn run_once(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
) -> Result<Swept, Failure> {
    let mut swept = round(store, clock, psp, Scope::NodeClock).await?;
    for (service_id, offset_ms) in store.moved_clocks().await? {
        let moved = crate::clock::Offset {
            base: clock,
            offset_ms,
        };
        swept += round(store, &moved, psp, Scope::Service(&service_id)).await?;
    }
    swept.frozen = freeze(store).await?;
    // Shared rate-limit windows older than a minute are done with (real time, as the limits).
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    store.purge_request_counts(now_s - 60).await?;
    Ok(swept)
}

/// One round of the sweeps that follow a clock, for the services of `scope`.
pub async fn round(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    scope: Scope<'_>,
) -> Result<Swept, Failure> {
    Ok(Swept {
        resumed: resume_authorisations(store, clock, psp, scope).await?,
        recurring: crate::agreement::recurring::authorise_queued(store, clock, psp, scope).await?,
        captured: capture(store, clock, psp, scope).await?,
        expired: expire(store, clock, psp, scope).await?,
        refunds: refunds(store, clock, psp, scope).await?,
        settled: settle(store, clock, scope).await? + settle_refunds(store, clock, scope).await?,
        disputes: disputes(store, clock, psp, scope).await?,
        keys_forgotten: store
            .purge_idempotency_keys(
                scope,
                clock.now_ms() - crate::payment::idempotency::WINDOW_MS,
            )
            .await? as usize,
        frozen: 0,
        webhook_attempts: 0,
    })
}

impl std::ops::AddAssign for Swept {
    fn add_assign(&mut self, o: Swept) {
        self.resumed += o.resumed;
        self.recurring += o.recurring;
        self.captured += o.captured;
        self.expired += o.expired;
        self.refunds += o.refunds;
        self.settled += o.settled;
        self.disputes += o.disputes;
        self.keys_forgotten += o.keys_forgotten;
        self.frozen += o.frozen;
        self.webhook_attempts += o.webhook_attempts;
    }
}

/// Payments one freezing batch takes: small, as each batch shares a commit with API writes.
const FREEZE_BATCH: u32 = 1_000;
/// Batches one round may take, so a backlog (a new migration over old data) is worked off
/// over a few rounds rather than holding up the others.
const FREEZE_BATCHES: usize = 50;

/// Freezes payments whose public state is final (`Status::state_is_final`), so searches
/// count them once (`PaymentStore::freeze_final_payments`).
pub async fn freeze(store: &dyn Store) -> Result<usize, Failure> {
    let mut frozen = 0;
    for _ in 0..FREEZE_BATCHES {
        let n = store.freeze_final_payments(FREEZE_BATCH).await? as usize;
        frozen += n;
        if n < FREEZE_BATCH as usize {
            break;
        }
    }
    Ok(frozen)
}

/// Finishes authorisations whose answer was lost: payments waiting for the provider for
/// longer than `STUCK_AFTER_MS` are asked about again (`journey::resume_authorisation`,
/// `recurring::authorise`, `payment::moto::resume`).
/// The journey's own conditional write settles a race with an answer that does arrive.
async fn resume_authorisations(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    scope: Scope<'_>,
) -> Result<usize, Failure> {
    let stuck = store
        .due_payments(
            scope,
            STUCK,
            i64::MAX,
            clock.now_ms() - STUCK_AFTER_MS + 1,
            BATCH,
        )
        .await?;
    let mut done = 0;
    for p in stuck {
        done += usize::from(resume_payment(store, clock, psp, p).await?);
    }
    Ok(done)
}

/// Asks the provider again about payment `p`'s lost authorisation answer, at `clock`'s time;
/// whether its status moved.
pub(crate) async fn resume_payment(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    p: PaymentRecord,
) -> Result<bool, Failure> {
    let deps = crate::journey::Deps { store, clock, psp };
    let before = p.status;
    // Each way of authorising finishes its own payments (the user's journey, an
    // agreement's saved card, the MOTO API).
    let after = match p.authorisation_mode {
        AuthorisationMode::Web => Some(crate::journey::resume_authorisation(deps, p).await?),
        AuthorisationMode::Agreement => crate::agreement::recurring::authorise(deps, p).await?,
        AuthorisationMode::MotoApi => crate::payment::moto::resume(deps, p).await?,
    };
    let Some(after) = after else { return Ok(false) };
    if after.status == before {
        return Ok(false);
    }
    tracing::info!(payment_id = %after.id, from = %before, to = %after.status, "authorisation resumed");
    Ok(true)
}

/// Raises the disputes the provider announced at capture once they are due, then moves
/// every dispute whose next step is due along its lifecycle (`dispute::advanced`).
async fn disputes(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    scope: Scope<'_>,
) -> Result<usize, Failure> {
    let now = clock.now_ms();
    let mut done = 0;
    for p in store.dispute_due_payments(scope, now + 1, BATCH).await? {
        done += usize::from(raise_dispute(store, clock, psp, &p).await?.is_some());
    }
    for d in store.due_disputes(scope, now + 1, BATCH).await? {
        done += usize::from(advance_dispute(store, clock, &d).await?.is_some());
    }
    Ok(done)
}

/// Raises the dispute the provider announced for captured payment `p`, at `clock`'s time;
/// the dispute, if it was raised.
pub(crate) async fn raise_dispute(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    p: &PaymentRecord,
) -> Result<Option<crate::dispute::DisputeRecord>, Failure> {
    let Some(plan) = psp.dispute(p) else {
        return Ok(None);
    };
    let d = crate::dispute::raise(p, &plan, clock.now_ms());
    let event = LedgerEvent::for_payment(p, EventKind::DisputeCreated, d.created_ms);
    match store.raise_dispute(p, &d, &Record::one(event, p)).await {
        Ok(()) => Ok(Some(d)),
        // Changed meanwhile (a refund, another node): judged again next round.
        Err(StoreError::Conflict | StoreError::Duplicate) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Moves dispute `d` on a step if one is due at `clock`'s time; the dispute as it then
/// is, if it moved.
pub(crate) async fn advance_dispute(
    store: &dyn Store,
    clock: &dyn Clock,
    d: &crate::dispute::DisputeRecord,
) -> Result<Option<crate::dispute::DisputeRecord>, Failure> {
    let Some((next, kind)) = crate::dispute::advanced(d, clock.now_ms()) else {
        return Ok(None);
    };
    let Some(p) = store.payment(&d.service_id, &d.payment_id).await? else {
        return Ok(None);
    };
    let event = LedgerEvent::for_payment(&p, kind, next.updated_ms);
    match store
        .advance_dispute(d, &next, &Record::one(event, &p))
        .await
    {
        Ok(()) => Ok(Some(next)),
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The sandbox "pays out" captured payments a day after capture: the payment gets its
/// `settlement_summary.settled_date`, recorded once with a PAYMENT_SETTLED event.
async fn settle(store: &dyn Store, clock: &dyn Clock, scope: Scope<'_>) -> Result<usize, Failure> {
    let due = store
        .unsettled_payments(scope, clock.now_ms() - SETTLE_AFTER_MS + 1, BATCH)
        .await?;
    let mut done = 0;
    for p in due {
        done += usize::from(settle_payment(store, clock, Target::Read(&p)).await?);
    }
    Ok(done)
}

/// Pays captured payment `target` out at `clock`'s time; whether it was.
pub(crate) async fn settle_payment(
    store: &dyn Store,
    clock: &dyn Clock,
    target: Target<'_>,
) -> Result<bool, Failure> {
    let settled = transition::step_on(store, clock, target, |p, now| {
        (p.settled_ms.is_none() && p.status == Status::Captured).then(|| {
            Move::to(p, p.status, EventKind::PaymentSettled, now)
                .with(|next| next.settled_ms = Some(now))
        })
    })
    .await?;
    Ok(changed(settled) == 1)
}

/// Successful refunds are paid out (taken from a payout) a day after they succeeded, as
/// payments are: `settlement_summary.settled_date`, which the refund search filters on.
async fn settle_refunds(
    store: &dyn Store,
    clock: &dyn Clock,
    scope: Scope<'_>,
) -> Result<usize, Failure> {
    let due = store
        .unsettled_refunds(scope, clock.now_ms() - SETTLE_AFTER_MS + 1, BATCH)
        .await?;
    let mut done = 0;
    for refund in due {
        done += usize::from(settle_refund(store, clock, &refund).await?);
    }
    Ok(done)
}

/// Pays successful refund `refund` out at `clock`'s time; whether it was.
pub(crate) async fn settle_refund(
    store: &dyn Store,
    clock: &dyn Clock,
    refund: &crate::refund::RefundRecord,
) -> Result<bool, Failure> {
    match store.settle_refund(refund, clock.now_ms()).await {
        Ok(()) => Ok(true),
        // Another node's sweep paid it out first.
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Records the provider's result of refunds it left pending.
async fn refunds(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    scope: Scope<'_>,
) -> Result<usize, Failure> {
    let due = store
        .submitted_refunds(scope, clock.now_ms() - REFUND_RESULT_MS + 1, BATCH)
        .await?;
    let mut done = 0;
    for refund in due {
        done += usize::from(refund_result(store, clock, psp, &refund).await?);
    }
    Ok(done)
}

/// Records the provider's result of pending refund `refund`, at `clock`'s time; whether
/// there was one.
pub(crate) async fn refund_result(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    refund: &crate::refund::RefundRecord,
) -> Result<bool, Failure> {
    let Some(payment) = store
        .payment(&refund.service_id, &refund.payment_id)
        .await?
    else {
        return Ok(false);
    };
    let outcome = psp.refund_result(&payment, refund.amount).await;
    Ok(
        crate::refund::operations::finish(store, clock, &payment, refund, outcome)
            .await?
            .is_some(),
    )
}

/// Captures approved payments (and agreement payments queued for capture): CAPTURE APPROVED
/// or CAPTURE QUEUED → CAPTURE READY (stored before asking the
/// provider) → CAPTURED, recording when capture was submitted and confirmed. A payment left
/// in CAPTURE READY by a crash is finished by the next round.
async fn capture(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    scope: Scope<'_>,
) -> Result<usize, Failure> {
    let due = store
        .due_payments(scope, CAPTURING, i64::MAX, i64::MAX, BATCH)
        .await?;
    let mut done = 0;
    for p in due {
        done += usize::from(capture_payment(store, clock, psp, Target::Read(&p)).await?);
    }
    Ok(done)
}

/// Takes approved payment `target` through CAPTURE READY to CAPTURED at `clock`'s time;
/// whether it was captured now.
pub(crate) async fn capture_payment(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    target: Target<'_>,
) -> Result<bool, Failure> {
    use Status::*;
    let ready = transition::step_on(store, clock, target, |p, now| {
        matches!(
            p.status,
            CaptureApproved | CaptureApprovedRetry | CaptureQueued
        )
        .then(|| {
            Move::to(p, CaptureReady, EventKind::CaptureSubmitted, now)
                .with(|next| next.capture_submit_ms = Some(now))
        })
    })
    .await?;
    let Some(Applied { payment: ready, .. }) = ready else {
        return Ok(false);
    };
    if ready.status != CaptureReady {
        return Ok(false);
    }
    if let Err(message) = psp.capture(&ready).await {
        tracing::warn!(payment_id = %ready.id, %message, "capture failed; retried next round");
        return Ok(false);
    }
    let captured = transition::step_on(store, clock, Target::Read(&ready), |p, now| {
        (p.status == CaptureReady).then(|| {
            Move::to(p, Captured, EventKind::CaptureConfirmed, now).with(|next| {
                next.capture_submit_ms = p.capture_submit_ms.or(Some(now));
                next.captured_ms = Some(now);
                // The provider knows now whether the user's bank will dispute it.
                next.dispute_due_ms = psp
                    .dispute(p)
                    .map(|_| now + crate::dispute::RAISED_AFTER_MS);
            })
        })
    })
    .await?;
    Ok(changed(captured) == 1)
}

/// When `p` outlives its window: its expiry (or the capture request's wait) after creation,
/// and never within `RECENT_MS` of its last change.
pub(crate) fn expiry_due_ms(p: &PaymentRecord) -> i64 {
    let window = if p.status == Status::AwaitingCaptureRequest {
        CAPTURE_WAIT_MS
    } else {
        EXPIRY_MS
    };
    (p.created_ms + window).max(p.updated_ms + RECENT_MS)
}

/// Whether `p` has outlived its window at `now`.
fn overdue(p: &PaymentRecord, now: i64) -> bool {
    expiry_due_ms(p) <= now
}

/// Unfinished payments that expire `EXPIRY_MS` after creation.
pub(crate) const EXPIRING: &[Status] = &[
    Status::Created,
    Status::EnteringCardDetails,
    Status::AuthorisationReady,
    Status::Authorisation3dsRequired,
    Status::Authorisation3dsReady,
    Status::AuthorisationSuccess,
    Status::ExpireCancelReady,
];
/// Payments stuck waiting for the provider's authorisation answer.
pub(crate) const STUCK: &[Status] = &[Status::AuthorisationReady, Status::Authorisation3dsReady];
/// Payments waiting to be captured (or finished capturing after a crash).
pub(crate) const CAPTURING: &[Status] = &[
    Status::CaptureApproved,
    Status::CaptureApprovedRetry,
    Status::CaptureQueued,
    Status::CaptureReady,
];

/// Expires unfinished payments (failed, P0020): before authorisation straight to EXPIRED;
/// after it through EXPIRE CANCEL READY and the provider's void.
async fn expire(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    scope: Scope<'_>,
) -> Result<usize, Failure> {
    use Status::*;
    let now = clock.now_ms();
    let mut due = store
        .due_payments(
            scope,
            EXPIRING,
            now - EXPIRY_MS + 1,
            now - RECENT_MS + 1,
            BATCH,
        )
        .await?;
    due.extend(
        store
            .due_payments(
                scope,
                &[AwaitingCaptureRequest],
                now - CAPTURE_WAIT_MS + 1,
                now - RECENT_MS + 1,
                BATCH,
            )
            .await?,
    );
    let mut done = 0;
    for p in due {
        done += usize::from(expire_payment(store, clock, psp, Target::Read(&p)).await?);
    }
    Ok(done)
}

/// Expires payment `target` if it has outlived its window at `clock`'s time; whether it
/// expired.
pub(crate) async fn expire_payment(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    target: Target<'_>,
) -> Result<bool, Failure> {
    use Status::*;
    let first = transition::step_on(store, clock, target, |p, now| {
        let status = match p.status {
            Created | EnteringCardDetails | AuthorisationReady if overdue(p, now) => Expired,
            Authorisation3dsRequired
            | Authorisation3dsReady
            | AuthorisationSuccess
            | AwaitingCaptureRequest
                if overdue(p, now) =>
            {
                ExpireCancelReady
            }
            _ => return None,
        };
        Some(Move::to(p, status, EventKind::PaymentExpired, now))
    })
    .await?;
    let Some(first) = first else {
        return Ok(false);
    };
    let p = first.payment;
    if p.status == Expired {
        return Ok(first.changed);
    }
    if p.status != ExpireCancelReady {
        return Ok(false);
    }
    let _ = psp.cancel(&p).await;
    let finished = transition::step_on(store, clock, Target::Read(&p), |p, now| {
        (p.status == ExpireCancelReady)
            .then(|| Move::to(p, Expired, EventKind::PaymentExpired, now))
    })
    .await?;
    Ok(changed(finished) == 1)
}

/// 1 when the step changed the payment, else 0.
fn changed(applied: Option<Applied>) -> usize {
    usize::from(applied.is_some_and(|a| a.changed))
}
