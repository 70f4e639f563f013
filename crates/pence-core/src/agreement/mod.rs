//! Agreements for recurring payments (reference §7): the request's validation, the agreement
//! as stored, its statuses, and the search's parameters.

pub mod operations;
pub mod recurring;

pub use operations::{cancel_agreement, create_agreement, find_agreement, search_agreements};

use serde_json::Value;

use crate::payment::CardDetails;
use crate::refusal::Invalid;
use crate::search::{self, Search};
use crate::text::{is_blank, java_len};

const MAX_LEN: usize = 255;
/// Characters GOV.UK Pay's firewall refuses in a reference or description.
const FORBIDDEN_CHARS: [char; 3] = ['<', '>', '|'];

/// Where an agreement is in its life: `created` until a payment sets it up, `active` while
/// it has a card, `cancelled` by the service, `inactive` once the card can no longer be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgreementStatus {
    Created,
    Active,
    Cancelled,
    Inactive,
}

impl AgreementStatus {
    pub const ALL: [AgreementStatus; 4] = [
        AgreementStatus::Created,
        AgreementStatus::Active,
        AgreementStatus::Cancelled,
        AgreementStatus::Inactive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgreementStatus::Created => "created",
            AgreementStatus::Active => "active",
            AgreementStatus::Cancelled => "cancelled",
            AgreementStatus::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<AgreementStatus> {
        AgreementStatus::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The card an agreement's payments are taken from (never the full number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentInstrument {
    pub created_ms: i64,
    pub card: CardDetails,
}

/// An agreement as the Store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRecord {
    pub id: String,
    pub service_id: String,
    pub reference: String,
    pub description: String,
    pub user_identifier: Option<String>,
    pub status: AgreementStatus,
    pub created_ms: i64,
    pub cancelled_ms: Option<i64>,
    pub instrument: Option<PaymentInstrument>,
    /// Bumped by every change; conditional updates compare it.
    pub version: i64,
}

/// A create-agreement request that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRequest {
    pub reference: String,
    pub description: String,
    pub user_identifier: Option<String>,
}

/// `reference` and `description`: present, a string, not blank, none of `<>|` (400 P2101 /
/// P2102), at most 255 characters (422 P0102).
fn required_text(body: &Value, field: &str) -> Result<String, Invalid> {
    match body.get(field) {
        None | Some(Value::Null) => Err(Invalid::missing(field)),
        Some(Value::String(s)) if is_blank(s) => Err(Invalid::missing(field)),
        Some(Value::String(s)) if s.contains(FORBIDDEN_CHARS) || s.contains('\0') => {
            Err(Invalid::malformed(field, "Must be a valid string format"))
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(Invalid::malformed(field, "Must be a valid string format")),
    }
}

fn too_long(field: &str) -> Invalid {
    Invalid::violates(
        field,
        &format!("Must be less than or equal to {MAX_LEN} characters length"),
    )
}

/// Validates `POST /v1/agreements`'s body (reference §7), field by field in GOV.UK Pay's
/// order: the parser's errors first (reference, description, user_identifier), then sizes.
/// (The order between the fields is not documented; this follows the body's schema.)
pub fn parse_request(body: &Value) -> Result<AgreementRequest, Invalid> {
    let reference = required_text(body, "reference")?;
    let description = required_text(body, "description")?;
    let user_identifier = match body.get("user_identifier") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.contains('\0') => Some(s.clone()),
        Some(_) => {
            return Err(Invalid::malformed(
                "user_identifier",
                "Field must be a string",
            ))
        }
    };
    for (field, value) in [("reference", &reference), ("description", &description)] {
        if java_len(value) > MAX_LEN {
            return Err(too_long(field));
        }
    }
    // GOV.UK Pay's quirk: an empty user_identifier breaks the minimum length, reported with
    // the maximum's words.
    if user_identifier
        .as_deref()
        .is_some_and(|u| u.is_empty() || java_len(u) > MAX_LEN)
    {
        return Err(too_long("user_identifier"));
    }
    Ok(AgreementRequest {
        reference,
        description,
        user_identifier,
    })
}

/// What an agreement search asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgreementFilter {
    /// Matched exactly, any case (the spec: "exactly matches … not case sensitive").
    pub reference: Option<String>,
    pub status: Option<AgreementStatus>,
}

pub type AgreementSearch = Search<AgreementFilter>;

const SEARCH_PARAMS: [&str; 4] = ["reference", "status", "page", "display_size"];

/// Validates `GET /v1/agreements`'s query (reference §7): any other non-blank parameter is
/// refused by name (400 P2401); a bad value of a known one too (422 P2401).
pub fn parse_search(params: &[(String, String)]) -> Result<AgreementSearch, Invalid> {
    let unknown: Vec<String> = params
        .iter()
        .filter(|(k, v)| !SEARCH_PARAMS.contains(&k.as_str()) && !v.trim().is_empty())
        .map(|(k, _)| k.clone())
        .collect();
    if !unknown.is_empty() {
        return Err(Invalid::UnknownParams(unknown));
    }
    let mut bad = Vec::new();
    let first = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    };
    let mut filter = AgreementFilter::default();
    if let Some(r) = first("reference") {
        if java_len(r) > MAX_LEN || r.contains('\0') {
            bad.push("reference");
        } else {
            filter.reference = Some(r.to_lowercase());
        }
    }
    if let Some(s) = first("status") {
        match AgreementStatus::parse(s) {
            Some(status) => filter.status = Some(status),
            None => bad.push("status"),
        }
    }
    let (page, display_size) = search::paging(params, &mut bad);
    if !bad.is_empty() {
        return Err(Invalid::Params(bad));
    }
    Ok(Search {
        filter,
        page,
        display_size,
        params: ["reference", "status"]
            .iter()
            .filter_map(|n| first(n).map(|v| (n.to_string(), v.to_string())))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_rule_of_reference_section_7() {
        let ok =
            json!({"reference": "CT-1", "description": "Council tax", "user_identifier": "u1"});
        assert!(parse_request(&ok).is_ok());
        let with = |k: &str, v: Value| {
            let mut b = ok.clone();
            b[k] = v;
            parse_request(&b).unwrap_err()
        };
        assert_eq!(
            with("reference", Value::Null),
            Invalid::missing("reference")
        );
        assert_eq!(
            with("reference", json!("  ")),
            Invalid::missing("reference")
        );
        assert_eq!(
            with("description", json!(5)),
            Invalid::malformed("description", "Must be a valid string format")
        );
        assert_eq!(
            with("reference", json!("a<b")),
            Invalid::malformed("reference", "Must be a valid string format")
        );
        assert_eq!(
            with("reference", json!("r".repeat(256))),
            too_long("reference")
        );
        assert_eq!(
            with("user_identifier", json!("")),
            too_long("user_identifier")
        );
        assert_eq!(
            with("user_identifier", json!(1)),
            Invalid::malformed("user_identifier", "Field must be a string")
        );
        // The parser's errors come before sizes, whichever field.
        let mut b = ok.clone();
        b["reference"] = json!("r".repeat(300));
        b["description"] = json!(false);
        assert_eq!(
            parse_request(&b).unwrap_err(),
            Invalid::malformed("description", "Must be a valid string format")
        );
    }

    #[test]
    fn search_parameters() {
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            parse_search(&p(&[("colour", "red"), ("status", "nope")])).unwrap_err(),
            Invalid::UnknownParams(vec!["colour".into()])
        );
        assert_eq!(
            parse_search(&p(&[("status", "nope"), ("page", "0")])).unwrap_err(),
            Invalid::Params(vec!["status", "page"])
        );
        let s = parse_search(&p(&[
            ("reference", "CT-1"),
            ("status", "created"),
            ("x", " "),
        ]))
        .unwrap();
        assert_eq!(s.filter.reference.as_deref(), Some("ct-1"));
        assert_eq!(s.filter.status, Some(AgreementStatus::Created));
    }
}
