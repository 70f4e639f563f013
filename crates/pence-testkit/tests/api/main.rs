//! The public API over real HTTP against the real node, on SQLite and (when
//! `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL. Every response is checked against the spec
//! by the test kit.

mod agreements;
mod auth;
mod cancel_and_events;
mod capture;
mod create_payment;
mod create_payment_rules;
mod gate;
mod get_payment;
mod hostile;
mod metrics;
mod moto_api;
mod payment_links;
mod property;
mod rate_limits;
mod refund_search;
mod refunds;
mod routing;
mod sandbox;
mod sandbox_clock;
mod sandbox_emails;
mod sandbox_faults;
mod sandbox_fixtures;
mod sandbox_flow;
mod sandbox_month;
mod sandbox_snapshots;
mod search;
mod transport;

use pence_core::ledger::EventKind;
use pence_core::payment::status::Status;
use pence_core::payment::transition::{self, Move};
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

/// A payment as the API shows it without its next_url's token, which is minted afresh at
/// every read.
pub fn without_token(mut payment: Value) -> Value {
    let links = &mut payment["_links"];
    if links.get("next_url").is_some() {
        links["next_url"]["href"] = json!("(minted at each read)");
        links["next_url_post"]["params"] = json!("(minted at each read)");
    }
    payment
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

/// The ledger event a move to `status` records in the journey.
fn kind_for(status: Status) -> EventKind {
    use Status::*;
    match status {
        EnteringCardDetails => EventKind::PaymentStarted,
        AuthorisationReady => EventKind::PaymentDetailsEntered,
        Authorisation3dsRequired => EventKind::GatewayRequires3dsAuthorisation,
        Authorisation3dsReady => EventKind::ThreeDsResultReceived,
        AuthorisationSuccess => EventKind::AuthorisationSucceeded,
        AuthorisationRejected => EventKind::AuthorisationRejected,
        AuthorisationError => EventKind::GatewayErrorDuringAuthorisation,
        AwaitingCaptureRequest => EventKind::UserApprovedForCaptureAwaitingServiceApproval,
        CaptureApproved => EventKind::UserApprovedForCapture,
        CaptureReady => EventKind::CaptureSubmitted,
        Captured => EventKind::CaptureConfirmed,
        other => panic!("no journey step to {other}"),
    }
}

/// Walks a payment through the journey's statuses up to `to`, one recorded change each,
/// through the transition gate (which refuses a move the state machine does not allow).
pub async fn move_to(server: &TestServer, id: &str, path: &[Status]) {
    for next in path {
        let applied = transition::step(
            server.store.as_ref(),
            server.clock.as_ref(),
            id,
            |p, now| Some(Move::to(p, *next, kind_for(*next), now)),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(applied.changed, "moved to {next}");
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
