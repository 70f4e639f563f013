//! `POST /v1/auth`: the card of a MOTO API payment, passed by the service's staff.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use pence_core::journey::Deps;
use pence_core::payment;

use super::payments::json_body;
use crate::errors::{too_many_requests, At, Problem, AUTHORISE};
use crate::state::AppState;

pub(crate) async fn authorise(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    if !state
        .limiter
        .allow_without_key(state.store.as_ref(), &Method::POST, "/v1/auth")
        .await
    {
        return Ok(too_many_requests());
    }
    let json = json_body(&headers, body, AUTHORISE).await?;
    let deps = Deps {
        store: state.store.as_ref(),
        clock: state.clock.as_ref(),
        psp: state.psp.as_ref(),
    };
    payment::moto::authorise(deps, &state.signer, &json)
        .await
        .at(AUTHORISE)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
