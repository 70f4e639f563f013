//! `POST /v1/payments` and `GET /v1/payments/{paymentId}`.

use axum::body::{to_bytes, Body};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use pence_core::payment::present::{self, LinkContext};
use pence_core::payment::PaymentRecord;
use pence_core::staff::Actor;
use pence_core::{payment, search};
use pence_wire::{ApiError, ErrorCode};
use serde_json::Value;

use crate::authed::Authed;
use crate::errors::{
    request_denied, At, Endpoint, Problem, CANCEL_PAYMENT, CAPTURE_PAYMENT, CREATE_PAYMENT,
    GET_PAYMENT, PAYMENT_EVENTS, SEARCH_PAYMENTS,
};
use crate::state::AppState;

/// Bodies above this are refused like GOV.UK Pay's WAF refuses them.
const MAX_BODY: usize = 1 << 20;
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// The `Idempotency-Key`, checked on every create (reference §9), whatever the mode.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("\u{0}");
    let code = ErrorCode::CREATE_PAYMENT_VALIDATION;
    if text.is_empty() || text.len() > 255 {
        return Err(ApiError::header(
            422,
            code,
            IDEMPOTENCY_KEY,
            "Header [Idempotency-Key] can have a size between 1 and 255",
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(ApiError::header(
            422,
            code,
            IDEMPOTENCY_KEY,
            "Header [Idempotency-Key] can only contain alphanumeric characters and hyphens",
        ));
    }
    Ok(Some(text))
}

pub(crate) fn payment_response(
    state: &AppState,
    status: StatusCode,
    payment: &PaymentRecord,
) -> Response {
    let ctx = LinkContext {
        base_url: &state.public_url,
        signer: &state.signer,
        now_ms: state.clock.now_ms(),
        in_search: false,
    };
    let view = present::payment(payment, &ctx);
    // A card payment's JSON is about 1.5 KiB: room for it at once, not four regrowths.
    let mut body = Vec::with_capacity(2048);
    if serde_json::to_writer(&mut body, &view).is_err() {
        body.clear();
    }
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::CREATED {
        let self_href = view.links.as_ref().map(|l| l.self_link.href.as_str());
        if let Some(Ok(location)) = self_href.map(HeaderValue::from_str) {
            headers.insert(header::LOCATION, location);
        }
    }
    resp
}

/// A JSON request body as GOV.UK Pay takes it: its WAF turns away non-JSON and empty bodies
/// (P0920) before the API sees them; the API answers unparseable JSON with the endpoint's
/// parsing error.
pub(crate) async fn json_body(
    headers: &HeaderMap,
    body: Body,
    endpoint: Endpoint,
) -> Result<Value, Problem> {
    if !is_json(headers) {
        return Err(request_denied());
    }
    // A declared length over the limit is refused before any of it is read.
    if http_body::Body::size_hint(&body).lower() > MAX_BODY as u64 {
        return Err(request_denied());
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return Err(request_denied());
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(request_denied());
    }
    serde_json::from_slice::<Value>(&bytes).map_err(|_| {
        let code = endpoint.unparseable.unwrap_or(endpoint.downstream);
        Problem(ApiError::plain(400, code))
    })
}

/// The path's id, or the endpoint's 404 for one that does not even decode (it names no
/// payment).
pub(crate) fn path_id<T>(
    path: Result<Path<T>, PathRejection>,
    endpoint: Endpoint,
) -> Result<T, Problem> {
    path.map(|Path(id)| id).map_err(|_| endpoint.not_found())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let json = json_body(&headers, body, CREATE_PAYMENT).await?;
    let key = idempotency_key(&headers).map_err(Problem)?;
    let created = payment::create_payment(
        state.store.as_ref(),
        &service.clock(state.clock.as_ref()),
        &service,
        &json,
        key,
    )
    .await
    .at(CREATE_PAYMENT)?;
    Ok(match created {
        payment::Created::New(p) => {
            state.telemetry.payment_created();
            payment_response(&state, StatusCode::CREATED, &p)
        }
        // A replay answers 200 with the first payment, without a Location header.
        payment::Created::Replayed(p) => payment_response(&state, StatusCode::OK, &p),
    })
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let payment_id = path_id(path, GET_PAYMENT)?;
    let payment = payment::find_payment(state.store.as_ref(), &service, &payment_id)
        .await
        .at(GET_PAYMENT)?;
    Ok(payment_response(&state, StatusCode::OK, &payment))
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let payment_id = path_id(path, CANCEL_PAYMENT)?;
    payment::cancel_payment(
        state.store.as_ref(),
        &service.clock(state.clock.as_ref()),
        state.psp.as_ref(),
        Actor::Service,
        &service,
        &payment_id,
    )
    .await
    .at(CANCEL_PAYMENT)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn events(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let payment_id = path_id(path, PAYMENT_EVENTS)?;
    let (payment, ledger) = payment::payment_events(state.store.as_ref(), &service, &payment_id)
        .await
        .at(PAYMENT_EVENTS)?;
    let body = present::events(&payment, &ledger, &state.public_url);
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

pub(crate) async fn capture(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let payment_id = path_id(path, CAPTURE_PAYMENT)?;
    payment::capture_payment(
        state.store.as_ref(),
        &service.clock(state.clock.as_ref()),
        Actor::Service,
        &service,
        &payment_id,
    )
    .await
    .at(CAPTURE_PAYMENT)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn search(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let params = query_params(query);
    let (search, total, rows) = search::search_payments(state.store.as_ref(), &service, &params)
        .await
        .at(SEARCH_PAYMENTS)?;
    let ctx = LinkContext {
        base_url: &state.public_url,
        signer: &state.signer,
        now_ms: state.clock.now_ms(),
        in_search: true,
    };
    Ok(uncached(axum::Json(present::payment_search(
        &search, total, &rows, &ctx,
    ))))
}

/// A query string's parameters, decoded, in order.
pub(crate) fn query_params(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// A search answer: never cached, as GOV.UK Pay sends it.
pub(crate) fn uncached(body: impl IntoResponse) -> Response {
    let mut resp = body.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
