//! Refund shapes: `Refund` and the `_embedded` list of a payment's refunds.

use serde::{Deserialize, Serialize};

use crate::payment::Link;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub created_date: String,
    pub amount: i64,
    pub status: String,
    pub settlement_summary: RefundSettlementSummary,
    #[serde(rename = "_links")]
    pub links: RefundLinks,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundSettlementSummary {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub settled_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLinks {
    #[serde(rename = "self")]
    pub self_link: Link,
    pub payment: Link,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRefunds {
    pub payment_id: String,
    #[serde(rename = "_links")]
    pub links: RefundLinks,
    #[serde(rename = "_embedded")]
    pub embedded: EmbeddedRefunds,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddedRefunds {
    pub refunds: Vec<Refund>,
}

/// A refund in search results: the refund with its payment's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundForSearch {
    pub refund_id: String,
    pub payment_id: String,
    pub created_date: String,
    pub amount: i64,
    pub status: String,
    pub settlement_summary: RefundSettlementSummary,
    #[serde(rename = "_links")]
    pub links: RefundLinks,
}
