//! Refunds of a payment: create, finish (the provider's answer), read.

use serde_json::Value;

use crate::clock::Clock;
use crate::ids;
use crate::ledger::record::Record;
use crate::ledger::{EventKind, LedgerEvent};
use crate::payment::transition::TRIES;
use crate::payment::PaymentRecord;
use crate::ports::{Store, StoreError};
use crate::psp::{PaymentProvider, RefundOutcome};
use crate::refund::{self, RefundRecord, RefundStatus};
use crate::refusal::{Failure, Refusal};
use crate::service::Service;
use crate::staff::Actor;

use crate::payment::operations::find_payment;

/// `POST /v1/payments/{id}/refunds` (reference §5.2). The refund is stored as submitted by a
/// conditional update that checks, inside the write, that the payment is still what the
/// refusal rules judged (captured, undisputed, the refunded total unchanged), so concurrent
/// refunds never exceed the amount and `refund_amount_available` holds at commit. A refund
/// that lost a race re-reads the payment and is judged again, as often as the transition gate
/// retries. Then the provider is asked: the
/// sandbox refunds at once, so the answer is already `success`, except for the refund-error
/// card, whose refunds stay submitted until the refund sweep records their failure.
pub async fn create_refund(
    store: &dyn Store,
    clock: &dyn Clock,
    psp: &dyn PaymentProvider,
    actor: Actor<'_>,
    service: &Service,
    payment_id: &str,
    body: &Value,
) -> Result<RefundRecord, Failure> {
    let request = refund::parse_request(body)?;
    let mut stored = None;
    for _ in 0..TRIES {
        let payment = find_payment(store, service, payment_id).await?;
        if service.disabled {
            return Err(Refusal::AccountDisabled.into());
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
            updated_ms: now,
            settled_ms: None,
        };
        let created = LedgerEvent::for_payment(&payment, EventKind::RefundCreatedByService, now);
        let mut after = payment.clone();
        after.refund_submitted += record.amount;
        // The total this request was judged against must still hold at commit.
        let judged_total = request
            .refund_amount_available
            .map(|_| payment.refund_submitted);
        let mut change = Record::one(created, &after);
        let detail = format!(
            "refund {} of {} on payment {payment_id}",
            record.id,
            crate::text::money(record.amount)
        );
        change.audit = actor.entry(clock, Some(&service.id), "refund", detail);
        match store
            .insert_refund(&payment, &record, judged_total, &change)
            .await
        {
            Ok(()) => {
                stored = Some((payment, record));
                break;
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let Some((payment, mut record)) = stored else {
        return Err(Refusal::Conflict.into());
    };
    let outcome = psp.refund(&payment, record.amount).await;
    if let Some(status) = finish(store, clock, &payment, &record, outcome).await? {
        record.status = status;
    }
    Ok(record)
}

/// Records the provider's final answer on a submitted refund; `None` while it is pending or
/// when another node recorded it first.
pub(crate) async fn finish(
    store: &dyn Store,
    clock: &dyn Clock,
    payment: &PaymentRecord,
    record: &RefundRecord,
    outcome: RefundOutcome,
) -> Result<Option<RefundStatus>, StoreError> {
    let (status, kind) = match outcome {
        RefundOutcome::Pending => return Ok(None),
        RefundOutcome::Succeeded => (RefundStatus::Success, EventKind::RefundSucceeded),
        RefundOutcome::Failed => (RefundStatus::Error, EventKind::RefundError),
    };
    let now = clock.now_ms();
    let event = LedgerEvent::for_payment(payment, kind, now);
    // The webhook's resource shows the payment as it is now, other refunds included.
    let mut after = store
        .payment(&payment.service_id, &payment.id)
        .await?
        .unwrap_or_else(|| payment.clone());
    if status == RefundStatus::Error {
        after.refund_submitted -= record.amount;
    }
    let mut change = Record::one(event, &after);
    if status == RefundStatus::Success {
        if let Some(service) = store.service(&payment.service_id).await? {
            change.emails.extend(crate::emails::refund_issued(
                &service,
                &after,
                record.amount,
                now,
            ));
        }
    }
    match store.finish_refund(record, status, now, &change).await {
        Ok(()) => Ok(Some(status)),
        Err(StoreError::Conflict) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A payment's refunds, or `NotFound` for an unknown payment.
pub async fn refunds(
    store: &dyn Store,
    service: &Service,
    payment_id: &str,
) -> Result<Vec<RefundRecord>, Failure> {
    find_payment(store, service, payment_id).await?;
    Ok(store.refunds(&service.id, payment_id).await?)
}

/// One refund of a payment, or `NotFound`.
pub async fn refund(
    store: &dyn Store,
    service: &Service,
    payment_id: &str,
    refund_id: &str,
) -> Result<RefundRecord, Failure> {
    if !ids::could_be_id(payment_id) || !ids::could_be_id(refund_id) {
        return Err(Refusal::NotFound.into());
    }
    store
        .refunds(&service.id, payment_id)
        .await?
        .into_iter()
        .find(|r| r.id == refund_id)
        .ok_or(Failure::Refused(Refusal::NotFound))
}
