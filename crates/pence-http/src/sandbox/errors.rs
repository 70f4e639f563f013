//! The control API's errors: GOV.UK Pay's shape (`code`, `description`) with codes of our
//! own (`S` and the HTTP status), and for card details the page's own field errors.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pence_core::refusal::sandbox::SandboxRefusal;
use pence_core::refusal::{Failure, Refusal};
use serde_json::{json, Value};

use crate::pages::text;

#[derive(Debug)]
pub(crate) struct SandboxProblem {
    status: StatusCode,
    description: String,
    errors: Option<Value>,
}

impl SandboxProblem {
    pub(crate) fn new(status: StatusCode, description: impl Into<String>) -> Self {
        SandboxProblem {
            status,
            description: description.into(),
            errors: None,
        }
    }

    /// Field errors beside the description: `[{"field": …, "message": …}]`.
    pub(crate) fn set_errors(&mut self, errors: Value) {
        self.errors = Some(errors);
    }

    pub(crate) fn not_found() -> Self {
        SandboxProblem::new(StatusCode::NOT_FOUND, "Not found")
    }

    /// A JSON body as `T`; `null` is refused wherever a value is expected (the spec has no
    /// nullable fields), rather than taken as absent.
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SandboxProblem> {
        let unreadable = |e: serde_json::Error| SandboxProblem::bad_body(without_values(&e));
        let value: Value = serde_json::from_slice(body).map_err(unreadable)?;
        if let Some(path) = null_in(&value, "") {
            return Err(SandboxProblem::bad_body(format!("{path} must not be null")));
        }
        if let Some(path) = nul_in(&value, "") {
            return Err(SandboxProblem::bad_body(format!(
                "{path} must not contain NUL characters"
            )));
        }
        serde_json::from_value(value).map_err(unreadable)
    }

    /// A part of a body already parsed (and checked by `parse`) as `T`, refused without the
    /// values it holds.
    pub(crate) fn from_value<T: serde::de::DeserializeOwned>(
        value: Value,
    ) -> Result<T, SandboxProblem> {
        serde_json::from_value(value).map_err(|e| SandboxProblem::bad_body(without_values(&e)))
    }

    /// A body the operation cannot read.
    pub(crate) fn bad_body(why: impl std::fmt::Display) -> Self {
        SandboxProblem::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid request body: {why}"),
        )
    }

    /// A use case's failure; `language` words card-details errors as the page would.
    pub(crate) fn from_failure(f: Failure, language: pence_core::payment::Language) -> Self {
        match f {
            Failure::Refused(Refusal::NotFound) => SandboxProblem::not_found(),
            Failure::Refused(Refusal::Sandbox(r)) => {
                let mut problem = SandboxProblem::new(StatusCode::CONFLICT, r.to_string());
                if matches!(
                    r,
                    SandboxRefusal::ClockBackwards
                        | SandboxRefusal::ClockTooFar
                        | SandboxRefusal::NoSubscription(_)
                        | SandboxRefusal::BadFaultRule(_)
                        | SandboxRefusal::BadDeliveryFaults(_)
                        | SandboxRefusal::LiveService
                        | SandboxRefusal::LinkAnswer(_)
                        | SandboxRefusal::BadOverride(_)
                        | SandboxRefusal::BadFixture(_)
                        | SandboxRefusal::BadSnapshot(_)
                ) {
                    problem.status = StatusCode::UNPROCESSABLE_ENTITY;
                }
                if let SandboxRefusal::CardDetails(problems) = r {
                    problem.status = StatusCode::UNPROCESSABLE_ENTITY;
                    let errors = problems
                        .into_iter()
                        .map(|(field, p)| {
                            json!({"field": field.input_id(), "message": text::problem(language, p)})
                        })
                        .collect();
                    problem.errors = Some(Value::Array(errors));
                }
                problem
            }
            Failure::Refused(Refusal::Conflict) => {
                SandboxProblem::new(StatusCode::CONFLICT, "The payment kept changing; try again")
            }
            Failure::Refused(other) => {
                SandboxProblem::new(StatusCode::CONFLICT, format!("Refused: {other:?}"))
            }
            other => {
                tracing::error!(error = %crate::errors::chain(&other), "control API request failed");
                SandboxProblem::new(StatusCode::INTERNAL_SERVER_ERROR, "Sandbox error")
            }
        }
    }
}

/// A use case's failure where no payment's language applies (`?` in handlers).
impl From<Failure> for SandboxProblem {
    fn from(f: Failure) -> Self {
        SandboxProblem::from_failure(f, pence_core::payment::Language::En)
    }
}

impl From<pence_core::StoreError> for SandboxProblem {
    fn from(e: pence_core::StoreError) -> Self {
        Failure::from(e).into()
    }
}

impl IntoResponse for SandboxProblem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "code": format!("S{:04}", self.status.as_u16()),
            "description": self.description,
        });
        if let Some(errors) = self.errors {
            body["errors"] = errors;
        }
        (self.status, Json(body)).into_response()
    }
}

/// serde_json's message without the values it quotes (a card number sent as a JSON number
/// would be repeated back, and logged): "invalid type: integer, expected a string at line 1
/// column 31". Field names (missing, unknown) are kept.
fn without_values(e: &serde_json::Error) -> String {
    let message = e.to_string();
    if !message.starts_with("invalid") {
        return message;
    }
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        if c == '`' {
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out.replace(" ,", ",")
}

/// Where `value` holds a `null` inside an object, as `a.b`.
fn null_in(value: &Value, at: &str) -> Option<String> {
    let Value::Object(fields) = value else {
        return None;
    };
    fields.iter().find_map(|(k, v)| {
        let path = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        if v.is_null() {
            Some(path)
        } else {
            null_in(v, &path)
        }
    })
}

/// The first string in `value` holding a NUL character (which no stored text holds, and
/// PostgreSQL text cannot), by its path: `event_types[1]`, `billing_address.city`.
fn nul_in(value: &Value, at: &str) -> Option<String> {
    let inner = |key: String| {
        if at.is_empty() {
            key
        } else {
            format!("{at}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(if at.is_empty() {
            "the body".into()
        } else {
            at.to_string()
        }),
        Value::Object(fields) => fields
            .iter()
            .find_map(|(k, v)| nul_in(v, &inner(k.clone()))),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in(v, &format!("{at}[{i}]"))),
        _ => None,
    }
}

pub(crate) async fn not_found() -> Response {
    SandboxProblem::not_found().into_response()
}

pub(crate) async fn method_not_allowed() -> Response {
    SandboxProblem::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").into_response()
}
