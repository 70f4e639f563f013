//! The transition gate: a move the state machine does not allow is refused and changes
//! nothing; a lost race is judged again on the payment as the winner left it.

use pence_core::ledger::EventKind;
use pence_core::payment::status::Status;
use pence_core::payment::transition::{self, Move};
use pence_core::ports::prelude::*;
use pence_core::refusal::Failure;
use pence_testkit::{Engine, TestServer};
use serde_json::json;

use crate::with;

pence_testkit::engine_tests!(impossible_moves_are_refused_and_change_nothing);
async fn impossible_moves_are_refused_and_change_nothing(engine: Engine) {
    let server = TestServer::start(engine).await;
    let reply = server.post("/v1/payments", &with(json!({}))).await;
    let id = reply.json["payment_id"].as_str().unwrap().to_string();
    let store = server.store.as_ref();
    let before = store
        .payment(&server.service.id, &id)
        .await
        .unwrap()
        .unwrap();
    let refused = transition::step(store, server.clock.as_ref(), &id, |p, now| {
        Some(Move::to(
            p,
            Status::Captured,
            EventKind::CaptureConfirmed,
            now,
        ))
    })
    .await;
    assert!(
        matches!(
            refused,
            Err(Failure::Impossible {
                from: Status::Created,
                to: Status::Captured
            })
        ),
        "{refused:?}"
    );
    let after = store
        .payment(&server.service.id, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before);
    let events = store.payment_events(&server.service.id, &id).await.unwrap();
    assert_eq!(events.len(), 1, "only PAYMENT_CREATED");
    // A finished payment never moves again.
    assert_eq!(
        server
            .post(&format!("/v1/payments/{id}/cancel"), &json!({}))
            .await
            .status,
        204
    );
    let reopened = transition::step(store, server.clock.as_ref(), &id, |p, now| {
        Some(Move::to(
            p,
            Status::EnteringCardDetails,
            EventKind::PaymentStarted,
            now,
        ))
    })
    .await;
    assert!(matches!(reopened, Err(Failure::Impossible { .. })));
}

pence_testkit::engine_tests!(multi_thread: the_version_moves_once_per_change_and_a_stale_decision_is_judged_again);
async fn the_version_moves_once_per_change_and_a_stale_decision_is_judged_again(engine: Engine) {
    let server = TestServer::start(engine).await;
    let reply = server.post("/v1/payments", &with(json!({}))).await;
    let id = reply.json["payment_id"].as_str().unwrap().to_string();
    let store = server.store.as_ref();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let applied = transition::step(store, server.clock.as_ref(), &id, |p, now| {
        // The first judgement races a cancel that commits before the write: the gate
        // must see the conflict, read again, and judge the cancelled payment.
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            let mut cancelled = p.clone();
            cancelled.status = Status::SystemCancelled;
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(store.update_payment(
                    p,
                    &cancelled,
                    &Default::default(),
                ))
            })
            .unwrap();
        }
        (p.status == Status::Created).then(|| {
            Move::to(
                p,
                Status::EnteringCardDetails,
                EventKind::PaymentStarted,
                now,
            )
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(!applied.changed);
    assert_eq!(applied.payment.status, Status::SystemCancelled);
    assert_eq!(applied.payment.version, 2);
}
