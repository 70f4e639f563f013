//! A service (GOV.UK Pay's gateway account): test or live, its payment provider, what it is
//! allowed to do and its rate limits.

pub mod administer;
pub mod api_key;
pub mod setup;

pub use setup::{
    bootstrap, create_api_key, create_service, default_service, note_public_url, public_url,
    reseal_secrets, secrets, Secrets,
};

use crate::journey::card::{Brand, CardInfo, CardType, Prepaid};

/// Rate limits per service and fixed one-second window (reference §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Create-payment POSTs a second.
    pub create_payment: u32,
    /// Capture POSTs a second.
    pub capture: u32,
    /// Other POSTs a second.
    pub other_post: u32,
    /// Each non-POST method, a second.
    pub get: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            create_payment: 15,
            capture: 15,
            other_post: 15,
            get: 75,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: String,
    pub name: String,
    /// Live services take real money: https return URLs only, `api_live_` keys.
    pub live: bool,
    pub payment_provider: String,
    pub created_ms: i64,
    /// Per-service overrides; `None` takes the instance's defaults.
    pub rate_limit_post: Option<u32>,
    pub rate_limit_get: Option<u32>,
    pub moto_enabled: bool,
    pub moto_api_enabled: bool,
    pub recurring_enabled: bool,
    pub zero_amount_enabled: bool,
    pub disabled: bool,
    /// What the card page accepts and asks for.
    pub cards: CardSettings,
    /// Which emails the paying user gets (GOV.UK Pay's email notifications).
    pub emails: EmailSettings,
    /// How far a test service's clock is ahead of the node's (the control API moves it;
    /// always 0 for live services): every time of its payments is taken from it.
    pub clock_offset_ms: i64,
}

/// The emails a service's paying users get, as GOV.UK Pay's email notifications: a
/// confirmation when they pay, a note when they are refunded; both on by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    pub payment_confirmed: bool,
    pub refund_issued: bool,
    /// A paragraph the service adds to its confirmations (`$reference` becomes the payment's
    /// reference).
    pub custom_paragraph: Option<String>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            payment_confirmed: true,
            refund_issued: true,
            custom_paragraph: None,
        }
    }
}

/// Which card types a service takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptedTypes {
    All,
    DebitOnly,
    CreditOnly,
}

impl AcceptedTypes {
    pub fn as_str(self) -> &'static str {
        match self {
            AcceptedTypes::All => "all",
            AcceptedTypes::DebitOnly => "debit",
            AcceptedTypes::CreditOnly => "credit",
        }
    }

    pub fn parse(s: &str) -> Option<AcceptedTypes> {
        [
            AcceptedTypes::All,
            AcceptedTypes::DebitOnly,
            AcceptedTypes::CreditOnly,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// Whether the card page asks for an email address (GOV.UK Pay's `email_collection_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailCollection {
    Mandatory,
    Optional,
    Off,
}

impl EmailCollection {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailCollection::Mandatory => "mandatory",
            EmailCollection::Optional => "optional",
            EmailCollection::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<EmailCollection> {
        [
            EmailCollection::Mandatory,
            EmailCollection::Optional,
            EmailCollection::Off,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// A service's card-page settings, GOV.UK Pay's defaults in `Default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSettings {
    pub accepted_brands: Vec<Brand>,
    pub accepted_types: AcceptedTypes,
    pub block_prepaid: bool,
    pub collect_billing_address: bool,
    pub email_collection: EmailCollection,
    /// Corporate card surcharges in pence (reference §17).
    pub surcharge_credit: i64,
    pub surcharge_debit: i64,
    pub surcharge_prepaid_debit: i64,
    /// MOTO payments' card page masks the card number, or the security code, as typed.
    pub moto_mask_card_number: bool,
    pub moto_mask_security_code: bool,
}

impl Default for CardSettings {
    fn default() -> Self {
        CardSettings {
            accepted_brands: Brand::default_accepted(),
            accepted_types: AcceptedTypes::All,
            block_prepaid: false,
            moto_mask_card_number: false,
            moto_mask_security_code: false,
            collect_billing_address: true,
            email_collection: EmailCollection::Mandatory,
            surcharge_credit: 0,
            surcharge_debit: 0,
            surcharge_prepaid_debit: 0,
        }
    }
}

impl CardSettings {
    /// The corporate surcharge for a card (reference §17): flat amounts for corporate
    /// non-prepaid credit, non-prepaid debit and prepaid debit cards; none otherwise.
    pub fn surcharge(&self, card: &CardInfo) -> i64 {
        if !card.corporate {
            return 0;
        }
        match (card.card_type, card.prepaid) {
            (CardType::Credit, Prepaid::NotPrepaid) => self.surcharge_credit,
            (CardType::Debit, Prepaid::NotPrepaid) => self.surcharge_debit,
            (CardType::Debit, Prepaid::Prepaid) => self.surcharge_prepaid_debit,
            _ => 0,
        }
    }

    /// Accepted brand ids, comma-separated (how they are stored and configured).
    pub fn brands_text(&self) -> String {
        self.accepted_brands
            .iter()
            .map(|b| b.id())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn parse_brands(text: &str) -> Option<Vec<Brand>> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Brand::parse)
            .collect()
    }
}

impl Service {
    /// A new sandbox service with GOV.UK Pay's defaults (no MOTO, no recurring).
    pub fn new_sandbox(id: String, name: String, live: bool, now_ms: i64) -> Self {
        Service {
            id,
            name,
            live,
            payment_provider: "sandbox".into(),
            created_ms: now_ms,
            rate_limit_post: None,
            rate_limit_get: None,
            moto_enabled: false,
            moto_api_enabled: false,
            recurring_enabled: false,
            zero_amount_enabled: false,
            disabled: false,
            cards: CardSettings::default(),
            clock_offset_ms: 0,
            emails: EmailSettings::default(),
        }
    }

    /// The service's own clock: the node's, moved by the service's offset.
    pub fn clock<'a>(&self, node: &'a dyn crate::clock::Clock) -> crate::clock::Offset<'a> {
        crate::clock::Offset {
            base: node,
            offset_ms: self.clock_offset_ms,
        }
    }

    /// The limits in force for this service, given the instance's defaults.
    pub fn rate_limits(&self, defaults: RateLimits) -> RateLimits {
        let post = self.rate_limit_post;
        RateLimits {
            create_payment: post.unwrap_or(defaults.create_payment),
            capture: post.unwrap_or(defaults.capture),
            other_post: post.unwrap_or(defaults.other_post),
            get: self.rate_limit_get.unwrap_or(defaults.get),
        }
    }
}
