//! The payment entity as stored, and its ledger events.

pub mod create;
pub mod export;
pub mod idempotency;
pub mod metadata;
pub mod moto;
pub mod moto_api;
pub mod operations;
pub mod phone;
pub mod present;
pub mod return_url;
pub mod status;
pub mod transition;

pub use operations::{
    cancel_payment, capture_payment, create_payment, find_payment, payment_events, Created,
};

use serde_json::{Map, Value};

use crate::journey::card::{Address, Brand, CardType};
use crate::payment::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    En,
    Cy,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Cy => "cy",
        }
    }

    pub fn parse(s: &str) -> Option<Language> {
        match s {
            "en" => Some(Language::En),
            "cy" => Some(Language::Cy),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorisationMode {
    Web,
    MotoApi,
    Agreement,
}

impl AuthorisationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorisationMode::Web => "web",
            AuthorisationMode::MotoApi => "moto_api",
            AuthorisationMode::Agreement => "agreement",
        }
    }

    pub fn parse(s: &str) -> Option<AuthorisationMode> {
        match s {
            "web" => Some(AuthorisationMode::Web),
            "moto_api" => Some(AuthorisationMode::MotoApi),
            "agreement" => Some(AuthorisationMode::Agreement),
            _ => None,
        }
    }
}

/// Cardholder details the service prefilled when creating the payment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefilled {
    pub cardholder_name: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

impl Prefilled {
    pub fn is_empty(&self) -> bool {
        *self == Prefilled::default()
    }
}

/// A payment as the Store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRecord {
    pub id: String,
    pub service_id: String,
    pub amount: i64,
    pub reference: String,
    pub description: String,
    pub return_url: Option<String>,
    pub language: Language,
    pub email: Option<String>,
    pub delayed_capture: bool,
    pub moto: bool,
    pub authorisation_mode: AuthorisationMode,
    /// Absent when the service sent none or `{}` (GOV.UK Pay stores neither).
    pub metadata: Option<Map<String, Value>>,
    pub prefilled: Prefilled,
    pub payment_provider: String,
    pub status: Status,
    /// Sum of refunds submitted or succeeded.
    pub refund_submitted: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Bumped by every state change; conditional updates compare it.
    pub version: i64,
    /// The card the user paid with, once entered (never the full number or CVC).
    pub card: Option<CardDetails>,
    /// The payment provider's transaction id, once authorised.
    pub provider_id: Option<String>,
    pub three_ds_required: bool,
    /// Corporate card surcharge applied at authorisation (reference §17).
    pub corporate_surcharge: Option<i64>,
    pub capture_submit_ms: Option<i64>,
    pub captured_ms: Option<i64>,
    /// When the sandbox paid the money out.
    pub settled_ms: Option<i64>,
    /// A dispute was raised: the payment can no longer be refunded.
    pub disputed: bool,
    /// When the dispute the provider announced at capture is to be raised.
    pub dispute_due_ms: Option<i64>,
    /// The agreement this payment sets up (`set_up_agreement`) or is taken under.
    pub agreement_id: Option<String>,
    /// `instalment`, `recurring` or `unscheduled`, for payments of an agreement.
    pub agreement_payment_type: Option<String>,
    /// For a refused agreement payment: whether trying again may succeed (`state.can_retry`).
    pub can_retry: Option<bool>,
}

impl PaymentRecord {
    /// Amount plus any corporate surcharge: what the user pays and what can be refunded.
    pub fn total(&self) -> i64 {
        self.amount + self.corporate_surcharge.unwrap_or(0)
    }
}

/// The card details kept with a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    pub first_digits: String,
    pub last_digits: String,
    pub cardholder_name: String,
    /// `MM/YY`.
    pub expiry: String,
    pub brand: Brand,
    pub card_type: CardType,
    pub billing_address: Option<Address>,
}
