//! Turning refusals and failures into GOV.UK Pay's responses: THE table of which status, code
//! and description each domain refusal gets at each endpoint (`Endpoint::answer`), next to
//! pence-wire's table of codes and their descriptions. Handlers return `Result<_, Problem>`
//! and use `?` with `.at(ENDPOINT)`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pence_core::refusal::{Failure, Invalid, Refusal};
use pence_wire::{ApiError, ErrorCode};
use serde_json::json;

/// A public-API error response.
#[derive(Debug)]
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

/// An endpoint's own codes: GOV.UK Pay numbers each resource's errors separately (P02xx for
/// get payment, P06xx for create refund...). `None` where the endpoint has no such error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    pub name: &'static str,
    /// Any fault behind the API: "Downstream system error" (500).
    pub downstream: ErrorCode,
    /// Unknown payment or refund (404).
    pub not_found: Option<ErrorCode>,
    /// A body that is not JSON at all (400).
    pub unparseable: Option<ErrorCode>,
    /// A mandatory field missing (400).
    pub missing: Option<ErrorCode>,
    /// A field or query parameter refused (400 from the parser, 422 from validation).
    pub invalid: Option<ErrorCode>,
    /// A constraint broken by a well-formed value (422), where the endpoint does not use its
    /// own code for it (create agreement answers P0102).
    pub violates: Option<ErrorCode>,
    /// A search page past the last (404).
    pub page_not_found: Option<ErrorCode>,
    /// The payment kept changing under the request (409).
    pub conflict: Option<ErrorCode>,
}

const NONE: Endpoint = Endpoint {
    name: "",
    downstream: ErrorCode::CREATE_PAYMENT_CONNECTOR,
    not_found: None,
    unparseable: None,
    missing: None,
    invalid: None,
    violates: None,
    page_not_found: None,
    conflict: None,
};

/// `POST /v1/auth`: its refusals are `Refusal::Moto`; what else goes wrong is the create
/// payment family's, as in GOV.UK Pay's public API.
pub(crate) const AUTHORISE: Endpoint = Endpoint {
    name: "authorise payment",
    downstream: ErrorCode::CREATE_PAYMENT_CONNECTOR,
    unparseable: Some(ErrorCode::CREATE_PAYMENT_PARSING),
    ..NONE
};
pub(crate) const CREATE_PAYMENT: Endpoint = Endpoint {
    name: "create payment",
    downstream: ErrorCode::CREATE_PAYMENT_CONNECTOR,
    unparseable: Some(ErrorCode::CREATE_PAYMENT_PARSING),
    missing: Some(ErrorCode::CREATE_PAYMENT_MISSING_FIELD),
    invalid: Some(ErrorCode::CREATE_PAYMENT_VALIDATION),
    ..NONE
};
pub(crate) const GET_PAYMENT: Endpoint = Endpoint {
    name: "get payment",
    downstream: ErrorCode::GET_PAYMENT_CONNECTOR,
    not_found: Some(ErrorCode::GET_PAYMENT_NOT_FOUND),
    ..NONE
};
pub(crate) const PAYMENT_EVENTS: Endpoint = Endpoint {
    name: "payment events",
    downstream: ErrorCode::GET_PAYMENT_EVENTS_CONNECTOR,
    not_found: Some(ErrorCode::GET_PAYMENT_EVENTS_NOT_FOUND),
    ..NONE
};
pub(crate) const SEARCH_PAYMENTS: Endpoint = Endpoint {
    name: "search payments",
    downstream: ErrorCode::SEARCH_PAYMENTS_CONNECTOR,
    invalid: Some(ErrorCode::SEARCH_PAYMENTS_VALIDATION),
    page_not_found: Some(ErrorCode::SEARCH_PAYMENTS_NOT_FOUND),
    ..NONE
};
pub(crate) const CANCEL_PAYMENT: Endpoint = Endpoint {
    name: "cancel payment",
    downstream: ErrorCode::CANCEL_PAYMENT_CONNECTOR,
    not_found: Some(ErrorCode::CANCEL_PAYMENT_NOT_FOUND),
    conflict: Some(ErrorCode::CANCEL_PAYMENT_CONFLICT),
    ..NONE
};
pub(crate) const CAPTURE_PAYMENT: Endpoint = Endpoint {
    name: "capture payment",
    downstream: ErrorCode::CAPTURE_CONNECTOR,
    not_found: Some(ErrorCode::CAPTURE_NOT_FOUND),
    conflict: Some(ErrorCode::CAPTURE_NOT_CAPTURABLE),
    ..NONE
};
pub(crate) const CREATE_REFUND: Endpoint = Endpoint {
    name: "create refund",
    downstream: ErrorCode::CREATE_REFUND_CONNECTOR,
    not_found: Some(ErrorCode::CREATE_REFUND_NOT_FOUND),
    unparseable: Some(ErrorCode::CREATE_REFUND_PARSING),
    missing: Some(ErrorCode::CREATE_REFUND_MISSING_FIELD),
    invalid: Some(ErrorCode::CREATE_REFUND_VALIDATION),
    ..NONE
};
pub(crate) const GET_REFUND: Endpoint = Endpoint {
    name: "get refund",
    downstream: ErrorCode::GET_REFUND_CONNECTOR,
    not_found: Some(ErrorCode::GET_REFUND_NOT_FOUND),
    ..NONE
};
pub(crate) const GET_REFUNDS: Endpoint = Endpoint {
    name: "get refunds",
    downstream: ErrorCode::GET_REFUNDS_CONNECTOR,
    not_found: Some(ErrorCode::GET_REFUNDS_NOT_FOUND),
    ..NONE
};
pub(crate) const SEARCH_REFUNDS: Endpoint = Endpoint {
    name: "search refunds",
    downstream: ErrorCode::SEARCH_REFUNDS_CONNECTOR,
    invalid: Some(ErrorCode::SEARCH_REFUNDS_VALIDATION),
    page_not_found: Some(ErrorCode::SEARCH_REFUNDS_NOT_FOUND),
    ..NONE
};
pub(crate) const CREATE_AGREEMENT: Endpoint = Endpoint {
    name: "create agreement",
    downstream: ErrorCode::CREATE_AGREEMENT_CONNECTOR,
    unparseable: Some(ErrorCode::CREATE_AGREEMENT_PARSING),
    missing: Some(ErrorCode::CREATE_AGREEMENT_MISSING_FIELD),
    invalid: Some(ErrorCode::CREATE_AGREEMENT_VALIDATION),
    // Reference §7: too long is P0102, not P2102.
    violates: Some(ErrorCode::CREATE_PAYMENT_VALIDATION),
    ..NONE
};
pub(crate) const GET_AGREEMENT: Endpoint = Endpoint {
    name: "get agreement",
    downstream: ErrorCode::GET_AGREEMENT_CONNECTOR,
    not_found: Some(ErrorCode::GET_AGREEMENT_NOT_FOUND),
    ..NONE
};
pub(crate) const SEARCH_AGREEMENTS: Endpoint = Endpoint {
    name: "search agreements",
    downstream: ErrorCode::SEARCH_AGREEMENTS_CONNECTOR,
    invalid: Some(ErrorCode::SEARCH_AGREEMENTS_VALIDATION),
    page_not_found: Some(ErrorCode::SEARCH_AGREEMENTS_NOT_FOUND),
    ..NONE
};
pub(crate) const CANCEL_AGREEMENT: Endpoint = Endpoint {
    name: "cancel agreement",
    downstream: ErrorCode::CANCEL_AGREEMENT_CONNECTOR,
    not_found: Some(ErrorCode::CANCEL_AGREEMENT_NOT_FOUND),
    ..NONE
};
/// GOV.UK Pay's disputes search reuses the payment search's codes.
pub(crate) const SEARCH_DISPUTES: Endpoint = Endpoint {
    name: "search disputes",
    ..SEARCH_PAYMENTS
};

impl Endpoint {
    /// GOV.UK Pay's answer to `refusal` at this endpoint.
    pub(crate) fn answer(&self, refusal: &Refusal) -> ApiError {
        use Refusal::*;
        let plain = ApiError::plain;
        match refusal {
            Invalid(invalid) => self.invalid(invalid),
            NotFound => self.own(self.not_found, 404, refusal),
            PageNotFound => self.own(self.page_not_found, 404, refusal),
            AccountDisabled => plain(403, ErrorCode::ACCOUNT_DISABLED),
            MotoNotEnabled => plain(422, ErrorCode::CREATE_PAYMENT_MOTO_NOT_ENABLED),
            MotoApiNotEnabled => plain(422, ErrorCode::CREATE_PAYMENT_MOTO_API_NOT_ENABLED),
            RecurringNotEnabled => plain(422, ErrorCode::RECURRING_CARD_PAYMENTS_NOT_ALLOWED),
            ReturnUrlNotHttps => {
                let code = ErrorCode::REQUEST_DENIED_RETURN_URL_NOT_HTTPS;
                ApiError::field(422, code, "return_url", "")
            }
            NotCancellable => plain(400, ErrorCode::CANCEL_PAYMENT_FAILED),
            // GOV.UK Pay's connector answers 202 for a cancel already under way, which its
            // public API maps to a 500.
            NotCapturable => plain(409, ErrorCode::CAPTURE_NOT_CAPTURABLE),
            AgreementNotActive => plain(400, ErrorCode::CANCEL_AGREEMENT_FAILED),
            Conflict => match self.conflict {
                Some(code) => plain(409, code),
                None => plain(500, self.downstream),
            },
            RefundNotAvailable(reason) => {
                let code = ErrorCode::CREATE_REFUND_NOT_AVAILABLE;
                ApiError::with_description(400, code, code.describe(&[reason]))
            }
            RefundDisputed => plain(400, ErrorCode::CREATE_REFUND_DISPUTED),
            Moto(r) => moto(r),
            // Only the control API's use cases refuse so (`sandbox::errors`).
            Sandbox(_) => self.unanswered(refusal),
            IdempotencyKeyUsed => {
                plain(409, ErrorCode::CREATE_PAYMENT_IDEMPOTENCY_KEY_ALREADY_USED)
            }
            RefundAmountMismatch => plain(412, ErrorCode::CREATE_REFUND_AMOUNT_AVAILABLE_MISMATCH),
        }
    }

    /// A broken validation rule: the parser's refusals answer 400, validation's 422.
    fn invalid(&self, invalid: &Invalid) -> ApiError {
        let refusal = || Refusal::Invalid(invalid.clone());
        match invalid {
            Invalid::Missing(field) => match self.missing {
                Some(code) => ApiError::field(400, code, field, ""),
                None => self.unanswered(&refusal()),
            },
            Invalid::Malformed { field, message } => match self.invalid {
                Some(code) => ApiError::field(400, code, field, message),
                None => self.unanswered(&refusal()),
            },
            Invalid::Violates { field, message } => match self.violates.or(self.invalid) {
                Some(code) => ApiError::field(422, code, field, message),
                None => self.unanswered(&refusal()),
            },
            // GOV.UK Pay names the field in the description only, without a `field` key.
            Invalid::Unexpected(field) => {
                let code = ErrorCode::CREATE_PAYMENT_UNEXPECTED_FIELD;
                ApiError::with_description(400, code, code.describe(&[field]))
            }
            Invalid::Params(bad) => match self.invalid {
                Some(code) => {
                    ApiError::with_description(422, code, code.describe(&[&bad.join(", ")]))
                }
                None => self.unanswered(&refusal()),
            },
            // Parameters the search does not take at all: the same code, but 400.
            Invalid::UnknownParams(names) => match self.invalid {
                Some(code) => {
                    ApiError::with_description(400, code, code.describe(&[&names.join(", ")]))
                }
                None => self.unanswered(&refusal()),
            },
        }
    }

    fn own(&self, code: Option<ErrorCode>, status: u16, refusal: &Refusal) -> ApiError {
        match code {
            Some(code) => ApiError::plain(status, code),
            None => self.unanswered(refusal),
        }
    }

    /// A refusal this endpoint cannot meet: a bug, answered as a downstream error.
    fn unanswered(&self, refusal: &Refusal) -> ApiError {
        tracing::error!(
            endpoint = self.name,
            ?refusal,
            "refusal without an answer here"
        );
        ApiError::plain(500, self.downstream)
    }

    /// The answer to a use case's failure; faults are logged with their whole cause chain
    /// and answered as the endpoint's "Downstream system error".
    pub(crate) fn failed(&self, f: Failure) -> Problem {
        match f {
            Failure::Refused(r) => Problem(self.answer(&r)),
            other => {
                tracing::error!(
                    endpoint = self.name,
                    code = self.downstream.code,
                    error = %chain(&other),
                    "request failed"
                );
                Problem(ApiError::plain(500, self.downstream))
            }
        }
    }

    /// The endpoint's 404, also for a path id that does not even decode.
    pub(crate) fn not_found(&self) -> Problem {
        Problem(self.answer(&Refusal::NotFound))
    }
}

/// An error and its sources, `a: b: c`.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `result.at(ENDPOINT)?` in a handler: a use case's failure answered for the endpoint.
pub(crate) trait At<T> {
    fn at(self, endpoint: Endpoint) -> Result<T, Problem>;
}

impl<T> At<T> for Result<T, Failure> {
    fn at(self, endpoint: Endpoint) -> Result<T, Problem> {
        self.map_err(|f| endpoint.failed(f))
    }
}

/// GOV.UK Pay's 429 (its rate limiter answers with a `charset`).
pub(crate) fn too_many_requests() -> Response {
    let mut resp = Problem(ApiError::plain(429, ErrorCode::TOO_MANY_REQUESTS)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// GOV.UK Pay's WAF refusing a body that is not JSON (P0920).
pub(crate) fn request_denied() -> Problem {
    Problem(ApiError::plain(400, ErrorCode::REQUEST_DENIED))
}

/// Dropwizard's JSON error shape, which GOV.UK Pay answers for routes and methods its
/// resources do not know.
pub(crate) fn dropwizard(status: StatusCode, message: &str) -> Response {
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

/// `POST /v1/auth`'s answers (reference §8): code and description only, no `field` (the
/// spec's `ErrorResponse` for this operation).
fn moto(r: &pence_core::payment::moto_api::MotoRefusal) -> ApiError {
    use pence_core::payment::moto_api::MotoRefusal::*;
    match r {
        Missing(field) => {
            let code = ErrorCode::CREATE_PAYMENT_MISSING_FIELD;
            ApiError::with_description(422, code, code.describe(&[field]))
        }
        Size { field, message } => {
            let code = ErrorCode::CREATE_PAYMENT_VALIDATION;
            ApiError::with_description(422, code, code.describe(&[field, message]))
        }
        Format(description) => ApiError::with_description(
            422,
            ErrorCode::CREATE_PAYMENT_VALIDATION,
            description.clone(),
        ),
        TokenInvalid(description) => ApiError::with_description(
            400,
            ErrorCode::AUTHORISATION_TOKEN_INVALID,
            description.to_string(),
        ),
        TokenUsed => ApiError::plain(400, ErrorCode::AUTHORISATION_TOKEN_USED),
        Rejected(description) => {
            ApiError::with_description(402, ErrorCode::AUTHORISATION_REJECTED, description.clone())
        }
        ProviderError => ApiError::plain(500, ErrorCode::AUTHORISATION_ERROR),
    }
}
