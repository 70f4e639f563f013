//! `POST /v1/auth` (reference §8): a service's own staff pass the card of a `moto_api`
//! payment, with the one-time token its `auth_url_post` link carries. This module checks the
//! body as GOV.UK Pay's public API and connector do, in their order; `payment::moto` spends
//! the token and authorises.

use serde_json::Value;

use crate::journey::card::form::check_number;
use crate::journey::card::{CardInfo, Problem};
use crate::service::CardSettings;

/// What `POST /v1/auth` refuses, each with GOV.UK Pay's status and code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MotoRefusal {
    /// The public API's checks (422): P0101 for a missing field, else P0102 with `message`,
    /// both naming the field.
    Missing(&'static str),
    Size {
        field: &'static str,
        message: &'static str,
    },
    /// The connector's checks (422 P0102, its whole description, no field).
    Format(String),
    /// 400 P1211 with its description.
    TokenInvalid(&'static str),
    /// 400 P1212.
    TokenUsed,
    /// 402 P0010 with its description: the card, or the provider, said no.
    Rejected(String),
    /// 500 P0050: the provider failed.
    ProviderError,
}

/// A body that passed both stages. The number lives only here, on its way to the provider.
#[derive(Clone)]
pub struct AuthRequest {
    pub one_time_token: String,
    pub card_number: String,
    pub cvc: String,
    /// `MM/YY`.
    pub expiry_date: String,
    pub cardholder_name: String,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest").finish_non_exhaustive()
    }
}

/// A field's text: strings as they are, numbers and booleans as their text (the public API's
/// JSON reader coerces them), anything else as absent.
fn text(body: &Value, field: &str) -> Option<String> {
    match body.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn sized(
    body: &Value,
    field: &'static str,
    ok: impl Fn(usize) -> bool,
    message: &'static str,
    blank_is_missing: bool,
) -> Result<String, MotoRefusal> {
    let value = text(body, field).ok_or(MotoRefusal::Missing(field))?;
    if blank_is_missing && value.trim().is_empty() {
        return Err(MotoRefusal::Missing(field));
    }
    if !ok(value.chars().count()) {
        return Err(MotoRefusal::Size { field, message });
    }
    Ok(value)
}

/// The public API's bean validation, field by field (which of several bad fields GOV.UK Pay
/// names first is unconfirmed; Pence names the first in this order).
pub fn parse(body: &Value) -> Result<AuthRequest, MotoRefusal> {
    let one_time_token = sized(body, "one_time_token", |_| true, "", true)?;
    let card_number = sized(
        body,
        "card_number",
        |n| (12..=19).contains(&n),
        "Must be between 12 and 19 characters long",
        false,
    )?;
    let cvc = sized(
        body,
        "cvc",
        |n| (3..=4).contains(&n),
        "Must be between 3 and 4 characters long",
        false,
    )?;
    let expiry_date = sized(
        body,
        "expiry_date",
        |n| n == 5,
        "Must be a valid date with the format MM/YY",
        false,
    )?;
    let cardholder_name = sized(
        body,
        "cardholder_name",
        |n| n <= 255,
        "Must be less than or equal to 255 characters long",
        true,
    )?;
    Ok(AuthRequest {
        one_time_token,
        card_number,
        cvc,
        expiry_date,
        cardholder_name,
    })
}

fn format(field: &str, message: &str) -> MotoRefusal {
    MotoRefusal::Format(format!("Invalid attribute value: {field}. {message}"))
}

/// The connector's checks of the card fields, before it looks at the token. `now_ms` is the
/// Clock's time: an expiry month is in the past when it is before the current month at
/// UTC−12h (the earliest time zone), as GOV.UK Pay's connector reckons it.
pub fn check_format(r: &AuthRequest, now_ms: i64) -> Result<(), MotoRefusal> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&r.card_number) || !(12..=19).contains(&r.card_number.len()) {
        return Err(format("card_number", "Must be a valid card number"));
    }
    if !digits(&r.cvc) || !(3..=4).contains(&r.cvc.len()) {
        return Err(format("cvc", "Must contain numbers only"));
    }
    let bad_date = || format("expiry_date", "Must be a valid date with the format MM/YY");
    let (month, year) = r.expiry_date.split_once('/').ok_or_else(bad_date)?;
    if month.len() != 2 || year.len() != 2 || !digits(month) || !digits(year) {
        return Err(bad_date());
    }
    let month: u8 = month.parse().map_err(|_| bad_date())?;
    let year: i32 = 2000 + year.parse::<i32>().map_err(|_| bad_date())?;
    if !(1..=12).contains(&month) {
        return Err(bad_date());
    }
    let earliest = now_ms - 12 * 60 * 60 * 1000;
    let today = time::OffsetDateTime::from_unix_timestamp(earliest.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    if (year, month) < (today.year(), u8::from(today.month())) {
        return Err(format("expiry_date", "Must be a valid date in the future"));
    }
    Ok(())
}

/// The card checks that reject the payment (402 P0010): a number that fails Luhn or names no
/// known range, a prepaid card the service blocks, a brand or type it does not take.
pub fn check_card(number: &str, settings: &CardSettings) -> Result<CardInfo, MotoRefusal> {
    match check_number(number, settings) {
        Ok((_, info)) => Ok(info),
        Err(problem) => Err(MotoRefusal::Rejected(match problem {
            Problem::PrepaidNotAccepted => "Prepaid cards are not accepted".into(),
            Problem::BrandNotAccepted(brand) => {
                format!("The card type is not enabled: {}", brand.id())
            }
            Problem::DebitNotAccepted | Problem::CreditNotAccepted => {
                let info = crate::journey::card::identify(number);
                let brand = info.map_or("", |i| i.brand.id());
                let kind = match problem {
                    Problem::DebitNotAccepted => "debit",
                    _ => "credit",
                };
                format!("The card type is not enabled: {brand} {kind}")
            }
            _ => "The card_number is not a valid card number".into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({"one_time_token": "t", "card_number": "4444333322221111", "cvc": "123", "expiry_date": "12/30", "cardholder_name": "Ada"})
    }

    #[test]
    fn public_api_checks_in_field_order() {
        let mut b = body();
        b["card_number"] = json!("4444");
        assert_eq!(
            parse(&b).unwrap_err(),
            MotoRefusal::Size {
                field: "card_number",
                message: "Must be between 12 and 19 characters long"
            }
        );
        b["one_time_token"] = json!("  ");
        assert_eq!(
            parse(&b).unwrap_err(),
            MotoRefusal::Missing("one_time_token")
        );
        let mut b = body();
        b.as_object_mut().unwrap().remove("cvc");
        assert_eq!(parse(&b).unwrap_err(), MotoRefusal::Missing("cvc"));
    }

    #[test]
    fn expiry_is_in_the_future_at_the_earliest_time_zone() {
        // 2026-12-01T06:00Z is still 30 November at UTC−12.
        let now = 1_796_104_800_000;
        let mut r = parse(&body()).unwrap();
        r.expiry_date = "11/26".into();
        assert_eq!(check_format(&r, now), Ok(()));
        r.expiry_date = "10/26".into();
        assert_eq!(
            check_format(&r, now),
            Err(format("expiry_date", "Must be a valid date in the future"))
        );
        r.expiry_date = "13/26".into();
        assert!(check_format(&r, now).is_err());
        r.cvc = "12a".into();
        assert_eq!(
            check_format(&r, now),
            Err(format("cvc", "Must contain numbers only"))
        );
    }
}
