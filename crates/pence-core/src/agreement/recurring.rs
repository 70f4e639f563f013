//! Payments of an agreement (reference §7), taken with the card saved on it while the user is
//! away: created queued (AUTHORISATION USER NOT PRESENT QUEUED), then a sweep takes the card
//! from the agreement, asks the provider, and queues an authorised payment for capture.

use crate::agreement::AgreementStatus;
use crate::clock::Clock;
use crate::journey::Deps;
use crate::ledger::EventKind;
use crate::payment::status::Status;
use crate::payment::transition::{self, Move};
use crate::payment::{AuthorisationMode, PaymentRecord};
use crate::ports::Store;
use crate::psp::{Authorisation, PaymentProvider};
use crate::refusal::Failure;

/// Queued payments one round takes on.
const BATCH: u32 = 200;

/// Authorises every queued agreement payment; the number whose outcome was recorded.
pub async fn authorise_queued(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    scope: crate::ports::Scope<'_>,
) -> Result<usize, Failure> {
    let queued = store
        .due_payments(
            scope,
            &[Status::AuthorisationUserNotPresentQueued],
            i64::MAX,
            i64::MAX,
            BATCH,
        )
        .await?;
    let deps = Deps { store, clock, psp };
    let mut done = 0;
    for p in queued {
        done += usize::from(authorise(deps, p).await?.is_some());
    }
    Ok(done)
}

/// Takes one agreement payment from the queue (or from AUTHORISATION READY, where a crash
/// left it) to its outcome. `None` when another node took it first.
pub async fn authorise(deps: Deps<'_>, p: PaymentRecord) -> Result<Option<PaymentRecord>, Failure> {
    use Status::*;
    debug_assert_eq!(p.authorisation_mode, AuthorisationMode::Agreement);
    let ready = if p.status == AuthorisationUserNotPresentQueued {
        let card = saved_card(deps.store, &p).await?;
        let taken = transition::step(deps.store, deps.clock, &p.id, |p, now| {
            (p.status == AuthorisationUserNotPresentQueued).then(|| {
                Move::to(
                    p,
                    AuthorisationReady,
                    EventKind::PaymentDetailsTakenFromPaymentInstrument,
                    now,
                )
                .with(|next| next.card = card.clone())
            })
        })
        .await?;
        match taken.and_then(|a| a.moved()) {
            Some(ready) => ready,
            None => return Ok(None),
        }
    } else {
        p
    };
    if ready.status != AuthorisationReady {
        return Ok(None);
    }
    // An agreement cancelled after the payment was queued has no card to take: refused
    // without asking the provider, and not worth retrying.
    let outcome = match ready.card {
        Some(_) => deps.psp.authorise_recurring(&ready).await,
        None => Authorisation::Rejected {
            provider_id: String::new(),
        },
    };
    let settled = transition::step(deps.store, deps.clock, &ready.id, |p, now| {
        (p.status == AuthorisationReady).then(|| settle(p, &outcome, now))
    })
    .await?;
    Ok(settled.and_then(|a| a.moved()))
}

/// The provider's answer as a move: authorised payments are queued for capture in the same
/// transaction; a refusal is for good (`can_retry: false`) and makes the agreement inactive.
fn settle(p: &PaymentRecord, outcome: &Authorisation, now: i64) -> Move {
    use Status::*;
    match outcome {
        Authorisation::Authorised { provider_id } => authorised_and_queued(p, provider_id, now),
        Authorisation::Rejected { provider_id } => {
            let inactivates = p.card.is_some();
            let m = Move::to(
                p,
                AuthorisationRejected,
                EventKind::AuthorisationRejected,
                now,
            )
            .with(|next| {
                next.provider_id = Some(provider_id.clone()).filter(|id| !id.is_empty());
                next.can_retry = Some(false);
            });
            if inactivates {
                m.inactivating_agreement()
            } else {
                m
            }
        }
        // The user is away: a challenge cannot be answered, so it counts as an error.
        Authorisation::ThreeDsRequired { .. } | Authorisation::Error { .. } => Move::to(
            p,
            AuthorisationError,
            EventKind::GatewayErrorDuringAuthorisation,
            now,
        ),
    }
}

/// A payment taken without the user confirming (an agreement's, a MOTO API one): authorised
/// and queued for capture in one transaction, as GOV.UK Pay captures these automatically.
pub(crate) fn authorised_and_queued(p: &PaymentRecord, provider_id: &str, now: i64) -> Move {
    Move::to(
        p,
        Status::AuthorisationSuccess,
        EventKind::AuthorisationSucceeded,
        now,
    )
    .with(|next| next.provider_id = Some(provider_id.to_string()))
    .then(Status::CaptureQueued, EventKind::QueuedForCapture, now)
}

/// The card of the payment's agreement, if the agreement is still active.
async fn saved_card(
    store: &dyn Store,
    p: &PaymentRecord,
) -> Result<Option<crate::payment::CardDetails>, Failure> {
    let Some(id) = &p.agreement_id else {
        return Ok(None);
    };
    let agreement = store.agreement(&p.service_id, id).await?;
    Ok(agreement
        .filter(|a| a.status == AgreementStatus::Active)
        .and_then(|a| a.instrument)
        .map(|i| i.card))
}
