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

/// GOV.UK Pay's shape (Dropwizard's health checks: `ping` and `deadlocks`, which clients such
/// as DEFRA's read), with Pence's database as a further key. Pence cannot serve without its
/// database, so `ping` follows it.
async fn healthcheck(State(state): State<AppState>) -> Response {
    let engine = state.store.engine();
    match state.store.ping().await {
        Ok(()) => Json(json!({
            "ping": {"healthy": true},
            "deadlocks": {"healthy": true},
            "database": {"healthy": true, "engine": engine},
        }))
        .into_response(),
        Err(e) => {
            let message = e.to_string();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "ping": {"healthy": false, "message": message},
                    "deadlocks": {"healthy": true},
                    "database": {"healthy": false, "engine": engine, "message": message},
                })),
            )
                .into_response()
        }
    }
}
