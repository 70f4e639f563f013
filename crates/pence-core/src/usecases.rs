//! Use cases of the public API: what a request does, independent of HTTP and SQL.

use pence_wire::{ApiError, ErrorCode};
use serde_json::Value;

use crate::api_key::{self, ApiKeyRecord};
use crate::clock::Clock;
use crate::create_payment::{check_for_service, parse_request};
use crate::dispute::DisputeRecord;
use crate::ids;
use crate::payment::{LedgerEvent, PaymentRecord};
use crate::ports::{Store, StoreError};
use crate::psp::{PaymentProvider, RefundOutcome};
use crate::refund::{self, RefundRecord, RefundStatus};
use crate::search::{Dates, DisputeFilter, PaymentFilter, Search};
use crate::service::Service;
use crate::status::Status;

/// A use case's failure: GOV.UK Pay's answer, or a store fault (answered as the endpoint's
/// "Downstream system error" by the HTTP layer).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{}", .0.body.description)]
    Api(ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

/// Validates a create-payment body for `service` and stores the new payment with its
/// `PAYMENT_CREATED` event.
pub async fn create_payment(
    store: &dyn Store,
    clock: &dyn Clock,
    service: &Service,
    body: &Value,
) -> Result<PaymentRecord, Failure> {
    let request = parse_request(body)?;
    check_for_service(&request, service)?;
    let now = clock.now_ms();
    let payment = PaymentRecord {
        id: ids::new_id(),
        service_id: service.id.clone(),
        amount: request.amount,
        reference: request.reference,
        description: request.description,
        return_url: request.return_url,
        language: request.language,
        email: request.email,
        delayed_capture: request.delayed_capture,
        moto: request.moto,
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
    };
    let event = LedgerEvent::for_payment(&payment, "PAYMENT_CREATED", now);
    store.insert_payment(&payment, &event).await?;
    Ok(payment)
}

/// The payment, or GOV.UK Pay's 404 with the endpoint's code.
pub async fn find_payment(
    store: &dyn Store,
    service: &Service,
    id: &str,
    not_found: ErrorCode,
) -> Result<PaymentRecord, Failure> {
    store
        .payment(&service.id, id)
        .await?
        .ok_or_else(|| Failure::Api(ApiError::plain(404, not_found)))
}

/// The instance's secrets, shared by every node on the database.
#[derive(Clone)]
pub struct Secrets {
    /// Signs next_url tokens.
    pub token: Vec<u8>,
    /// Keys the API-key checksum.
    pub api_key: Vec<u8>,
    /// Encrypts the paying user's session cookie (64 bytes).
    pub session: Vec<u8>,
}

fn fresh_secret(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

pub async fn secrets(store: &dyn Store) -> Result<Secrets, StoreError> {
    Ok(Secrets {
        token: store.secret("next_url_token", &fresh_secret(32)).await?,
        api_key: store.secret("api_key_checksum", &fresh_secret(32)).await?,
        session: store.secret("session_cookie", &fresh_secret(64)).await?,
    })
}

/// A new sandbox service (test unless `live`).
pub async fn create_service(
    store: &dyn Store,
    clock: &dyn Clock,
    name: &str,
    live: bool,
) -> Result<Service, StoreError> {
    let service = Service::new_sandbox(ids::new_id(), name.to_string(), live, clock.now_ms());
    store.insert_service(&service).await?;
    Ok(service)
}

/// A new API key for `service`: the record stored and the key itself, which is shown once.
pub async fn create_api_key(
    store: &dyn Store,
    clock: &dyn Clock,
    secrets: &Secrets,
    service: &Service,
    description: &str,
) -> Result<(ApiKeyRecord, String), StoreError> {
    let key = api_key::generate(&secrets.api_key, service.live);
    let record = ApiKeyRecord {
        id: ids::new_id(),
        service_id: service.id.clone(),
        token_hash: api_key::hash(&key),
        display_prefix: api_key::display_prefix(&key),
        description: description.to_string(),
        created_ms: clock.now_ms(),
        revoked_ms: None,
    };
    store.insert_api_key(&record).await?;
    Ok((record, key))
}

/// On an empty database, creates the sandbox service and its first test key.
pub async fn bootstrap(
    store: &dyn Store,
    clock: &dyn Clock,
    secrets: &Secrets,
) -> Result<Option<(Service, String)>, StoreError> {
    if !store.services().await?.is_empty() {
        return Ok(None);
    }
    let service = create_service(store, clock, "Sandbox service", false).await?;
    let (_, key) =
        create_api_key(store, clock, secrets, &service, "created at first start").await?;
    Ok(Some((service, key)))
}

/// The service `key create` uses when none is named: the first test service on the sandbox.
pub async fn default_service(store: &dyn Store) -> Result<Option<Service>, StoreError> {
    Ok(store
        .services()
        .await?
        .into_iter()
        .find(|s| !s.live && s.payment_provider == "sandbox"))
}

/// How many times a use case re-reads a payment that changed under it before giving up.
const RETRIES: usize = 5;

/// What a state-changing use case decides on reading a payment.
enum Decision {
    /// Nothing to change (an idempotent repeat).
    Done,
    /// Move to this status, writing these ledger events.
    Change(Status, Vec<LedgerEvent>),
}

/// Reads the payment, lets `decide` judge it, and applies the change conditionally. A change
/// that lost a race (another request changed the payment first) is judged again on a fresh
/// read, so the loser answers for the state it finds; `gave_up` if it keeps losing. The
/// payment as changed, or `None` when there was nothing to do.
async fn transition(
    store: &dyn Store,
    clock: &dyn Clock,
    service: &Service,
    id: &str,
    not_found: ErrorCode,
    gave_up: ApiError,
    decide: impl Fn(&PaymentRecord, i64) -> Result<Decision, ApiError>,
) -> Result<Option<PaymentRecord>, Failure> {
    for _ in 0..RETRIES {
        let payment = find_payment(store, service, id, not_found).await?;
        let now = clock.now_ms();
        let (next, events) = match decide(&payment, now)? {
            Decision::Done => return Ok(None),
            Decision::Change(next, events) => (next, events),
        };
        let mut changed = payment.clone();
        changed.status = next;
        changed.updated_ms = now;
        match store.update_payment(&payment, &changed, &events).await {
            Ok(()) => return Ok(Some(changed)),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(gave_up.into())
}

/// `POST /v1/payments/{id}/cancel` (reference §6.2): the service cancels a payment that is not
/// finished. Pre-authorisation payments move straight to SYSTEM CANCELLED; authorised ones
/// are stored as SYSTEM CANCEL READY before the provider is asked to void them, then become
/// SYSTEM CANCELLED. A race with the paying user or another cancel has one winner.
pub async fn cancel_payment(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    service: &Service,
    id: &str,
) -> Result<(), Failure> {
    use Status::*;
    let gave_up = || ApiError::plain(409, ErrorCode::CANCEL_PAYMENT_CONFLICT);
    let not_found = ErrorCode::CANCEL_PAYMENT_NOT_FOUND;
    let cancelled = |p: &PaymentRecord, status, now| {
        LedgerEvent::new(p, "CANCELLED_BY_EXTERNAL_SERVICE", status, now)
    };
    let first = transition(store, clock, service, id, not_found, gave_up(), |p, now| {
        let next = match p.status {
            Created | EnteringCardDetails | AuthorisationReady => SystemCancelled,
            Authorisation3dsRequired
            | Authorisation3dsReady
            | AuthorisationSuccess
            | AwaitingCaptureRequest => SystemCancelReady,
            // GOV.UK Pay's connector answers 202 for a cancel already under way, which its
            // public API maps to a 500.
            SystemCancelReady | SystemCancelSubmitted => {
                return Err(ApiError::plain(500, ErrorCode::CANCEL_PAYMENT_CONNECTOR))
            }
            _ => return Err(ApiError::plain(400, ErrorCode::CANCEL_PAYMENT_FAILED)),
        };
        Ok(Decision::Change(next, vec![cancelled(p, next, now)]))
    })
    .await?;
    let Some(ready) = first.filter(|p| p.status == SystemCancelReady) else {
        return Ok(());
    };
    if let Err(message) = psp.cancel(&ready).await {
        tracing::warn!(payment_id = %ready.id, %message, "void failed; cancelled anyway");
    }
    transition(store, clock, service, id, not_found, gave_up(), |p, now| {
        Ok(match p.status {
            SystemCancelReady => {
                Decision::Change(SystemCancelled, vec![cancelled(p, SystemCancelled, now)])
            }
            _ => Decision::Done,
        })
    })
    .await?;
    Ok(())
}

/// `POST /v1/payments/{id}/capture` (reference §6.1): a delayed-capture payment awaiting
/// capture is approved for capture; one already approved or captured is a no-op (204 again);
/// anything else cannot be captured (409 P1003).
pub async fn capture_payment(
    store: &dyn Store,
    clock: &dyn Clock,
    service: &Service,
    id: &str,
) -> Result<(), Failure> {
    use Status::*;
    let refused = ApiError::plain(409, ErrorCode::CAPTURE_NOT_CAPTURABLE);
    transition(
        store,
        clock,
        service,
        id,
        ErrorCode::CAPTURE_NOT_FOUND,
        refused.clone(),
        |p, now| match p.status {
            AwaitingCaptureRequest => Ok(Decision::Change(
                CaptureApproved,
                vec![LedgerEvent::new(
                    p,
                    "SERVICE_APPROVED_FOR_CAPTURE",
                    CaptureApproved,
                    now,
                )],
            )),
            CaptureApproved | CaptureApprovedRetry | CaptureReady | CaptureSubmitted | Captured => {
                Ok(Decision::Done)
            }
            _ => Err(refused.clone()),
        },
    )
    .await?;
    Ok(())
}

/// The payment and its ledger events, for `GET /v1/payments/{id}/events`.
pub async fn payment_events(
    store: &dyn Store,
    service: &Service,
    id: &str,
) -> Result<(PaymentRecord, Vec<LedgerEvent>), Failure> {
    let payment = find_payment(store, service, id, ErrorCode::GET_PAYMENT_EVENTS_NOT_FOUND).await?;
    let events = store.payment_events(&service.id, id).await?;
    Ok((payment, events))
}

/// `POST /v1/payments/{id}/refunds` (reference §5.2). The refund is stored as submitted
/// (the store's conditional update settles concurrent refunds: a refund that lost a race
/// re-reads the payment and is judged again, so each retry means another refund or state
/// change went through), then the provider is asked: the sandbox refunds at once, so the
/// answer is already `success`, except for the refund-error card, whose refunds stay
/// submitted until the refund sweep records their failure.
pub async fn create_refund(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    service: &Service,
    payment_id: &str,
    body: &Value,
) -> Result<RefundRecord, Failure> {
    let request = refund::parse_request(body)?;
    let (payment, mut record) = loop {
        let payment = find_payment(
            store,
            service,
            payment_id,
            ErrorCode::CREATE_REFUND_NOT_FOUND,
        )
        .await?;
        if service.disabled {
            return Err(ApiError::plain(403, ErrorCode::ACCOUNT_DISABLED).into());
        }
        if let Some(refused) = refund::refusal(&payment, &request) {
            return Err(refused.into());
        }
        let now = clock.now_ms();
        let record = RefundRecord {
            id: ids::new_id(),
            payment_id: payment.id.clone(),
            service_id: payment.service_id.clone(),
            amount: request.amount,
            status: RefundStatus::Submitted,
            created_ms: now,
        };
        let created = LedgerEvent::for_payment(&payment, "REFUND_CREATED_BY_SERVICE", now);
        match store.insert_refund(&payment, &record, &[created]).await {
            Ok(()) => break (payment, record),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let outcome = psp.refund(&payment, record.amount).await;
    if let Some(status) = finish_refund(store, clock, &payment, &record, outcome).await? {
        record.status = status;
    }
    Ok(record)
}

/// Records the provider's final answer on a submitted refund; `None` while it is pending or
/// when another node recorded it first.
pub(crate) async fn finish_refund(
    store: &dyn Store,
    clock: &dyn Clock,
    payment: &PaymentRecord,
    record: &RefundRecord,
    outcome: RefundOutcome,
) -> Result<Option<RefundStatus>, StoreError> {
    let (status, event_type) = match outcome {
        RefundOutcome::Pending => return Ok(None),
        RefundOutcome::Succeeded => (RefundStatus::Success, "REFUND_SUCCEEDED"),
        RefundOutcome::Failed => (RefundStatus::Error, "REFUND_ERROR"),
    };
    let now = clock.now_ms();
    let event = LedgerEvent::for_payment(payment, event_type, now);
    // The webhook's resource shows the payment as it is now, other refunds included.
    let mut after = store
        .payment(&payment.service_id, &payment.id)
        .await?
        .unwrap_or_else(|| payment.clone());
    if status == RefundStatus::Error {
        after.refund_submitted -= record.amount;
    }
    match store
        .finish_refund(record, status, &[event], now, &after)
        .await
    {
        Ok(()) => Ok(Some(status)),
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A payment's refunds, or the endpoint's 404 for an unknown payment.
pub async fn refunds(
    store: &dyn Store,
    service: &Service,
    payment_id: &str,
) -> Result<Vec<RefundRecord>, Failure> {
    find_payment(store, service, payment_id, ErrorCode::GET_REFUNDS_NOT_FOUND).await?;
    Ok(store.refunds(&service.id, payment_id).await?)
}

/// One refund of a payment, or 404 P0700.
pub async fn refund(
    store: &dyn Store,
    service: &Service,
    payment_id: &str,
    refund_id: &str,
) -> Result<RefundRecord, Failure> {
    store
        .refunds(&service.id, payment_id)
        .await?
        .into_iter()
        .find(|r| r.id == refund_id)
        .ok_or_else(|| ApiError::plain(404, ErrorCode::GET_REFUND_NOT_FOUND).into())
}

/// One page of search results: the search, how many match in all, the page's rows.
pub type Found<F, R> = (Search<F>, u64, Vec<R>);

/// The search's page, or `past_end` when it lies beyond the last one.
fn found<F, R>(
    search: Search<F>,
    (total, rows): (u64, Vec<R>),
    past_end: ErrorCode,
) -> Result<Found<F, R>, Failure> {
    if search.past_the_end(total) {
        return Err(ApiError::plain(404, past_end).into());
    }
    Ok((search, total, rows))
}

/// `GET /v1/payments` (reference §11, §12): one page of the service's payments, newest first.
pub async fn search_payments(
    store: &dyn Store,
    service: &Service,
    params: &[(String, String)],
) -> Result<Found<PaymentFilter, PaymentRecord>, Failure> {
    let search = crate::search::parse_payment_search(params)?;
    let rows = store
        .search_payments(
            &service.id,
            &search.filter,
            search.display_size,
            search.offset(),
        )
        .await?;
    found(search, rows, ErrorCode::SEARCH_PAYMENTS_NOT_FOUND)
}

/// `GET /v1/refunds` (reference §11, §12): one page of the service's refunds, newest first.
pub async fn search_refunds(
    store: &dyn Store,
    service: &Service,
    params: &[(String, String)],
) -> Result<Found<Dates, RefundRecord>, Failure> {
    let search = crate::search::parse_refund_search(params)?;
    let rows = store
        .search_refunds(
            &service.id,
            &search.filter,
            search.display_size,
            search.offset(),
        )
        .await?;
    found(search, rows, ErrorCode::SEARCH_REFUNDS_NOT_FOUND)
}

/// `GET /v1/disputes`: one page of the service's disputes, newest first.
pub async fn search_disputes(
    store: &dyn Store,
    service: &Service,
    params: &[(String, String)],
) -> Result<Found<DisputeFilter, DisputeRecord>, Failure> {
    let search = crate::search::parse_dispute_search(params)?;
    let rows = store
        .search_disputes(
            &service.id,
            &search.filter,
            search.display_size,
            search.offset(),
        )
        .await?;
    found(search, rows, ErrorCode::SEARCH_PAYMENTS_NOT_FOUND)
}
