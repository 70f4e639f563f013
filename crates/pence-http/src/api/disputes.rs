//! `GET /v1/disputes`.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::{Extension, Json};
use pence_core::{present, usecases};
use pence_wire::ErrorCode;

use super::payments::{query_params, uncached};
use crate::auth::Authed;
use crate::errors::failure;
use crate::state::AppState;

/// The service's disputes, newest first, a page at a time.
pub(crate) async fn search(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = query_params(query);
    match usecases::search_disputes(state.store.as_ref(), &service, &params).await {
        Ok((search, total, rows)) => uncached(Json(present::dispute_search(
            &search,
            total,
            &rows,
            &state.public_url,
        ))),
        Err(f) => failure(f, ErrorCode::SEARCH_PAYMENTS_CONNECTOR),
    }
}
