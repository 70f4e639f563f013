//! GOV.UK Pay's transaction CSV (its ledger's download, which the admin tool's
//! `#download-csv` and `pence payment export` write): the columns, how each is formatted, one
//! row a payment, and the payments' metadata keys as extra columns (`{key} (metadata)`).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::payment::PaymentRecord;
use crate::timefmt;

pub const CSV_COLUMNS: [&str; 21] = [
    "Reference",
    "Description",
    "Email",
    "Amount",
    "Card Brand",
    "Cardholder Name",
    "Card Expiry Date",
    "Card Number",
    "State",
    "Finished",
    "Error Code",
    "Error Message",
    "Provider ID",
    "GOV.UK Payment ID",
    "Issued By",
    "Date Created",
    "Time Created",
    "Corporate Card Surcharge",
    "Total Amount",
    "Wallet Type",
    "Card Type",
];

/// The header: the fixed columns, then one per metadata key.
pub fn csv_header(metadata_keys: &BTreeSet<String>) -> Vec<String> {
    CSV_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(
            metadata_keys
                .iter()
                .map(|k| inert(format!("{k} (metadata)"))),
        )
        .collect()
}

/// Text a payer or a service chose, as a cell no spreadsheet runs: one starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return is a formula to Excel and its kin, so it gets a
/// leading `'` (OWASP's advice on CSV injection). Amounts and dates are ours and keep their
/// signs.
fn inert(text: String) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text,
    }
}

/// Adds `p`'s metadata keys to `keys`.
pub fn collect_metadata_keys(p: &PaymentRecord, keys: &mut BTreeSet<String>) {
    if let Some(m) = &p.metadata {
        keys.extend(m.keys().cloned());
    }
}

/// `1.23`, `-20.00`: pounds as the CSV writes them.
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", pence.abs() / 100, pence.abs() % 100)
}

/// How GOV.UK Pay's CSV names a payment's state.
pub fn csv_state(p: &PaymentRecord) -> &'static str {
    let s = p.status.external();
    match (s.status, s.code) {
        ("success", _) => "Success",
        ("failed", Some("P0010")) => "Declined",
        ("failed", Some("P0020")) => "Timed out",
        ("failed", _) | ("cancelled", _) => "Cancelled",
        ("error", _) => "Error",
        _ => "In progress",
    }
}

/// `12 Mar 2018` and `16:25:01` from an ISO date-time, as GOV.UK Pay's CSV writes them (UTC).
pub fn time_parts(iso: &str) -> (String, String) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = iso[5..7].parse().unwrap_or(1);
    let date = format!(
        "{} {} {}",
        &iso[8..10],
        MONTHS[month.clamp(1, 12) - 1],
        &iso[..4]
    );
    (date, iso[11..19].to_string())
}

/// One payment's row, its metadata under `metadata_keys` (in the header's order).
pub fn csv_row(p: &PaymentRecord, metadata_keys: &BTreeSet<String>) -> Vec<String> {
    let s = p.status.external();
    let card = p.card.as_ref();
    let (date, time) = time_parts(&timefmt::date_time(p.created_ms));
    let mut row = vec![
        inert(p.reference.clone()),
        inert(p.description.clone()),
        inert(p.email.clone().unwrap_or_default()),
        pounds(p.amount),
        card.map_or("", |c| c.brand.label()).to_string(),
        inert(card.map_or("", |c| c.cardholder_name.as_str()).to_string()),
        card.map_or("", |c| c.expiry.as_str()).to_string(),
        card.map_or("", |c| c.last_digits.as_str()).to_string(),
        csv_state(p).to_string(),
        s.finished.to_string(),
        s.code.unwrap_or("").to_string(),
        s.message.unwrap_or("").to_string(),
        p.provider_id.clone().unwrap_or_default(),
        p.id.clone(),
        String::new(),
        date,
        time,
        pounds(p.corporate_surcharge.unwrap_or(0)),
        pounds(p.total()),
        String::new(),
        card.and_then(|c| c.card_type.api())
            .unwrap_or("")
            .to_string(),
    ];
    for key in metadata_keys {
        let value = p.metadata.as_ref().and_then(|m| m.get(key));
        row.push(match value {
            Some(Value::String(s)) => inert(s.clone()),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        });
    }
    row
}

#[cfg(test)]
mod tests {
    /// Every cell a spreadsheet would run as a formula is made text; others are as given.
    #[test]
    fn chosen_text_is_never_a_formula() {
        for (given, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("INV-1", "INV-1"),
            ("", ""),
        ] {
            assert_eq!(super::inert(given.to_string()), written, "{given:?}");
        }
    }

    #[test]
    fn amounts_and_dates_as_gov_uk_pay_writes_them() {
        assert_eq!(super::pounds(123), "1.23");
        assert_eq!(super::pounds(5), "0.05");
        assert_eq!(super::pounds(-2000), "-20.00");
        assert_eq!(
            super::time_parts("2018-03-12T16:25:01.000Z"),
            ("12 Mar 2018".to_string(), "16:25:01".to_string())
        );
    }
}
