//! What the payer of a link enters, checked as GOV.UK Pay's payment pages check it
//! (pay-products-ui): the amount in pounds and pence, the reference, and the amount and
//! reference a prefilled link carries in its query.

use super::MAX_AMOUNT;

/// Why an amount the payer typed is refused (each has its own text on the amount page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountProblem {
    Empty,
    NotPoundsAndPence,
    OverMaximum,
    Zero,
}

/// Pence from what the payer typed: digits, optionally a point and one or two digits
/// ("10", "10.5", "10.50"). GOV.UK Pay checks in this order: empty, format, over £100,000,
/// zero.
pub fn parse_amount(typed: &str) -> Result<i64, AmountProblem> {
    if typed.is_empty() {
        return Err(AmountProblem::Empty);
    }
    let (pounds, pence) = match typed.split_once('.') {
        Some((p, d)) => (p, Some(d)),
        None => (typed, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pounds) || pence.is_some_and(|d| !digits(d) || d.len() > 2) {
        return Err(AmountProblem::NotPoundsAndPence);
    }
    let pounds = pounds.trim_start_matches('0');
    // More digits than any amount under the maximum can have.
    if pounds.len() > 7 {
        return Err(AmountProblem::OverMaximum);
    }
    let pounds: i64 = pounds.parse().unwrap_or(0);
    let pence: i64 = match pence {
        Some(d) if d.len() == 1 => d.parse::<i64>().unwrap_or(0) * 10,
        Some(d) => d.parse().unwrap_or(0),
        None => 0,
    };
    let total = pounds * 100 + pence;
    if total > MAX_AMOUNT {
        return Err(AmountProblem::OverMaximum);
    }
    if total == 0 {
        return Err(AmountProblem::Zero);
    }
    Ok(total)
}

/// Why a payer's answers to a link's questions, given all at once (the control API's and the
/// CLI's paying user), are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerProblem {
    Amount(AmountProblem),
    Reference(ReferenceProblem),
    /// The link has a fixed amount: the payer gives none.
    AmountIsFixed,
    /// The link makes up its references: the payer gives none.
    NoReferenceAsked,
}

/// `amount` (in pence) and `reference` checked against what `link` asks, by the pages' rules.
pub fn check_answers(
    link: &super::PaymentLink,
    amount: Option<i64>,
    reference: Option<&str>,
) -> Result<super::operations::Choices, AnswerProblem> {
    let amount = match (link.amount, amount) {
        (Some(_), Some(_)) => return Err(AnswerProblem::AmountIsFixed),
        (Some(_), None) => None,
        (None, None) => return Err(AnswerProblem::Amount(AmountProblem::Empty)),
        (None, Some(a)) if a <= 0 => return Err(AnswerProblem::Amount(AmountProblem::Zero)),
        (None, Some(a)) if a > MAX_AMOUNT => {
            return Err(AnswerProblem::Amount(AmountProblem::OverMaximum))
        }
        (None, Some(a)) => Some(a),
    };
    let reference = match (&link.reference, reference) {
        (None, Some(_)) => return Err(AnswerProblem::NoReferenceAsked),
        (None, None) => None,
        (Some(_), typed) => {
            Some(check_reference(typed.unwrap_or("")).map_err(AnswerProblem::Reference)?)
        }
    };
    Ok(super::operations::Choices { amount, reference })
}

/// "12.50" from 1250: how the amount page shows an amount back to the payer.
pub fn pounds_and_pence(pence: i64) -> String {
    format!("{}.{:02}", pence / 100, pence % 100)
}

/// Why a reference the payer typed is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceProblem {
    Empty,
    TooLong,
    /// One of `< > ; : ` ( ) " ' = | , ~ [ ]`, which GOV.UK Pay's firewall rules refuse.
    BadCharacters,
}

const NOT_IN_REFERENCES: &[char] = &[
    '<', '>', ';', ':', '`', '(', ')', '"', '\'', '=', '|', ',', '~', '[', ']',
];

/// The reference as the payment will carry it.
pub fn check_reference(typed: &str) -> Result<String, ReferenceProblem> {
    if typed.is_empty() {
        return Err(ReferenceProblem::Empty);
    }
    if crate::text::java_len(typed.trim()) > 255 {
        return Err(ReferenceProblem::TooLong);
    }
    if typed.contains(NOT_IN_REFERENCES) || typed.chars().any(char::is_control) {
        return Err(ReferenceProblem::BadCharacters);
    }
    Ok(typed.trim().to_string())
}

/// A prefilled link's `amount`: whole pence, more than zero, at most £100,000 (GOV.UK Pay
/// shows its "problem with the link" page otherwise).
pub fn prefilled_amount(query: &str) -> Option<i64> {
    if query.is_empty() || query.len() > 9 || !query.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    query
        .parse::<i64>()
        .ok()
        .filter(|p| (1..=MAX_AMOUNT).contains(p))
}

/// Whether a reference looks like a card number (12 to 19 digits, spaces and hyphens aside,
/// passing the Luhn check): GOV.UK Pay asks the payer to confirm such a reference.
pub fn looks_like_card_number(reference: &str) -> bool {
    let digits: Vec<u32> = reference
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()
        .unwrap_or_default();
    if !(12..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, dd) if dd > 9 => dd - 9,
            (true, dd) => dd,
            (false, _) => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_as_govuk_pay_reads_them() {
        assert_eq!(parse_amount("10"), Ok(1000));
        assert_eq!(parse_amount("10.5"), Ok(1050));
        assert_eq!(parse_amount("0.01"), Ok(1));
        assert_eq!(parse_amount("100000.00"), Ok(10_000_000));
        assert_eq!(parse_amount(""), Err(AmountProblem::Empty));
        for bad in [
            "abc", "1e5", "-1", "0.001", "£10", "1,000", " 10", "10.", ".5",
        ] {
            assert_eq!(
                parse_amount(bad),
                Err(AmountProblem::NotPoundsAndPence),
                "{bad}"
            );
        }
        assert_eq!(parse_amount("100000.01"), Err(AmountProblem::OverMaximum));
        assert_eq!(
            parse_amount("99999999999999999999"),
            Err(AmountProblem::OverMaximum)
        );
        assert_eq!(parse_amount("0.00"), Err(AmountProblem::Zero));
        assert_eq!(parse_amount("000"), Err(AmountProblem::Zero));
    }

    #[test]
    fn references_and_prefilled_values() {
        assert_eq!(check_reference(" AB12 "), Ok("AB12".into()));
        assert_eq!(check_reference(""), Err(ReferenceProblem::Empty));
        assert_eq!(check_reference("a;b"), Err(ReferenceProblem::BadCharacters));
        assert_eq!(
            check_reference("a\u{7}b"),
            Err(ReferenceProblem::BadCharacters)
        );
        assert_eq!(
            check_reference(&"x".repeat(256)),
            Err(ReferenceProblem::TooLong)
        );
        assert_eq!(prefilled_amount("1250"), Some(1250));
        for bad in ["0", "-1", "12.50", "1e5", "10000001", ""] {
            assert_eq!(prefilled_amount(bad), None, "{bad}");
        }
        assert!(looks_like_card_number("4242 4242 4242 4242"));
        assert!(!looks_like_card_number("4242 4242 4242 4241"));
        assert!(!looks_like_card_number("INV-12345"));
    }
}
