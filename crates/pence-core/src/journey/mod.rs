//! The paying user's journey behind next_url (reference §3): exchanging the token, entering
//! card details, 3-D Secure, confirming, cancelling. Every step is a conditional change of
//! the payment written with its ledger event, so a double submit or a race with the service
//! (cancel) or the expiry sweep has exactly one winner; the loser finds the payment as the
//! winner left it. The state a provider call is about to decide is stored before the call.

pub mod card;
pub mod next_url;

use crate::agreement::AgreementRecord;
use crate::clock::Clock;
use crate::journey::card::ValidCard;
use crate::journey::next_url::TokenSigner;
use crate::ledger::EventKind;
use crate::payment::status::Status;
use crate::payment::transition::{self, Applied, Move};
use crate::payment::{AuthorisationMode, PaymentRecord};
use crate::ports::Store;
use crate::psp::{Authorisation, PaymentProvider};
use crate::refusal::Failure;
use crate::service::{CardSettings, Service};

/// What the journey runs on.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a dyn Store,
    pub clock: &'a dyn Clock,
    pub psp: &'a dyn PaymentProvider,
}

/// A next_url token exchanged for its payment.
#[derive(Debug)]
pub struct Exchanged {
    pub payment: PaymentRecord,
    /// False when the token had been used before: only the browser that used it may go on.
    pub first_use: bool,
}

/// Hash under which a used token is remembered (the token itself is a bearer secret).
pub(crate) fn token_hash(token: &str) -> String {
    crate::service::api_key::hash(token)
}

/// Exchanges a next_url token (reference §3.5): valid only if this instance signed it for an
/// existing payment; single use. The first exchange of a new payment starts it
/// (created → started).
pub async fn exchange_token(
    store: &dyn Store,
    clock: &dyn Clock,
    signer: &TokenSigner,
    token: &str,
) -> Result<Option<Exchanged>, Failure> {
    let Some(claims) = signer.verify(token) else {
        return Ok(None);
    };
    let Some(payment) = store.journey_payment(&claims.payment_id).await? else {
        return Ok(None);
    };
    // The user's steps are dated by the payment's service's clock.
    let Some(service) = store.service(&payment.service_id).await? else {
        return Ok(None);
    };
    let clock = service.clock(clock);
    let clock = &clock;
    let first_use = store
        .claim_token(&token_hash(token), &claims.payment_id, clock.now_ms())
        .await?;
    let started = transition::step(store, clock, &claims.payment_id, |p, now| {
        (first_use && p.status == Status::Created).then(|| {
            Move::to(
                p,
                Status::EnteringCardDetails,
                EventKind::PaymentStarted,
                now,
            )
        })
    })
    .await?;
    Ok(started.map(|a| Exchanged {
        payment: a.payment,
        first_use,
    }))
}

/// The payment behind a page, whichever state it is in.
pub async fn payment(store: &dyn Store, id: &str) -> Result<Option<PaymentRecord>, Failure> {
    if !crate::ids::could_be_id(id) {
        return Ok(None);
    }
    Ok(store.journey_payment(id).await?)
}

/// The payment behind a page and its service (whose card settings the page follows).
pub async fn payment_and_service(
    store: &dyn Store,
    id: &str,
) -> Result<Option<(PaymentRecord, Service)>, Failure> {
    let Some(payment) = payment(store, id).await? else {
        return Ok(None);
    };
    Ok(store
        .service(&payment.service_id)
        .await?
        .map(|service| (payment, service)))
}

/// The agreement a payment sets up, if it sets one up: the card page names it, as the
/// card will be saved for it.
pub async fn agreement_of(
    store: &dyn Store,
    p: &PaymentRecord,
) -> Result<Option<AgreementRecord>, Failure> {
    let Some(id) = p.agreement_id.as_deref() else {
        return Ok(None);
    };
    Ok(store.agreement(&p.service_id, id).await?)
}

/// Card details the form passed: stored (without the number or CVC) as the payment moves to
/// AUTHORISATION READY, then the provider decides. A payment not waiting for card details
/// (a second submit, a cancelled or expired one) is returned as it is.
pub async fn submit_card(
    deps: Deps<'_>,
    id: &str,
    card: &ValidCard,
    settings: &CardSettings,
) -> Result<Option<PaymentRecord>, Failure> {
    let ready = transition::step(deps.store, deps.clock, id, |p, now| {
        (p.status == Status::EnteringCardDetails).then(|| {
            Move::to(
                p,
                Status::AuthorisationReady,
                EventKind::PaymentDetailsEntered,
                now,
            )
            .with(|next| {
                next.card = Some(card.details());
                if card.email.is_some() {
                    next.email = card.email.clone();
                }
                next.corporate_surcharge = Some(settings.surcharge(&card.info)).filter(|s| *s > 0);
            })
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
    ready: Option<Applied>,
    ask: Ask<'_>,
) -> Result<Option<PaymentRecord>, Failure> {
    let Some(ready) = ready else {
        return Ok(None);
    };
    if !ready.changed {
        return Ok(Some(ready.payment));
    }
    let ready = ready.payment;
    let outcome = match ask {
        Ask::Card(card) => deps.psp.authorise(&ready, card).await,
        Ask::ThreeDs { passed } => deps.psp.authorise_3ds(&ready, passed).await,
    };
    settle_authorisation(deps, ready, outcome).await.map(Some)
}

/// Finishes an authorisation whose answer was never stored (a crash between storing the
/// waiting state and the provider's answer): the provider is asked what became of it, and
/// its answer is stored as if it had come the first time. The recovery sweep calls this.
pub async fn resume_authorisation(
    deps: Deps<'_>,
    stuck: PaymentRecord,
) -> Result<PaymentRecord, Failure> {
    let outcome = deps.psp.authorisation_status(&stuck).await;
    settle_authorisation(deps, stuck, outcome).await
}

/// Stores the provider's answer on a payment it was asked about. If the payment moved on
/// meanwhile (the service cancelled it), the answer is dropped and an authorisation voided.
async fn settle_authorisation(
    deps: Deps<'_>,
    asked: PaymentRecord,
    outcome: Authorisation,
) -> Result<PaymentRecord, Failure> {
    let (status, kind, provider_id) = match &outcome {
        Authorisation::Authorised { provider_id } => (
            Status::AuthorisationSuccess,
            EventKind::AuthorisationSucceeded,
            Some(provider_id.clone()),
        ),
        Authorisation::ThreeDsRequired { provider_id } => (
            Status::Authorisation3dsRequired,
            EventKind::GatewayRequires3dsAuthorisation,
            Some(provider_id.clone()),
        ),
        Authorisation::Rejected { provider_id } => (
            Status::AuthorisationRejected,
            EventKind::AuthorisationRejected,
            Some(provider_id.clone()),
        ),
        Authorisation::Error { message } => {
            tracing::warn!(payment_id = %asked.id, %message, "payment provider error");
            (
                Status::AuthorisationError,
                EventKind::GatewayErrorDuringAuthorisation,
                asked.provider_id.clone(),
            )
        }
    };
    let settled = transition::step(deps.store, deps.clock, &asked.id, |p, now| {
        (p.status == asked.status).then(|| {
            Move::to(p, status, kind, now).with(|next| {
                next.provider_id = provider_id.clone();
                next.three_ds_required |= status == Status::Authorisation3dsRequired;
            })
        })
    })
    .await?
    .ok_or(Failure::Refused(crate::refusal::Refusal::NotFound))?;
    if !settled.changed {
        if let Authorisation::Authorised { provider_id } = &outcome {
            let mut authorised = settled.payment.clone();
            authorised.provider_id = Some(provider_id.clone());
            let _ = deps.psp.cancel(&authorised).await;
        }
    }
    Ok(settled.payment)
}

/// The cardholder's answer to the 3-D Secure challenge. Only a payment waiting for it moves
/// (so the signed return value is single use); the provider then decides.
pub async fn three_ds_result(
    deps: Deps<'_>,
    id: &str,
    passed: bool,
) -> Result<Option<PaymentRecord>, Failure> {
    let ready = transition::step(deps.store, deps.clock, id, |p, now| {
        (p.status == Status::Authorisation3dsRequired).then(|| {
            Move::to(
                p,
                Status::Authorisation3dsReady,
                EventKind::ThreeDsResultReceived,
                now,
            )
        })
    })
    .await?;
    ask_provider(deps, ready, Ask::ThreeDs { passed }).await
}

/// "Confirm payment": an authorised payment is approved for capture, or waits for the
/// service's capture request when it was created with `delayed_capture`; a payment made to
/// set up an agreement makes it active with the card, in the same transaction.
pub async fn confirm(deps: Deps<'_>, id: &str) -> Result<Option<PaymentRecord>, Failure> {
    // The confirmation email is written with the change, if the service sends one.
    let service = match deps.store.journey_payment(id).await? {
        Some(p) => deps.store.service(&p.service_id).await?,
        None => None,
    };
    let done = transition::step(deps.store, deps.clock, id, |p, now| {
        (p.status == Status::AuthorisationSuccess).then(|| {
            let confirmed = if p.delayed_capture {
                Move::to(
                    p,
                    Status::AwaitingCaptureRequest,
                    EventKind::UserApprovedForCaptureAwaitingServiceApproval,
                    now,
                )
            } else {
                Move::to(
                    p,
                    Status::CaptureApproved,
                    EventKind::UserApprovedForCapture,
                    now,
                )
            };
            let confirmed = confirmed.emailing(
                service
                    .as_ref()
                    .and_then(|s| crate::emails::payment_confirmed(s, p, now)),
            );
            // A web payment made to set up an agreement saves its card on the agreement
            // as the user confirms (reference §7).
            if p.agreement_id.is_some() && p.authorisation_mode == AuthorisationMode::Web {
                confirmed.setting_up_agreement()
            } else {
                confirmed
            }
        })
    })
    .await?;
    Ok(done.map(|a| a.payment))
}

/// The user's "Cancel payment": before authorisation straight to USER CANCELLED; after it
/// through USER CANCEL READY and the provider's void.
pub async fn user_cancel(deps: Deps<'_>, id: &str) -> Result<Option<PaymentRecord>, Failure> {
    use Status::*;
    let done = transition::step(deps.store, deps.clock, id, |p, now| {
        let status = match p.status {
            Created | EnteringCardDetails => UserCancelled,
            AuthorisationSuccess | Authorisation3dsRequired | Authorisation3dsReady => {
                UserCancelReady
            }
            _ => return None,
        };
        Some(Move::to(p, status, EventKind::CancelledByUser, now))
    })
    .await?;
    let Some(done) = done else {
        return Ok(None);
    };
    if !(done.changed && done.payment.status == UserCancelReady) {
        return Ok(Some(done.payment));
    }
    let _ = deps.psp.cancel(&done.payment).await;
    let done = transition::step(deps.store, deps.clock, id, |p, now| {
        (p.status == UserCancelReady)
            .then(|| Move::to(p, UserCancelled, EventKind::CancelledByUser, now))
    })
    .await?;
    Ok(done.map(|a| a.payment))
}
