//! `POST`/`GET /v1/agreements`, `GET /v1/agreements/{agreementId}`,
//! `POST /v1/agreements/{agreementId}/cancel`.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pence_core::staff::Actor;
use pence_core::{agreement, payment::present};

use super::payments::{json_body, path_id, query_params, uncached};
use crate::authed::Authed;
use crate::errors::{
    At, Problem, CANCEL_AGREEMENT, CREATE_AGREEMENT, GET_AGREEMENT, SEARCH_AGREEMENTS,
};
use crate::state::AppState;

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let json = json_body(&headers, body, CREATE_AGREEMENT).await?;
    let agreement = agreement::create_agreement(
        state.store.as_ref(),
        &service.clock(state.clock.as_ref()),
        &service,
        &json,
    )
    .await
    .at(CREATE_AGREEMENT)?;
    Ok((StatusCode::CREATED, Json(present::agreement(&agreement))).into_response())
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let id = path_id(path, GET_AGREEMENT)?;
    let agreement = agreement::find_agreement(state.store.as_ref(), &service, &id)
        .await
        .at(GET_AGREEMENT)?;
    Ok(Json(present::agreement(&agreement)).into_response())
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let id = path_id(path, CANCEL_AGREEMENT)?;
    agreement::cancel_agreement(
        state.store.as_ref(),
        &service.clock(state.clock.as_ref()),
        Actor::Service,
        &service,
        &id,
    )
    .await
    .at(CANCEL_AGREEMENT)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The service's agreements, newest first, a page at a time.
pub(crate) async fn search(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let params = query_params(query);
    let (search, total, rows) =
        agreement::search_agreements(state.store.as_ref(), &service, &params)
            .await
            .at(SEARCH_AGREEMENTS)?;
    let body = present::agreement_search(&search, total, &rows, &state.public_url);
    Ok(uncached(Json(body)))
}
