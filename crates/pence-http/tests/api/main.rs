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
mod routing;

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
