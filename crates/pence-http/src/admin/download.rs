//! `#download-csv`: the filtered transactions as GOV.UK Pay's CSV (`pence_core::payment::export`),
//! streamed a page at a time, so a million rows never sit in memory: a first pass over the
//! pages finds the metadata keys (the header's extra columns), then the rows follow as each
//! page is read.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use pence_core::payment::export;
use pence_core::payment::PaymentRecord;
use pence_core::refusal::{Failure, Refusal};
use pence_core::service::Service;

use super::access::OnService;
use super::transactions::filters_of;
use super::{message, AdminError, Answer};
use crate::state::AppState;

/// Rows read at a time.
const PAGE: u32 = 500;

/// Page `page` of the search (empty past the end).
async fn page_of(
    state: &AppState,
    service: &Service,
    filters: &[(String, String)],
    page: u32,
) -> Result<(u64, Vec<PaymentRecord>), Failure> {
    let mut params = filters.to_vec();
    params.push(("page".into(), page.to_string()));
    params.push(("display_size".into(), PAGE.to_string()));
    match super::transactions::search(state, service, &params).await {
        Ok((_, total, rows)) => Ok((total, rows)),
        Err(Failure::Refused(Refusal::PageNotFound)) => Ok((0, Vec::new())),
        Err(e) => Err(e),
    }
}

fn csv_bytes(records: impl IntoIterator<Item = Vec<String>>) -> Result<Bytes, std::io::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for r in records {
        out.write_record(&r)?;
    }
    out.into_inner()
        .map(Bytes::from)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

pub async fn csv(
    State(state): State<AppState>,
    on: OnService,
    RawQuery(query): RawQuery,
) -> Answer {
    let (staff, service) = (&on.staff, on.service.clone());
    let filters: Vec<(String, String)> = filters_of(query)
        .into_iter()
        .filter(|(k, _)| k != "page")
        .collect();
    let mut keys = BTreeSet::new();
    let mut page = 1;
    loop {
        match page_of(&state, &service, &filters, page).await {
            Ok((total, rows)) => {
                for p in &rows {
                    export::collect_metadata_keys(p, &mut keys);
                }
                if rows.is_empty() || u64::from(page) * u64::from(PAGE) >= total {
                    break;
                }
                page += 1;
            }
            Err(Failure::Refused(r)) => {
                let answer = crate::errors::SEARCH_PAYMENTS.answer(&r);
                return Ok(message(
                    StatusCode::BAD_REQUEST,
                    Some(&staff.signed_in()),
                    "These filters cannot be used",
                    &answer.body.description,
                ));
            }
            Err(e) => return Err(AdminError::fault(e)),
        }
    }
    let detail = format!("downloaded transactions CSV ({} filters)", filters.len());
    on.audit(&state, "download", &detail).await;
    let keys = Arc::new(keys);
    let header = csv_bytes([export::csv_header(&keys)]);
    let disposition = format!(
        "attachment; filename=\"transactions-{}-{}.csv\"",
        service.id,
        pence_core::timefmt::date(state.clock.now_ms())
    );
    let rows = futures_util::stream::unfold(Some(1u32), move |next| {
        let (state, service, filters, keys) = (
            state.clone(),
            service.clone(),
            filters.clone(),
            keys.clone(),
        );
        async move {
            let page = next?;
            match page_of(&state, &service, &filters, page).await {
                Ok((total, rows)) => {
                    let more = !rows.is_empty() && u64::from(page) * u64::from(PAGE) < total;
                    let chunk = csv_bytes(rows.iter().map(|p| export::csv_row(p, &keys)));
                    Some((chunk, more.then_some(page + 1)))
                }
                // Mid-stream, the answer has begun: end it broken so the download fails
                // visibly rather than looking complete.
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::once(async { header }).chain(rows));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    crate::pages::protect(h);
    Ok(resp)
}
