//! `/sandbox/v1/faults`: a test service's fault rules (`pence_core::sandbox::faults`), and `inject`,
//! which applies them to the service's public-API requests.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pence_core::sandbox::fault_rules;
use pence_core::sandbox::faults::rule::{FaultAction, FaultRule, RuleRequest, Target};
use pence_core::service::Service;
use serde_json::{json, Value};

use super::SandboxProblem;
use crate::authed::Authed;
use crate::state::AppState;

/// Applies the service's fault rules to a public-API request (inside authentication, so the
/// service is known; live services have none).
pub(crate) async fn inject<F>(
    state: &AppState,
    service: &Service,
    req: Request,
    handle: impl FnOnce(Request) -> F,
) -> Response
where
    F: std::future::Future<Output = Response>,
{
    if service.live {
        return handle(req).await;
    }
    // The path as the client wrote it (the API's gate runs before the router).
    let path = req.uri().path();
    let target = Target::Request {
        method: req.method().as_str(),
        path,
    };
    let fired = state
        .faults
        .fired(&service.id, target, state.clock.now_ms())
        .await;
    match fired {
        Some(FaultAction::Answer {
            status,
            code,
            description,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                status,
                Json(json!({"code": code, "description": description})),
            )
                .into_response()
        }
        Some(FaultAction::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            handle(req).await
        }
        Some(FaultAction::Drop) => dropped(),
        _ => handle(req).await,
    }
}

/// A response whose body fails before a byte is sent: the server closes the connection
/// without an answer.
fn dropped() -> Response {
    Response::new(Body::new(Failing))
}

struct Failing;

impl http_body::Body for Failing {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other(
            "sandbox fault: connection dropped",
        ))))
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    body: Bytes,
) -> Result<Response, SandboxProblem> {
    let request: RuleRequest = SandboxProblem::parse(&body)?;
    let rule = fault_rules::add(
        state.store.as_ref(),
        Some(&state.faults),
        state.clock.as_ref(),
        &service,
        request,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(rule.shown())).into_response())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
) -> Result<Response, SandboxProblem> {
    let rules = fault_rules::list(state.store.as_ref(), state.clock.as_ref(), &service).await?;
    let rules: Vec<Value> = rules.iter().map(FaultRule::shown).collect();
    Ok(Json(json!({"faults": rules})).into_response())
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, SandboxProblem> {
    let Ok(Path(id)) = id else {
        return Err(SandboxProblem::not_found());
    };
    fault_rules::remove(state.store.as_ref(), Some(&state.faults), &service, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
