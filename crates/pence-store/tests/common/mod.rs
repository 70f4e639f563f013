//! What the store's conformance tests share: a store with one service, a payment made as the
//! API makes it, a webhook subscription.
// Each test file uses some of these, not all.
#![allow(dead_code)]

use pence_core::clock::AdjustableClock;
use pence_core::ids::new_id;
use pence_core::payment::PaymentRecord;
use pence_core::payment::{self, Created};
use pence_core::ports::prelude::*;
use pence_core::service::Service;
use pence_core::webhook::{EventType, Subscription};
use pence_store::{SqlStore, StoreOptions};
use pence_testkit::{Engine, TestDb};

/// A fresh database on `engine`, its store, and one test service on it.
pub async fn open(engine: Engine) -> (TestDb, SqlStore, Service) {
    let db = TestDb::new(engine).await;
    let store = pence_store::connect(&db.url, StoreOptions::default())
        .await
        .unwrap();
    let service = Service::new_sandbox(new_id(), "svc".into(), false, 1_700_000_000_000);
    store.insert_service(&service).await.unwrap();
    (db, store, service)
}

/// A payment of 10.00 made through the create-payment use case, as stored.
pub async fn a_payment(store: &SqlStore, service: &Service) -> PaymentRecord {
    let body = serde_json::json!({"amount": 1000, "reference": "r", "description": "d", "return_url": "https://example.org/r"});
    let clock = AdjustableClock::default();
    match payment::create_payment(store, &clock, service, &body, None)
        .await
        .unwrap()
    {
        Created::New(p) | Created::Replayed(p) => p,
    }
}

/// An active subscription of `service_id` to succeeded payments, tagged `tag`.
pub fn subscription(service_id: &str, tag: &str) -> Subscription {
    Subscription {
        id: new_id(),
        service_id: service_id.into(),
        tag: tag.into(),
        callback_url: "https://example.org/h".into(),
        description: String::new(),
        event_types: vec![EventType::Succeeded],
        active: true,
        secret_version: 1,
        created_ms: 1,
        updated_ms: 1,
    }
}
