//! `/sandbox/v1/snapshots` and `/sandbox/v1/reset`: a test service's state saved under a
//! name, restored, exported as a file and imported from one, or emptied
//! (`pence_core::sandbox::snapshots`). A restore or reset is seen by this node at once and
//! by others within their API-key cache time, as a clock move is.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pence_core::sandbox::snapshots::{self, Snapshot};
use serde::Deserialize;
use serde_json::json;

use super::SandboxProblem;
use crate::authed::Authed;
use crate::state::AppState;

/// The largest snapshot file an import takes over HTTP: some 14,000 payments with their
/// events. A state is held in memory whole while it is checked and kept, at about 13 times
/// the file's size (a 23 MB file took the node to 367 MB), so a larger one would put the
/// node serving every service at risk; the CLI imports larger files from its own process.
pub(crate) const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveBody {
    name: String,
}

fn named(name: Result<Path<String>, PathRejection>) -> Result<String, SandboxProblem> {
    name.map(|Path(n)| n)
        .map_err(|_| SandboxProblem::not_found())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
) -> Result<Response, SandboxProblem> {
    let kept = snapshots::list(state.store.as_ref(), &service).await?;
    Ok(Json(json!({ "snapshots": kept })).into_response())
}

pub(crate) async fn save(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let SaveBody { name } = SandboxProblem::parse(&body)?;
    let saved =
        snapshots::save(state.store.as_ref(), state.clock.as_ref(), &service, &name).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

pub(crate) async fn export(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let file = snapshots::export(state.store.as_ref(), &service, &named(name)?).await?;
    Ok(Json(file).into_response())
}

/// A snapshot file kept under the path's name. Its rows hold nulls, which the control API's
/// other bodies refuse, so it is read as the file it is.
pub(crate) async fn import(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    name: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let name = named(name)?;
    let file: Snapshot = serde_json::from_slice(&body).map_err(|e| {
        SandboxProblem::bad_body(format!(
            "not a snapshot file (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let kept = snapshots::import(state.store.as_ref(), &service, file, Some(&name)).await?;
    Ok((StatusCode::CREATED, Json(kept)).into_response())
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    snapshots::delete(state.store.as_ref(), &service, &named(name)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn restore(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let name = named(name)?;
    let result =
        snapshots::restore(state.store.as_ref(), state.clock.as_ref(), &service, &name).await;
    state.auth.forget_service(&service.id);
    Ok(Json(result?).into_response())
}

pub(crate) async fn reset(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
) -> Result<Response, SandboxProblem> {
    let result = snapshots::reset(state.store.as_ref(), &service).await;
    state.auth.forget_service(&service.id);
    result?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
