//! Search result pages.

use serde::{Deserialize, Serialize};

use crate::dispute::DisputeForSearch;
use crate::payment::Payment;
use crate::refund::RefundForSearch;

/// A navigation link of a search page: `{href}` only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Href {
    pub href: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchLinks {
    #[serde(rename = "self")]
    pub self_link: Href,
    pub first_page: Href,
    pub last_page: Href,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prev_page: Option<Href>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub next_page: Option<Href>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentSearchResults {
    pub total: u64,
    pub count: u64,
    pub page: u64,
    pub results: Vec<Payment>,
    #[serde(rename = "_links")]
    pub links: SearchLinks,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundSearchResults {
    pub total: u64,
    pub count: u64,
    pub page: u64,
    pub results: Vec<RefundForSearch>,
    #[serde(rename = "_links")]
    pub links: SearchLinks,
}

/// Search disputes' page. Unlike the other searches its navigation links are `links`, not
/// `_links`: GOV.UK Pay serialises this page as a plain snake-case object (so says the spec).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisputeSearchResults {
    pub total: u64,
    pub count: u64,
    pub page: u64,
    pub results: Vec<DisputeForSearch>,
    pub links: SearchLinks,
}
