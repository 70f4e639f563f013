//! A test service's clock moved far at once (issue 31): every timer that falls due in between
//! — expiry, the capture request's wait, capture, lost authorisation answers, agreement
//! payments, refund results, pay-outs of payments and refunds, disputes raised and decided —
//! fires in the order of the simulated time it was due, dated at that time, by the same
//! per-payment steps the sweeps take. A month of a service's life then reads as it would had
//! the clock been moved an hour at a time: the same events, at the same times, in the same
//! order for each payment.
//!
//! It works in passes. A pass lists what is due by the end of the move, keeps each payment's
//! earliest timer only (a timer may start another: a capture its pay-out and its dispute, a
//! raised dispute its decision), and fires those at once, each on a clock stopped at its due
//! time. A timer that fires may make a later one due, which the next pass finds; passes
//! stop when nothing is due. A listing cut short by its batch size bounds the pass: nothing
//! later than the last timer it listed fires in that pass, so no payment's later timer
//! overtakes an earlier one that was not listed.

use futures_util::stream::{self, TryStreamExt};

use crate::clock::Clock;
use crate::dispute::DisputeRecord;
use crate::payment::status::Status;
use crate::payment::transition::Target;
use crate::payment::PaymentRecord;
use crate::ports::{Scope, Store};
use crate::psp::PaymentProvider;
use crate::refund::RefundRecord;
use crate::refusal::Failure;
use crate::sweeps::{self, Swept, REFUND_RESULT_MS, SETTLE_AFTER_MS, STUCK_AFTER_MS};

/// Timers one listing takes in a pass. Every pass lists every kind again, so fewer, longer
/// passes cost less (the 30-day bench on PostgreSQL: 5,000 gave 21–28 s, 10,000 gives 16–17 s);
/// 20,000 was no faster there and held 40 MB more while listed, past a node's budget.
const LISTED: u32 = 10_000;
/// Timers fired at once (each its own payment's): enough to fill the writers' groups.
const AT_ONCE: usize = 256;
/// Passes one move may take: a month of any service's life takes far fewer (a payment has a
/// handful of timers); a timer that fires without effect, again and again, stops here.
const MOST_PASSES: usize = 10_000;

/// A clock stopped at one time: a timer fires dated when it was due.
struct At(i64);

impl Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// What falls due, with what it fires on.
enum Fires {
    Resume(PaymentRecord),
    Recurring(PaymentRecord),
    Capture(PaymentRecord),
    Expire(PaymentRecord),
    RefundResult(RefundRecord),
    Settle(PaymentRecord),
    SettleRefund(RefundRecord),
    RaiseDispute(PaymentRecord),
    AdvanceDispute(DisputeRecord),
}

/// One timer: when it falls due, and for which payment.
struct Timer {
    at_ms: i64,
    payment_id: String,
    fires: Fires,
}

/// Fires every timer of `service_id` due after `from_ms` up to `until_ms`, in order, each at
/// its due time (never before `from_ms`); what they did, counted as the sweeps count it.
pub async fn fire_until(
    store: &dyn Store,
    psp: &dyn PaymentProvider,
    service_id: &str,
    from_ms: i64,
    until_ms: i64,
) -> Result<Swept, Failure> {
    let scope = Scope::Service(service_id);
    let mut fired = Swept::default();
    // Timers that fired without effect (a capture the provider refused, a dispute the
    // payment no longer allows): the sweeps try them again later, but here they must not
    // hold their payment's later timers back.
    let mut spent = std::collections::HashSet::new();
    for _ in 0..MOST_PASSES {
        let (mut timers, horizon) = due(store, scope, until_ms).await?;
        timers.retain(|t| t.at_ms <= horizon && !spent.contains(&t.key()));
        // Each payment's earliest timer; the rest wait for a later pass.
        timers.sort_by(|a, b| (&a.payment_id, a.at_ms).cmp(&(&b.payment_id, b.at_ms)));
        timers.dedup_by(|later, earlier| later.payment_id == earlier.payment_id);
        if timers.is_empty() {
            break;
        }
        timers.sort_by_key(|t| t.at_ms);
        let outcomes: Vec<((String, u8, i64), bool)> =
            stream::iter(timers.into_iter().map(Ok::<_, Failure>))
                .map_ok(|t| async move {
                    let key = t.key();
                    Ok((key, fire(store, psp, t, from_ms).await?))
                })
                .try_buffer_unordered(AT_ONCE)
                .try_collect()
                .await?;
        for (key, changed) in outcomes {
            if !changed {
                spent.insert(key);
                continue;
            }
            let counter = match key.1 {
                0 => &mut fired.resumed,
                1 => &mut fired.recurring,
                2 => &mut fired.captured,
                3 => &mut fired.expired,
                4 => &mut fired.refunds,
                5 | 6 => &mut fired.settled,
                _ => &mut fired.disputes,
            };
            *counter += 1;
        }
    }
    Ok(fired)
}

impl Timer {
    /// The timer named: its payment, its kind, when it is due.
    fn key(&self) -> (String, u8, i64) {
        let kind = match self.fires {
            Fires::Resume(_) => 0,
            Fires::Recurring(_) => 1,
            Fires::Capture(_) => 2,
            Fires::Expire(_) => 3,
            Fires::RefundResult(_) => 4,
            Fires::Settle(_) => 5,
            Fires::SettleRefund(_) => 6,
            Fires::RaiseDispute(_) => 7,
            Fires::AdvanceDispute(_) => 8,
        };
        (self.payment_id.clone(), kind, self.at_ms)
    }
}

/// Fires one timer on a clock stopped at its due time; whether anything changed.
async fn fire(
    store: &dyn Store,
    psp: &dyn PaymentProvider,
    t: Timer,
    from_ms: i64,
) -> Result<bool, Failure> {
    let at = At(t.at_ms.max(from_ms));
    match t.fires {
        Fires::Resume(p) => sweeps::resume_payment(store, &at, psp, p).await,
        Fires::Recurring(p) => {
            let deps = crate::journey::Deps {
                store,
                clock: &at,
                psp,
            };
            Ok(crate::agreement::recurring::authorise(deps, p)
                .await?
                .is_some())
        }
        Fires::Capture(p) => sweeps::capture_payment(store, &at, psp, Target::Read(&p)).await,
        Fires::Expire(p) => sweeps::expire_payment(store, &at, psp, Target::Read(&p)).await,
        Fires::RefundResult(r) => sweeps::refund_result(store, &at, psp, &r).await,
        Fires::Settle(p) => sweeps::settle_payment(store, &at, Target::Read(&p)).await,
        Fires::SettleRefund(r) => sweeps::settle_refund(store, &at, &r).await,
        Fires::RaiseDispute(p) => Ok(sweeps::raise_dispute(store, &at, psp, &p).await?.is_some()),
        Fires::AdvanceDispute(d) => Ok(sweeps::advance_dispute(store, &at, &d).await?.is_some()),
    }
}

/// Everything due by `until_ms`, and the latest time a pass may fire up to: `until_ms`, or
/// earlier where a listing was cut short.
async fn due(
    store: &dyn Store,
    scope: Scope<'_>,
    until_ms: i64,
) -> Result<(Vec<Timer>, i64), Failure> {
    let mut timers = Vec::new();
    let mut horizon = until_ms;
    // A listing of `LISTED` may have left later timers of its kind out.
    let mut bound = |listed: &[Timer], first: usize| {
        if listed.len() - first >= LISTED as usize {
            if let Some(last) = listed[first..].iter().map(|t| t.at_ms).max() {
                horizon = horizon.min(last);
            }
        }
    };
    let payment = |p: PaymentRecord, at_ms: i64, fires: fn(PaymentRecord) -> Fires| Timer {
        at_ms,
        payment_id: p.id.clone(),
        fires: fires(p),
    };

    let first = timers.len();
    for p in store
        .due_payments(
            scope,
            sweeps::STUCK,
            i64::MAX,
            until_ms - STUCK_AFTER_MS + 1,
            LISTED,
        )
        .await?
    {
        let at = p.updated_ms + STUCK_AFTER_MS;
        timers.push(payment(p, at, Fires::Resume));
    }
    bound(&timers, first);

    let first = timers.len();
    let queued = [Status::AuthorisationUserNotPresentQueued];
    for p in store
        .due_payments(scope, &queued, i64::MAX, until_ms + 1, LISTED)
        .await?
    {
        let at = p.updated_ms;
        timers.push(payment(p, at, Fires::Recurring));
    }
    bound(&timers, first);

    let first = timers.len();
    for p in store
        .due_payments(scope, sweeps::CAPTURING, i64::MAX, until_ms + 1, LISTED)
        .await?
    {
        let at = p.updated_ms;
        timers.push(payment(p, at, Fires::Capture));
    }
    bound(&timers, first);

    let first = timers.len();
    let mut expiring = store
        .due_payments(
            scope,
            sweeps::EXPIRING,
            until_ms - sweeps::EXPIRY_MS + 1,
            until_ms - sweeps::RECENT_MS + 1,
            LISTED,
        )
        .await?;
    expiring.extend(
        store
            .due_payments(
                scope,
                &[Status::AwaitingCaptureRequest],
                until_ms - sweeps::CAPTURE_WAIT_MS + 1,
                until_ms - sweeps::RECENT_MS + 1,
                LISTED,
            )
            .await?,
    );
    for p in expiring {
        let at = sweeps::expiry_due_ms(&p);
        timers.push(payment(p, at, Fires::Expire));
    }
    bound(&timers, first);

    let first = timers.len();
    for r in store
        .submitted_refunds(scope, until_ms - REFUND_RESULT_MS + 1, LISTED)
        .await?
    {
        timers.push(Timer {
            at_ms: r.created_ms + REFUND_RESULT_MS,
            payment_id: r.payment_id.clone(),
            fires: Fires::RefundResult(r),
        });
    }
    bound(&timers, first);

    let first = timers.len();
    for p in store
        .unsettled_payments(scope, until_ms - SETTLE_AFTER_MS + 1, LISTED)
        .await?
    {
        let at = p.captured_ms.unwrap_or(p.updated_ms) + SETTLE_AFTER_MS;
        timers.push(payment(p, at, Fires::Settle));
    }
    bound(&timers, first);

    let first = timers.len();
    for r in store
        .unsettled_refunds(scope, until_ms - SETTLE_AFTER_MS + 1, LISTED)
        .await?
    {
        timers.push(Timer {
            at_ms: r.updated_ms + SETTLE_AFTER_MS,
            payment_id: r.payment_id.clone(),
            fires: Fires::SettleRefund(r),
        });
    }
    bound(&timers, first);

    let first = timers.len();
    for p in store
        .dispute_due_payments(scope, until_ms + 1, LISTED)
        .await?
    {
        let at = p.dispute_due_ms.unwrap_or(until_ms);
        timers.push(payment(p, at, Fires::RaiseDispute));
    }
    bound(&timers, first);

    let first = timers.len();
    for d in store.due_disputes(scope, until_ms + 1, LISTED).await? {
        timers.push(Timer {
            at_ms: d.due_ms.unwrap_or(until_ms),
            payment_id: d.payment_id.clone(),
            fires: Fires::AdvanceDispute(d),
        });
    }
    bound(&timers, first);

    Ok((timers, horizon))
}
