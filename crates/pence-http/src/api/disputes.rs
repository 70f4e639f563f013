//! `GET /v1/disputes`.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::{Extension, Json};
use pence_core::{payment::present, search};

use super::payments::{query_params, uncached};
use crate::authed::Authed;
use crate::errors::{At, Problem, SEARCH_DISPUTES};
use crate::state::AppState;

/// The service's disputes, newest first, a page at a time.
pub(crate) async fn search(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let params = query_params(query);
    let (search, total, rows) = search::search_disputes(state.store.as_ref(), &service, &params)
        .await
        .at(SEARCH_DISPUTES)?;
    let body = present::dispute_search(&search, total, &rows, &state.public_url);
    Ok(uncached(Json(body)))
}
