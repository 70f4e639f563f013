//! `POST /v1/payments` request validation, in GOV.UK Pay's three stages (reference §2):
//!
//! 1. the field-by-field parser, fail-fast in a fixed field order: type and presence errors
//!    are `Malformed` (Bad Request), a few enum and metadata errors `Violates`;
//! 2. size and range constraints (bean validation): `Violates` (Unprocessable Entity);
//! 3. the rules that need the service (connector): mode combinations, account capabilities,
//!    return URL.

use serde_json::{Map, Value};

use crate::payment::metadata;
use crate::payment::return_url;
use crate::payment::{AuthorisationMode, Language, Prefilled};
use crate::refusal::{Invalid, Refusal};
use crate::service::Service;
use crate::text::{is_blank, java_len};

pub const MAX_AMOUNT: i64 = 10_000_000;
const REFERENCE_MAX: usize = 255;
const DESCRIPTION_MAX: usize = 255;
const RETURN_URL_MAX: usize = 2000;
const EMAIL_MAX: usize = 254;
const PREFILLED_MAX: usize = 255;
const POSTCODE_MAX: usize = 25;
const AGREEMENT_ID_LEN: usize = 26;
/// Characters GOV.UK Pay's WAF refuses, checked by its parser in reference and description.
const FORBIDDEN_CHARS: [char; 3] = ['<', '>', '|'];
const SOURCES: [&str; 4] = [
    "CARD_API",
    "CARD_PAYMENT_LINK",
    "CARD_AGENT_INITIATED_MOTO",
    "CARD_EXTERNAL_TELEPHONE",
];
const ALLOWED_SOURCES: [&str; 2] = ["CARD_PAYMENT_LINK", "CARD_AGENT_INITIATED_MOTO"];

/// A create-payment request that passed stages 1 and 2.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePaymentRequest {
    pub amount: i64,
    pub reference: String,
    pub description: String,
    pub return_url: Option<String>,
    pub moto: bool,
    pub set_up_agreement: Option<String>,
    pub authorisation_mode: AuthorisationMode,
    pub agreement_id: Option<String>,
    pub agreement_payment_type: Option<String>,
    pub language: Language,
    pub delayed_capture: bool,
    pub email: Option<String>,
    /// Present (possibly empty) when the request had a `prefilled_cardholder_details` object.
    pub prefilled: Option<Prefilled>,
    pub metadata: Option<Map<String, Value>>,
}

use Invalid as I;

fn missing(field: &str) -> Invalid {
    I::missing(field)
}

/// The parser's refusal (type or format): GOV.UK Pay's Bad Request.
fn malformed(field: &str, message: &str) -> Invalid {
    I::malformed(field, message)
}

/// A constraint on a well-formed value: GOV.UK Pay's Unprocessable Entity.
fn violates(field: &str, message: &str) -> Invalid {
    I::violates(field, message)
}

fn unexpected(field: &str) -> Invalid {
    I::unexpected(field)
}

/// A string Pence can keep: no NUL character, which no stored text may hold (PostgreSQL
/// refuses it). Such a value is refused as the field's type error, on both engines alike.
fn readable(s: &str) -> bool {
    !s.contains('\0')
}

/// A value that must be present and not `null`.
fn required<'a>(
    body: &'a Value,
    field: &str,
    missing_error: Invalid,
) -> Result<&'a Value, Invalid> {
    match body.get(field) {
        None | Some(Value::Null) => Err(missing_error),
        Some(v) => Ok(v),
    }
}

/// GOV.UK Pay's "string, present, not blank" rule with its two errors.
fn required_string(
    body: &Value,
    field: &str,
    type_error: Invalid,
    missing_error: Invalid,
) -> Result<String, Invalid> {
    match required(body, field, missing_error.clone())? {
        Value::String(s) if is_blank(s) => Err(missing_error),
        Value::String(s) if readable(s) => Ok(s.clone()),
        _ => Err(type_error),
    }
}

/// Optional string where `null` counts as absent.
fn optional_string(
    body: &Value,
    field: &str,
    type_error: Invalid,
) -> Result<Option<String>, Invalid> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if readable(s) => Ok(Some(s.clone())),
        Some(_) => Err(type_error),
    }
}

fn boolean(body: &Value, field: &str) -> Result<bool, Invalid> {
    match body.get(field) {
        Some(Value::Bool(b)) => Ok(*b),
        _ => Err(malformed(field, "Must be true or false")),
    }
}

fn reference_like(body: &Value, field: &str) -> Result<String, Invalid> {
    let value = required_string(
        body,
        field,
        malformed(field, "Must be a valid string format"),
        missing(field),
    )?;
    if value.contains(FORBIDDEN_CHARS) {
        return Err(malformed(field, "Must be a valid string format"));
    }
    Ok(value)
}

fn amount(body: &Value) -> Result<i64, Invalid> {
    let numeric = malformed("amount", "Must be a valid numeric format");
    match required(body, "amount", missing("amount"))? {
        // Jackson's isInt: an integer literal that fits in 32 bits.
        Value::Number(n) => n
            .as_i64()
            .filter(|v| i32::try_from(*v).is_ok())
            .ok_or(numeric),
        _ => Err(numeric),
    }
}

fn authorisation_mode(body: &Value) -> Result<Option<AuthorisationMode>, Invalid> {
    if body.get("authorisation_mode").is_none() {
        return Ok(None);
    }
    // Reference §2.2: anything but one of the three names, whatever its type, violates.
    let err = violates(
        "authorisation_mode",
        "Must be one of web, moto_api, agreement",
    );
    match body.get("authorisation_mode") {
        Some(Value::String(s)) => AuthorisationMode::parse(s).map(Some).ok_or(err),
        _ => Err(err),
    }
}

fn agreement_payment_type(
    body: &Value,
    mode: Option<AuthorisationMode>,
) -> Result<Option<String>, Invalid> {
    if body.get("agreement_payment_type").is_none() {
        return Ok(None);
    }
    let field = "agreement_payment_type";
    let message = "Must be one of instalment, recurring, unscheduled";
    let value = required_string(
        body,
        field,
        malformed(field, message),
        malformed(field, message),
    )?;
    if body.get("set_up_agreement").is_none() && mode != Some(AuthorisationMode::Agreement) {
        return Err(unexpected(field));
    }
    match value.as_str() {
        "instalment" | "recurring" | "unscheduled" => Ok(Some(value)),
        _ => Err(violates(field, message)),
    }
}

fn language(body: &Value) -> Result<Language, Invalid> {
    let message = "Must be \"en\" or \"cy\"";
    match body.get("language") {
        None => Ok(Language::En),
        Some(Value::String(s)) if !is_blank(s) => {
            Language::parse(s).ok_or_else(|| violates("language", message))
        }
        Some(_) => Err(malformed("language", message)),
    }
}

fn prefilled(body: &Value) -> Result<Option<Prefilled>, Invalid> {
    let Some(node) = body.get("prefilled_cardholder_details") else {
        return Ok(None);
    };
    // GOV.UK Pay reads the leaves it knows from an object and ignores anything else.
    let leaf = |node: &Value, field: &str| {
        optional_string(node, field, malformed(field, "Field must be a string"))
    };
    let mut p = Prefilled {
        cardholder_name: leaf(node, "cardholder_name")?,
        ..Prefilled::default()
    };
    if let Some(address) = node.get("billing_address") {
        p.line1 = leaf(address, "line1")?;
        p.line2 = leaf(address, "line2")?;
        p.city = leaf(address, "city")?;
        p.postcode = leaf(address, "postcode")?;
        p.country = leaf(address, "country")?;
    }
    Ok(if node.is_object() { Some(p) } else { None })
}

fn metadata(body: &Value) -> Result<Option<Map<String, Value>>, Invalid> {
    match body.get("metadata") {
        None => Ok(None),
        Some(Value::Null) => Err(violates("metadata", "Value must not be null")),
        Some(Value::Object(map)) => {
            let broken = metadata::violations(map);
            if !broken.is_empty() {
                return Err(violates("metadata", &broken.join(". ")));
            }
            Ok(if map.is_empty() {
                None
            } else {
                Some(map.clone())
            })
        }
        Some(_) => Err(violates(
            "metadata",
            "Must be an object of JSON key-value pairs",
        )),
    }
}

fn source(body: &Value) -> Result<(), Invalid> {
    let Some(source) = body.get("internal").and_then(|i| i.get("source")) else {
        return Ok(());
    };
    let message = "Accepted values are only CARD_PAYMENT_LINK, CARD_AGENT_INITIATED_MOTO";
    match source {
        Value::Null => Ok(()),
        Value::String(s) if ALLOWED_SOURCES.contains(&s.as_str()) => Ok(()),
        Value::String(s) if SOURCES.contains(&s.as_str()) => Err(malformed("source", message)),
        Value::String(_) => Err(violates("source", message)),
        _ => Err(malformed("source", message)),
    }
}

/// Stage 1: GOV.UK Pay's parser, field by field in its order; the first failure wins.
fn parse(body: &Value) -> Result<CreatePaymentRequest, Invalid> {
    let amount = amount(body)?;
    let reference = reference_like(body, "reference")?;
    let description = reference_like(body, "description")?;
    let return_url = optional_string(
        body,
        "return_url",
        malformed("return_url", "Must be a valid URL format"),
    )?;
    let moto = match body.get("moto") {
        Some(_) => boolean(body, "moto")?,
        None => false,
    };
    let set_up_agreement = body
        .get("set_up_agreement")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mode = authorisation_mode(body)?;
    let agreement_id = match body.get("agreement_id") {
        None => None,
        Some(_) if mode != Some(AuthorisationMode::Agreement) => {
            return Err(unexpected("agreement_id"))
        }
        Some(_) => Some(required_string(
            body,
            "agreement_id",
            malformed("agreement_id", "Must be a valid string format"),
            missing("agreement_id"),
        )?),
    };
    let agreement_payment_type = agreement_payment_type(body, mode)?;
    let language = language(body)?;
    let delayed_capture = match body.get("delayed_capture") {
        Some(_) => boolean(body, "delayed_capture")?,
        None => false,
    };
    let email = optional_string(body, "email", malformed("email", "Field must be a string"))?;
    let prefilled = prefilled(body)?;
    let metadata = metadata(body)?;
    source(body)?;
    Ok(CreatePaymentRequest {
        amount,
        reference,
        description,
        return_url,
        moto,
        set_up_agreement,
        authorisation_mode: mode.unwrap_or(AuthorisationMode::Web),
        agreement_id,
        agreement_payment_type,
        language,
        delayed_capture,
        email,
        prefilled,
        metadata,
    })
}

fn too_long(field: &str, max: usize) -> Invalid {
    violates(
        field,
        &format!("Must be less than or equal to {max} characters length"),
    )
}

fn max_len(field: &str, value: Option<&str>, max: usize) -> Result<(), Invalid> {
    match value {
        Some(v) if java_len(v) > max => Err(too_long(field, max)),
        _ => Ok(()),
    }
}

fn exact_len(field: &str, value: Option<&str>, len: usize) -> Result<(), Invalid> {
    match value {
        Some(v) if java_len(v) != len => Err(violates(
            field,
            &format!("Field [{field}] length must be {len}"),
        )),
        _ => Ok(()),
    }
}

/// Stage 2: size and range constraints; the first violation is reported.
fn constraints(r: &CreatePaymentRequest) -> Result<(), Invalid> {
    if r.amount < 0 {
        return Err(violates("amount", "Must be greater than or equal to 1"));
    }
    if r.amount > MAX_AMOUNT {
        return Err(violates("amount", "Must be less than or equal to 10000000"));
    }
    max_len("reference", Some(&r.reference), REFERENCE_MAX)?;
    max_len("description", Some(&r.description), DESCRIPTION_MAX)?;
    max_len("return_url", r.return_url.as_deref(), RETURN_URL_MAX)?;
    max_len("email", r.email.as_deref(), EMAIL_MAX)?;
    if let Some(p) = &r.prefilled {
        max_len(
            "cardholder_name",
            p.cardholder_name.as_deref(),
            PREFILLED_MAX,
        )?;
        max_len("line1", p.line1.as_deref(), PREFILLED_MAX)?;
        max_len("line2", p.line2.as_deref(), PREFILLED_MAX)?;
        max_len("city", p.city.as_deref(), PREFILLED_MAX)?;
        max_len("postcode", p.postcode.as_deref(), POSTCODE_MAX)?;
    }
    exact_len("agreement_id", r.agreement_id.as_deref(), AGREEMENT_ID_LEN)?;
    exact_len(
        "set_up_agreement",
        r.set_up_agreement.as_deref(),
        AGREEMENT_ID_LEN,
    )?;
    Ok(())
}

/// Stages 1 and 2: everything that does not depend on the service.
pub fn parse_request(body: &Value) -> Result<CreatePaymentRequest, Invalid> {
    let request = parse(body)?;
    constraints(&request)?;
    Ok(request)
}

/// Stage 3: the rules that depend on the service (GOV.UK Pay's connector). The order of
/// these checks is not documented by GOV.UK Pay; this one puts request-shape problems first,
/// then what the account allows, then the return URL, then the amount.
pub fn check_for_service(r: &CreatePaymentRequest, service: &Service) -> Result<(), Refusal> {
    use AuthorisationMode::*;
    if service.disabled {
        return Err(Refusal::AccountDisabled);
    }
    let mode = r.authorisation_mode;
    if r.return_url.is_some() && mode != Web {
        return Err(unexpected("return_url").into());
    }
    if r.set_up_agreement.is_some() && mode != Web {
        return Err(unexpected("set_up_agreement").into());
    }
    if mode == Agreement {
        if r.email.is_some() {
            return Err(unexpected("email").into());
        }
        if r.prefilled.is_some() {
            return Err(unexpected("prefilled_cardholder_details").into());
        }
        if r.moto {
            return Err(unexpected("moto").into());
        }
    }
    if r.moto && !service.moto_enabled {
        return Err(Refusal::MotoNotEnabled);
    }
    if mode == MotoApi && !service.moto_api_enabled {
        return Err(Refusal::MotoApiNotEnabled);
    }
    if (mode == Agreement || r.set_up_agreement.is_some()) && !service.recurring_enabled {
        return Err(Refusal::RecurringNotEnabled);
    }
    if mode == Agreement && r.agreement_id.is_none() {
        return Err(missing("agreement_id").into());
    }
    if mode == Web {
        let Some(url) = &r.return_url else {
            return Err(missing("return_url").into());
        };
        if !return_url::is_valid(url) {
            return Err(violates("return_url", "Must be a valid URL format").into());
        }
        if service.live && !return_url::is_https(url) {
            return Err(Refusal::ReturnUrlNotHttps);
        }
    }
    if r.amount == 0 && !service.zero_amount_enabled {
        return Err(violates(
            "amount",
            "Must be greater than or equal to 1. Refer to https://docs.payments.service.gov.uk/making_payments/#amount",
        )
        .into());
    }
    Ok(())
}
