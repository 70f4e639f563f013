//! The public API over real HTTP against the real node, on SQLite and (when
//! `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL. Every response is checked against the spec
//! by the test kit.

mod auth;
mod cancel_and_events;
mod capture;
mod create_payment;
mod create_payment_rules;
mod get_payment;
mod property;
mod rate_limits;
mod refund_search;
mod refunds;
mod routing;
mod search;

use pence_core::payment::{LedgerEvent, PaymentRecord};
use pence_core::status::Status;
use pence_core::Store;
use pence_testkit::TestServer;
use serde_json::{json, Value};

/// A valid create-payment body.
pub fn base() -> Value {
    json!({
        "amount": 1000,
        "reference": "ref-1",
        "description": "A test payment",
        "return_url": "https://example.org/return"
    })
}

/// `base()` with `changes` applied; a change to `"__remove__"` removes the key.
pub fn with(changes: Value) -> Value {
    let mut body = base();
    for (k, v) in changes.as_object().expect("object").clone() {
        if v == json!("__remove__") {
            body.as_object_mut().unwrap().remove(&k);
        } else {
            body[k] = v;
        }
    }
    body
}

/// Walks a payment through the journey's statuses up to `to`, one recorded change each.
pub async fn move_to(server: &TestServer, id: &str, path: &[Status]) {
    for next in path {
        let current = server
            .store
            .payment(&server.service.id, id)
            .await
            .unwrap()
            .unwrap();
        let event = LedgerEvent {
            payment_id: id.to_string(),
            service_id: server.service.id.clone(),
            event_type: "TEST_JOURNEY".into(),
            status: *next,
            created_ms: current.updated_ms + 1,
        };
        assert!(
            current.status.can_become(*next),
            "{} -> {}",
            current.status,
            next
        );
        server
            .store
            .update_payment(
                &current,
                &PaymentRecord {
                    status: *next,
                    updated_ms: current.updated_ms + 1,
                    ..current.clone()
                },
                &[event],
            )
            .await
            .unwrap();
    }
}

/// A web payment taken through the sandbox journey to CAPTURED (as the card pages will).
pub async fn captured_payment(server: &TestServer, amount: i64) -> String {
    use Status::*;
    let reply = server
        .post("/v1/payments", &with(json!({"amount": amount})))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json["payment_id"].as_str().unwrap().to_string();
    move_to(
        server,
        &id,
        &[
            EnteringCardDetails,
            AuthorisationReady,
            AuthorisationSuccess,
            CaptureApproved,
            CaptureReady,
            Captured,
        ],
    )
    .await;
    id
}
