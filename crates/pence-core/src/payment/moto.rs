//! `POST /v1/auth` (reference §8): spends a `moto_api` payment's one-time token and
//! authorises the card the service's staff passed; an authorised payment is queued for
//! capture in the same transaction, as GOV.UK Pay captures these automatically.

use serde_json::Value;

use crate::journey::card::ValidCard;
use crate::journey::next_url::TokenSigner;
use crate::journey::{token_hash, Deps};
use crate::ledger::EventKind;
use crate::payment::moto_api::{self, MotoRefusal};
use crate::payment::status::Status;
use crate::payment::transition::{self, Move};
use crate::payment::{AuthorisationMode, PaymentRecord};
use crate::psp::Authorisation;
use crate::refusal::{Failure, Refusal};

fn refused(r: MotoRefusal) -> Failure {
    Failure::Refused(Refusal::Moto(r))
}

/// Authorises the card of the payment `body`'s token names: `Ok` when authorised (204), else
/// GOV.UK Pay's refusal. The token is spent before the card is looked at, so a refused card
/// spends it too.
pub async fn authorise(deps: Deps<'_>, signer: &TokenSigner, body: &Value) -> Result<(), Failure> {
    let request = moto_api::parse(body).map_err(refused)?;
    moto_api::check_format(&request, deps.clock.now_ms()).map_err(refused)?;
    let token = request.one_time_token.as_str();
    let payment = match signer.verify(token) {
        Some(claims) => deps.store.journey_payment(&claims.payment_id).await?,
        None => None,
    };
    let Some(payment) = payment else {
        return Err(refused(MotoRefusal::TokenInvalid(
            "The one_time_token is not valid",
        )));
    };
    if payment.authorisation_mode != AuthorisationMode::MotoApi {
        return Err(refused(MotoRefusal::TokenInvalid(
            "The one_time_token is not a valid moto api token",
        )));
    }
    let first_use = deps
        .store
        .claim_token(&token_hash(token), &payment.id, deps.clock.now_ms())
        .await?;
    // A token of a payment already authorised, cancelled or expired can no more be used
    // than a spent one (unconfirmed how GOV.UK Pay words this; its tokens go with the
    // payment's start).
    if !first_use || payment.status != Status::Created {
        return Err(refused(MotoRefusal::TokenUsed));
    }
    let service = deps
        .store
        .service(&payment.service_id)
        .await?
        .ok_or(Failure::Refused(Refusal::NotFound))?;
    // From here on the payment's changes are dated by its service's clock.
    let clock = service.clock(deps.clock);
    let deps = Deps {
        clock: &clock,
        ..deps
    };
    let info = match moto_api::check_card(&request.card_number, &service.cards) {
        Ok(info) => info,
        Err(rejection) => {
            reject_unchecked(deps, &payment).await?;
            return Err(refused(rejection));
        }
    };
    let card = ValidCard {
        number: request.card_number.clone(),
        info,
        expiry: request.expiry_date.clone(),
        cardholder_name: request.cardholder_name.clone(),
        address: None,
        email: None,
    };
    let ready = transition::step(deps.store, deps.clock, &payment.id, |p, now| {
        (p.status == Status::Created).then(|| {
            Move::to(
                p,
                Status::AuthorisationReady,
                EventKind::PaymentDetailsSubmittedByApi,
                now,
            )
            .with(|next| next.card = Some(card.details()))
        })
    })
    .await?;
    let Some(ready) = ready.and_then(|a| a.moved()) else {
        // The service cancelled it, or the sweep expired it, meanwhile.
        return Err(refused(MotoRefusal::TokenUsed));
    };
    let outcome = deps.psp.authorise(&ready, &card).await;
    match settle(deps, &ready, &outcome).await? {
        Status::CaptureQueued => Ok(()),
        Status::AuthorisationRejected => Err(refused(MotoRefusal::Rejected(
            "The payment was rejected".into(),
        ))),
        _ => Err(refused(MotoRefusal::ProviderError)),
    }
}

/// A card refused before the provider saw it: the payment is rejected.
async fn reject_unchecked(deps: Deps<'_>, payment: &PaymentRecord) -> Result<(), Failure> {
    transition::step(deps.store, deps.clock, &payment.id, |p, now| {
        (p.status == Status::Created).then(|| {
            Move::to(
                p,
                Status::AuthorisationRejected,
                EventKind::AuthorisationRejected,
                now,
            )
        })
    })
    .await?;
    Ok(())
}

/// Finishes an authorisation whose answer was lost (the lost-answer sweep): the provider is
/// asked again and its answer stored as if it had come the first time.
pub async fn resume(
    deps: Deps<'_>,
    stuck: PaymentRecord,
) -> Result<Option<PaymentRecord>, Failure> {
    if stuck.status != Status::AuthorisationReady {
        return Ok(None);
    }
    let outcome = deps.psp.authorisation_status(&stuck).await;
    let status = settle(deps, &stuck, &outcome).await?;
    Ok(Some(PaymentRecord { status, ..stuck }))
}

/// Stores the provider's answer on a payment waiting for it; the status it ends in.
/// Authorised payments go on to CAPTURE QUEUED in the same transaction. The staff member
/// is not there to answer a 3-D Secure challenge, and MOTO payments are outside its scope:
/// the sandbox's challenge card counts as authorised.
async fn settle(
    deps: Deps<'_>,
    ready: &PaymentRecord,
    outcome: &Authorisation,
) -> Result<Status, Failure> {
    use Status::*;
    let settled = transition::step(deps.store, deps.clock, &ready.id, |p, now| {
        (p.status == AuthorisationReady).then(|| match outcome {
            Authorisation::Authorised { provider_id }
            | Authorisation::ThreeDsRequired { provider_id } => {
                crate::agreement::recurring::authorised_and_queued(p, provider_id, now)
            }
            Authorisation::Rejected { provider_id } => Move::to(
                p,
                AuthorisationRejected,
                EventKind::AuthorisationRejected,
                now,
            )
            .with(|next| next.provider_id = Some(provider_id.clone())),
            Authorisation::Error { .. } => Move::to(
                p,
                AuthorisationError,
                EventKind::GatewayErrorDuringAuthorisation,
                now,
            ),
        })
    })
    .await?;
    Ok(settled.map_or(ready.status, |a| a.payment.status))
}
