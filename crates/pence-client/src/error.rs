//! What can go wrong: GOV.UK Pay's answer (by its code), or getting no answer at all.

use pence_wire::{ErrorCode, RequestError};

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    /// The GOV.UK Pay code, when it is one of the table's (`ErrorCode::CREATE_PAYMENT_VALIDATION`).
    pub code: Option<ErrorCode>,
    /// The code as sent (`P0102`), or the status for answers without one (401 and the like).
    pub raw_code: String,
    pub description: String,
    /// The body field the error is about, if any.
    pub field: Option<String>,
    /// The header the error is about, if any (`Idempotency-Key`).
    pub header: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error.
    #[error("{} {}: {}", .0.status, .0.raw_code, .0.description)]
    Api(ApiFailure),
    /// No answer: connection refused or dropped, timeout.
    #[error("no answer from the API: {0}")]
    Transport(#[source] reqwest::Error),
    /// An answer that is not what the API sends.
    #[error("an answer that is not the API's: {0} in {1:?}")]
    Decode(#[source] serde_json::Error, String),
    /// The request could not be written.
    #[error("the request could not be written: {0}")]
    Encode(#[source] serde_json::Error),
    /// The operation answers with a body, and there was none.
    #[error("an empty answer")]
    Empty,
}

impl Error {
    /// The API's failure, if it answered with one.
    pub fn api(&self) -> Option<&ApiFailure> {
        match self {
            Error::Api(f) => Some(f),
            _ => None,
        }
    }

    /// Whether the same request may succeed if sent again later: rate limited, a server
    /// error, or no answer.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api(f) => f.status == 429 || f.status >= 500,
            Error::Transport(_) => true,
            _ => false,
        }
    }
}

/// The body of a successful answer (`None` when empty), or the error it is.
pub(crate) async fn read(resp: reqwest::Response) -> Result<Option<String>, Error> {
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(Error::Transport)?;
    if status < 400 {
        return Ok((!text.is_empty()).then_some(text));
    }
    let failure = match serde_json::from_str::<RequestError>(&text) {
        Ok(body) => ApiFailure {
            status,
            code: ErrorCode::parse(&body.code),
            raw_code: body.code,
            description: body.description,
            field: body.field,
            header: body.header,
        },
        // 401s and routing errors come in another shape (`{"code": 401, "message": ...}`).
        Err(_) => {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            ApiFailure {
                status,
                code: None,
                raw_code: status.to_string(),
                description: v["message"].as_str().unwrap_or(&text).to_string(),
                field: None,
                header: None,
            }
        }
    };
    Err(Error::Api(failure))
}
