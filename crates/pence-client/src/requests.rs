//! Request bodies and search parameters, with builders for the optional parts. Field names
//! are GOV.UK Pay's.

use serde::Serialize;
use serde_json::{Map, Value};

/// `POST /v1/payments`.
#[derive(Debug, Clone, Serialize)]
pub struct CreatePayment {
    pub amount: i64,
    pub reference: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delayed_capture: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moto: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefilled_cardholder_details: Option<PrefilledCardholderDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_up_agreement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation_mode: Option<String>,
    /// Sent as the `Idempotency-Key` header, not in the body.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PrefilledCardholderDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cardholder_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<BillingAddress>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BillingAddress {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

impl CreatePayment {
    /// A payment the user makes on GOV.UK Pay's pages, coming back to `return_url`.
    pub fn new(
        amount: i64,
        reference: impl Into<String>,
        description: impl Into<String>,
        return_url: impl Into<String>,
    ) -> Self {
        CreatePayment {
            return_url: Some(return_url.into()),
            ..Self::bare(amount, reference.into(), description.into())
        }
    }

    fn bare(amount: i64, reference: String, description: String) -> Self {
        CreatePayment {
            amount,
            reference,
            description,
            return_url: None,
            language: None,
            email: None,
            delayed_capture: None,
            moto: None,
            metadata: None,
            prefilled_cardholder_details: None,
            set_up_agreement: None,
            agreement_id: None,
            authorisation_mode: None,
            idempotency_key: None,
        }
    }

    /// A payment taken with the card saved on an agreement, the user not present. It gets an
    /// `Idempotency-Key` now, sent with every try of this request, so a retried create never
    /// takes the money twice.
    pub fn agreement(
        amount: i64,
        reference: impl Into<String>,
        description: impl Into<String>,
        agreement_id: impl Into<String>,
    ) -> Self {
        CreatePayment {
            agreement_id: Some(agreement_id.into()),
            authorisation_mode: Some("agreement".into()),
            idempotency_key: Some(new_idempotency_key()),
            ..Self::bare(amount, reference.into(), description.into())
        }
    }

    /// A MOTO payment whose card the service's staff pass with `Client::authorise_moto`.
    pub fn moto_api(
        amount: i64,
        reference: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        CreatePayment {
            authorisation_mode: Some("moto_api".into()),
            ..Self::bare(amount, reference.into(), description.into())
        }
    }

    pub fn language(mut self, language: &str) -> Self {
        self.language = Some(language.into());
        self
    }

    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    pub fn delayed_capture(mut self, delayed: bool) -> Self {
        self.delayed_capture = Some(delayed);
        self
    }

    pub fn moto(mut self, moto: bool) -> Self {
        self.moto = Some(moto);
        self
    }

    /// A metadata entry (string, number or boolean).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }

    pub fn cardholder_name(mut self, name: impl Into<String>) -> Self {
        self.prefilled_cardholder_details
            .get_or_insert_with(Default::default)
            .cardholder_name = Some(name.into());
        self
    }

    /// The payment saves its card on this (new) agreement.
    pub fn set_up_agreement(mut self, agreement_id: impl Into<String>) -> Self {
        self.set_up_agreement = Some(agreement_id.into());
        self
    }

    /// An `Idempotency-Key` of the caller's own (1–255 letters, digits and hyphens).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    pub(crate) fn idempotency_key_for_request(&self) -> Option<String> {
        self.idempotency_key.clone()
    }
}

/// 128 random bits as 32 hex digits: an `Idempotency-Key`.
fn new_idempotency_key() -> String {
    let bytes: [u8; 16] = rand::random();
    data_encoding::HEXLOWER.encode(&bytes)
}

/// `POST /v1/payments/{id}/refunds`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateRefund {
    pub amount: i64,
    /// What the service believes is left to refund: the refund is refused (412) if it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_amount_available: Option<i64>,
}

impl CreateRefund {
    pub fn new(amount: i64) -> Self {
        CreateRefund {
            amount,
            refund_amount_available: None,
        }
    }

    pub fn expecting_available(mut self, available: i64) -> Self {
        self.refund_amount_available = Some(available);
        self
    }
}

/// `POST /v1/agreements`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateAgreement {
    pub reference: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identifier: Option<String>,
}

impl CreateAgreement {
    pub fn new(reference: impl Into<String>, description: impl Into<String>) -> Self {
        CreateAgreement {
            reference: reference.into(),
            description: description.into(),
            user_identifier: None,
        }
    }

    pub fn user_identifier(mut self, id: impl Into<String>) -> Self {
        self.user_identifier = Some(id.into());
        self
    }
}

/// `POST /v1/auth`: a MOTO API payment's card.
#[derive(Clone, Serialize)]
pub struct AuthoriseMoto {
    pub one_time_token: String,
    pub card_number: String,
    pub cvc: String,
    /// `MM/YY`.
    pub expiry_date: String,
    pub cardholder_name: String,
}

/// Never prints the card number or the security code.
impl std::fmt::Debug for AuthoriseMoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthoriseMoto")
            .field("cardholder_name", &self.cardholder_name)
            .finish_non_exhaustive()
    }
}

/// Query parameters: the set ones, in order.
fn query(params: &[(&str, &Option<String>)], page: Option<u32>, size: Option<u32>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    if let Some(p) = page {
        q.append_pair("page", &p.to_string());
    }
    if let Some(s) = size {
        q.append_pair("display_size", &s.to_string());
    }
    let q = q.finish();
    if q.is_empty() {
        q
    } else {
        format!("?{q}")
    }
}

/// `GET /v1/payments` filters (GOV.UK Pay's names; dates as `2026-11-30T00:00:00Z`).
#[derive(Debug, Clone, Default)]
pub struct PaymentSearch {
    pub reference: Option<String>,
    pub email: Option<String>,
    pub state: Option<String>,
    pub card_brand: Option<String>,
    pub first_digits_card_number: Option<String>,
    pub last_digits_card_number: Option<String>,
    pub cardholder_name: Option<String>,
    pub from_date: Option<String>,
    pub to_date: Option<String>,
    pub from_settled_date: Option<String>,
    pub to_settled_date: Option<String>,
    pub agreement_id: Option<String>,
    pub page: Option<u32>,
    pub display_size: Option<u32>,
}

impl PaymentSearch {
    pub(crate) fn query(&self) -> String {
        query(
            &[
                ("reference", &self.reference),
                ("email", &self.email),
                ("state", &self.state),
                ("card_brand", &self.card_brand),
                ("first_digits_card_number", &self.first_digits_card_number),
                ("last_digits_card_number", &self.last_digits_card_number),
                ("cardholder_name", &self.cardholder_name),
                ("from_date", &self.from_date),
                ("to_date", &self.to_date),
                ("from_settled_date", &self.from_settled_date),
                ("to_settled_date", &self.to_settled_date),
                ("agreement_id", &self.agreement_id),
            ],
            self.page,
            self.display_size,
        )
    }
}

/// `GET /v1/refunds` filters.
#[derive(Debug, Clone, Default)]
pub struct RefundSearch {
    pub from_date: Option<String>,
    pub to_date: Option<String>,
    pub from_settled_date: Option<String>,
    pub to_settled_date: Option<String>,
    pub page: Option<u32>,
    pub display_size: Option<u32>,
}

impl RefundSearch {
    pub(crate) fn query(&self) -> String {
        query(
            &[
                ("from_date", &self.from_date),
                ("to_date", &self.to_date),
                ("from_settled_date", &self.from_settled_date),
                ("to_settled_date", &self.to_settled_date),
            ],
            self.page,
            self.display_size,
        )
    }
}

/// `GET /v1/disputes` filters.
#[derive(Debug, Clone, Default)]
pub struct DisputeSearch {
    pub from_date: Option<String>,
    pub to_date: Option<String>,
    pub from_settled_date: Option<String>,
    pub to_settled_date: Option<String>,
    pub status: Option<String>,
    pub page: Option<u32>,
    pub display_size: Option<u32>,
}

impl DisputeSearch {
    pub(crate) fn query(&self) -> String {
        query(
            &[
                ("from_date", &self.from_date),
                ("to_date", &self.to_date),
                ("from_settled_date", &self.from_settled_date),
                ("to_settled_date", &self.to_settled_date),
                ("status", &self.status),
            ],
            self.page,
            self.display_size,
        )
    }
}

/// `GET /v1/agreements` filters.
#[derive(Debug, Clone, Default)]
pub struct AgreementSearch {
    pub reference: Option<String>,
    pub status: Option<String>,
    pub page: Option<u32>,
    pub display_size: Option<u32>,
}

impl AgreementSearch {
    pub(crate) fn query(&self) -> String {
        query(
            &[("reference", &self.reference), ("status", &self.status)],
            self.page,
            self.display_size,
        )
    }
}
