//! A service's disputes, newest first: what was challenged, the fee, and when evidence is due.

use axum::extract::State;
use axum::http::StatusCode;
use pence_core::refusal::Failure;
use pence_core::search;
use pence_core::timefmt;

use super::access::OnService;
use super::agreements::SHOWN;
use super::views::{DisputeRow, DisputesPage, Frame};
use super::{page, Answer};
use crate::pages::text::money;
use crate::state::AppState;

pub async fn disputes(State(state): State<AppState>, on: OnService) -> Answer {
    let params = vec![("display_size".to_string(), SHOWN.to_string())];
    let (total, rows) =
        match search::search_disputes(state.store.as_ref(), &on.service, &params).await {
            Ok((_, total, rows)) => (total, rows),
            Err(Failure::Refused(_)) => (0, Vec::new()),
            Err(e) => return Err(e.into()),
        };
    let view = DisputesPage {
        frame: Frame::on(&on.staff, &on.service, "Disputes"),
        total,
        disputes: rows
            .into_iter()
            .map(|d| DisputeRow {
                amount: money(d.amount),
                fee: money(d.fee),
                reason: d.reason.clone(),
                status: d.status.as_str(),
                due: timefmt::readable(d.evidence_due_ms),
                payment_id: d.payment_id,
            })
            .collect(),
    };
    Ok(page(StatusCode::OK, view))
}
