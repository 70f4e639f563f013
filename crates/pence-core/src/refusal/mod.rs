//! Why the domain refuses a request. pence-core says *what* is wrong; pence-http answers each
//! refusal with GOV.UK Pay's status, code and description for the endpoint (its one table,
//! `pence-http/src/errors.rs`), so no HTTP status lives in the domain.

pub mod sandbox;

use crate::payment::status::Status;
use crate::store_error::StoreError;

/// A broken validation rule. GOV.UK Pay validates in stages, and the stage decides the
/// answer's status: its JSON parser (presence, type, format) answers Bad Request, bean
/// validation of well-formed values (sizes, ranges, enums) Unprocessable Entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A mandatory field is absent, `null` or blank (parser stage).
    Missing(String),
    /// The parser could not read the field as its type or format.
    Malformed { field: String, message: String },
    /// A well-formed value breaks a constraint (validation stage).
    Violates { field: String, message: String },
    /// A field the request's mode does not take (GOV.UK Pay names it without a `field` key).
    Unexpected(String),
    /// Query parameters refused, listed in GOV.UK Pay's order (search endpoints).
    Params(Vec<&'static str>),
    /// Query parameters the search does not take at all (agreements search).
    UnknownParams(Vec<String>),
}

impl Invalid {
    pub fn missing(field: &str) -> Invalid {
        Invalid::Missing(field.into())
    }

    pub fn malformed(field: &str, message: &str) -> Invalid {
        Invalid::Malformed {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn violates(field: &str, message: &str) -> Invalid {
        Invalid::Violates {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn unexpected(field: &str) -> Invalid {
        Invalid::Unexpected(field.into())
    }
}

/// A request the domain refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Invalid(Invalid),
    /// No such payment or refund for this service (another service's counts as none).
    NotFound,
    /// The search page lies past the last one.
    PageNotFound,
    /// The service may not take payments or refunds.
    AccountDisabled,
    MotoNotEnabled,
    MotoApiNotEnabled,
    RecurringNotEnabled,
    /// A live service's return URL must be https.
    ReturnUrlNotHttps,
    /// The payment is in a state that cannot be cancelled (finished, capture under way).
    NotCancellable,
    /// The payment is not awaiting capture.
    NotCapturable,
    /// The agreement has no active card to stop using.
    AgreementNotActive,
    /// The payment kept changing under the request: every try lost to another change.
    Conflict,
    /// The `Idempotency-Key` created a payment from another request (409 P0191).
    IdempotencyKeyUsed,
    /// `POST /v1/auth` refused the card or its token (reference §8).
    Moto(crate::payment::moto_api::MotoRefusal),
    /// The sandbox's paying user could not do what the control API asked (issue 15).
    Sandbox(sandbox::SandboxRefusal),
    /// Refunds are not possible now; GOV.UK Pay names the refund status (`pending`, `full`,
    /// `unavailable`) or `amount_not_available`.
    RefundNotAvailable(&'static str),
    /// A dispute was raised on the payment.
    RefundDisputed,
    /// `refund_amount_available` is not what is left to refund.
    RefundAmountMismatch,
}

impl From<Invalid> for Refusal {
    fn from(i: Invalid) -> Self {
        Refusal::Invalid(i)
    }
}

/// A use case's failure: a refusal, a store fault, or a bug caught by the transition gate.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A move the payment state machine does not allow was asked for: a bug, refused.
    #[error("impossible transition {from} -> {to}")]
    Impossible { from: Status, to: Status },
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure::Refused(r)
    }
}

impl From<Invalid> for Failure {
    fn from(i: Invalid) -> Self {
        Failure::Refused(Refusal::Invalid(i))
    }
}
