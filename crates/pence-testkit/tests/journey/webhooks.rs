//! Webhooks end to end: real journeys on the node, a real receiver on loopback checking
//! signatures with its own HMAC, the retry ladder on the moved Clock, the delivery log.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use pence_core::webhook::subscription::{self, Changes};
use pence_core::webhook::{DeliveryStatus, EventType, Subscription};
use pence_core::WebhookStore;
use pence_testkit::{Answer, Engine, Received, Receiver, ServerOptions, ServiceSite, TestServer};
use serde_json::{json, Value};

use super::http::{card_form, enter_and_confirm, paid_with, paying, paying_with, Paying};
use super::{new_payment, payment};

const MINUTE: i64 = 60_000;
const WAIT: Duration = Duration::from_secs(20);

async fn subscribe(server: &TestServer, url: &str, events: &[EventType]) -> (Subscription, String) {
    subscription::create(
        server.store.as_ref(),
        server.clock.as_ref(),
        pence_core::staff::Actor::Operator,
        &server.service,
        url,
        "test receiver",
        events,
    )
    .await
    .expect("subscribe")
}

/// Checks what every message must be (§14), and returns it with its event type.
fn check_message(r: &Received, secret: &str) {
    assert!(r.signed_with(secret), "bad Pay-Signature {:?}", r.signature);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let keys: Vec<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let text = String::from_utf8(r.body.clone()).unwrap();
    let mut at = 0;
    for key in [
        "webhook_message_id",
        "created_date",
        "resource_id",
        "api_version",
        "resource_type",
        "event_type",
        "resource",
    ] {
        assert!(keys.contains(&key), "{key} missing: {text}");
        let found = text.find(&format!("\"{key}\":")).unwrap();
        assert!(found >= at, "{key} out of GOV.UK Pay's order: {text}");
        at = found;
    }
    assert_eq!(keys.len(), 7, "{text}");
    assert_eq!(r.json["api_version"], 1);
    assert_eq!(r.json["resource_type"], "payment");
    assert_eq!(r.json["resource_id"], r.json["resource"]["payment_id"]);
    assert!(r.json["resource"].get("_links").is_none(), "{text}");
    let created = r.json["created_date"].as_str().unwrap();
    assert!(
        created.len() == 24 && created.ends_with('Z') && created.as_bytes()[19] == b'.',
        "{created}"
    );
}

/// The event types each payment's messages carried, in the order of their `created_date`.
fn by_payment(got: &[Received]) -> BTreeMap<String, Vec<String>> {
    let mut sorted: Vec<&Received> = got.iter().collect();
    sorted.sort_by_key(|r| r.json["created_date"].as_str().unwrap().to_string());
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in sorted {
        out.entry(r.json["resource_id"].as_str().unwrap().into())
            .or_default()
            .push(r.event_type().into());
    }
    out
}

async fn user_cancels(server: &TestServer, site: &ServiceSite) -> String {
    let Paying { c, id, csrf, url } = paying(server, site).await;
    let r = c
        .post(format!("{url}/cancel"))
        .form(&[("csrfToken", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    id
}

async fn card_fails(server: &TestServer, site: &ServiceSite, card: &str) -> String {
    let Paying { c, id, csrf, url } = paying(server, site).await;
    c.post(&url)
        .form(&card_form(&csrf, card))
        .send()
        .await
        .unwrap();
    id
}

pence_testkit::engine_tests!(every_event_type_fires_exactly_when_it_should);
async fn every_event_type_fires_exactly_when_it_should(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let site = ServiceSite::start().await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(&server, &receiver.url, &EventType::ALL).await;

    let paid = paid_with(&server, &site, "4000056655665556").await;
    let refund = server
        .post(
            &format!("/v1/payments/{paid}/refunds"),
            &json!({"amount": 500}),
        )
        .await;
    assert_eq!(refund.status, 202, "{}", refund.text);
    let declined = card_fails(&server, &site, "4000000000000002").await;
    let psp_error = card_fails(&server, &site, "4000000000000119").await;
    let user_cancelled = user_cancels(&server, &site).await;
    let (service_cancelled, _) = new_payment(&server, &site, json!({})).await;
    let cancel = server
        .post(
            &format!("/v1/payments/{service_cancelled}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(cancel.status, 204);
    assert_eq!(server.drain_webhooks().await, 11);
    let (expired, _) = new_payment(&server, &site, json!({})).await;
    server.clock.advance(91 * MINUTE);
    server.sweep().await;
    // A day after capture the sandbox pays out.
    server.clock.advance(24 * 60 * MINUTE);
    server.sweep().await;

    assert_eq!(server.drain_webhooks().await, 2);
    let got_all = receiver.received();
    assert_eq!(got_all.len(), 13, "no more than expected");
    for r in &got_all {
        check_message(r, &secret);
    }
    let events = by_payment(&got_all);
    let expect = |id: &str, types: &[&str]| {
        assert_eq!(
            events.get(id).cloned().unwrap_or_default(),
            types,
            "payment {id}"
        );
    };
    expect(
        &paid,
        &[
            "card_payment_started",
            "card_payment_succeeded",
            "card_payment_captured",
            "card_payment_refunded",
            "card_payment_settled",
        ],
    );
    expect(&declined, &["card_payment_started", "card_payment_failed"]);
    expect(&psp_error, &["card_payment_started", "card_payment_failed"]);
    expect(
        &user_cancelled,
        &["card_payment_started", "card_payment_failed"],
    );
    expect(&service_cancelled, &["card_payment_failed"]);
    expect(&expired, &["card_payment_expired"]);
    assert_eq!(events.len(), 6, "{events:?}");

    // Each resource is the payment as GET showed it then: the last one equals GET now.
    for id in events.keys() {
        let last = got_all
            .iter()
            .filter(|r| r.json["resource_id"] == id.as_str())
            .max_by_key(|r| r.json["created_date"].as_str().unwrap().to_string())
            .unwrap();
        let mut now = payment(&server, id).await;
        now.as_object_mut().unwrap().remove("_links");
        assert_eq!(last.json["resource"], now, "payment {id}");
    }
    let state = |id: &str, kind: &str| -> Value {
        got_all
            .iter()
            .find(|r| r.json["resource_id"] == id && r.event_type() == kind)
            .unwrap()
            .json["resource"]["state"]
            .clone()
    };
    assert_eq!(state(&paid, "card_payment_started")["status"], "started");
    assert_eq!(state(&paid, "card_payment_succeeded")["status"], "success");
    let refunded = got_all
        .iter()
        .find(|r| r.event_type() == "card_payment_refunded")
        .unwrap();
    assert_eq!(
        refunded.json["resource"]["refund_summary"]["amount_submitted"],
        500
    );
    assert_eq!(state(&declined, "card_payment_failed")["code"], "P0010");
    assert_eq!(state(&expired, "card_payment_expired")["code"], "P0020");
    assert_eq!(
        state(&user_cancelled, "card_payment_failed")["code"],
        "P0030"
    );
    assert_eq!(
        state(&service_cancelled, "card_payment_failed")["code"],
        "P0040"
    );
    let ids: std::collections::HashSet<&str> = got_all.iter().map(Received::message_id).collect();
    assert_eq!(ids.len(), got_all.len(), "one message per event");
    server.stop().await;
}

#[tokio::test]
async fn delayed_capture_succeeds_when_the_service_captures() {
    let server = TestServer::start_with(Engine::Sqlite, ServerOptions::driven_delivery()).await;
    let site = ServiceSite::start().await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(
        &server,
        &receiver.url,
        &[EventType::Succeeded, EventType::Captured],
    )
    .await;
    let p = paying_with(&server, &site, json!({"delayed_capture": true})).await;
    enter_and_confirm(&p, "4000056655665556").await;
    let id = p.id;
    assert_eq!(payment(&server, &id).await["state"]["status"], "capturable");
    assert_eq!(
        server.drain_webhooks().await,
        0,
        "nothing until the service captures"
    );
    let capture = server
        .post(&format!("/v1/payments/{id}/capture"), &json!({}))
        .await;
    assert_eq!(capture.status, 204, "{}", capture.text);
    server.sweep().await;
    assert_eq!(server.drain_webhooks().await, 2);
    let got = receiver.received();
    for r in &got {
        check_message(r, &secret);
    }
    assert_eq!(
        by_payment(&got)[&id],
        ["card_payment_succeeded", "card_payment_captured"]
    );
    server.stop().await;
}

pence_testkit::engine_tests!(failures_climb_the_retry_ladder_then_the_message_fails);
/// One message whose receiver fails in every way GOV.UK Pay counts as a failure, climbing
/// the ladder on the moved Clock; the log keeps each attempt; then a resend after a secret
/// rotation is signed with the new secret.
async fn failures_climb_the_retry_ladder_then_the_message_fails(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let site = ServiceSite::start().await;
    let receiver = Receiver::start().await;
    let (sub, secret) = subscribe(&server, &receiver.url, &[EventType::Failed]).await;
    receiver.script([
        Answer::Status(500),
        Answer::Close,
        Answer::Slow(Duration::from_millis(1500)),
        Answer::Redirect,
        Answer::Status(404),
        Answer::Status(503),
    ]);
    let (id, _) = new_payment(&server, &site, json!({})).await;
    server
        .post(&format!("/v1/payments/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(server.deliver_once().await, 1);
    for delay in pence_core::webhook::delivery::RETRY_DELAYS_MS {
        // Not before its time…
        server.clock.advance(delay - MINUTE / 2);
        assert_eq!(
            server.deliver_once().await,
            0,
            "retried early (after {delay} ms)"
        );
        // …and then it comes.
        server.clock.advance(MINUTE / 2);
        assert_eq!(server.deliver_once().await, 1, "retried after {delay} ms");
    }
    assert_eq!(receiver.received().len(), 6);
    let got = receiver.received();
    assert!(got.iter().all(|r| r.signed_with(&secret)));
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "every attempt sends the same bytes"
    );
    let message = got[0].message_id().to_string();
    let m = server
        .store
        .webhook_message(&message)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.status, m.attempts), (DeliveryStatus::Failed, 6));
    let log = server.store.webhook_attempts(&message).await.unwrap();
    let codes: Vec<Option<u16>> = log.iter().map(|a| a.status_code).collect();
    assert_eq!(
        codes,
        [Some(500), None, None, Some(302), Some(404), Some(503)]
    );
    assert_eq!(
        log[0].response_body.as_deref(),
        Some("answered as scripted")
    );
    assert!(log[1].error.is_some() && log[2].error.as_deref().unwrap().contains("timed out"));
    assert!(log[2].response_ms >= 1000, "{:?}", log[2]);
    assert!(log.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
    // Seven days on, nothing more is sent.
    server.clock.advance(7 * 24 * 60 * MINUTE);
    assert_eq!(server.drain_webhooks().await, 0);
    assert_eq!(receiver.received().len(), 6);

    // Pence can resend (GOV.UK Pay cannot); after a rotation it is signed anew.
    let fresh = subscription::rotate_secret(
        server.store.as_ref(),
        server.clock.as_ref(),
        pence_core::staff::Actor::Operator,
        &sub,
    )
    .await
    .unwrap();
    assert_ne!(fresh, secret);
    assert!(server
        .store
        .resend_webhook_message(
            &message,
            pence_core::clock::Clock::now_ms(server.clock.as_ref())
        )
        .await
        .unwrap());
    assert_eq!(server.drain_webhooks().await, 1);
    let got = receiver.received();
    assert!(got[6].signed_with(&fresh) && !got[6].signed_with(&secret));
    assert_eq!(got[6].body, got[0].body, "the same message");
    server.stop().await;
}

pence_testkit::engine_tests!(a_rotation_signs_only_later_messages);
/// A rotation signs the messages created after it; one created before keeps its secret even
/// when it is retried after the rotation.
async fn a_rotation_signs_only_later_messages(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let site = ServiceSite::start().await;
    let receiver = Receiver::start().await;
    let (sub, old) = subscribe(&server, &receiver.url, &[EventType::Failed]).await;
    receiver.script([Answer::Status(500)]);
    let (first, _) = new_payment(&server, &site, json!({})).await;
    server
        .post(&format!("/v1/payments/{first}/cancel"), &json!({}))
        .await;
    assert_eq!(server.drain_webhooks().await, 1);
    let new = subscription::rotate_secret(
        server.store.as_ref(),
        server.clock.as_ref(),
        pence_core::staff::Actor::Operator,
        &sub,
    )
    .await
    .unwrap();
    let (second, _) = new_payment(&server, &site, json!({})).await;
    server
        .post(&format!("/v1/payments/{second}/cancel"), &json!({}))
        .await;
    assert_eq!(server.drain_webhooks().await, 1);
    server.clock.advance(MINUTE);
    assert_eq!(server.drain_webhooks().await, 1, "the first, retried");
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    for r in &got {
        let id = r.json["resource_id"].as_str().unwrap();
        let secret = if id == first { &old } else { &new };
        assert!(r.signed_with(secret), "{id} signed with the wrong secret");
    }
    server.stop().await;
}

/// A receiver that never answers in time holds up neither another subscription's receiver
/// nor the API; deactivating it stops its messages.
#[tokio::test]
async fn a_dead_receiver_holds_up_nobody() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let (dead, fast) = (Receiver::start().await, Receiver::start().await);
    dead.script((0..200).map(|_| Answer::Slow(Duration::from_secs(30))));
    let (dead_sub, _) = subscribe(&server, &dead.url, &[EventType::Failed]).await;
    subscribe(&server, &fast.url, &[EventType::Failed]).await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        let (id, _) = new_payment(&server, &site, json!({})).await;
        let r = server
            .post(&format!("/v1/payments/{id}/cancel"), &json!({}))
            .await;
        assert_eq!(r.status, 204);
        ids.push(id);
    }
    fast.wait_for(40, WAIT).await;
    // Meanwhile the dead one has delivered nothing: all its messages are still pending.
    assert!(!dead.received().is_empty(), "it is being tried");
    let stuck = server
        .store
        .webhook_messages(&dead_sub.id, Some(DeliveryStatus::Pending), 100)
        .await
        .unwrap();
    assert_eq!(stuck.len(), 40);
    subscription::update(
        server.store.as_ref(),
        server.clock.as_ref(),
        pence_core::staff::Actor::Operator,
        &server.service,
        dead_sub.clone(),
        Changes {
            active: Some(false),
            ..Changes::default()
        },
    )
    .await
    .unwrap();
    let stopped = server
        .store
        .webhook_messages(&dead_sub.id, Some(DeliveryStatus::WillNotSend), 100)
        .await
        .unwrap();
    assert_eq!(stopped.len(), 40);
    server.stop().await;
}

pence_testkit::engine_tests!(two_nodes_never_send_one_message_at_once);
/// Two deliverers on one database (two nodes): every message arrives, none is ever being sent
/// twice at the same moment.
async fn two_nodes_never_send_one_message_at_once(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let receiver = Receiver::start().await;
    receiver.script((0..60).map(|_| Answer::Slow(Duration::from_millis(50))));
    let (_, secret) = subscribe(&server, &receiver.url, &[EventType::Failed]).await;
    let other = pence_webhooks::Deliverer::new(
        server.store.clone(),
        server.clock.clone(),
        pence_webhooks::DeliverySettings {
            poll: Duration::from_millis(20),
            batch: 8,
            concurrency: 4,
            ..Default::default()
        },
        Arc::new(pence_webhooks::Metrics::default()),
        Arc::new(pence_telemetry::Telemetry::new()),
    )
    .spawn();
    let mut ids = Vec::new();
    for _ in 0..60 {
        let (id, _) = new_payment(&server, &site, json!({})).await;
        server
            .post(&format!("/v1/payments/{id}/cancel"), &json!({}))
            .await;
        ids.push(id);
    }
    let got = receiver.wait_for(60, WAIT).await;
    // Both deliverers stopped, nothing more can come: what arrived is final.
    other.abort();
    server.stop().await;
    assert_eq!(receiver.received().len(), 60, "each sent once");
    assert_eq!(receiver.most_at_once(), 1);
    let mut paid: Vec<&str> = got
        .iter()
        .map(|r| r.json["resource_id"].as_str().unwrap())
        .collect();
    paid.sort();
    ids.sort();
    assert_eq!(paid, ids);
    assert!(got.iter().all(|r| r.signed_with(&secret)));
}

/// The log keeps the first 1 KiB of what a receiver answers.
#[tokio::test]
async fn the_log_keeps_the_first_kib_of_the_answer() {
    let server = TestServer::start_with(Engine::Sqlite, ServerOptions::driven_delivery()).await;
    let site = ServiceSite::start().await;
    let receiver = Receiver::start().await;
    receiver.script([Answer::Body("é".repeat(3000))]);
    subscribe(&server, &receiver.url, &[EventType::Failed]).await;
    let (id, _) = new_payment(&server, &site, json!({})).await;
    server
        .post(&format!("/v1/payments/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(server.drain_webhooks().await, 1);
    let message = receiver.received()[0].message_id().to_string();
    let log = server.store.webhook_attempts(&message).await.unwrap();
    assert_eq!(log[0].status_code, Some(200));
    assert_eq!(
        log[0].response_body.as_deref(),
        Some("é".repeat(512).as_str())
    );
    server.stop().await;
}

/// A subscription that names no types gets what GOV.UK Pay sends (no `card_payment_started`),
/// and each request carries its header names as GOV.UK Pay writes them, read here from the
/// raw bytes on the wire (a case-sensitive receiver, such as PHP's `getallheaders()`, needs
/// `Pay-Signature` exactly).
#[tokio::test]
async fn default_types_and_header_names_as_gov_uk_pay_sends_them() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(Engine::Sqlite, ServerOptions::driven_delivery()).await;
    let site = ServiceSite::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let raw = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        // Read until the whole body has come (the receiver knows it is one JSON object).
        while !request.ends_with(b"}") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed early");
            request.extend_from_slice(&buf[..n]);
        }
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8(request).unwrap()
    });
    let (sub, _) = subscribe(&server, &url, &[]).await;
    assert_eq!(sub.event_types.len(), EventType::DEFAULT.len());
    assert!(!sub.event_types.contains(&EventType::Started));
    // Opening the card page starts the payment: not sent by default.
    let (id, next) = new_payment(&server, &site, json!({})).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let opened = browser.get(&next).send().await.unwrap();
    assert!(opened.status().is_success(), "{}", opened.status());
    assert_eq!(payment(&server, &id).await["state"]["status"], "started");
    server
        .post(&format!("/v1/payments/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(server.drain_webhooks().await, 1, "only card_payment_failed");
    let request = raw.await.unwrap();
    assert!(request.contains("\r\nPay-Signature: "), "{request}");
    assert!(
        request.contains("\r\nContent-Type: application/json\r\n"),
        "{request}"
    );
    assert!(request.contains("\"event_type\":\"card_payment_failed\""));
    server.stop().await;
}

pence_testkit::engine_tests!(a_moved_service_clock_sends_and_retries_its_messages);
/// A test service whose clock is a day ahead (the control API): its messages, dated by its
/// clock, are sent at once, and retried along the ladder on its clock, moved by the control
/// API, not the node's: the move itself makes the retry that falls due on the way.
async fn a_moved_service_clock_sends_and_retries_its_messages(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(&server, &receiver.url, &[EventType::Failed]).await;
    receiver.script([Answer::Status(500), Answer::Status(500)]);
    let moved = server
        .post(
            "/sandbox/v1/clock",
            &json!({"advance_seconds": 24 * 60 * 60}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let site = ServiceSite::start().await;
    let (id, _) = new_payment(&server, &site, json!({})).await;
    let declined = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": "4000000000000002"}),
        )
        .await;
    assert_eq!(declined.json["state"]["code"], "P0010", "{}", declined.text);
    assert_eq!(server.deliver_once().await, 1, "due on the service's clock");
    assert_eq!(server.deliver_once().await, 0, "the retry waits a minute");
    let first_retry = pence_core::webhook::delivery::RETRY_DELAYS_MS[0] / 1000;
    let moved = server
        .post(
            "/sandbox/v1/clock",
            &json!({"advance_seconds": first_retry}),
        )
        .await;
    assert_eq!(moved.status, 200);
    assert_eq!(
        moved.json["swept"]["webhook_attempts"], 1,
        "retried on the service's clock, by the move: {}",
        moved.text
    );
    assert_eq!(server.deliver_once().await, 0, "nothing left due");
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r.signed_with(&secret)));
}

pence_testkit::engine_tests!(subscriptions_and_messages_over_the_control_api);
/// The control API's webhooks (issue 15): a subscription made, changed, rotated and
/// deactivated over HTTP; a message triggered for a payment's current state, marked so in
/// the delivery log, and resent.
async fn subscriptions_and_messages_over_the_control_api(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let site = ServiceSite::start().await;
    let receiver = Receiver::start().await;
    let made = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": receiver.url, "description": "tests", "event_types": ["card_payment_succeeded"]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.json["id"].as_str().unwrap().to_string();
    let secret = made.json["secret"].as_str().unwrap().to_string();
    let listed = server.get("/sandbox/v1/webhooks").await;
    assert_eq!(listed.json["webhooks"][0]["id"], id.as_str());
    assert!(
        listed.json["webhooks"][0].get("secret").is_none(),
        "shown once"
    );
    let changed = server
        .send(
            reqwest::Method::PATCH,
            &format!("/sandbox/v1/webhooks/{id}"),
            Some(&server.key),
            &[("Content-Type", "application/json")],
            Some(
                json!({"event_types": ["card_payment_succeeded", "card_payment_refunded"]})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        changed.json["event_types"],
        json!(["card_payment_refunded", "card_payment_succeeded"])
    );

    // A message triggered for the payment as it is, delivered, logged as triggered.
    let (payment_id, _) = new_payment(&server, &site, json!({})).await;
    let trigger = |event: &str| {
        let body = json!({"payment_id": payment_id, "event_type": event});
        let server = &server;
        async move { server.post("/sandbox/v1/webhooks/trigger", &body).await }
    };
    let sent = trigger("card_payment_succeeded").await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    assert_eq!(server.drain_webhooks().await, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    check_message(&got[0], &secret);
    assert_eq!(got[0].event_type(), "card_payment_succeeded");
    assert_eq!(
        got[0].json["resource"]["state"]["status"], "created",
        "as it is now"
    );
    let log = server
        .get(&format!("/sandbox/v1/webhooks/{id}/messages"))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let message = log.json["messages"][0].clone();
    assert_eq!(message["triggered"], true);
    assert_eq!(message["status"], "successful");
    assert_eq!(message["id"], got[0].message_id());
    let pending = server
        .get(&format!(
            "/sandbox/v1/webhooks/{id}/messages?status=pending"
        ))
        .await;
    assert_eq!(pending.json["messages"], json!([]));

    // Not a type it takes; resend; a rotated secret signs what comes next.
    let refused = trigger("card_payment_expired").await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let resent = server
        .post(
            &format!(
                "/sandbox/v1/webhooks/messages/{}/resend",
                got[0].message_id()
            ),
            &json!({}),
        )
        .await;
    assert_eq!(resent.status, 202, "{}", resent.text);
    assert_eq!(server.drain_webhooks().await, 1);
    let rotated = server
        .post(
            &format!("/sandbox/v1/webhooks/{id}/rotate-secret"),
            &json!({}),
        )
        .await;
    let new_secret = rotated.json["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(trigger("card_payment_refunded").await.status, 202);
    assert_eq!(server.drain_webhooks().await, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(got[2].signed_with(&new_secret));

    // Another service sees none of it; a deactivated subscription takes nothing.
    let (_, other) = server.new_service(false).await;
    let theirs = server
        .get_as(&other, &format!("/sandbox/v1/webhooks/{id}"))
        .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(
        server.get_as(&other, "/sandbox/v1/webhooks").await.json["webhooks"],
        json!([])
    );
    let off = server
        .send(
            reqwest::Method::PATCH,
            &format!("/sandbox/v1/webhooks/{id}"),
            Some(&server.key),
            &[("Content-Type", "application/json")],
            Some(json!({"active": false}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(off.json["active"], false);
    assert_eq!(trigger("card_payment_succeeded").await.status, 422);

    for bad in [
        json!({"callback_url": "not a url"}),
        json!({"callback_url": receiver.url, "event_types": ["bogus"]}),
    ] {
        let refused = server.post("/sandbox/v1/webhooks", &bad).await;
        assert_eq!(refused.status, 422, "{bad} -> {}", refused.text);
    }
    let refused = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": receiver.url, "secret": "x"}),
        )
        .await;
    assert_eq!(refused.status, 400);
}

pence_testkit::engine_tests!(delivery_faults_test_the_receiver);
/// A subscription delivered to badly on purpose (the control API): duplicates, a wrong
/// signature, dropped first attempts, newest first; each seen by a real receiver.
async fn delivery_faults_test_the_receiver(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let site = ServiceSite::start().await;
    let receiver = Receiver::start().await;
    let made = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": receiver.url, "event_types": ["card_payment_succeeded"]}),
        )
        .await;
    let id = made.json["id"].as_str().unwrap().to_string();
    let secret = made.json["secret"].as_str().unwrap().to_string();
    let faults = |body: Value| {
        let server = &server;
        let path = format!("/sandbox/v1/webhooks/{id}/faults");
        async move {
            server
                .send(
                    reqwest::Method::PUT,
                    &path,
                    Some(&server.key),
                    &[("Content-Type", "application/json")],
                    Some(body.to_string().into_bytes()),
                )
                .await
        }
    };
    let mut payments = Vec::new();
    for _ in 0..3 {
        payments.push(new_payment(&server, &site, json!({})).await.0);
    }
    let trigger = |payment_id: &str| {
        let body = json!({"payment_id": payment_id, "event_type": "card_payment_succeeded"});
        let server = &server;
        async move {
            let sent = server.post("/sandbox/v1/webhooks/trigger", &body).await;
            assert_eq!(sent.status, 202, "{}", sent.text);
            sent.json["message_ids"][0].as_str().unwrap().to_string()
        }
    };

    // Twice each.
    assert_eq!(faults(json!({"duplicate": true})).await.status, 200);
    let first = trigger(&payments[0]).await;
    server.drain_webhooks().await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(got
        .iter()
        .all(|r| r.message_id() == first && r.signed_with(&secret)));

    // Signed with the wrong secret.
    faults(json!({"wrong_secret": true})).await;
    trigger(&payments[0]).await;
    server.drain_webhooks().await;
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(
        !got[2].signed_with(&secret),
        "a signature the receiver must refuse"
    );

    // The first attempt never arrives; the retry a minute later does.
    faults(json!({"drop_first_attempts": 1})).await;
    let dropped = trigger(&payments[0]).await;
    assert_eq!(server.deliver_once().await, 1);
    assert_eq!(receiver.received().len(), 3, "dropped");
    server.clock.advance(61_000);
    assert_eq!(server.deliver_once().await, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].message_id(), dropped);

    // Newest first.
    faults(json!({"out_of_order": true})).await;
    let mut sent = Vec::new();
    for p in &payments {
        sent.push(trigger(p).await);
        server.clock.advance(1_000);
    }
    server.drain_webhooks().await;
    let order: Vec<String> = receiver.received()[4..]
        .iter()
        .map(|r| r.message_id().to_string())
        .collect();
    sent.reverse();
    assert_eq!(order, sent);

    // Refused settings; cleared.
    assert_eq!(faults(json!({"delay_ms": 20_000})).await.status, 422);
    assert_eq!(faults(json!({"drop": true})).await.status, 400);
    let cleared = server
        .send(
            reqwest::Method::DELETE,
            &format!("/sandbox/v1/webhooks/{id}/faults"),
            Some(&server.key),
            &[],
            None,
        )
        .await;
    assert_eq!(cleared.status, 204);
    let shown = server
        .get(&format!("/sandbox/v1/webhooks/{id}/faults"))
        .await;
    assert_eq!(
        shown.json,
        json!({"duplicate": false, "out_of_order": false, "delay_ms": 0, "drop_first_attempts": 0, "wrong_secret": false})
    );
}

pence_testkit::engine_tests!(one_chaos_seed_gives_one_delivery_log);
/// Seeded chaos (issue 31): two subscriptions with the same seed, sent the same messages in the
/// same order, are delivered to alike, attempt for attempt; the report flags a receiver that
/// took a message it should have refused.
async fn one_chaos_seed_gives_one_delivery_log(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let (_, other_key) = server.new_service(false).await;
    let chaos = json!({"chaos": {"seed": 42, "duplicate_percent": 30, "reorder_percent": 20,
        "drop_percent": 20, "drop_attempts": 1, "wrong_signature_percent": 15,
        "old_secret_percent": 10}});
    let mut runs = Vec::new();
    for key in [server.key.clone(), other_key] {
        let made = server
            .post_as(
                &key,
                "/sandbox/v1/fixtures",
                &json!({"payments": [{"state": "success"}]}),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text);
        let payment_id = made.json["payments"][0]["payment_id"]
            .as_str()
            .unwrap()
            .to_string();
        let receiver = Receiver::start().await;
        let hook = server
            .post_as(
                &key,
                "/sandbox/v1/webhooks",
                &json!({"callback_url": receiver.url, "event_types": ["card_payment_succeeded"]}),
            )
            .await;
        let id = hook.json["id"].as_str().unwrap().to_string();
        let set = server
            .send(
                reqwest::Method::PUT,
                &format!("/sandbox/v1/webhooks/{id}/faults"),
                Some(&key),
                &[("Content-Type", "application/json")],
                Some(chaos.to_string().into_bytes()),
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.text);
        assert_eq!(set.json["chaos"]["seed"], 42, "{}", set.text);
        runs.push((key, payment_id, receiver, id));
    }
    // The same 30 messages to each, a second apart, then delivered, retries included.
    for _ in 0..30 {
        for (key, payment_id, _, _) in &runs {
            let body = json!({"payment_id": payment_id, "event_type": "card_payment_succeeded"});
            let sent = server
                .post_as(key, "/sandbox/v1/webhooks/trigger", &body)
                .await;
            assert_eq!(sent.status, 202, "{}", sent.text);
        }
        server.clock.advance(1_000);
    }
    server.drain_webhooks().await;
    server.clock.advance(MINUTE + 1_000);
    server.drain_webhooks().await;

    let mut logs = Vec::new();
    for (key, _, receiver, id) in &runs {
        let report = server
            .get_as(key, &format!("/sandbox/v1/webhooks/{id}/report"))
            .await;
        assert_eq!(report.status, 200, "{}", report.text);
        let messages = report.json["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 30);
        let log: Vec<(u64, Vec<(Value, Value)>)> = messages
            .iter()
            .map(|m| {
                let attempts = m["delivery"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| (a["status_code"].clone(), a["fault"].clone()))
                    .collect();
                (m["ordinal"].as_u64().unwrap(), attempts)
            })
            .collect();
        assert_eq!(
            log.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            (0..30).collect::<Vec<_>>()
        );
        // Every message arrived in the end; each duplicate twice.
        assert!(messages.iter().all(|m| m["status"] == "successful"));
        let faults: Vec<String> = log
            .iter()
            .flat_map(|(_, a)| a.iter().filter_map(|(_, f)| f.as_str().map(str::to_string)))
            .collect();
        for kind in [
            "duplicate",
            "reordered",
            "dropped",
            "wrong signature",
            "old secret",
        ] {
            assert!(
                faults.iter().any(|f| f.contains(kind)),
                "{kind} in {faults:?}"
            );
        }
        let duplicates = faults.iter().filter(|f| f.contains("duplicate")).count();
        assert_eq!(receiver.received().len(), 30 + duplicates);
        // This receiver takes everything: each badly signed message is flagged.
        let badly_signed = faults
            .iter()
            .filter(|f| f.contains("wrong signature") || f.contains("old secret"))
            .count();
        assert!(badly_signed > 0);
        assert_eq!(report.json["flagged"], badly_signed, "{}", report.text);
        logs.push(log);
    }
    assert_eq!(logs[0], logs[1], "one seed, one delivery log");
}
