//! `POST` and `GET /v1/payments/{paymentId}/refunds`, `GET .../refunds/{refundId}`,
//! `GET /v1/refunds`.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pence_core::staff::Actor;
use pence_core::{payment::present, refund, search};

use super::payments::{json_body, path_id, query_params, uncached};
use crate::authed::Authed;
use crate::errors::{At, Problem, CREATE_REFUND, GET_REFUND, GET_REFUNDS, SEARCH_REFUNDS};
use crate::state::AppState;

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let payment_id = path_id(path, CREATE_REFUND)?;
    let json = json_body(&headers, body, CREATE_REFUND).await?;
    let refund = refund::create_refund(
        state.store.as_ref(),
        &service.clock(state.clock.as_ref()),
        state.psp.as_ref(),
        Actor::Service,
        &service,
        &payment_id,
        &json,
    )
    .await
    .at(CREATE_REFUND)?;
    let body = present::refund(&refund, &state.public_url);
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let payment_id = path_id(path, GET_REFUNDS)?;
    let list = refund::refunds(state.store.as_ref(), &service, &payment_id)
        .await
        .at(GET_REFUNDS)?;
    Ok(Json(present::refunds(&payment_id, &list, &state.public_url)).into_response())
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, Problem> {
    let (payment_id, refund_id) = path_id(path, GET_REFUND)?;
    let refund = refund::refund(state.store.as_ref(), &service, &payment_id, &refund_id)
        .await
        .at(GET_REFUND)?;
    Ok(Json(present::refund(&refund, &state.public_url)).into_response())
}

/// `GET /v1/refunds`: the service's refunds, newest first, a page at a time.
pub(crate) async fn search(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let params = query_params(query);
    let (search, total, rows) = search::search_refunds(state.store.as_ref(), &service, &params)
        .await
        .at(SEARCH_REFUNDS)?;
    let body = present::refund_search(&search, total, &rows, &state.public_url);
    Ok(uncached(Json(body)))
}
