//! Agreements for recurring payments (reference §7): create, find, search, cancel.

use serde_json::Value;

use crate::agreement::{self, AgreementFilter, AgreementRecord, AgreementStatus};
use crate::clock::Clock;
use crate::ids;
use crate::ledger::EventKind;
use crate::payment::transition::TRIES;
use crate::ports::{AgreementStore, StoreError};
use crate::refusal::{Failure, Refusal};
use crate::service::Service;
use crate::staff::Actor;

use crate::search::queries::Found;

/// `POST /v1/agreements`: the body's rules first, then whether the service takes recurring
/// payments (422 P0942), as GOV.UK Pay's API checks before its connector.
pub async fn create_agreement(
    store: &dyn AgreementStore,
    clock: &dyn Clock,
    service: &Service,
    body: &Value,
) -> Result<AgreementRecord, Failure> {
    let request = agreement::parse_request(body)?;
    if service.disabled {
        return Err(Refusal::AccountDisabled.into());
    }
    if !service.recurring_enabled {
        return Err(Refusal::RecurringNotEnabled.into());
    }
    let record = AgreementRecord {
        id: ids::new_id(),
        service_id: service.id.clone(),
        reference: request.reference,
        description: request.description,
        user_identifier: request.user_identifier,
        status: AgreementStatus::Created,
        created_ms: clock.now_ms(),
        cancelled_ms: None,
        instrument: None,
        version: 1,
    };
    store
        .insert_agreement(&record, EventKind::AgreementCreated)
        .await?;
    Ok(record)
}

/// The service's agreement, or `NotFound`.
pub async fn find_agreement(
    store: &dyn AgreementStore,
    service: &Service,
    id: &str,
) -> Result<AgreementRecord, Failure> {
    if !ids::could_be_id(id) {
        return Err(Refusal::NotFound.into());
    }
    store
        .agreement(&service.id, id)
        .await?
        .ok_or(Failure::Refused(Refusal::NotFound))
}

/// `POST /v1/agreements/{id}/cancel`: only an agreement with an active card can be cancelled
/// (400 P2501 otherwise, cancelled ones included); a race with another change is judged again.
pub async fn cancel_agreement(
    store: &dyn AgreementStore,
    clock: &dyn Clock,
    actor: Actor<'_>,
    service: &Service,
    id: &str,
) -> Result<(), Failure> {
    for _ in 0..TRIES {
        let current = find_agreement(store, service, id).await?;
        if current.status != AgreementStatus::Active {
            return Err(Refusal::AgreementNotActive.into());
        }
        let now = clock.now_ms();
        let next = AgreementRecord {
            status: AgreementStatus::Cancelled,
            cancelled_ms: Some(now),
            ..current.clone()
        };
        let detail = format!("cancelled agreement {id}");
        let audit = actor.entry(clock, Some(&service.id), "agreement", detail);
        let kind = EventKind::AgreementCancelledByService;
        match store
            .update_agreement(&current, &next, kind, now, audit.as_ref())
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Refusal::Conflict.into())
}

/// `GET /v1/agreements`: one page of the service's agreements, newest first.
pub async fn search_agreements(
    store: &dyn AgreementStore,
    service: &Service,
    params: &[(String, String)],
) -> Result<Found<AgreementFilter, AgreementRecord>, Failure> {
    let s = agreement::parse_search(params)?;
    let (total, rows) = store
        .search_agreements(&service.id, &s.filter, s.display_size, s.offset())
        .await?;
    if s.past_the_end(total) {
        return Err(Refusal::PageNotFound.into());
    }
    Ok((s, total, rows))
}
