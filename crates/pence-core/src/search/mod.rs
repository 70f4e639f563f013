//! Search payments (reference §11, §12): query parameters validated in GOV.UK Pay's order, all
//! failures reported together; the filter they describe; pagination.

pub mod queries;

pub use queries::{
    search_disputes, search_payments, search_payments_with_metadata, search_refunds, Found,
};

use time::macros::format_description;
use time::Date;

use crate::dispute::DisputeStatus;
use crate::payment::status::Status;
use crate::refusal::Invalid;
use crate::text::java_len;

pub const DEFAULT_DISPLAY_SIZE: u32 = MAX_DISPLAY_SIZE;
/// The largest page a search serves.
pub const MAX_DISPLAY_SIZE: u32 = 500;
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
    /// Text anywhere in the payment's metadata (keys or values). Not a public-API filter
    /// (GOV.UK Pay's search has none): the admin tool's list sets it.
    pub metadata: Option<String>,
    pub dates: Dates,
}

/// The date filters every search has: creation exclusive at both ends (as GOV.UK Pay's
/// ledger does), settlement inclusive-from/exclusive-to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dates {
    pub created_after_ms: Option<i64>,
    pub created_before_ms: Option<i64>,
    pub settled_from_ms: Option<i64>,
    pub settled_before_ms: Option<i64>,
}

/// A validated search: what to match, which page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search<F> {
    pub filter: F,
    pub page: u32,
    pub display_size: u32,
    /// The filter parameters as given (non-blank), for the pagination links.
    pub params: Vec<(String, String)>,
}

impl<F> Search<F> {
    /// Rows before this page.
    pub fn offset(&self) -> u64 {
        (self.page as u64 - 1) * self.display_size as u64
    }

    /// Whether this page lies past the last of `total` results (GOV.UK Pay's "Page not found"; with no
    /// results at all every page is an empty 200).
    pub fn past_the_end(&self, total: u64) -> bool {
        total > 0 && self.page as u64 > last_page(total, self.display_size)
    }
}

pub type PaymentSearch = Search<PaymentFilter>;
pub type RefundSearch = Search<Dates>;
pub type DisputeSearch = Search<DisputeFilter>;

fn first<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
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

/// `from_date` and `to_date` (date-times, creation), each refused by name in `bad`.
fn created_range<'a>(
    params: &[(String, String)],
    bad: &mut Vec<&'a str>,
) -> (Option<i64>, Option<i64>) {
    let mut one = |name: &'a str| {
        let v = first(params, name)?;
        crate::timefmt::parse(v).or_else(|| {
            bad.push(name);
            None
        })
    };
    (one("from_date"), one("to_date"))
}

/// `from_settled_date` and `to_settled_date` (dates), each refused by name in `bad`.
fn settled_range<'a>(
    params: &[(String, String)],
    bad: &mut Vec<&'a str>,
) -> (Option<i64>, Option<i64>) {
    let mut one = |name: &'a str| {
        let v = first(params, name)?;
        date_ms(v).or_else(|| {
            bad.push(name);
            None
        })
    };
    (one("from_settled_date"), one("to_settled_date"))
}

/// `page` (≥ 1, default 1) and `display_size` (1–500, default 500) (reference §11).
pub(crate) fn paging(params: &[(String, String)], bad: &mut Vec<&str>) -> (u32, u32) {
    let page = match first(params, "page") {
        None => 1,
        Some(v) => positive(v).unwrap_or_else(|| {
            bad.push("page");
            1
        }),
    };
    let display_size = match first(params, "display_size") {
        None => DEFAULT_DISPLAY_SIZE,
        Some(v) => positive(v)
            .filter(|n| *n <= MAX_DISPLAY_SIZE)
            .unwrap_or_else(|| {
                bad.push("display_size");
                DEFAULT_DISPLAY_SIZE
            }),
    };
    (page, display_size)
}

/// The parameters given (non-blank) among `names`, for the pagination links.
fn kept(params: &[(String, String)], names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .filter_map(|name| first(params, name).map(|v| (name.to_string(), v.to_string())))
        .collect()
}

/// Validates `GET /v1/refunds`'s query (reference §12, last paragraph): P1101 listing every
/// refused parameter in GOV.UK Pay's order.
pub fn parse_refund_search(params: &[(String, String)]) -> Result<RefundSearch, Invalid> {
    let mut bad = Vec::new();
    let (created_after_ms, created_before_ms) = created_range(params, &mut bad);
    let (page, display_size) = paging(params, &mut bad);
    let (settled_from_ms, settled_before_ms) = settled_range(params, &mut bad);
    if !bad.is_empty() {
        return Err(Invalid::Params(bad));
    }
    Ok(RefundSearch {
        filter: Dates {
            created_after_ms,
            created_before_ms,
            settled_from_ms,
            settled_before_ms,
        },
        page,
        display_size,
        params: kept(
            params,
            &[
                "from_date",
                "to_date",
                "from_settled_date",
                "to_settled_date",
            ],
        ),
    })
}

/// What a dispute search asks for: the dates (creation = when raised) and the status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisputeFilter {
    pub dates: Dates,
    pub status: Option<DisputeStatus>,
}

/// Validates `GET /v1/disputes`'s query: P0401 listing every refused parameter in the order
/// the spec's example gives (`from_date, to_date, from_settled_date, to_settled_date, status,
/// display_size`; `page` before `display_size`, as in the other searches).
pub fn parse_dispute_search(params: &[(String, String)]) -> Result<DisputeSearch, Invalid> {
    let mut bad = Vec::new();
    let (created_after_ms, created_before_ms) = created_range(params, &mut bad);
    let (settled_from_ms, settled_before_ms) = settled_range(params, &mut bad);
    let status = first(params, "status").and_then(|v| {
        DisputeStatus::parse(v).or_else(|| {
            bad.push("status");
            None
        })
    });
    let (page, display_size) = paging(params, &mut bad);
    if !bad.is_empty() {
        return Err(Invalid::Params(bad));
    }
    Ok(DisputeSearch {
        filter: DisputeFilter {
            dates: Dates {
                created_after_ms,
                created_before_ms,
                settled_from_ms,
                settled_before_ms,
            },
            status,
        },
        page,
        display_size,
        params: kept(
            params,
            &[
                "from_date",
                "to_date",
                "from_settled_date",
                "to_settled_date",
                "status",
            ],
        ),
    })
}

/// Validates `GET /v1/payments`'s query (reference §12).
pub fn parse_payment_search(params: &[(String, String)]) -> Result<PaymentSearch, Invalid> {
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
    // A NUL cannot be part of any stored value (PostgreSQL text refuses it; an FTS query
    // breaks on it): such a filter is refused like any malformed one.
    // Text filters keep their case: the store folds them as it folds the stored values, with
    // one function per engine, so a value always finds itself whatever its letters.
    let text = |name: &'static str, max: usize, bad: &mut Vec<&str>| -> Option<String> {
        let v = get(name)?;
        if java_len(v) > max || v.contains('\0') {
            bad.push(name);
            None
        } else {
            Some(v.to_string())
        }
    };
    filter.reference = text("reference", 255, &mut bad);
    filter.email = text("email", 254, &mut bad);
    filter.card_brand = text("card_brand", 20, &mut bad).map(|b| b.to_lowercase());
    (
        filter.dates.created_after_ms,
        filter.dates.created_before_ms,
    ) = created_range(params, &mut bad);
    let (page, display_size) = paging(params, &mut bad);
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
    (filter.dates.settled_from_ms, filter.dates.settled_before_ms) =
        settled_range(params, &mut bad);
    filter.cardholder_name = text("cardholder_name", usize::MAX, &mut bad);
    filter.agreement_id = text("agreement_id", usize::MAX, &mut bad);

    if !bad.is_empty() {
        return Err(Invalid::Params(bad));
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
    Ok(PaymentSearch {
        filter,
        page,
        display_size,
        params: kept(params, &LINKED),
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
            crate::timefmt::parse("2015-08-13T12:35:00Z"),
            Some(1_439_469_300_000)
        );
        assert_eq!(
            crate::timefmt::parse("2015-08-13T13:35:00+01:00"),
            Some(1_439_469_300_000)
        );
        assert_eq!(
            crate::timefmt::parse("2015-08-13T12:35Z"),
            Some(1_439_469_300_000)
        );
        assert_eq!(
            crate::timefmt::parse("2015-08-13T12:35:00.123Z"),
            Some(1_439_469_300_123)
        );
        assert_eq!(
            crate::timefmt::parse("2015-08-13T12:35:00Z[UTC]"),
            Some(1_439_469_300_000)
        );
        assert_eq!(crate::timefmt::parse("2015-08-13T12:35:00"), None);
        assert_eq!(crate::timefmt::parse("2015-08-13"), None);
        assert_eq!(date_ms("2015-08-13"), Some(1_439_424_000_000));
        assert_eq!(date_ms("2015-13-01"), None);
    }

    #[test]
    fn dispute_search_failures_in_order() {
        let e = parse_dispute_search(&params(&[
            ("display_size", "501"),
            ("status", "open"),
            ("page", "0"),
            ("to_settled_date", "x"),
            ("from_settled_date", "2022-13-01"),
            ("to_date", "yesterday"),
            ("from_date", "2022-01-01"),
        ]))
        .unwrap_err();
        assert_eq!(
            e,
            Invalid::Params(vec![
                "from_date",
                "to_date",
                "from_settled_date",
                "to_settled_date",
                "status",
                "page",
                "display_size"
            ])
        );
        let ok = parse_dispute_search(&params(&[("status", "lost"), ("page", "2")])).unwrap();
        assert_eq!(ok.filter.status, Some(DisputeStatus::Lost));
        assert_eq!((ok.page, ok.display_size), (2, 500));
        assert_eq!(ok.params, params(&[("status", "lost")]));
    }

    #[test]
    fn refund_search_failures_in_order() {
        let e = parse_refund_search(&params(&[
            ("to_settled_date", "x"),
            ("display_size", "501"),
            ("from_date", "y"),
        ]))
        .unwrap_err();
        assert_eq!(
            e,
            Invalid::Params(vec!["from_date", "display_size", "to_settled_date"])
        );
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
            e,
            Invalid::Params(vec!["state", "reference", "email", "from_date", "to_date"])
        );
    }
}
