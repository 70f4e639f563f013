//! `GET /healthcheck`: 200 while the database answers, 503 when it does not.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/healthcheck", get(healthcheck))
}

async fn healthcheck(State(state): State<AppState>) -> Response {
    let engine = state.store.engine();
    match state.store.ping().await {
        Ok(()) => Json(json!({"database": {"healthy": true, "engine": engine}})).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"database": {"healthy": false, "engine": engine, "message": e.to_string()}}),
            ),
        )
            .into_response(),
    }
}
