//! API-key authentication for `/v1/*` (reference §15), then the rate limit (§10), which needs
//! the service the key belongs to.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pence_core::service::api_key;
use pence_core::service::Service;

use crate::authed::{Authed, MadeBy, Turned};
use crate::errors::too_many_requests;
use crate::errors::unauthorized;
use crate::state::AppState;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn turned(mut resp: Response, why: &'static str) -> Response {
    resp.extensions_mut().insert(Turned(why));
    resp
}

/// The service whose API key the request carries, or the answer turning it away: 401 without
/// a valid key, 503 when keys cannot be checked (as GOV.UK Pay).
pub(crate) async fn service_of_key(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Arc<Service>, Response> {
    let Some(key) = bearer(headers) else {
        return Err(turned(unauthorized(), "no bearer token"));
    };
    // A key trusted a moment ago passed its checksum then; only others need it checked.
    if let Some(service) = state.auth.cached(key) {
        return Ok(service);
    }
    if !api_key::checksum_ok(&state.secrets.api_key, key) {
        return Err(turned(unauthorized(), "not a Pence API key"));
    }
    match state.store.api_key_by_hash(&api_key::hash(key)).await {
        Ok(Some((record, service))) if record.revoked_ms.is_none() => {
            let now = state.clock.now_ms();
            if record.last_used_ms.is_none_or(|at| at < now - 60_000) {
                // Noted beside the request, never holding it up.
                let store = state.store.clone();
                tokio::spawn(async move {
                    if let Err(e) = store.key_used(&record.id, now).await {
                        tracing::warn!(error = %e, "could not note an API key's use");
                    }
                });
            }
            let service = Arc::new(service);
            state.auth.remember(key, service.clone());
            Ok(service)
        }
        Ok(Some(_)) => Err(turned(unauthorized(), "revoked API key")),
        Ok(None) => Err(turned(unauthorized(), "unknown API key")),
        Err(e) => {
            tracing::error!(error = %crate::errors::chain(&e), "API key lookup failed");
            Err(turned(
                StatusCode::SERVICE_UNAVAILABLE.into_response(),
                "API key lookup failed",
            ))
        }
    }
}

/// The public API's gate: the key, then the service's rate limit, then test services' fault
/// rules; `handle` (the router) answers what passes.
pub(crate) async fn authenticate<F>(
    state: &AppState,
    req: Request,
    handle: impl FnOnce(Request) -> F,
) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let service = match service_of_key(state, req.headers()).await {
        Ok(service) => service,
        Err(resp) => return resp,
    };
    if !state
        .limiter
        .allow(
            state.store.as_ref(),
            &service,
            req.method(),
            req.uri().path(),
        )
        .await
    {
        let mut resp = turned(too_many_requests(), "rate limit");
        resp.extensions_mut().insert(MadeBy(service.id.clone()));
        return resp;
    }
    let as_service = service.clone();
    run_as(service, req, |req| {
        crate::sandbox::faults::inject(state, &as_service, req, handle)
    })
    .await
}

/// Runs the request as `service` through `handle` (the rest of the chain), naming the
/// service to the handlers and in the access log.
pub(crate) async fn run_as<F>(
    service: Arc<Service>,
    mut req: Request,
    handle: impl FnOnce(Request) -> F,
) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let made_by = MadeBy(service.id.clone());
    req.extensions_mut().insert(Authed(service));
    let mut resp = handle(req).await;
    resp.extensions_mut().insert(made_by);
    resp
}
