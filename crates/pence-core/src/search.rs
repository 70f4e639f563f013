//! Search payments (reference §11, §12): query parameters validated in GOV.UK Pay's order, all
//! failures reported together; the filter they describe; pagination.

use pence_wire::{ApiError, ErrorCode};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::status::Status;
use crate::text::java_len;

pub const DEFAULT_DISPLAY_SIZE: u32 = 500;
const STATES: [&str; 7] = [
    "created",
    "started",
    "submitted",
    "success",
    "failed",
    "cancelled",
    "error",
];

/// What a payment search asks for. Text filters match case-insensitively anywhere in the
/// field; card digits and the agreement match exactly; dates are exclusive at both ends for
/// creation (as GOV.UK Pay's ledger does), inclusive-from/exclusive-to for settlement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    /// Internal statuses that show as the requested public state.
    pub statuses: Option<Vec<Status>>,
    pub reference: Option<String>,
    pub email: Option<String>,
    pub card_brand: Option<String>,
    pub cardholder_name: Option<String>,
    pub first_digits: Option<String>,
    pub last_digits: Option<String>,
    pub agreement_id: Option<String>,
    pub created_after_ms: Option<i64>,
    pub created_before_ms: Option<i64>,
    pub settled_from_ms: Option<i64>,
    pub settled_before_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSearch {
    pub filter: PaymentFilter,
    pub page: u32,
    pub display_size: u32,
    /// The filter parameters as given (non-blank), for the pagination links.
    pub params: Vec<(String, String)>,
}

fn first<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

fn date_time_ms(s: &str) -> Option<i64> {
    // Java's ISO_ZONED_DATE_TIME: seconds optional, an offset required, a [zone] suffix allowed.
    let s = s.split('[').next().unwrap_or(s);
    let parsed = OffsetDateTime::parse(s, &Rfc3339).ok().or_else(|| {
        let t = s.find('T')?;
        let rest = &s[t + 1..];
        let zone = rest.find(['Z', 'z', '+', '-'])?;
        (rest[..zone].len() == 5)
            .then(|| format!("{}:00{}", &s[..t + 1 + zone], &rest[zone..]))
            .and_then(|with_seconds| OffsetDateTime::parse(&with_seconds, &Rfc3339).ok())
    })?;
    Some((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn date_ms(s: &str) -> Option<i64> {
    let date = Date::parse(s, format_description!("[year]-[month]-[day]")).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn positive(s: &str) -> Option<u32> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| *n >= 1)
}

/// The statuses a public state covers.
fn statuses_for(state: &str) -> Vec<Status> {
    Status::ALL
        .iter()
        .copied()
        .filter(|s| s.external().status == state && *s != Status::AwaitingCaptureRequest)
        .collect()
}

/// Validates `GET /v1/payments`'s query (reference §12).
pub fn parse_payment_search(params: &[(String, String)]) -> Result<PaymentSearch, ApiError> {
    let mut bad: Vec<&str> = Vec::new();
    let mut filter = PaymentFilter::default();
    let get = |name| first(params, name);

    if let Some(state) = get("state") {
        if STATES.contains(&state) {
            filter.statuses = Some(statuses_for(state));
        } else {
            bad.push("state");
        }
    }
    let text = |name: &'static str, max: usize, bad: &mut Vec<&str>| -> Option<String> {
        let v = get(name)?;
        if java_len(v) > max {
            bad.push(name);
            None
        } else {
            Some(v.to_lowercase())
        }
    };
    filter.reference = text("reference", 255, &mut bad);
    filter.email = text("email", 254, &mut bad);
    filter.card_brand = text("card_brand", 20, &mut bad);
    for (name, slot) in [
        ("from_date", &mut filter.created_after_ms),
        ("to_date", &mut filter.created_before_ms),
    ] {
        if let Some(v) = get(name) {
            match date_time_ms(v) {
                Some(ms) => *slot = Some(ms),
                None => bad.push(name),
            }
        }
    }
    let page = match get("page") {
        None => 1,
        Some(v) => positive(v).unwrap_or_else(|| {
            bad.push("page");
            1
        }),
    };
    let display_size = match get("display_size") {
        None => DEFAULT_DISPLAY_SIZE,
        Some(v) => positive(v).filter(|n| *n <= 500).unwrap_or_else(|| {
            bad.push("display_size");
            DEFAULT_DISPLAY_SIZE
        }),
    };
    for (name, n) in [
        ("first_digits_card_number", 6),
        ("last_digits_card_number", 4),
    ] {
        if let Some(v) = get(name) {
            if digits(v, n) {
                let slot = if n == 6 {
                    &mut filter.first_digits
                } else {
                    &mut filter.last_digits
                };
                *slot = Some(v.to_string());
            } else {
                bad.push(name);
            }
        }
    }
    for (name, slot) in [
        ("from_settled_date", &mut filter.settled_from_ms),
        ("to_settled_date", &mut filter.settled_before_ms),
    ] {
        if let Some(v) = get(name) {
            match date_ms(v) {
                Some(ms) => *slot = Some(ms),
                None => bad.push(name),
            }
        }
    }
    filter.cardholder_name = get("cardholder_name").map(str::to_lowercase);
    filter.agreement_id = get("agreement_id").map(str::to_string);

    if !bad.is_empty() {
        let code = ErrorCode::SEARCH_PAYMENTS_VALIDATION;
        return Err(ApiError::with_description(
            422,
            code,
            code.describe(&[&bad.join(", ")]),
        ));
    }
    const LINKED: [&str; 12] = [
        "reference",
        "email",
        "state",
        "card_brand",
        "from_date",
        "to_date",
        "cardholder_name",
        "first_digits_card_number",
        "last_digits_card_number",
        "from_settled_date",
        "to_settled_date",
        "agreement_id",
    ];
    let kept = LINKED
        .iter()
        .filter_map(|name| get(name).map(|v| (name.to_string(), v.to_string())))
        .collect();
    Ok(PaymentSearch {
        filter,
        page,
        display_size,
        params: kept,
    })
}

/// The last page number for `total` results (1 when there are none).
pub fn last_page(total: u64, display_size: u32) -> u64 {
    total.div_ceil(display_size as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn dates_as_java_reads_them() {
        assert_eq!(
            date_time_ms("2015-08-13T12:35:00Z"),
            Some(1_439_469_300_000)
        );
        assert_eq!(
            date_time_ms("2015-08-13T13:35:00+01:00"),
            Some(1_439_469_300_000)
        );
        assert_eq!(date_time_ms("2015-08-13T12:35Z"), Some(1_439_469_300_000));
        assert_eq!(
            date_time_ms("2015-08-13T12:35:00.123Z"),
            Some(1_439_469_300_123)
        );
        assert_eq!(
            date_time_ms("2015-08-13T12:35:00Z[UTC]"),
            Some(1_439_469_300_000)
        );
        assert_eq!(date_time_ms("2015-08-13T12:35:00"), None);
        assert_eq!(date_time_ms("2015-08-13"), None);
        assert_eq!(date_ms("2015-08-13"), Some(1_439_424_000_000));
        assert_eq!(date_ms("2015-13-01"), None);
    }

    #[test]
    fn all_failures_in_order() {
        let e = parse_payment_search(&params(&[
            ("to_date", "x"),
            ("state", "capturable"),
            ("email", &"e".repeat(255)),
            ("reference", &"r".repeat(256)),
            ("from_date", "y"),
        ]))
        .unwrap_err();
        assert_eq!(
            e.body.description,
            "Invalid parameters: state, reference, email, from_date, to_date. See Public API documentation for the correct data formats"
        );
        assert_eq!((e.status, e.body.code.as_str()), (422, "P0401"));
    }
}
