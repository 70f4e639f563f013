//! The service's payment operations: create, find, cancel, capture, events.

use serde_json::Value;

use crate::agreement::AgreementStatus;
use crate::clock::Clock;
use crate::ids;
use crate::ledger::record::Record;
use crate::ledger::{EventKind, LedgerEvent};
use crate::payment::create::{check_for_service, parse_request};
use crate::payment::idempotency::{self, IdempotencyKey};
use crate::payment::status::Status;
use crate::payment::transition::{self, Move, Target};
use crate::payment::{AuthorisationMode, PaymentRecord};
use crate::ports::{PaymentStore, Store, StoreError};
use crate::psp::PaymentProvider;
use crate::refusal::{Failure, Invalid, Refusal};
use crate::service::Service;
use crate::staff::Actor;

/// What a create did: a new payment, or the one an `Idempotency-Key` already created.
#[derive(Debug, Clone)]
pub enum Created {
    New(PaymentRecord),
    Replayed(PaymentRecord),
}

/// Validates a create-payment body for `service` and stores the new payment with its
/// `PAYMENT_CREATED` event. `idempotency_key` (already checked for shape) is honoured for
/// payments of an agreement only, as GOV.UK Pay does.
pub async fn create_payment(
    store: &dyn Store,
    clock: &dyn Clock,
    service: &Service,
    body: &Value,
    idempotency_key: Option<&str>,
) -> Result<Created, Failure> {
    let extras = Extras::default();
    create_payment_through(store, clock, service, body, idempotency_key, extras).await
}

/// What a payment made other than by the API brings to its creation.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    /// The payment's id, chosen before (its return URL names it).
    pub id: Option<String>,
    /// The payment link taking it (its payment id left empty, filled here), written in the
    /// payment's transaction.
    pub link: Option<crate::link::LinkPayment>,
    /// The audit row of the staff action taking it, written in the payment's transaction.
    pub audit: Option<crate::staff::AuditEntry>,
}

/// `create_payment`, with `extras`.
pub(crate) async fn create_payment_through(
    store: &dyn Store,
    clock: &dyn Clock,
    service: &Service,
    body: &Value,
    idempotency_key: Option<&str>,
    extras: Extras,
) -> Result<Created, Failure> {
    let request = parse_request(body)?;
    check_for_service(&request, service)?;
    let now = clock.now_ms();
    let idempotency_key = match (request.authorisation_mode, idempotency_key) {
        (AuthorisationMode::Agreement, Some(key)) => {
            let fingerprint = idempotency::fingerprint(&request);
            if let Some(used) = store.idempotency_key(&service.id, key).await? {
                if used.live(now) {
                    if used.fingerprint != fingerprint {
                        return Err(Refusal::IdempotencyKeyUsed.into());
                    }
                    let first = store.payment(&service.id, &used.payment_id).await?;
                    return first.map(Created::Replayed).ok_or_else(|| {
                        StoreError::database("an idempotency key names a missing payment").into()
                    });
                }
            }
            Some((key.to_string(), fingerprint))
        }
        _ => None,
    };
    // The agreement a web payment sets up must be the service's (GOV.UK Pay's connector
    // answers 400, giving P0102 on agreement_id).
    if let Some(id) = &request.set_up_agreement {
        let known = ids::could_be_id(id) && store.agreement(&service.id, id).await?.is_some();
        if !known {
            return Err(Invalid::malformed("agreement_id", "Agreement does not exist").into());
        }
    }
    // An agreement payment takes the agreement's card: the agreement must have one.
    if let (AuthorisationMode::Agreement, Some(id)) =
        (request.authorisation_mode, &request.agreement_id)
    {
        let agreement = match ids::could_be_id(id) {
            true => store.agreement(&service.id, id).await?,
            false => None,
        };
        match agreement {
            None => {
                return Err(Invalid::malformed("agreement_id", "Agreement does not exist").into())
            }
            Some(a) if a.status != AgreementStatus::Active => {
                return Err(Invalid::malformed("agreement_id", "Agreement must be active").into())
            }
            Some(_) => {}
        }
    }
    let agreement_id = request
        .set_up_agreement
        .clone()
        .or(request.agreement_id.clone());
    let agreement_payment_type = agreement_id.as_ref().map(|_| {
        request
            .agreement_payment_type
            .clone()
            .unwrap_or_else(|| "recurring".into())
    });
    let mut payment = PaymentRecord {
        id: extras.id.unwrap_or_else(ids::new_id),
        service_id: service.id.clone(),
        amount: request.amount,
        reference: request.reference,
        description: request.description,
        return_url: request.return_url,
        language: request.language,
        email: request.email,
        delayed_capture: request.delayed_capture,
        // GOV.UK Pay stores MOTO API payments as MOTO.
        moto: request.moto || request.authorisation_mode == AuthorisationMode::MotoApi,
        authorisation_mode: request.authorisation_mode,
        metadata: request.metadata,
        prefilled: request.prefilled.unwrap_or_default(),
        payment_provider: service.payment_provider.clone(),
        status: Status::Created,
        refund_submitted: 0,
        created_ms: now,
        updated_ms: now,
        version: 1,
        card: None,
        provider_id: None,
        three_ds_required: false,
        corporate_surcharge: None,
        capture_submit_ms: None,
        captured_ms: None,
        settled_ms: None,
        disputed: false,
        dispute_due_ms: None,
        agreement_id,
        agreement_payment_type,
        can_retry: None,
    };
    let mut events = vec![LedgerEvent::for_payment(
        &payment,
        EventKind::PaymentCreated,
        now,
    )];
    // Agreement payments are queued for authorisation at once, in the same transaction
    // (`recurring` takes them from there).
    if payment.authorisation_mode == AuthorisationMode::Agreement {
        payment.status = Status::AuthorisationUserNotPresentQueued;
        events.push(LedgerEvent::for_payment(
            &payment,
            EventKind::AuthorisationUserNotPresentQueued,
            now,
        ));
    }
    let mut record = Record::of(events, &payment);
    record.idempotency_key = idempotency_key.map(|(key, fingerprint)| IdempotencyKey {
        service_id: service.id.clone(),
        key,
        fingerprint,
        payment_id: payment.id.clone(),
        created_ms: now,
    });
    record.link = extras.link.map(|mut l| {
        l.payment_id = payment.id.clone();
        l
    });
    record.audit = extras.audit;
    match store.insert_payment(&payment, &record).await {
        Ok(()) => Ok(Created::New(payment)),
        // Another create with the same key got there first: GOV.UK Pay's connector answers
        // its unique-key race 409 too, not a replay (reference §9), so this does as well.
        Err(StoreError::Duplicate) if record.idempotency_key.is_some() => {
            Err(Refusal::IdempotencyKeyUsed.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The service's payment, or `NotFound`.
pub async fn find_payment(
    store: &dyn PaymentStore,
    service: &Service,
    id: &str,
) -> Result<PaymentRecord, Failure> {
    if !ids::could_be_id(id) {
        return Err(Refusal::NotFound.into());
    }
    store
        .payment(&service.id, id)
        .await?
        .ok_or(Failure::Refused(Refusal::NotFound))
}

/// `POST /v1/payments/{id}/cancel` (reference §6.2): the service cancels a payment that is not
/// finished. Pre-authorisation payments move straight to SYSTEM CANCELLED; authorised ones
/// are stored as SYSTEM CANCEL READY before the provider is asked to void them, then become
/// SYSTEM CANCELLED. A race with the paying user or another cancel has one winner.
pub async fn cancel_payment(
    store: &dyn PaymentStore,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    actor: Actor<'_>,
    service: &Service,
    id: &str,
) -> Result<(), Failure> {
    use Status::*;
    let target = Target::Of {
        service_id: &service.id,
        id,
    };
    let first = transition::apply(store, clock, target, |p, now| {
        let next = match p.status {
            Created | EnteringCardDetails | AuthorisationReady => SystemCancelled,
            Authorisation3dsRequired
            | Authorisation3dsReady
            | AuthorisationSuccess
            | AwaitingCaptureRequest => SystemCancelReady,
            // A cancel under way in another request ends SYSTEM CANCELLED within it (the
            // sandbox voids at once; a failed void is cancelled anyway): answered as a
            // cancel after it is. GOV.UK Pay answers 500 P0598 while its provider voids,
            // which a service sending one cancel twice should not meet here.
            _ => return Err(Refusal::NotCancellable),
        };
        let detail = format!("cancel of payment {id}");
        let audit = actor.entry(clock, Some(&service.id), "cancel", detail);
        Ok(Some(
            Move::to(p, next, EventKind::CancelledByExternalService, now).audited(audit),
        ))
    })
    .await?;
    let Some(ready) = first.moved().filter(|p| p.status == SystemCancelReady) else {
        return Ok(());
    };
    if let Err(message) = psp.cancel(&ready).await {
        tracing::warn!(payment_id = %ready.id, %message, "void failed; cancelled anyway");
    }
    transition::apply(store, clock, target, |p, now| {
        Ok((p.status == SystemCancelReady).then(|| {
            Move::to(
                p,
                SystemCancelled,
                EventKind::CancelledByExternalService,
                now,
            )
        }))
    })
    .await?;
    Ok(())
}

/// `POST /v1/payments/{id}/capture` (reference §6.1): a delayed-capture payment awaiting
/// capture is approved for capture; one already approved or captured is a no-op (204 again);
/// anything else cannot be captured.
pub async fn capture_payment(
    store: &dyn PaymentStore,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service: &Service,
    id: &str,
) -> Result<(), Failure> {
    use Status::*;
    let target = Target::Of {
        service_id: &service.id,
        id,
    };
    transition::apply(store, clock, target, |p, now| match p.status {
        AwaitingCaptureRequest => {
            let detail = format!("capture of payment {id}");
            let audit = actor.entry(clock, Some(&service.id), "capture", detail);
            Ok(Some(
                Move::to(
                    p,
                    CaptureApproved,
                    EventKind::ServiceApprovedForCapture,
                    now,
                )
                .audited(audit),
            ))
        }
        CaptureApproved | CaptureApprovedRetry | CaptureReady | CaptureSubmitted | Captured => {
            Ok(None)
        }
        _ => Err(Refusal::NotCapturable),
    })
    .await?;
    Ok(())
}

/// The payment and its ledger events, for `GET /v1/payments/{id}/events`.
pub async fn payment_events(
    store: &dyn PaymentStore,
    service: &Service,
    id: &str,
) -> Result<(PaymentRecord, Vec<LedgerEvent>), Failure> {
    let payment = find_payment(store, service, id).await?;
    let events = store.payment_events(&service.id, id).await?;
    Ok((payment, events))
}
