//! The card details form: what the paying user typed, checked server-side. Errors name the
//! field and a message key; the pages word them in the payment's language.

use std::fmt;

use super::address::Address;
use super::brand::{identify, luhn_ok, Brand, CardInfo, CardType, Prepaid};
use crate::service::{AcceptedTypes, CardSettings, EmailCollection};

/// The form as posted (GOV.UK Pay's field names).
#[derive(Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CardForm {
    pub card_no: String,
    pub expiry_month: String,
    pub expiry_year: String,
    pub cardholder_name: String,
    pub cvc: String,
    pub address_line1: String,
    pub address_line2: String,
    pub address_city: String,
    pub address_postcode: String,
    pub address_country: String,
    pub email: String,
}

impl CardForm {
    /// The form as the card page first shows it: what the service prefilled when it created
    /// the payment (country GB when it gave none), the payment's email, no card.
    pub fn prefilled(p: &crate::payment::PaymentRecord) -> CardForm {
        let pre = &p.prefilled;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        CardForm {
            cardholder_name: text(&pre.cardholder_name),
            address_line1: text(&pre.line1),
            address_line2: text(&pre.line2),
            address_city: text(&pre.city),
            address_postcode: text(&pre.postcode),
            address_country: pre.country.clone().unwrap_or_else(|| "GB".into()),
            email: text(&p.email),
            ..CardForm::default()
        }
    }
}

/// Never prints the card number or the CVC.
impl fmt::Debug for CardForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardForm")
            .field("cardholder_name", &self.cardholder_name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    CardNo,
    Expiry,
    CardholderName,
    Cvc,
    AddressLine1,
    AddressCity,
    AddressPostcode,
    AddressCountry,
    Email,
}

impl Field {
    /// The input's element id (GOV.UK Pay's), which the error summary links to.
    pub fn input_id(self) -> &'static str {
        match self {
            Field::CardNo => "card-no",
            Field::Expiry => "expiry-month",
            Field::CardholderName => "cardholder-name",
            Field::Cvc => "cvc",
            Field::AddressLine1 => "address-line-1",
            Field::AddressCity => "address-city",
            Field::AddressPostcode => "address-postcode",
            Field::AddressCountry => "address-country",
            Field::Email => "email",
        }
    }

    /// The suffix of the field's error element (`#error-card-no`, ...).
    pub fn error_id(self) -> &'static str {
        match self {
            Field::Expiry => "expiry-date",
            other => other.input_id(),
        }
    }
}

/// Why a field was refused; the pages turn it into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    CardNoMissing,
    CardNoInvalid,
    BrandNotAccepted(Brand),
    DebitNotAccepted,
    CreditNotAccepted,
    PrepaidNotAccepted,
    ExpiryMissing,
    ExpiryInvalid,
    ExpiryPast,
    NameMissing,
    /// More than 11 digits: a card number typed into the wrong box.
    NameIsCardNumber,
    /// Only 3 or 4 digits: a security code typed into the wrong box.
    NameIsSecurityCode,
    NameTooLong,
    CvcMissing,
    CvcInvalid,
    Line1Missing,
    /// An address line with more than 11 digits (a suspected card number).
    Line1Invalid,
    CityMissing,
    /// A town with more than 11 digits (a suspected card number).
    CityInvalid,
    PostcodeMissing,
    PostcodeInvalid,
    CountryMissing,
    EmailMissing,
    EmailInvalid,
    TooLong,
}

/// A form that passed every check. The full number lives only here, in memory, on its way
/// to the payment provider.
#[derive(Clone)]
pub struct ValidCard {
    pub number: String,
    pub info: CardInfo,
    /// `MM/YY`.
    pub expiry: String,
    pub cardholder_name: String,
    pub address: Option<Address>,
    pub email: Option<String>,
}

impl fmt::Debug for ValidCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidCard")
            .field("last_digits", &self.last_digits())
            .field("info", &self.info)
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

impl ValidCard {
    pub fn first_digits(&self) -> &str {
        &self.number[..6]
    }

    pub fn last_digits(&self) -> &str {
        &self.number[self.number.len() - 4..]
    }

    /// What the payment keeps of the card: never the number or the security code.
    pub fn details(&self) -> crate::payment::CardDetails {
        crate::payment::CardDetails {
            first_digits: self.first_digits().into(),
            last_digits: self.last_digits().into(),
            cardholder_name: self.cardholder_name.clone(),
            expiry: self.expiry.clone(),
            brand: self.info.brand,
            card_type: self.info.card_type,
            billing_address: self.address.clone(),
        }
    }
}

/// What the card page needs to check against.
pub struct Context<'a> {
    pub settings: &'a CardSettings,
    /// Year and month of today, UTC.
    pub today: (i32, u8),
}

impl<'a> Context<'a> {
    /// The context for a service's settings at `now_ms` (the Clock's time).
    pub fn at(settings: &'a CardSettings, now_ms: i64) -> Self {
        let at = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Context {
            settings,
            today: (at.year(), u8::from(at.month())),
        }
    }
}

const MAX_TEXT: usize = 255;

fn digits(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn check_number(
    raw: &str,
    settings: &CardSettings,
) -> Result<(String, CardInfo), Problem> {
    let number = digits(raw);
    if number.is_empty() {
        return Err(Problem::CardNoMissing);
    }
    if !all_digits(&number) || !(12..=19).contains(&number.len()) || !luhn_ok(&number) {
        return Err(Problem::CardNoInvalid);
    }
    let info = identify(&number).ok_or(Problem::CardNoInvalid)?;
    if !info.brand.lengths().contains(&number.len()) {
        return Err(Problem::CardNoInvalid);
    }
    if !settings.accepted_brands.contains(&info.brand) {
        return Err(Problem::BrandNotAccepted(info.brand));
    }
    match (settings.accepted_types, info.card_type) {
        (AcceptedTypes::CreditOnly, CardType::Debit) => return Err(Problem::DebitNotAccepted),
        (AcceptedTypes::DebitOnly, CardType::Credit) => return Err(Problem::CreditNotAccepted),
        _ => {}
    }
    if settings.block_prepaid && info.prepaid == Prepaid::Prepaid {
        return Err(Problem::PrepaidNotAccepted);
    }
    Ok((number, info))
}

/// pay-frontend's rule: month `1`–`9`, `01`–`12`; year of 2 digits, or 4 not starting with 0,
/// at most 2099; not before this month.
fn check_expiry(month: &str, year: &str, today: (i32, u8)) -> Result<String, Problem> {
    let (month, year) = (month.trim(), year.trim());
    if month.is_empty() || year.is_empty() {
        return Err(Problem::ExpiryMissing);
    }
    let month_ok = all_digits(month)
        && match month.len() {
            1 => month != "0",
            2 => matches!(month.as_bytes(), [b'0', b'1'..=b'9'] | [b'1', b'0'..=b'2']),
            _ => false,
        };
    let year_ok =
        all_digits(year) && (year.len() == 2 || (year.len() == 4 && !year.starts_with('0')));
    if !month_ok || !year_ok {
        return Err(Problem::ExpiryInvalid);
    }
    let m: u8 = month.parse().map_err(|_| Problem::ExpiryInvalid)?;
    let y: i32 = year.parse().map_err(|_| Problem::ExpiryInvalid)?;
    let y = if year.len() == 2 { 2000 + y } else { y };
    if y > 2099 {
        return Err(Problem::ExpiryInvalid);
    }
    if (y, m) < (today.0, today.1) {
        return Err(Problem::ExpiryPast);
    }
    Ok(format!("{m:02}/{:02}", y % 100))
}

/// pay-frontend's suspected card number: more than 11 digits anywhere in the text.
fn too_many_digits(text: &str) -> bool {
    text.chars().filter(char::is_ascii_digit).count() > 11
}

fn check_name(name: &str) -> Result<String, Problem> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Problem::NameMissing);
    }
    if name.chars().count() > MAX_TEXT {
        return Err(Problem::NameTooLong);
    }
    // A number typed into the wrong box must not be stored as a name (pay-frontend's rules).
    if too_many_digits(name) {
        return Err(Problem::NameIsCardNumber);
    }
    if (3..=4).contains(&name.len()) && all_digits(name) {
        return Err(Problem::NameIsSecurityCode);
    }
    Ok(name.to_string())
}

/// A loose UK postcode shape: outward code, then inward digit and two letters.
fn uk_postcode_ok(postcode: &str) -> bool {
    let p: String = postcode
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = p.as_bytes();
    (5..=7).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b[..b.len() - 3].iter().all(u8::is_ascii_alphanumeric)
        && b[b.len() - 3].is_ascii_digit()
        && b[b.len() - 2..].iter().all(u8::is_ascii_alphabetic)
}

pub fn email_ok(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !email.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// The form with control characters (NUL included) dropped from what was typed: no browser
/// sends them in a field, no stored text may hold a NUL, and a field of nothing else is
/// then simply empty.
fn printable(form: &CardForm) -> CardForm {
    let clean = |s: &str| s.chars().filter(|c| !c.is_control()).collect::<String>();
    CardForm {
        card_no: clean(&form.card_no),
        expiry_month: clean(&form.expiry_month),
        expiry_year: clean(&form.expiry_year),
        cardholder_name: clean(&form.cardholder_name),
        cvc: clean(&form.cvc),
        address_line1: clean(&form.address_line1),
        address_line2: clean(&form.address_line2),
        address_city: clean(&form.address_city),
        address_postcode: clean(&form.address_postcode),
        address_country: clean(&form.address_country),
        email: clean(&form.email),
    }
}

/// Checks the whole form, collecting one problem per field in the page's order: pay-frontend's
/// rules (its charge validation: card number 12–19 digits passing Luhn and of an accepted
/// brand and type; expiry month and year; security code 3 or 4 digits; names and address
/// lines without a suspected card number or security code; UK postcodes; emails with a
/// dotted domain).
pub fn validate(form: &CardForm, ctx: &Context<'_>) -> Result<ValidCard, Vec<(Field, Problem)>> {
    let form = &printable(form);
    let mut problems = Vec::new();
    let number = check_number(&form.card_no, ctx.settings)
        .map_err(|p| problems.push((Field::CardNo, p)))
        .ok();
    let expiry = check_expiry(&form.expiry_month, &form.expiry_year, ctx.today)
        .map_err(|p| problems.push((Field::Expiry, p)))
        .ok();
    let name = check_name(&form.cardholder_name)
        .map_err(|p| problems.push((Field::CardholderName, p)))
        .ok();
    // pay-frontend's rule: 3 or 4 digits once anything else is dropped, whatever the brand
    // (browser tests written for GOV.UK Pay type `123` for American Express).
    let cvc: String = form.cvc.chars().filter(char::is_ascii_digit).collect();
    if form.cvc.trim().is_empty() {
        problems.push((Field::Cvc, Problem::CvcMissing));
    } else if !(3..=4).contains(&cvc.len()) {
        problems.push((Field::Cvc, Problem::CvcInvalid));
    }
    let mut address = None;
    if ctx.settings.collect_billing_address {
        let text = |s: &str| s.trim().to_string();
        let (line1, city) = (text(&form.address_line1), text(&form.address_city));
        let (postcode, country) = (text(&form.address_postcode), text(&form.address_country));
        let line2 = Some(text(&form.address_line2)).filter(|s| !s.is_empty());
        let too_long = |s: &str| s.chars().count() > MAX_TEXT;
        if line1.is_empty() {
            problems.push((Field::AddressLine1, Problem::Line1Missing));
        } else if too_long(&line1) || line2.as_deref().is_some_and(too_long) {
            problems.push((Field::AddressLine1, Problem::TooLong));
        } else if too_many_digits(&line1) || line2.as_deref().is_some_and(too_many_digits) {
            problems.push((Field::AddressLine1, Problem::Line1Invalid));
        }
        if city.is_empty() {
            problems.push((Field::AddressCity, Problem::CityMissing));
        } else if too_long(&city) {
            problems.push((Field::AddressCity, Problem::TooLong));
        } else if too_many_digits(&city) {
            problems.push((Field::AddressCity, Problem::CityInvalid));
        }
        let is_uk = country == "GB";
        if postcode.is_empty() {
            if is_uk {
                problems.push((Field::AddressPostcode, Problem::PostcodeMissing));
            }
        } else if (is_uk && !uk_postcode_ok(&postcode))
            || too_long(&postcode)
            || too_many_digits(&postcode)
        {
            problems.push((Field::AddressPostcode, Problem::PostcodeInvalid));
        }
        if !super::countries::known(&country) {
            problems.push((Field::AddressCountry, Problem::CountryMissing));
        }
        address = Some(Address {
            line1,
            line2,
            postcode,
            city,
            country,
        });
    }
    let email = form.email.trim();
    let email = match ctx.settings.email_collection {
        EmailCollection::Off => None,
        mode => {
            if email.is_empty() {
                if mode == EmailCollection::Mandatory {
                    problems.push((Field::Email, Problem::EmailMissing));
                }
                None
            } else if !email_ok(email) {
                problems.push((Field::Email, Problem::EmailInvalid));
                None
            } else {
                Some(email.to_string())
            }
        }
    };
    match (number, expiry, name, problems.is_empty()) {
        (Some((number, info)), Some(expiry), Some(cardholder_name), true) => Ok(ValidCard {
            number,
            info,
            expiry,
            cardholder_name,
            address,
            email,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> CardForm {
        CardForm {
            card_no: "4444 3333 2222 1111".into(),
            expiry_month: "12".into(),
            expiry_year: "30".into(),
            cardholder_name: "Ada Lovelace".into(),
            cvc: "123".into(),
            address_line1: "1 Street".into(),
            address_line2: "".into(),
            address_city: "London".into(),
            address_postcode: "SW1A 1AA".into(),
            address_country: "GB".into(),
            email: "ada@example.org".into(),
        }
    }

    fn check(f: &CardForm) -> Result<ValidCard, Vec<(Field, Problem)>> {
        validate(
            f,
            &Context {
                settings: &CardSettings::default(),
                today: (2026, 11),
            },
        )
    }

    fn problem(change: impl Fn(&mut CardForm)) -> Vec<(Field, Problem)> {
        let mut f = form();
        change(&mut f);
        check(&f).expect_err("should fail")
    }

    #[test]
    fn today_comes_from_the_clock() {
        let settings = CardSettings::default();
        assert_eq!(Context::at(&settings, 1_453_396_500_000).today, (2016, 1));
    }

    #[test]
    fn valid_form() {
        let card = check(&form()).unwrap();
        assert_eq!(card.number, "4444333322221111");
        assert_eq!(card.expiry, "12/30");
        assert_eq!(
            (card.first_digits(), card.last_digits()),
            ("444433", "1111")
        );
        assert!(!format!("{card:?}").contains("4444333322221111"));
        assert!(!format!("{:?}", form()).contains("4444"));
    }

    #[test]
    fn each_rule() {
        use Field::*;
        use Problem::*;
        assert_eq!(problem(|f| f.card_no.clear()), [(CardNo, CardNoMissing)]);
        assert_eq!(
            problem(|f| f.card_no = "4444333322221112".into()),
            [(CardNo, CardNoInvalid)]
        );
        assert_eq!(
            problem(|f| f.card_no = "444433332222111".into()),
            [(CardNo, CardNoInvalid)]
        );
        assert_eq!(
            problem(|f| f.card_no = "6759649826438453".into()),
            [(CardNo, BrandNotAccepted(Brand::Maestro))]
        );
        assert_eq!(
            problem(|f| f.expiry_month = "13".into()),
            [(Expiry, ExpiryInvalid)]
        );
        assert_eq!(
            problem(|f| {
                f.expiry_month = "10".into();
                f.expiry_year = "2026".into();
            }),
            [(Expiry, ExpiryPast)]
        );
        assert_eq!(
            problem(|f| f.expiry_year = "2x".into()),
            [(Expiry, ExpiryInvalid)]
        );
        assert_eq!(
            problem(|f| f.cardholder_name = " ".into()),
            [(CardholderName, NameMissing)]
        );
        assert_eq!(
            problem(|f| f.cardholder_name = "4444 3333 2222 1111".into()),
            [(CardholderName, NameIsCardNumber)]
        );
        assert_eq!(problem(|f| f.cvc = "12".into()), [(Cvc, CvcInvalid)]);
        assert_eq!(
            problem(|f| f.address_postcode = "nope".into()),
            [(AddressPostcode, PostcodeInvalid)]
        );
        assert_eq!(
            problem(|f| f.address_country = "XX".into()),
            [(AddressCountry, CountryMissing)]
        );
        assert_eq!(problem(|f| f.email = "a@b".into()), [(Email, EmailInvalid)]);
        assert_eq!(problem(|f| f.email.clear()), [(Email, EmailMissing)]);
        // pay-frontend does not tie the security code's length to the brand: browser tests
        // written for GOV.UK Pay type 123 for American Express.
        let mut amex = form();
        amex.card_no = "371449635398431".into();
        for cvc in ["123", "1234", " 1 2 3 "] {
            amex.cvc = cvc.into();
            assert!(check(&amex).is_ok(), "{cvc}");
        }
        for cvc in ["12", "12345", "abc"] {
            amex.cvc = cvc.into();
            assert_eq!(check(&amex).unwrap_err(), [(Cvc, CvcInvalid)], "{cvc}");
        }
    }

    #[test]
    fn pay_frontend_rules() {
        use Field::*;
        use Problem::*;
        // Suspected card numbers (more than 11 digits) and security codes (3 or 4 digits).
        assert_eq!(
            problem(|f| f.cardholder_name = "Ada 1234 5678 9012".into()),
            [(CardholderName, NameIsCardNumber)]
        );
        assert_eq!(
            problem(|f| f.cardholder_name = " 123 ".into()),
            [(CardholderName, NameIsSecurityCode)]
        );
        assert!(check(&CardForm {
            cardholder_name: "Ada 12".into(),
            ..form()
        })
        .is_ok());
        assert_eq!(
            problem(|f| f.address_line1 = "Flat 123456789012".into()),
            [(AddressLine1, Line1Invalid)]
        );
        assert_eq!(
            problem(|f| f.address_line2 = "PO Box 1234 5678 9012".into()),
            [(AddressLine1, Line1Invalid)]
        );
        assert_eq!(
            problem(|f| f.address_city = "London 123456789012".into()),
            [(AddressCity, CityInvalid)]
        );
        // Expiry: month 1-9 or 01-12, year of 2 digits or 4 (not starting 0) up to 2099.
        for (month, year, ok) in [
            ("1", "30", true),
            ("01", "2030", true),
            ("001", "30", false),
            ("0", "30", false),
            ("12", "2099", true),
            ("12", "2100", false),
            ("12", "0030", false),
            ("12", "030", false),
        ] {
            let result = check(&CardForm {
                expiry_month: month.into(),
                expiry_year: year.into(),
                ..form()
            });
            assert_eq!(result.is_ok(), ok, "{month}/{year}");
        }
        // A NUL or other control character typed into a field is dropped, never stored.
        let card = check(&CardForm {
            cardholder_name: "Ada\0 Lovelace".into(),
            address_line1: "1\u{7} Street".into(),
            ..form()
        })
        .unwrap();
        assert_eq!(card.cardholder_name, "Ada Lovelace");
        assert_eq!(card.address.unwrap().line1, "1 Street");
        assert_eq!(
            problem(|f| f.cardholder_name = "\0".into()),
            [(CardholderName, NameMissing)]
        );
    }
}
