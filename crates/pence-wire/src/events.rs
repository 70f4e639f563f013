//! `GET /v1/payments/{paymentId}/events` shapes.

use serde::{Deserialize, Serialize};

use crate::payment::{Link, PaymentState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentEvents {
    pub payment_id: String,
    pub events: Vec<PaymentEvent>,
    #[serde(rename = "_links")]
    pub links: SelfLink,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub payment_id: String,
    pub state: PaymentState,
    pub updated: String,
    #[serde(rename = "_links")]
    pub links: PaymentUrlLink,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfLink {
    #[serde(rename = "self")]
    pub self_link: Link,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentUrlLink {
    pub payment_url: Link,
}
