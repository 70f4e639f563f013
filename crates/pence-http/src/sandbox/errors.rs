//! The control API's errors: GOV.UK Pay's shape (`code`, `description`) with codes of our
//! own (`S` and the HTTP status), and for card details the page's own field errors.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pence_core::refusal::{Failure, Refusal};
use pence_core::usecases::sandbox::SandboxRefusal;
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

    pub(crate) fn not_found() -> Self {
        SandboxProblem::new(StatusCode::NOT_FOUND, "Not found")
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
                    SandboxRefusal::ClockBackwards | SandboxRefusal::NoSubscription(_)
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

pub(crate) async fn not_found() -> Response {
    SandboxProblem::not_found().into_response()
}

pub(crate) async fn method_not_allowed() -> Response {
    SandboxProblem::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").into_response()
}
