//! Use cases of the public API: what a request does, independent of HTTP and SQL.

use pence_wire::{ApiError, ErrorCode};
use serde_json::Value;

use crate::clock::Clock;
use crate::create_payment::{check_for_service, parse_request};
use crate::ids;
use crate::payment::{LedgerEvent, PaymentRecord};
use crate::ports::{Store, StoreError};
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
        created_ms: now,
        updated_ms: now,
        version: 1,
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
