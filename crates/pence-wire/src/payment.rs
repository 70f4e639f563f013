//! Response shapes for card payments (`PaymentWithAllLinks` and its parts), in GOV.UK Pay's key
//! order. Optional keys are omitted when absent, never sent as `null`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub amount: i64,
    pub description: String,
    pub reference: String,
    pub language: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
    pub state: PaymentState,
    pub payment_id: String,
    pub payment_provider: String,
    pub created_date: String,
    pub refund_summary: RefundSummary,
    pub settlement_summary: SettlementSummary,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub card_details: Option<CardDetails>,
    pub delayed_capture: bool,
    pub moto: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub corporate_card_surcharge: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub total_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fee: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub net_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub provider_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub return_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorisation_summary: Option<AuthorisationSummary>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub agreement_id: Option<String>,
    pub authorisation_mode: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub agreement_payment_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub card_brand: Option<String>,
    /// Always present in API answers; absent in a webhook message's `resource`.
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none", default)]
    pub links: Option<PaymentLinks>,
}

/// `state`: `message` and `code` only on failed payments, `can_retry` only on failed agreement
/// payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentState {
    pub status: String,
    pub finished: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub can_retry: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundSummary {
    pub status: String,
    pub amount_available: i64,
    pub amount_submitted: i64,
}

/// Empty (`{}`) until the payment is captured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementSummary {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub capture_submit_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub captured_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub settled_date: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub postcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardDetails {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_digits_card_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub first_digits_card_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cardholder_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expiry_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub billing_address: Option<Address>,
    pub card_brand: String,
    /// `debit`, `credit`, or `null` for cards that can be either.
    pub card_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorisationSummary {
    pub three_d_secure: ThreeDSecure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreeDSecure {
    pub required: bool,
}

/// A HAL link: `{href, method}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    pub method: String,
}

impl Link {
    pub fn get(href: String) -> Self {
        Link {
            href,
            method: "GET".into(),
        }
    }
}

/// A POST link; `type` and `params` only where the client must send a body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostLink {
    pub href: String,
    pub method: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none", default)]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub params: Option<Map<String, Value>>,
}

impl PostLink {
    pub fn post(href: String) -> Self {
        PostLink {
            href,
            method: "POST".into(),
            content_type: None,
            params: None,
        }
    }

    /// A POST whose body is of `content_type` and carries one parameter (a token).
    pub fn with_param(href: String, content_type: &str, name: &str, value: String) -> Self {
        let mut params = Map::new();
        params.insert(name.into(), Value::String(value));
        PostLink {
            content_type: Some(content_type.into()),
            params: Some(params),
            ..PostLink::post(href)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentLinks {
    #[serde(rename = "self")]
    pub self_link: Link,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_url: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_url_post: Option<PostLink>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_url_post: Option<PostLink>,
    pub events: Link,
    pub refunds: Link,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cancel: Option<PostLink>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub capture: Option<PostLink>,
}
