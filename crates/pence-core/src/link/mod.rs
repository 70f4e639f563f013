//! Payment links (GOV.UK Pay's "payment pages", pay-products): a page a service's staff make
//! once and send to anyone, who pays on it without the service writing any code. A link has a
//! title and details, a fixed amount or one the payer enters, a reference the payer enters
//! (under the link's label) or one Pence makes up, a language, reporting columns added to
//! every payment's metadata, and an address `/{service path}/{link path}`. Each payment it
//! takes is an ordinary payment of its service.

pub mod operations;
pub mod payer;

use std::collections::BTreeMap;

use crate::payment::Language;
use crate::text::java_len;

/// The most a link may ask for, as GOV.UK Pay: £100,000.
pub const MAX_AMOUNT: i64 = 10_000_000;
/// GOV.UK Pay's limit on a link's reporting columns.
pub const MAX_REPORTING_COLUMNS: usize = 15;

/// A payment link as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentLink {
    pub id: String,
    pub service_id: String,
    pub title: String,
    /// Shown to the payer under the title; may be empty.
    pub details: String,
    /// In pence; `None` when the payer enters the amount.
    pub amount: Option<i64>,
    /// Shown on the amount page when the payer enters it.
    pub amount_hint: Option<String>,
    /// `None` when Pence makes up each payment's reference.
    pub reference: Option<ReferenceField>,
    pub language: Language,
    /// Reporting columns: added to the metadata of every payment the link takes.
    pub metadata: BTreeMap<String, String>,
    pub service_path: String,
    pub link_path: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A payment a link took: the payment, and the id of the link's completion page for it
/// (GOV.UK Pay's product payment), which is the payment's `return_url` and so names no
/// payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPayment {
    pub id: String,
    pub link_id: String,
    pub payment_id: String,
    pub service_id: String,
    /// The reference Pence made up, kept unique among the service's link payments.
    pub generated_reference: Option<String>,
    pub created_ms: i64,
}

/// What a link has taken: its payments, and the sum of those that succeeded, in pence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Takings {
    pub payments: i64,
    pub succeeded: i64,
    pub total: i64,
}

/// What the payer is asked for when they enter the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceField {
    pub label: String,
    pub hint: Option<String>,
}

impl PaymentLink {
    /// The link's address under a node's public URL: `/payments/{service}/{link}`, as
    /// GOV.UK Pay's `www.gov.uk/payments/...`.
    pub fn address(&self) -> String {
        format!("/payments/{}/{}", self.service_path, self.link_path)
    }
}

/// A link as staff describe it, before it is checked (admin tool, CLI and links API alike).
#[derive(Debug, Clone, Default)]
pub struct LinkDraft {
    pub title: String,
    pub details: String,
    pub amount: Option<i64>,
    pub amount_hint: Option<String>,
    pub reference: Option<ReferenceField>,
    pub language: Option<Language>,
    pub metadata: BTreeMap<String, String>,
    /// Chosen by staff; made from the service's name when absent.
    pub service_path: Option<String>,
    /// Chosen by staff; made from the title when absent.
    pub link_path: Option<String>,
}

/// A field staff got wrong, with GOV.UK Pay's text for it (pay-selfservice).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct LinkInvalid {
    /// The field as the links API names it.
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> LinkInvalid {
    LinkInvalid {
        field,
        message: message.into(),
    }
}

/// GOV.UK Pay refuses `<`, `>` and `|` in what staff write on a link.
fn has_markup(s: &str) -> bool {
    s.contains(['<', '>', '|'])
}

fn check_text(
    field: &'static str,
    name: &str,
    value: &str,
    max: usize,
    too_long: &str,
) -> Result<(), LinkInvalid> {
    // Counted as GOV.UK Pay counts (UTF-16 units): the title becomes a payment's description,
    // which the create use case measures so.
    if java_len(value) > max {
        return Err(invalid(field, too_long));
    }
    if has_markup(value) {
        return Err(invalid(
            field,
            format!("You cannot use any of the following characters < > | in the {name}"),
        ));
    }
    Ok(())
}

/// Checks `draft` in GOV.UK Pay's order with its texts, and trims what staff wrote.
pub fn check(draft: &mut LinkDraft) -> Result<(), LinkInvalid> {
    draft.title = draft.title.trim().to_string();
    draft.details = draft.details.trim().to_string();
    if draft.title.is_empty() {
        return Err(invalid("title", "Enter a title"));
    }
    check_text(
        "title",
        "Title",
        &draft.title,
        230,
        "Title must be 230 characters or fewer",
    )?;
    check_text(
        "details",
        "Details",
        &draft.details,
        5000,
        "Details must be less than 5000 characters",
    )?;
    if let Some(r) = &mut draft.reference {
        r.label = r.label.trim().to_string();
        if r.label.is_empty() {
            return Err(invalid("reference_label", "Please enter a reference"));
        }
        check_text(
            "reference_label",
            "Reference",
            &r.label,
            50,
            "Reference must be be 50 characters or fewer",
        )?;
        r.hint = r
            .hint
            .take()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty());
        if let Some(h) = &r.hint {
            check_text(
                "reference_hint",
                "Reference Hint",
                h,
                255,
                "Hint text must be be 255 characters or fewer",
            )?;
        }
    }
    if let Some(amount) = draft.amount {
        // pay-selfservice: a fixed amount from £0.30 to £100,000.
        if !(30..=MAX_AMOUNT).contains(&amount) {
            return Err(invalid(
                "amount",
                "Enter a valid payment amount between £0.30 and £100000",
            ));
        }
    }
    draft.amount_hint = draft
        .amount_hint
        .take()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    if let Some(h) = &draft.amount_hint {
        check_text(
            "amount_hint",
            "Amount Hint",
            h,
            255,
            "Hint text must be be 255 characters or fewer",
        )?;
    }
    if draft.metadata.len() > MAX_REPORTING_COLUMNS {
        return Err(invalid(
            "metadata",
            "You have already set 15 reporting columns for this payment link, remove one to set another",
        ));
    }
    let mut headers: Vec<String> = Vec::new();
    for (key, value) in &draft.metadata {
        let key = key.trim();
        if key.is_empty() {
            return Err(invalid("metadata", "Enter the column header"));
        }
        if java_len(key) > 30 {
            return Err(invalid(
                "metadata",
                "Column header must be 30 characters or fewer",
            ));
        }
        // Headers differing only in case are one column to GOV.UK Pay's products service.
        if headers.iter().any(|h| h.eq_ignore_ascii_case(key)) {
            return Err(invalid("metadata", "Column header must not already exist"));
        }
        headers.push(key.to_string());
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid("metadata", "Enter the cell content"));
        }
        if java_len(value) > 100 {
            return Err(invalid(
                "metadata",
                "Cell content must be 100 characters or fewer",
            ));
        }
    }
    draft.metadata = std::mem::take(&mut draft.metadata)
        .into_iter()
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    for (field, path) in [
        ("service_path", &mut draft.service_path),
        ("link_path", &mut draft.link_path),
    ] {
        if let Some(p) = path {
            let slug = slugify(p);
            if slug.is_empty() {
                return Err(invalid(field, "Enter a payment link address"));
            }
            if slug.len() > 230 {
                return Err(invalid(
                    field,
                    "a payment link address must be 230 characters or fewer",
                ));
            }
            *p = slug;
        }
    }
    Ok(())
}

/// Whether `s` could be a link's address part (what `slugify` makes): anything else names no
/// link and is not looked up.
pub fn could_be_path(s: &str) -> bool {
    !s.is_empty() && s.len() <= 230 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A string as a path segment, as GOV.UK Pay makes a link's address from a name: the
/// articles "a", "an" and "the" dropped, lower case, runs of anything but letters and digits
/// one hyphen, none at either end.
pub fn slugify(name: &str) -> String {
    let words: Vec<&str> = name
        .split_whitespace()
        .filter(|w| !["a", "an", "the"].contains(&w.to_ascii_lowercase().as_str()))
        .collect();
    let mut out = String::new();
    let mut gap = false;
    for c in words.join(" ").chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('-');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// A reference for a payment whose payer is not asked for one, as GOV.UK Pay's products
/// service makes them: ten characters of capitals and digits, without the easily confused
/// 0, 1, I and O, and a digit third and seventh.
pub fn generated_reference() -> String {
    use rand::Rng;
    const ANY: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|i| {
            let set = if i % 4 == 2 { DIGITS } else { ANY };
            set[rng.random_range(0..set.len())] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_made_as_govuk_pay_makes_them() {
        assert_eq!(
            slugify("Pay for a parking permit"),
            "pay-for-parking-permit"
        );
        assert_eq!(
            slugify("The Council's Fees & Charges!"),
            "council-s-fees-charges"
        );
        assert_eq!(slugify("  --  "), "");
        assert!(could_be_path("pay-for-parking-permit"));
        assert!(!could_be_path("a\0b") && !could_be_path("") && !could_be_path("A B"));
    }

    #[test]
    fn generated_references_have_digits_where_govuk_pay_puts_them() {
        for _ in 0..100 {
            let r = generated_reference();
            assert_eq!(r.len(), 10);
            let b = r.as_bytes();
            assert!(b[2].is_ascii_digit() && b[6].is_ascii_digit(), "{r}");
            assert!(!r.contains(['0', '1', 'I', 'O']), "{r}");
        }
    }

    #[test]
    fn drafts_are_checked_with_govuk_pays_texts() {
        let mut d = LinkDraft {
            title: "  ".into(),
            ..Default::default()
        };
        assert_eq!(check(&mut d).unwrap_err().message, "Enter a title");
        d.title = "Pay <b>".into();
        assert_eq!(
            check(&mut d).unwrap_err().message,
            "You cannot use any of the following characters < > | in the Title"
        );
        d.title = "Parking".into();
        d.amount = Some(29);
        assert_eq!(check(&mut d).unwrap_err().field, "amount");
        d.amount = Some(1000);
        d.reference = Some(ReferenceField {
            label: " ".into(),
            hint: None,
        });
        assert_eq!(
            check(&mut d).unwrap_err().message,
            "Please enter a reference"
        );
        d.reference = None;
        d.metadata.insert("Cost centre".into(), "AB1".into());
        d.metadata.insert("cost centre".into(), "AB2".into());
        assert_eq!(
            check(&mut d).unwrap_err().message,
            "Column header must not already exist"
        );
        d.metadata.remove("cost centre");
        // Measured as GOV.UK Pay measures: an emoji is two.
        d.title = "😀".repeat(116);
        assert_eq!(check(&mut d).unwrap_err().field, "title");
        d.title = "Parking".into();
        d.link_path = Some("My Link!".into());
        check(&mut d).unwrap();
        assert_eq!(d.link_path.as_deref(), Some("my-link"));
    }
}
