//! The storage conformance suite for the webhook outbox's bookkeeping and the takings chart,
//! on SQLite and (when `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL.

mod common;

use pence_core::clock::AdjustableClock;
use pence_core::ledger::record::{Notice, Record};
use pence_core::payment::status::Status;
use pence_core::payment::PaymentRecord;
use pence_core::payment::{self, Created};
use pence_core::ports::prelude::*;
use pence_core::webhook::{Attempt, DeliveryStatus, EventType, Message};
use pence_testkit::Engine;

use common::{open, subscription};
pence_testkit::engine_tests!(triggered_messages_are_claimed_attempted_and_counted);
async fn triggered_messages_are_claimed_attempted_and_counted(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let sub = subscription(&service.id, "bbbbbb");
    store.insert_webhook(&sub, "s", None).await.unwrap();
    let notice = |event_type| Notice {
        event_type,
        payment_id: "p1".into(),
        service_id: service.id.clone(),
        at_ms: 100,
        resource: "{}".into(),
    };
    let ids = store
        .insert_triggered_messages(&notice(EventType::Succeeded), Some("resource.amount=1"))
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    let none = store
        .insert_triggered_messages(&notice(EventType::Refunded), None)
        .await
        .unwrap();
    assert!(none.is_empty(), "no subscription takes it");
    let of_payment = store.payment_webhook_messages("p1", 10).await.unwrap();
    assert_eq!(of_payment.len(), 1);
    assert!(of_payment[0].triggered && of_payment[0].id == ids[0]);
    assert_eq!(
        of_payment[0].overrides.as_deref(),
        Some("resource.amount=1")
    );
    assert!(store
        .payment_webhook_messages("p2", 10)
        .await
        .unwrap()
        .is_empty());

    let claimed = store
        .claim_webhook_messages(&sub.id, i64::MAX, 0, 1_000, "c1", 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let attempt = Attempt {
        message_id: claimed[0].id.clone(),
        at_ms: 200,
        status_code: Some(200),
        error: None,
        response_ms: 12,
        response_body: Some("ok".into()),
        fault: Some("duplicate".into()),
    };
    let delivered = Message {
        status: DeliveryStatus::Successful,
        attempts: 1,
        ..claimed[0].clone()
    };
    store
        .record_webhook_attempts("c1", &[(delivered, attempt.clone())])
        .await
        .unwrap();
    assert_eq!(store.webhook_attempts(&ids[0]).await.unwrap(), [attempt]);
    let stored = store.webhook_message(&ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.attempts),
        (DeliveryStatus::Successful, 1)
    );
    let counts = store.webhook_message_counts().await.unwrap();
    assert_eq!(counts, [("successful".to_string(), 1)]);

    // A message's place in its subscription's log: by creation time (then event type, then
    // id).
    let later = |event_type, at_ms| Notice {
        at_ms,
        ..notice(event_type)
    };
    let mut placed = Vec::new();
    for (event_type, at_ms) in [
        (EventType::Succeeded, 300),
        (EventType::Succeeded, 200),
        (EventType::Succeeded, 200),
    ] {
        let id = store
            .insert_triggered_messages(&later(event_type, at_ms), None)
            .await
            .unwrap()
            .remove(0);
        placed.push(store.webhook_message(&id).await.unwrap().unwrap());
    }
    let mut ordinals = Vec::new();
    for m in &placed {
        ordinals.push(store.webhook_message_ordinal(m).await.unwrap());
    }
    // The first message (at 100) comes before all three; the two at 200 by their ids.
    assert_eq!(ordinals[0], 3);
    let (a, b) = (&placed[1], &placed[2]);
    let expected = if a.id < b.id { [1, 2] } else { [2, 1] };
    assert_eq!(ordinals[1..], expected);
    store.close().await;
}

pence_testkit::engine_tests!(the_takings_chart_counts_successful_payments_by_day);
async fn the_takings_chart_counts_successful_payments_by_day(engine: Engine) {
    let (_db, store, service) = open(engine).await;
    let clock = AdjustableClock::default();
    let body = serde_json::json!({"amount": 1000, "reference": "r", "description": "d", "return_url": "https://example.org/r"});
    let mut made = Vec::new();
    for _ in 0..3 {
        match payment::create_payment(&store, &clock, &service, &body, None)
            .await
            .unwrap()
        {
            Created::New(p) | Created::Replayed(p) => made.push(p),
        }
    }
    // Two succeed; the third is still waiting for its user.
    for p in &made[..2] {
        let paid = PaymentRecord {
            status: Status::Captured,
            ..p.clone()
        };
        store
            .update_payment(p, &paid, &Record::default())
            .await
            .unwrap();
    }
    let days = store.daily_totals(&service.id, 0).await.unwrap();
    let today = made[0].created_ms.div_euclid(86_400_000);
    let totals: Vec<(i64, i64, i64)> = days.iter().map(|d| (d.day, d.payments, d.paid)).collect();
    assert_eq!(totals, [(today, 2, 2000)]);
    let later = (today + 1) * 86_400_000;
    assert!(store
        .daily_totals(&service.id, later)
        .await
        .unwrap()
        .is_empty());
    assert!(store.daily_totals("other", 0).await.unwrap().is_empty());
    store.close().await;
}
