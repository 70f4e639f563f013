//! The public error body and THE table of GOV.UK Pay error codes.
//!
//! GOV.UK Pay builds every description from a per-code template, with the field name as the
//! first argument when the error is tied to a body field. We keep the templates here, so the
//! exact strings live in one place.

use serde::{Deserialize, Serialize};

/// The `RequestError` body of every public-API 4xx/5xx except 401 and 429. Absent keys are
/// omitted, as GOV.UK Pay's Jackson NON_NULL does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    pub code: String,
    pub description: String,
}

/// A public error code with its description template (`%s` stands for the field name or the
/// substituted text). Status is not part of the code: several codes answer 400 or 422
/// depending on which validation stage raised them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    pub code: &'static str,
    pub template: &'static str,
}

macro_rules! codes {
    ($($name:ident = $code:literal, $template:literal;)*) => {
        impl ErrorCode {
            $(pub const $name: ErrorCode = ErrorCode { code: $code, template: $template };)*
            /// Every code Pence knows, for lookups and tests.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The code of `code` (`"P0102"`); the first of its names when several endpoints
            /// share it.
            pub fn parse(code: &str) -> Option<ErrorCode> {
                ErrorCode::ALL.iter().copied().find(|c| c.code == code)
            }
        }
    };
}

codes! {
    CREATE_PAYMENT_MISSING_FIELD = "P0101", "Missing mandatory attribute: %s";
    CREATE_PAYMENT_VALIDATION = "P0102", "Invalid attribute value: %s. %s";
    CREATE_PAYMENT_AGREEMENT_NOT_FOUND = "P0103", "Invalid attribute value: set_up_agreement. Agreement ID does not exist";
    CREATE_PAYMENT_UNEXPECTED_FIELD = "P0104", "Unexpected attribute: %s";
    CREATE_PAYMENT_IDEMPOTENCY_KEY_ALREADY_USED = "P0191", "The `Idempotency-Key` you sent in the request header has already been used to create a payment.";
    CREATE_PAYMENT_MOTO_API_NOT_ENABLED = "P0195", "Using authorisation_mode of moto_api is not allowed for this account";
    CREATE_PAYMENT_MOTO_NOT_ENABLED = "P0196", "MOTO payments are not enabled for this account. Please contact support if you would like to process MOTO payments - https://www.payments.service.gov.uk/support/ .";
    CREATE_PAYMENT_PARSING = "P0197", "Unable to parse JSON";
    CREATE_PAYMENT_CONNECTOR = "P0198", "Downstream system error";
    CREATE_PAYMENT_ACCOUNT = "P0199", "There is an error with this account. Contact support with your error code - https://www.payments.service.gov.uk/support/ .";
    GET_PAYMENT_NOT_FOUND = "P0200", "Not found";
    GET_PAYMENT_CONNECTOR = "P0298", "Downstream system error";
    GET_PAYMENT_EVENTS_NOT_FOUND = "P0300", "Not found";
    GET_PAYMENT_EVENTS_CONNECTOR = "P0398", "Downstream system error";
    SEARCH_PAYMENTS_VALIDATION = "P0401", "Invalid parameters: %s. See Public API documentation for the correct data formats";
    SEARCH_PAYMENTS_NOT_FOUND = "P0402", "Page not found";
    SEARCH_PAYMENTS_CONNECTOR = "P0498", "Downstream system error";
    CANCEL_PAYMENT_NOT_FOUND = "P0500", "Not found";
    CANCEL_PAYMENT_FAILED = "P0501", "Cancellation of payment failed";
    CANCEL_PAYMENT_CONFLICT = "P0502", "Cancellation of payment failed";
    CANCEL_PAYMENT_CONNECTOR = "P0598", "Downstream system error";
    CREATE_REFUND_NOT_FOUND = "P0600", "Not found";
    CREATE_REFUND_MISSING_FIELD = "P0601", "Missing mandatory attribute: %s";
    CREATE_REFUND_VALIDATION = "P0602", "Invalid attribute value: %s. %s";
    CREATE_REFUND_NOT_AVAILABLE = "P0603", "The payment is not available for refund. Payment refund status: %s";
    CREATE_REFUND_DISPUTED = "P0603", "The payment is disputed and cannot be refunded";
    CREATE_REFUND_AMOUNT_AVAILABLE_MISMATCH = "P0604", "Refund amount available mismatch.";
    CREATE_REFUND_PARSING = "P0697", "Unable to parse JSON";
    CREATE_REFUND_CONNECTOR = "P0698", "Downstream system error";
    GET_REFUND_NOT_FOUND = "P0700", "Not found";
    GET_REFUND_CONNECTOR = "P0798", "Downstream system error";
    GET_REFUNDS_NOT_FOUND = "P0800", "Not found";
    GET_REFUNDS_CONNECTOR = "P0898", "Downstream system error";
    TOO_MANY_REQUESTS = "P0900", "Too many requests";
    REQUEST_DENIED = "P0920", "Request blocked by security rules. Please consult API documentation for more information.";
    REQUEST_DENIED_RETURN_URL_NOT_HTTPS = "P0920", "Invalid attribute value: %s. Must begin with https:// for a live gateway account";
    ACCOUNT_NOT_LINKED = "P0940", "Account is not fully configured. Please refer to documentation to setup your account or contact support with your error code - https://www.payments.service.gov.uk/support/ .";
    ACCOUNT_DISABLED = "P0941", "GOV.UK Pay has disabled payment and refund creation on this account. Contact support with your error code - https://www.payments.service.gov.uk/support/ .";
    RECURRING_CARD_PAYMENTS_NOT_ALLOWED = "P0942", "Recurring card payments are currently disabled for this service. Contact support with your error code - https://www.payments.service.gov.uk/support/";
    CAPTURE_NOT_FOUND = "P1000", "Not found";
    CAPTURE_FAILED = "P1001", "Capture of payment failed";
    CAPTURE_NOT_CAPTURABLE = "P1003", "Payment cannot be captured";
    CAPTURE_CONNECTOR = "P1098", "Downstream system error";
    SEARCH_REFUNDS_NOT_FOUND = "P1100", "Page not found";
    SEARCH_REFUNDS_VALIDATION = "P1101", "Invalid parameters: %s. See Public API documentation for the correct data formats";
    SEARCH_REFUNDS_CONNECTOR = "P1898", "Downstream system error";
    CREATE_AGREEMENT_MISSING_FIELD = "P2101", "Missing mandatory attribute: %s";
    CREATE_AGREEMENT_VALIDATION = "P2102", "Invalid attribute value: %s. %s";
    CREATE_AGREEMENT_PARSING = "P2197", "Unable to parse JSON";
    CREATE_AGREEMENT_CONNECTOR = "P2198", "Downstream system error";
    GET_AGREEMENT_NOT_FOUND = "P2200", "Not found";
    GET_AGREEMENT_CONNECTOR = "P2298", "Downstream system error";
    SEARCH_AGREEMENTS_VALIDATION = "P2401", "Invalid parameters: %s. See Public API documentation for the correct data formats";
    SEARCH_AGREEMENTS_NOT_FOUND = "P2402", "Page not found";
    SEARCH_AGREEMENTS_CONNECTOR = "P2498", "Downstream system error";
    CANCEL_AGREEMENT_NOT_FOUND = "P2500", "Not found";
    CANCEL_AGREEMENT_FAILED = "P2501", "Cancellation of agreement failed";
    CANCEL_AGREEMENT_CONNECTOR = "P2598", "Downstream system error";
    AUTHORISATION_REJECTED = "P0010", "%s";
    AUTHORISATION_ERROR = "P0050", "There was an error authorising the payment";
    AUTHORISATION_TOKEN_INVALID = "P1211", "%s";
    AUTHORISATION_TOKEN_USED = "P1212", "The one_time_token has already been used";
}

impl ErrorCode {
    /// Looks a code up by its `P0xxx` id.
    pub fn by_code(code: &str) -> Option<ErrorCode> {
        Self::ALL.iter().copied().find(|c| c.code == code)
    }

    /// The description with each `%s` replaced, in order, by `args`.
    pub fn describe(&self, args: &[&str]) -> String {
        let mut out = String::with_capacity(self.template.len() + 32);
        let mut args = args.iter();
        let mut rest = self.template;
        while let Some(i) = rest.find("%s") {
            out.push_str(&rest[..i]);
            out.push_str(args.next().copied().unwrap_or(""));
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// A public-API error: the HTTP status and the body GOV.UK Pay would send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub body: RequestError,
}

impl ApiError {
    /// An error whose description has no field (e.g. `P0200 Not found`).
    pub fn plain(status: u16, code: ErrorCode) -> Self {
        Self::with_description(status, code, code.describe(&[]))
    }

    pub fn with_description(status: u16, code: ErrorCode, description: String) -> Self {
        ApiError {
            status,
            body: RequestError {
                field: None,
                header: None,
                code: code.code.to_string(),
                description,
            },
        }
    }

    /// An error tied to a body field: the field name is the first template argument and is
    /// reported in `field`.
    pub fn field(status: u16, code: ErrorCode, field: &str, message: &str) -> Self {
        let mut err = Self::with_description(status, code, code.describe(&[field, message]));
        err.body.field = Some(field.to_string());
        err
    }

    /// An error tied to a header, whose description is the header message verbatim.
    pub fn header(status: u16, code: ErrorCode, header: &str, message: &str) -> Self {
        let mut err = Self::with_description(status, code, message.to_string());
        err.body.header = Some(header.to_string());
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_substitute_in_order() {
        let e = ApiError::field(
            422,
            ErrorCode::CREATE_PAYMENT_VALIDATION,
            "amount",
            "Must be less than or equal to 10000000",
        );
        assert_eq!(
            e.body.description,
            "Invalid attribute value: amount. Must be less than or equal to 10000000"
        );
        assert_eq!(e.body.field.as_deref(), Some("amount"));
        let e = ApiError::field(400, ErrorCode::CREATE_PAYMENT_MISSING_FIELD, "amount", "");
        assert_eq!(e.body.description, "Missing mandatory attribute: amount");
    }

    #[test]
    fn codes_are_unique() {
        // One entry a code, except P0603 and P0920, which GOV.UK Pay words two ways
        // (reference §2).
        let second_wordings = [
            ErrorCode::CREATE_REFUND_DISPUTED,
            ErrorCode::REQUEST_DENIED_RETURN_URL_NOT_HTTPS,
        ];
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(
                seen.insert(c.code) || second_wordings.contains(c),
                "duplicate {}",
                c.code
            );
        }
        assert_eq!(
            ErrorCode::by_code("P0603"),
            Some(ErrorCode::CREATE_REFUND_NOT_AVAILABLE)
        );
        assert_eq!(
            ErrorCode::by_code("P0900"),
            Some(ErrorCode::TOO_MANY_REQUESTS)
        );
    }

    #[test]
    fn absent_keys_are_omitted() {
        let json =
            serde_json::to_string(&ApiError::plain(404, ErrorCode::GET_PAYMENT_NOT_FOUND).body)
                .unwrap();
        assert_eq!(json, r#"{"code":"P0200","description":"Not found"}"#);
    }
}
