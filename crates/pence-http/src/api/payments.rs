//! `POST /v1/payments` and `GET /v1/payments/{paymentId}`.

use axum::body::{to_bytes, Body};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use pence_core::payment::PaymentRecord;
use pence_core::present::{self, LinkContext};
use pence_core::usecases;
use pence_wire::{ApiError, ErrorCode};
use serde_json::Value;

use crate::auth::Authed;
use crate::errors::{failure, Problem};
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

pub(crate) fn request_denied() -> Response {
    Problem(ApiError::plain(400, ErrorCode::REQUEST_DENIED)).into_response()
}

/// `Idempotency-Key` is checked on every create (reference §9), whatever the mode.
fn idempotency_key_error(headers: &HeaderMap) -> Option<ApiError> {
    let value = headers.get(IDEMPOTENCY_KEY)?;
    let text = value.to_str().unwrap_or("\u{0}");
    let code = ErrorCode::CREATE_PAYMENT_VALIDATION;
    if text.is_empty() || text.len() > 255 {
        return Some(ApiError::header(
            422,
            code,
            IDEMPOTENCY_KEY,
            "Header [Idempotency-Key] can have a size between 1 and 255",
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Some(ApiError::header(
            422,
            code,
            IDEMPOTENCY_KEY,
            "Header [Idempotency-Key] can only contain alphanumeric characters and hyphens",
        ));
    }
    None
}

fn payment_response(state: &AppState, status: StatusCode, payment: &PaymentRecord) -> Response {
    let ctx = LinkContext {
        base_url: &state.public_url,
        signer: &state.signer,
        now_ms: state.clock.now_ms(),
        in_search: false,
    };
    let view = present::payment(payment, &ctx);
    let body = serde_json::to_vec(&view).unwrap_or_default();
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
/// (P0920) before the API sees them; the API answers unparseable JSON with `unparseable`.
pub(crate) async fn json_body(
    headers: &HeaderMap,
    body: Body,
    unparseable: ErrorCode,
) -> Result<Value, Response> {
    if !is_json(headers) {
        return Err(request_denied());
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return Err(request_denied());
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(request_denied());
    }
    serde_json::from_slice::<Value>(&bytes)
        .map_err(|_| Problem(ApiError::plain(400, unparseable)).into_response())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let json = match json_body(&headers, body, ErrorCode::CREATE_PAYMENT_PARSING).await {
        Ok(json) => json,
        Err(resp) => return resp,
    };
    if let Some(e) = idempotency_key_error(&headers) {
        return Problem(e).into_response();
    }
    match usecases::create_payment(state.store.as_ref(), state.clock.as_ref(), &service, &json)
        .await
    {
        Ok(payment) => payment_response(&state, StatusCode::CREATED, &payment),
        Err(f) => failure(f, ErrorCode::CREATE_PAYMENT_CONNECTOR),
    }
}

/// 204 for an action that succeeded (cancel, capture), else the failure's answer.
fn no_content(result: Result<(), usecases::Failure>, downstream: ErrorCode) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(f) => failure(f, downstream),
    }
}

/// The endpoint's 404; also for a path id that does not even decode (it names no payment).
pub(crate) fn not_found(code: ErrorCode) -> Response {
    Problem(ApiError::plain(404, code)).into_response()
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(payment_id)) = path else {
        return not_found(ErrorCode::GET_PAYMENT_NOT_FOUND);
    };
    match usecases::find_payment(
        state.store.as_ref(),
        &service,
        &payment_id,
        ErrorCode::GET_PAYMENT_NOT_FOUND,
    )
    .await
    {
        Ok(payment) => payment_response(&state, StatusCode::OK, &payment),
        Err(f) => failure(f, ErrorCode::GET_PAYMENT_CONNECTOR),
    }
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(payment_id)) = path else {
        return not_found(ErrorCode::CANCEL_PAYMENT_NOT_FOUND);
    };
    let result = usecases::cancel_payment(
        state.store.as_ref(),
        state.clock.as_ref(),
        state.psp.as_ref(),
        &service,
        &payment_id,
    )
    .await;
    no_content(result, ErrorCode::CANCEL_PAYMENT_CONNECTOR)
}

pub(crate) async fn events(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(payment_id)) = path else {
        return not_found(ErrorCode::GET_PAYMENT_EVENTS_NOT_FOUND);
    };
    match usecases::payment_events(state.store.as_ref(), &service, &payment_id).await {
        Ok((payment, ledger)) => {
            let body = present::events(&payment, &ledger, &state.public_url);
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(f) => failure(f, ErrorCode::GET_PAYMENT_EVENTS_CONNECTOR),
    }
}

pub(crate) async fn capture(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(payment_id)) = path else {
        return not_found(ErrorCode::CAPTURE_NOT_FOUND);
    };
    let result = usecases::capture_payment(
        state.store.as_ref(),
        state.clock.as_ref(),
        &service,
        &payment_id,
    )
    .await;
    no_content(result, ErrorCode::CAPTURE_CONNECTOR)
}

pub(crate) async fn search(
    State(state): State<AppState>,
    Extension(Authed(service)): Extension<Authed>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = query_params(query);
    match usecases::search_payments(state.store.as_ref(), &service, &params).await {
        Ok((search, total, rows)) => {
            let ctx = LinkContext {
                base_url: &state.public_url,
                signer: &state.signer,
                now_ms: state.clock.now_ms(),
                in_search: true,
            };
            uncached(axum::Json(present::payment_search(
                &search, total, &rows, &ctx,
            )))
        }
        Err(f) => failure(f, ErrorCode::SEARCH_PAYMENTS_CONNECTOR),
    }
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
