//! The paying user's journey behind next_url (reference §3): exchanging the token, entering
//! card details, 3-D Secure, confirming, cancelling. Every step is a conditional change of
//! the payment written with its ledger event, so a double submit or a race with the service
//! (cancel) or the expiry sweep has exactly one winner; the loser finds the payment as the
//! winner left it. The state a provider call is about to decide is stored before the call.

use crate::card::ValidCard;
use crate::clock::Clock;
use crate::next_url::TokenSigner;
use crate::payment::{CardDetails, LedgerEvent, PaymentRecord};
use crate::ports::{Store, StoreError};
use crate::psp::{Authorisation, PaymentProvider};
use crate::service::CardSettings;
use crate::status::Status;

/// What the journey runs on.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a dyn Store,
    pub clock: &'a dyn Clock,
    pub psp: &'a dyn PaymentProvider,
}

/// `p` moved to `status` at `now`, with the event recording it.
pub(crate) fn moved(
    p: &PaymentRecord,
    status: Status,
    event_type: &str,
    now: i64,
) -> (PaymentRecord, LedgerEvent) {
    let mut next = p.clone();
    next.status = status;
    next.updated_ms = now;
    let e = LedgerEvent::new(p, event_type, status, now);
    (next, e)
}

/// Reads the payment, lets `decide` say what it becomes, and writes that conditionally,
/// judging again on a fresh read when another change got there first. Returns the payment
/// as stored afterwards and whether this call changed it; `None` for an unknown payment.
pub(crate) async fn step(
    store: &dyn Store,
    clock: &dyn Clock,
    id: &str,
    decide: impl Fn(&PaymentRecord, i64) -> Option<(PaymentRecord, Vec<LedgerEvent>)>,
) -> Result<Option<(PaymentRecord, bool)>, StoreError> {
    loop {
        let Some(current) = store.journey_payment(id).await? else {
            return Ok(None);
        };
        let Some((mut next, events)) = decide(&current, clock.now_ms()) else {
            return Ok(Some((current, false)));
        };
        match store.update_payment(&current, &next, &events).await {
            Ok(()) => {
                next.version = current.version + 1;
                return Ok(Some((next, true)));
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A next_url token exchanged for its payment.
#[derive(Debug)]
pub struct Exchanged {
    pub payment: PaymentRecord,
    /// False when the token had been used before: only the browser that used it may go on.
    pub first_use: bool,
}

/// Hash under which a used token is remembered (the token itself is a bearer secret).
fn token_hash(token: &str) -> String {
    crate::api_key::hash(token)
}

/// Exchanges a next_url token (reference §3.5): valid only if this instance signed it for an
/// existing payment; single use. The first exchange of a new payment starts it
/// (created → started).
pub async fn exchange_token(
    store: &dyn Store,
    clock: &dyn Clock,
    signer: &TokenSigner,
    token: &str,
) -> Result<Option<Exchanged>, StoreError> {
    let Some(claims) = signer.verify(token) else {
        return Ok(None);
    };
    if store.journey_payment(&claims.payment_id).await?.is_none() {
        return Ok(None);
    }
    let first_use = store
        .claim_token(&token_hash(token), &claims.payment_id, clock.now_ms())
        .await?;
    let started = step(store, clock, &claims.payment_id, |p, now| {
        (first_use && p.status == Status::Created).then(|| {
            let (next, e) = moved(p, Status::EnteringCardDetails, "PAYMENT_STARTED", now);
            (next, vec![e])
        })
    })
    .await?;
    Ok(started.map(|(payment, _)| Exchanged { payment, first_use }))
}

/// The payment behind a page, whichever state it is in.
pub async fn payment(store: &dyn Store, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
    store.journey_payment(id).await
}

/// Card details the form passed: stored (without the number or CVC) as the payment moves to
/// AUTHORISATION READY, then the provider decides. A payment not waiting for card details
/// (a second submit, a cancelled or expired one) is returned as it is.
pub async fn submit_card(
    deps: Deps<'_>,
    id: &str,
    card: &ValidCard,
    settings: &CardSettings,
) -> Result<Option<PaymentRecord>, StoreError> {
    let ready = step(deps.store, deps.clock, id, |p, now| {
        (p.status == Status::EnteringCardDetails).then(|| {
            let (mut next, e) = moved(
                p,
                Status::AuthorisationReady,
                "PAYMENT_DETAILS_ENTERED",
                now,
            );
            next.card = Some(CardDetails {
                first_digits: card.first_digits().into(),
                last_digits: card.last_digits().into(),
                cardholder_name: card.cardholder_name.clone(),
                expiry: card.expiry.clone(),
                brand: card.info.brand,
                card_type: card.info.card_type,
                billing_address: card.address.clone(),
            });
            if card.email.is_some() {
                next.email = card.email.clone();
            }
            next.corporate_surcharge = Some(settings.surcharge(&card.info)).filter(|s| *s > 0);
            (next, vec![e])
        })
    })
    .await?;
    ask_provider(deps, ready, Ask::Card(card)).await
}

/// What the provider is asked once the payment is stored as waiting for its answer.
enum Ask<'a> {
    Card(&'a ValidCard),
    ThreeDs { passed: bool },
}

/// Asks the provider about a payment this call moved to a waiting state (`ready`), and
/// stores the answer. A payment this call did not move is returned as found.
async fn ask_provider(
    deps: Deps<'_>,
    ready: Option<(PaymentRecord, bool)>,
    ask: Ask<'_>,
) -> Result<Option<PaymentRecord>, StoreError> {
    let Some((ready, changed)) = ready else {
        return Ok(None);
    };
    if !changed {
        return Ok(Some(ready));
    }
    let outcome = match ask {
        Ask::Card(card) => deps.psp.authorise(&ready, card).await,
        Ask::ThreeDs { passed } => deps.psp.authorise_3ds(&ready, passed).await,
    };
    settle_authorisation(deps, ready, outcome).await.map(Some)
}

/// Stores the provider's answer on a payment it was asked about. If the payment moved on
/// meanwhile (the service cancelled it), the answer is dropped and an authorisation voided.
async fn settle_authorisation(
    deps: Deps<'_>,
    asked: PaymentRecord,
    outcome: Authorisation,
) -> Result<PaymentRecord, StoreError> {
    let now = deps.clock.now_ms();
    let (status, event_type, provider_id) = match &outcome {
        Authorisation::Authorised { provider_id } => (
            Status::AuthorisationSuccess,
            "AUTHORISATION_SUCCEEDED",
            Some(provider_id.clone()),
        ),
        Authorisation::ThreeDsRequired { provider_id } => (
            Status::Authorisation3dsRequired,
            "GATEWAY_REQUIRES_3DS_AUTHORISATION",
            Some(provider_id.clone()),
        ),
        Authorisation::Rejected { provider_id } => (
            Status::AuthorisationRejected,
            "AUTHORISATION_REJECTED",
            Some(provider_id.clone()),
        ),
        Authorisation::Error { message } => {
            tracing::warn!(payment_id = %asked.id, %message, "payment provider error");
            (
                Status::AuthorisationError,
                "GATEWAY_ERROR_DURING_AUTHORISATION",
                asked.provider_id.clone(),
            )
        }
    };
    let (mut next, e) = moved(&asked, status, event_type, now);
    next.provider_id = provider_id;
    if status == Status::Authorisation3dsRequired {
        next.three_ds_required = true;
    }
    match deps.store.update_payment(&asked, &next, &[e]).await {
        Ok(()) => {
            next.version = asked.version + 1;
            Ok(next)
        }
        Err(StoreError::Conflict) => {
            if matches!(outcome, Authorisation::Authorised { .. }) {
                let _ = deps.psp.cancel(&next).await;
            }
            deps.store
                .journey_payment(&asked.id)
                .await?
                .ok_or(StoreError::Conflict)
        }
        Err(e) => Err(e),
    }
}

/// The cardholder's answer to the 3-D Secure challenge. Only a payment waiting for it moves
/// (so the signed return value is single use); the provider then decides.
pub async fn three_ds_result(
    deps: Deps<'_>,
    id: &str,
    passed: bool,
) -> Result<Option<PaymentRecord>, StoreError> {
    let ready = step(deps.store, deps.clock, id, |p, now| {
        (p.status == Status::Authorisation3dsRequired).then(|| {
            let (next, e) = moved(p, Status::Authorisation3dsReady, "3DS_RESULT_RECEIVED", now);
            (next, vec![e])
        })
    })
    .await?;
    ask_provider(deps, ready, Ask::ThreeDs { passed }).await
}

/// "Confirm payment": an authorised payment is approved for capture, or waits for the
/// service's capture request when it was created with `delayed_capture`.
pub async fn confirm(deps: Deps<'_>, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
    let done = step(deps.store, deps.clock, id, |p, now| {
        (p.status == Status::AuthorisationSuccess).then(|| {
            let (next, e) = if p.delayed_capture {
                moved(
                    p,
                    Status::AwaitingCaptureRequest,
                    "USER_APPROVED_FOR_CAPTURE_AWAITING_SERVICE_APPROVAL",
                    now,
                )
            } else {
                moved(p, Status::CaptureApproved, "USER_APPROVED_FOR_CAPTURE", now)
            };
            (next, vec![e])
        })
    })
    .await?;
    Ok(done.map(|(p, _)| p))
}

/// The user's "Cancel payment": before authorisation straight to USER CANCELLED; after it
/// through USER CANCEL READY and the provider's void.
pub async fn user_cancel(deps: Deps<'_>, id: &str) -> Result<Option<PaymentRecord>, StoreError> {
    use Status::*;
    let done = step(deps.store, deps.clock, id, |p, now| {
        let status = match p.status {
            Created | EnteringCardDetails => UserCancelled,
            AuthorisationSuccess | Authorisation3dsRequired | Authorisation3dsReady => {
                UserCancelReady
            }
            _ => return None,
        };
        let (next, e) = moved(p, status, "CANCELLED_BY_USER", now);
        Some((next, vec![e]))
    })
    .await?;
    let Some((p, changed)) = done else {
        return Ok(None);
    };
    if !(changed && p.status == UserCancelReady) {
        return Ok(Some(p));
    }
    let _ = deps.psp.cancel(&p).await;
    let done = step(deps.store, deps.clock, id, |p, now| {
        (p.status == UserCancelReady).then(|| {
            let (next, e) = moved(p, UserCancelled, "CANCELLED_BY_USER", now);
            (next, vec![e])
        })
    })
    .await?;
    Ok(done.map(|(p, _)| p))
}
