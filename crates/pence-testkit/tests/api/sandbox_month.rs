//! A month on a test service's clock in one move (issue 31): every timer due on the way —
//! expiry, the capture request's wait, refund results, pay-outs, disputes raised and decided,
//! agreement payments — fires in the order it was due and dated when it was due, so the
//! service reads exactly as when its clock is moved an hour at a time, 720 times.

use pence_core::ports::prelude::*;
use pence_core::webhook::delivery::RETRY_DELAYS_MS;
use pence_testkit::{Answer, Engine, Receiver, Reply, ServerOptions, TestServer};
use serde_json::{json, Value};

use super::{base, with, without_token};

const HOUR_MS: i64 = 3_600_000;

fn ok(r: Reply, what: &str) -> Value {
    assert!((200..300).contains(&r.status), "{what}: {}", r.text);
    r.json
}

async fn pay(server: &TestServer, body: Value, card: &str) -> String {
    let made = ok(server.post("/v1/payments", &body).await, "create");
    let id = made["payment_id"].as_str().unwrap().to_string();
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": card}),
        )
        .await;
    ok(paid, "pay");
    id
}

/// A service with a timer of every kind pending: payments to expire, one waiting for its
/// capture request, payments to pay out, disputes to raise and decide, refunds to pay out,
/// agreement payments, and webhook messages of all of it.
async fn seed(server: &TestServer) {
    let mut service = server.service.clone();
    service.recurring_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    ok(
        server
            .post(
                "/sandbox/v1/webhooks",
                &json!({"callback_url": "http://127.0.0.1:9/hook"}),
            )
            .await,
        "subscribe",
    );
    for n in 0..3 {
        ok(
            server
                .post(
                    "/v1/payments",
                    &with(json!({"reference": format!("left-{n}")})),
                )
                .await,
            "create",
        );
    }
    for card in ["4444333322221111", "4000000000000259", "4000000000002685"] {
        pay(server, base(), card).await;
    }
    pay(
        server,
        with(json!({"delayed_capture": true})),
        "4444333322221111",
    )
    .await;
    let refunded = pay(server, base(), "4444333322221111").await;
    server.sweep().await;
    ok(
        server
            .post(
                &format!("/v1/payments/{refunded}/refunds"),
                &json!({"amount": 300}),
            )
            .await,
        "refund",
    );
    let made = server
        .post(
            "/sandbox/v1/fixtures",
            &json!({"agreements": [{"state": "active", "payments": 1, "amount": 700}]}),
        )
        .await;
    let agreement = ok(made, "fixture")["agreements"][0]["agreement_id"].clone();
    ok(
        server
            .post(
                "/v1/payments",
                &json!({"amount": 900, "reference": "monthly", "description": "Monthly",
                        "agreement_id": agreement, "authorisation_mode": "agreement"}),
            )
            .await,
        "agreement payment",
    );
    // Whatever is due within a minute happens before the month starts.
    ok(
        server
            .post("/sandbox/v1/clock", &json!({"advance_seconds": 60}))
            .await,
        "a minute on",
    );
}

/// Leaves out what is made afresh at random (dispute, email and message ids) and puts each
/// list in one order.
fn normalised(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| !matches!(k.as_str(), "id" | "dispute_id"))
                .map(|(k, v)| (k, normalised(v)))
                .collect(),
        ),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(normalised).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        other => other,
    }
}

/// What the API and the control API show of the service.
async fn view(server: &TestServer) -> Value {
    let search = ok(server.get("/v1/payments?display_size=500").await, "search");
    let mut payments = Vec::new();
    for p in search["results"].as_array().unwrap() {
        let id = p["payment_id"].as_str().unwrap();
        payments.push(json!({
            "payment": without_token(ok(server.get(&format!("/v1/payments/{id}")).await, "get")),
            "events": ok(server.get(&format!("/v1/payments/{id}/events")).await, "events"),
            "refunds": ok(server.get(&format!("/v1/payments/{id}/refunds")).await, "refunds"),
        }));
    }
    let hooks = ok(server.get("/sandbox/v1/webhooks").await, "webhooks");
    let hook = hooks["webhooks"][0]["id"].as_str().unwrap();
    normalised(json!({
        "payments": payments,
        "disputes": ok(server.get("/v1/disputes?display_size=500").await, "disputes")["results"],
        "refunds": ok(server.get("/v1/refunds?display_size=500").await, "refunds")["results"],
        "emails": ok(server.get("/sandbox/v1/emails").await, "emails"),
        "messages": ok(
            server.get(&format!("/sandbox/v1/webhooks/{hook}/messages")).await,
            "messages"
        ),
        // Every attempt, with its date: the retry ladder ran inside the moves.
        "report": ok(
            server.get(&format!("/sandbox/v1/webhooks/{hook}/report")).await,
            "report"
        ),
    }))
}

async fn move_to(server: &TestServer, at_ms: i64) {
    let now = pence_core::timefmt::date_time(at_ms);
    ok(
        server.post("/sandbox/v1/clock", &json!({"now": now})).await,
        "move",
    );
}

pence_testkit::engine_tests!(a_month_at_once_reads_as_an_hour_at_a_time);
async fn a_month_at_once_reads_as_an_hour_at_a_time(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    seed(&server).await;
    let saved = ok(
        server
            .post("/sandbox/v1/snapshots", &json!({"name": "start"}))
            .await,
        "save",
    );
    let start = pence_core::timefmt::parse(saved["saved_at"].as_str().unwrap()).unwrap();
    let month = start + 720 * HOUR_MS;

    move_to(&server, month).await;
    let at_once = view(&server).await;

    ok(
        server
            .post("/sandbox/v1/snapshots/start/restore", &json!({}))
            .await,
        "restore",
    );
    for hour in 1..=720 {
        move_to(&server, start + hour * HOUR_MS).await;
    }
    let by_the_hour = view(&server).await;
    if at_once != by_the_hour {
        let (a, b) = (at_once.to_string(), by_the_hour.to_string());
        let from = a
            .bytes()
            .zip(b.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "a month at once differs from 720 hours at {from}:\n{}\n{}",
            &a[from.saturating_sub(300)..(from + 300).min(a.len())],
            &b[from.saturating_sub(300)..(from + 300).min(b.len())]
        );
    }

    // What the month did, dated when it was due rather than when the clock stopped.
    let events: Vec<i64> = at_once["payments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["events"]["events"].as_array().unwrap().clone())
        .map(|e| pence_core::timefmt::parse(e["updated"].as_str().unwrap()).unwrap())
        .collect();
    assert!(events
        .iter()
        .any(|t| (start + HOUR_MS..month - HOUR_MS).contains(t)));
    let states: Vec<&str> = at_once["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["payment"]["state"]["status"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"failed"), "{states:?}");
    let settled = at_once["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["payment"]["settlement_summary"]
                .get("settled_date")
                .is_some()
        })
        .count();
    assert!(settled >= 5, "{settled} paid out");
    let disputes = at_once["disputes"].as_array().unwrap();
    let outcomes: Vec<&str> = disputes
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"lost") && outcomes.contains(&"won"),
        "{outcomes:?}"
    );
}

pence_testkit::engine_tests!(a_failing_receiver_is_retried_at_every_rung_inside_a_move);
/// A receiver that never accepts: moved five days at once, each message is attempted six
/// times, each retry one rung of the ladder after the attempt before, all dated inside the
/// move, and then fails for good; the receiver saw every attempt.
async fn a_failing_receiver_is_retried_at_every_rung_inside_a_move(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let receiver = Receiver::start().await;
    receiver.script(std::iter::repeat_n(Answer::Status(500), 1_000));
    let made = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": receiver.url}),
        )
        .await;
    let hook = ok(made, "subscribe")["id"].as_str().unwrap().to_string();
    pay(&server, base(), "4444333322221111").await;
    pay(&server, base(), "4000000000000002").await;

    let moved = ok(
        server
            .post("/sandbox/v1/clock", &json!({"advance_seconds": 5 * 86_400}))
            .await,
        "five days on",
    );
    let report = ok(
        server
            .get(&format!("/sandbox/v1/webhooks/{hook}/report"))
            .await,
        "report",
    );
    let messages = report["messages"].as_array().unwrap();
    assert!(messages.len() >= 3, "{report}");
    for m in messages {
        assert_eq!(m["status"], "failed", "{m}");
        let dates: Vec<i64> = m["delivery"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                assert_eq!(a["status_code"], 500, "{m}");
                pence_core::timefmt::parse(a["date"].as_str().unwrap()).unwrap()
            })
            .collect();
        assert_eq!(dates.len(), 6, "{m}");
        let created = pence_core::timefmt::parse(m["created_date"].as_str().unwrap()).unwrap();
        assert_eq!(dates[0], created, "{m}");
        let steps: Vec<i64> = dates.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(steps, RETRY_DELAYS_MS.to_vec(), "{m}");
    }
    let attempts = messages.len() * 6;
    assert_eq!(moved["swept"]["webhook_attempts"], attempts, "{moved}");
    assert_eq!(receiver.received().len(), attempts);

    // Nothing is left for the node's own delivery: the move made every attempt due.
    assert_eq!(server.deliver_once().await, 0);
}
