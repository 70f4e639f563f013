//! Agreements for recurring payments.

use serde::{Deserialize, Serialize};

use crate::payment::CardDetails;
use crate::search::SearchLinks;

/// The card an agreement takes its payments from, once set up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentInstrument {
    #[serde(rename = "type")]
    pub kind: String,
    pub created_date: String,
    pub card_details: CardDetails,
}

/// An agreement, in GOV.UK Pay's key order; absent keys are omitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub agreement_id: String,
    pub reference: String,
    pub description: String,
    pub status: String,
    pub created_date: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payment_instrument: Option<PaymentInstrument>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cancelled_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementSearchResults {
    pub total: u64,
    pub count: u64,
    pub page: u64,
    pub results: Vec<Agreement>,
    #[serde(rename = "_links")]
    pub links: SearchLinks,
}
