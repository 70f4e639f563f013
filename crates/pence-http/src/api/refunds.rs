//! `POST` and `GET /v1/payments/{paymentId}/refunds`, `GET .../refunds/{refundId}`.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pence_core::{present, usecases};
use pence_wire::ErrorCode;

use super::payments::{json_body, not_found, query_params, uncached};
use crate::auth::Authed;
use crate::errors::failure;
use crate::state::AppState;

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Path(payment_id)) = path else {
        return not_found(ErrorCode::CREATE_REFUND_NOT_FOUND);
    };
    let json = match json_body(&headers, body, ErrorCode::CREATE_REFUND_PARSING).await {
        Ok(json) => json,
        Err(resp) => return resp,
    };
    match usecases::create_refund(
        state.store.as_ref(),
        state.clock.as_ref(),
        state.psp.as_ref(),
        &service,
        &payment_id,
        &json,
    )
    .await
    {
        Ok(refund) => (
            StatusCode::ACCEPTED,
            Json(present::refund(&refund, &state.public_url)),
        )
            .into_response(),
        Err(f) => failure(f, ErrorCode::CREATE_REFUND_CONNECTOR),
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(payment_id)) = path else {
        return not_found(ErrorCode::GET_REFUNDS_NOT_FOUND);
    };
    match usecases::refunds(state.store.as_ref(), &service, &payment_id).await {
        Ok(list) => Json(present::refunds(&payment_id, &list, &state.public_url)).into_response(),
        Err(f) => failure(f, ErrorCode::GET_REFUNDS_CONNECTOR),
    }
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let Ok(Path((payment_id, refund_id))) = path else {
        return not_found(ErrorCode::GET_REFUND_NOT_FOUND);
    };
    match usecases::refund(state.store.as_ref(), &service, &payment_id, &refund_id).await {
        Ok(refund) => Json(present::refund(&refund, &state.public_url)).into_response(),
        Err(f) => failure(f, ErrorCode::GET_REFUND_CONNECTOR),
    }
}

/// `GET /v1/refunds`: the service's refunds, newest first, a page at a time.
pub(crate) async fn search(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = query_params(query);
    match usecases::search_refunds(state.store.as_ref(), &service, &params).await {
        Ok((search, total, rows)) => uncached(Json(present::refund_search(
            &search,
            total,
            &rows,
            &state.public_url,
        ))),
        Err(f) => failure(f, ErrorCode::SEARCH_REFUNDS_CONNECTOR),
    }
}
