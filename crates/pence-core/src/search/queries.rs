//! The service's searches: payments, refunds, disputes (reference §11, §12).

use crate::dispute::DisputeRecord;
use crate::payment::PaymentRecord;
use crate::ports::{DisputeStore, PaymentStore, RefundStore};
use crate::refund::RefundRecord;
use crate::refusal::{Failure, Refusal};
use crate::search::{self, Dates, DisputeFilter, PaymentFilter, Search};
use crate::service::Service;

/// One page of search results: the search, how many match in all, the page's rows.
pub type Found<F, R> = (Search<F>, u64, Vec<R>);

/// The search's page, or `PageNotFound` when it lies beyond the last one.
fn found<F, R>(search: Search<F>, (total, rows): (u64, Vec<R>)) -> Result<Found<F, R>, Failure> {
    if search.past_the_end(total) {
        return Err(Refusal::PageNotFound.into());
    }
    Ok((search, total, rows))
}

/// `GET /v1/payments`: one page of the service's payments, newest first.
pub async fn search_payments(
    store: &dyn PaymentStore,
    service: &Service,
    params: &[(String, String)],
) -> Result<Found<PaymentFilter, PaymentRecord>, Failure> {
    let s = search::parse_payment_search(params)?;
    let rows = store
        .search_payments(&service.id, &s.filter, s.display_size, s.offset())
        .await?;
    found(s, rows)
}

/// The admin tool's payment search: the API's (its filters, validation and errors), and a
/// `metadata` parameter the API does not have (a key or value, any case).
pub async fn search_payments_with_metadata(
    store: &dyn PaymentStore,
    service: &Service,
    params: &[(String, String)],
) -> Result<Found<PaymentFilter, PaymentRecord>, Failure> {
    let (metadata, api): (Vec<_>, Vec<_>) =
        params.iter().cloned().partition(|(k, _)| k == "metadata");
    let mut s = search::parse_payment_search(&api)?;
    s.filter.metadata = metadata.last().map(|(_, v)| v.trim().to_lowercase());
    let rows = store
        .search_payments(&service.id, &s.filter, s.display_size, s.offset())
        .await?;
    found(s, rows)
}

/// `GET /v1/refunds`: one page of the service's refunds, newest first.
pub async fn search_refunds(
    store: &dyn RefundStore,
    service: &Service,
    params: &[(String, String)],
) -> Result<Found<Dates, RefundRecord>, Failure> {
    let s = search::parse_refund_search(params)?;
    let rows = store
        .search_refunds(&service.id, &s.filter, s.display_size, s.offset())
        .await?;
    found(s, rows)
}

/// `GET /v1/disputes`: one page of the service's disputes, newest first.
pub async fn search_disputes(
    store: &dyn DisputeStore,
    service: &Service,
    params: &[(String, String)],
) -> Result<Found<DisputeFilter, DisputeRecord>, Failure> {
    let s = search::parse_dispute_search(params)?;
    let rows = store
        .search_disputes(&service.id, &s.filter, s.display_size, s.offset())
        .await?;
    found(s, rows)
}
