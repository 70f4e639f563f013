//! A service's recurring-payment agreements, newest first, cancelled by staff who may refund
//! through the API's use case.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use pence_core::agreement;
use pence_core::agreement::AgreementStatus;
use pence_core::refusal::Failure;
use pence_core::staff::Actor;
use pence_core::timefmt;

use super::access::OnService;
use super::transactions::ActionForm;
use super::views::{AgreementRow, AgreementsPage, Frame};
use super::{form, page, see_other, Answer};
use crate::state::AppState;

/// Rows a list shows.
/// How many agreements and disputes a page shows (the newest).
pub(super) const SHOWN: &str = "500";

async fn agreements_page(
    state: &AppState,
    on: &OnService,
    note: Option<String>,
    errors: Vec<(&'static str, String)>,
) -> Answer {
    let params = vec![("display_size".to_string(), SHOWN.to_string())];
    let store = state.store.as_ref();
    let (total, rows) = match agreement::search_agreements(store, &on.service, &params).await {
        Ok((_, total, rows)) => (total, rows),
        Err(Failure::Refused(_)) => (0, Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let view = AgreementsPage {
        frame: Frame::on(&on.staff, &on.service, "Agreements"),
        total,
        agreements: rows
            .into_iter()
            .map(|a| AgreementRow {
                card: a
                    .instrument
                    .as_ref()
                    .map(|i| format!("{} •••• {}", i.card.brand.label(), i.card.last_digits))
                    .unwrap_or_default(),
                cancellable: a.status == AgreementStatus::Active && on.role.can_refund(),
                status: a.status.as_str(),
                created: timefmt::readable(a.created_ms),
                id: a.id,
                reference: a.reference,
                description: a.description,
            })
            .collect(),
        note,
        errors,
    };
    Ok(page(StatusCode::OK, view))
}

pub async fn agreements(
    State(state): State<AppState>,
    on: OnService,
    RawQuery(query): RawQuery,
) -> Answer {
    let cancelled = query.as_deref() == Some("note=cancelled");
    let note = cancelled.then(|| "The agreement is cancelled.".to_string());
    agreements_page(&state, &on, note, Vec::new()).await
}

pub async fn cancel(
    State(state): State<AppState>,
    on: OnService,
    Path((_, agreement_id)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let f: ActionForm = form(&body);
    if let Some(to) = on.action_refused(f.csrf()) {
        return Err(to.into());
    }
    let store = state.store.as_ref();
    let clock = on.service.clock(state.clock.as_ref());
    let actor = Actor::Staff(&on.staff.user);
    match agreement::cancel_agreement(store, &clock, actor, &on.service, &agreement_id).await {
        Ok(()) => Ok(see_other(&format!(
            "/admin/services/{}/agreements?note=cancelled",
            on.service.id
        ))),
        Err(Failure::Refused(r)) => {
            let text = crate::errors::CANCEL_AGREEMENT.answer(&r).body.description;
            agreements_page(&state, &on, None, vec![("agreements", text)]).await
        }
        Err(e) => Err(e.into()),
    }
}
