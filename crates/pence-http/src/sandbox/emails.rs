//! `GET /sandbox/v1/emails`: the email sink, what the test service's paying users were sent
//! (`pence_core::emails`), newest first, optionally to one address (`?to=`).

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pence_core::timefmt;
use serde_json::json;

use super::SandboxProblem;
use crate::authed::Authed;
use crate::state::AppState;

/// Emails one answer lists at most.
const LIMIT: u32 = 500;

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    RawQuery(query): RawQuery,
) -> Result<Response, SandboxProblem> {
    let to = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "to")
        .map(|(_, v)| v.into_owned());
    // No stored address holds a NUL character (nor can PostgreSQL text): none sent to it.
    let emails = match &to {
        Some(to) if to.contains('\0') => Vec::new(),
        _ => {
            state
                .store
                .emails(&service.id, to.as_deref(), LIMIT)
                .await?
        }
    };
    let shown: Vec<_> = emails
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "to": e.to,
                "subject": e.subject,
                "text": e.text,
                "html": e.html,
                "payment_id": e.payment_id,
                "kind": e.kind.as_str(),
                "created_date": timefmt::date_time(e.created_ms),
            })
        })
        .collect();
    Ok(Json(json!({"emails": shown})).into_response())
}
