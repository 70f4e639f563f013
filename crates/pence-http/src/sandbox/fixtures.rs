//! `POST /sandbox/v1/fixtures`: a test service's payments and agreements made at once in the
//! states asked for (`pence_core::sandbox::fixtures`), answered 201 with their ids.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pence_core::sandbox::fixtures::{self, FixtureRequest};

use super::SandboxProblem;
use crate::authed::Authed;
use crate::state::AppState;

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let request: FixtureRequest = SandboxProblem::parse(&body)?;
    let started = std::time::Instant::now();
    let made = fixtures::load(state.journey(state.clock.as_ref()), &authed.0, &request).await?;
    let mut answer = serde_json::to_value(&made)
        .map_err(|e| pence_core::StoreError::database(format!("a fixture's answer: {e}")))?;
    answer["took_ms"] = serde_json::json!(started.elapsed().as_millis() as u64);
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
