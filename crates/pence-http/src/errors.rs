//! Turning errors into GOV.UK Pay's responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pence_core::usecases::Failure;
use pence_wire::{ApiError, ErrorCode};
use serde_json::json;

/// A public-API error response.
pub(crate) struct Problem(pub ApiError);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, Json(self.0.body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// Maps a use-case failure; store faults become the endpoint's "Downstream system error".
pub(crate) fn failure(f: Failure, downstream: ErrorCode) -> Response {
    match f {
        Failure::Api(e) => Problem(e).into_response(),
        Failure::Store(e) => {
            tracing::error!(error = %e, code = downstream.code, "store failure");
            Problem(ApiError::plain(500, downstream)).into_response()
        }
    }
}

/// Dropwizard's JSON error shape, which GOV.UK Pay answers for routes and methods its
/// resources do not know.
fn dropwizard(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}

pub(crate) async fn not_found() -> Response {
    dropwizard(StatusCode::NOT_FOUND, "HTTP 404 Not Found")
}

pub(crate) async fn method_not_allowed() -> Response {
    dropwizard(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTP 405 Method Not Allowed",
    )
}

pub(crate) fn unauthorized() -> Response {
    let mut resp = dropwizard(
        StatusCode::UNAUTHORIZED,
        "Credentials are required to access this resource.",
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"realm\""),
    );
    resp
}

pub(crate) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    Problem(ApiError::plain(500, ErrorCode::CREATE_PAYMENT_CONNECTOR)).into_response()
}
