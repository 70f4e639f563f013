//! `/sandbox/v1/clock`: the test service's own time. Reading it reads the database (another
//! node may have moved it); moving it fires every timer due on the way, each when it was due,
//! and runs the service's sweeps on the new time before answering. Other nodes see a move
//! within their API-key cache time (`auth_cache_ms`).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pence_core::sandbox::{
    self,
    operations::{ClockMove, ServiceTime},
};
use pence_core::timefmt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::SandboxProblem;
use crate::authed::Authed;
use crate::state::AppState;

fn shown(t: ServiceTime) -> Value {
    json!({"now": timefmt::date_time(t.now_ms), "offset_ms": t.offset_ms})
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
) -> Result<Response, SandboxProblem> {
    let t = sandbox::operations::clock(state.store.as_ref(), state.clock.as_ref(), &authed.0.id)
        .await?;
    Ok(Json(shown(t)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    advance_seconds: Option<i64>,
    now: Option<String>,
}

pub(crate) async fn advance(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let how = match SandboxProblem::parse::<MoveBody>(&body)? {
        MoveBody {
            advance_seconds: Some(s),
            now: None,
        } => ClockMove::Advance {
            ms: s.saturating_mul(1000),
        },
        MoveBody {
            advance_seconds: None,
            now: Some(now),
        } => ClockMove::To {
            now_ms: timefmt::parse(&now).ok_or_else(|| {
                SandboxProblem::bad_body("now must be a date and time like 2026-12-01T09:00:00Z")
            })?,
        },
        _ => {
            return Err(SandboxProblem::bad_body(
                "give either advance_seconds or now",
            ))
        }
    };
    moved(&state, &authed, how).await
}

pub(crate) async fn reset(
    State(state): State<AppState>,
    Extension(authed): Extension<Authed>,
) -> Result<Response, SandboxProblem> {
    moved(&state, &authed, ClockMove::Reset).await
}

async fn moved(
    state: &AppState,
    authed: &Authed,
    how: ClockMove,
) -> Result<Response, SandboxProblem> {
    let service_id = &authed.0.id;
    let result = sandbox::operations::move_clock(
        state.store.as_ref(),
        state.clock.as_ref(),
        state.psp.as_ref(),
        state.delivery.as_ref(),
        service_id,
        how,
    )
    .await;
    state.auth.forget_service(service_id);
    let (t, swept) = result?;
    let mut body = shown(t);
    body["swept"] = json!(swept);
    Ok(Json(body).into_response())
}
