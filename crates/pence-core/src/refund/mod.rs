//! Refunds (reference §5): the request's validation, the refund as stored, and availability.

pub mod operations;

pub use operations::{create_refund, refund, refunds};

use serde_json::Value;

use crate::payment::create::MAX_AMOUNT;
use crate::payment::status::Status;
use crate::payment::PaymentRecord;
use crate::refusal::{Invalid, Refusal};

/// Public refund status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    Submitted,
    Success,
    Error,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Submitted => "submitted",
            RefundStatus::Success => "success",
            RefundStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<RefundStatus> {
        match s {
            "submitted" => Some(RefundStatus::Submitted),
            "success" => Some(RefundStatus::Success),
            "error" => Some(RefundStatus::Error),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub id: String,
    pub payment_id: String,
    pub service_id: String,
    pub amount: i64,
    pub status: RefundStatus,
    pub created_ms: i64,
    /// When its status last changed (its result, for a refund the provider left pending).
    pub updated_ms: i64,
    /// When the sandbox paid it out (deducted from a payout), a day after it succeeded.
    pub settled_ms: Option<i64>,
}

/// `refund_summary.status` and what is left to refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    pub status: &'static str,
    pub amount_available: i64,
    pub amount_submitted: i64,
}

/// Reference §5.1: `pending` until captured, then `available` or `full`; `unavailable` for
/// everything else, and for a disputed payment.
pub fn availability(p: &PaymentRecord) -> Availability {
    let available = p.total() - p.refund_submitted;
    let status = if p.status.refund_pending() {
        "pending"
    } else if p.status == Status::Captured && !p.disputed {
        if available > 0 {
            "available"
        } else {
            "full"
        }
    } else {
        "unavailable"
    };
    Availability {
        status,
        amount_available: available,
        amount_submitted: p.refund_submitted,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundRequest {
    pub amount: i64,
    /// What the service believes is available; checked against the real figure when given.
    pub refund_amount_available: Option<i64>,
}

/// Jackson's `asInt()`, which GOV.UK Pay applies to `refund_amount_available`: numbers are
/// truncated, numeric strings parsed, booleans are 1 or 0, anything else is 0.
fn as_int(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(|i| i as i32 as i64)
            .unwrap_or(0),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i32>()
                .map(i64::from)
                .or_else(|_| t.parse::<f64>().map(|f| f as i32 as i64))
                .unwrap_or(0)
        }
        Value::Bool(b) => *b as i64,
        _ => 0,
    }
}

/// Validates `POST /v1/payments/{id}/refunds`'s body (reference §5.2).
pub fn parse_request(body: &Value) -> Result<RefundRequest, Invalid> {
    let numeric = || Invalid::malformed("amount", "Must be a valid numeric format");
    let amount = match body.get("amount") {
        None | Some(Value::Null) => return Err(Invalid::missing("amount")),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|v| i32::try_from(*v).is_ok())
            .ok_or_else(numeric)?,
        Some(_) => return Err(numeric()),
    };
    if amount < 1 {
        return Err(Invalid::violates(
            "amount",
            "Must be greater than or equal to 1",
        ));
    }
    if amount > MAX_AMOUNT {
        return Err(Invalid::violates(
            "amount",
            "Must be less than or equal to 10000000",
        ));
    }
    Ok(RefundRequest {
        amount,
        refund_amount_available: body.get("refund_amount_available").map(as_int),
    })
}

/// Why a refund of `request` on `p` is refused, in GOV.UK Pay's order of checks.
pub fn refusal(p: &PaymentRecord, request: &RefundRequest) -> Option<Refusal> {
    let a = availability(p);
    if a.status == "unavailable" && p.disputed {
        return Some(Refusal::RefundDisputed);
    }
    if a.status != "available" {
        return Some(Refusal::RefundNotAvailable(a.status));
    }
    if request
        .refund_amount_available
        .is_some_and(|v| v != a.amount_available)
    {
        return Some(Refusal::RefundAmountMismatch);
    }
    if request.amount > a.amount_available {
        return Some(Refusal::RefundNotAvailable("amount_not_available"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jackson_as_int() {
        assert_eq!(as_int(&json!(12)), 12);
        assert_eq!(as_int(&json!(12.9)), 12);
        assert_eq!(as_int(&json!("34")), 34);
        assert_eq!(as_int(&json!("abc")), 0);
        assert_eq!(as_int(&json!(true)), 1);
        assert_eq!(as_int(&json!(null)), 0);
        assert_eq!(as_int(&json!({})), 0);
    }
}
