//! Setting an agreement up with a web payment (reference §7): the card page says the card
//! will be saved; confirming makes the agreement active with the card (never the full
//! number); a declined set-up leaves it created; a cancelled one can be set up again.

use pence_core::ledger::EventKind;
use pence_core::ports::prelude::*;
use pence_testkit::{Browser, Engine, ServiceSite, TestServer};
use serde_json::{json, Value};

use super::http::{enter_and_confirm, paying_with};
use super::{fill_card, new_payment, payment};

async fn recurring(engine: Engine) -> TestServer {
    let server = TestServer::start(engine).await;
    let mut service = server.service.clone();
    service.recurring_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    server
}

async fn agreement(server: &TestServer) -> String {
    let reply = server
        .post(
            "/v1/agreements",
            &json!({"reference": "CT-1", "description": "Council tax 2026/27"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json["agreement_id"].as_str().unwrap().to_string()
}

async fn get_agreement(server: &TestServer, id: &str) -> Value {
    let reply = server.get(&format!("/v1/agreements/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

pence_testkit::engine_tests!(a_payment_sets_an_agreement_up);
async fn a_payment_sets_an_agreement_up(engine: Engine) {
    let server = recurring(engine).await;
    let site = ServiceSite::start().await;
    let id = agreement(&server).await;

    // An unknown agreement is refused as GOV.UK Pay's connector refuses it.
    let unknown = server
        .post(
            "/v1/payments",
            &json!({"amount": 500, "reference": "r", "description": "d", "return_url": "https://example.org/r", "set_up_agreement": "a".repeat(26)}),
        )
        .await;
    assert_eq!(
        (unknown.status, &unknown.json),
        (
            400,
            &json!({"field": "agreement_id", "code": "P0102", "description": "Invalid attribute value: agreement_id. Agreement does not exist"})
        )
    );

    // A declined set-up leaves the agreement created.
    let declined = paying_with(&server, &site, json!({"set_up_agreement": id})).await;
    enter_and_confirm(&declined, "4000000000000002").await;
    assert_eq!(
        payment(&server, &declined.id).await["state"]["status"],
        "failed"
    );
    assert_eq!(get_agreement(&server, &id).await["status"], "created");

    let p = paying_with(&server, &site, json!({"set_up_agreement": id})).await;
    let page = p.c.get(&p.url).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("id=\"agreement-notice\"") && page.contains("Council tax 2026/27"),
        "the card page says the card will be saved"
    );
    let created = payment(&server, &p.id).await;
    assert_eq!(created["agreement_payment_type"], "recurring");
    enter_and_confirm(&p, "4444333322221111").await;
    assert_eq!(payment(&server, &p.id).await["state"]["status"], "success");
    let active = get_agreement(&server, &id).await;
    assert_eq!(active["status"], "active", "{active}");
    let instrument = &active["payment_instrument"];
    assert_eq!(instrument["type"], "card");
    let card = &instrument["card_details"];
    assert_eq!(card["last_digits_card_number"], "1111");
    assert_eq!(card["first_digits_card_number"], "444433");
    assert_eq!(card["card_brand"], "Visa");
    assert_eq!(card["cardholder_name"], "Ada Lovelace");
    assert!(!active.to_string().contains("4444333322221111"));

    // Cancel, then set up again: active with the new card.
    let cancelled = server
        .post(&format!("/v1/agreements/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(cancelled.status, 204, "{}", cancelled.text);
    let after = get_agreement(&server, &id).await;
    assert_eq!(after["status"], "cancelled");
    assert!(after["cancelled_date"].as_str().is_some());
    let again = paying_with(&server, &site, json!({"set_up_agreement": id})).await;
    enter_and_confirm(&again, "4000056655665556").await;
    let renewed = get_agreement(&server, &id).await;
    assert_eq!(renewed["status"], "active");
    assert!(renewed.get("cancelled_date").is_none());
    assert_eq!(
        renewed["payment_instrument"]["card_details"]["last_digits_card_number"],
        "5556"
    );
    server.stop().await;
}

pence_testkit::engine_tests!(the_set_up_journey_in_a_browser);
/// The same journey in real Chromium, in Welsh: the notice is on the card page.
async fn the_set_up_journey_in_a_browser(engine: Engine) {
    let server = recurring(engine).await;
    let site = ServiceSite::start().await;
    let id = agreement(&server).await;
    let (payment_id, next) = new_payment(
        &server,
        &site,
        json!({"set_up_agreement": id, "language": "cy"}),
    )
    .await;
    let b = Browser::start().await;
    b.goto(&next).await;
    let notice = b.text("#agreement-notice").await.unwrap();
    assert!(
        notice.contains("Council tax 2026/27") && notice.contains("Bydd manylion"),
        "{notice}"
    );
    fill_card(&b, "4444333322221111").await;
    b.click("#submit-card-details").await;
    b.click("#confirm").await;
    assert_eq!(b.url().await, format!("{}/completed", site.url));
    b.close().await;
    assert_eq!(
        payment(&server, &payment_id).await["state"]["status"],
        "success"
    );
    assert_eq!(get_agreement(&server, &id).await["status"], "active");
    server.stop().await;
}

/// An agreement set up with `card` (paid for over HTTP, the user confirming).
async fn set_up(server: &TestServer, site: &ServiceSite, card: &str) -> String {
    let id = agreement(server).await;
    let p = paying_with(server, site, json!({"set_up_agreement": id})).await;
    enter_and_confirm(&p, card).await;
    assert_eq!(get_agreement(server, &id).await["status"], "active");
    server.sweep().await; // captures the set-up payment
    id
}

async fn take(server: &TestServer, agreement_id: &str) -> pence_testkit::Reply {
    server
        .post(
            "/v1/payments",
            &json!({"amount": 1500, "reference": "CT-1/1", "description": "First instalment", "authorisation_mode": "agreement", "agreement_id": agreement_id}),
        )
        .await
}

pence_testkit::engine_tests!(an_agreement_payment_takes_the_saved_card);
async fn an_agreement_payment_takes_the_saved_card(engine: Engine) {
    let server = recurring(engine).await;
    let site = ServiceSite::start().await;

    // Refused unless the agreement is the service's and has an active card.
    let unknown = take(&server, &"a".repeat(26)).await;
    assert_eq!(
        (unknown.status, &unknown.json),
        (
            400,
            &json!({"field": "agreement_id", "code": "P0102", "description": "Invalid attribute value: agreement_id. Agreement does not exist"})
        )
    );
    let unused = agreement(&server).await;
    let inactive = take(&server, &unused).await;
    assert_eq!(
        (inactive.status, &inactive.json),
        (
            400,
            &json!({"field": "agreement_id", "code": "P0102", "description": "Invalid attribute value: agreement_id. Agreement must be active"})
        )
    );

    let id = set_up(&server, &site, "4444333322221111").await;
    let created = take(&server, &id).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let queued = &created.json;
    assert_eq!(
        queued["state"],
        json!({"status": "started", "finished": false})
    );
    assert_eq!(queued["authorisation_mode"], "agreement");
    assert_eq!(queued["agreement_payment_type"], "recurring");
    assert_eq!(queued["agreement_id"], id.as_str());
    let links = queued["_links"].as_object().unwrap();
    assert!(!links.contains_key("next_url") && !links.contains_key("cancel"));
    let payment_id = queued["payment_id"].as_str().unwrap();

    let swept = server.sweep().await;
    assert_eq!((swept.recurring, swept.captured), (1, 1));
    assert_eq!(server.sweep().await.recurring, 0, "once");
    let paid = payment(&server, payment_id).await;
    assert_eq!(
        paid["state"],
        json!({"status": "success", "finished": true})
    );
    assert_eq!(paid["card_details"]["last_digits_card_number"], "1111");
    assert!(paid["provider_id"].as_str().is_some());
    let events = server
        .get(&format!("/v1/payments/{payment_id}/events"))
        .await;
    let states: Vec<&str> = events.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(states.first(), Some(&"created"));
    assert_eq!(states.last(), Some(&"success"));
    // Searchable by agreement: the set-up payment and this one.
    let found = server.get(&format!("/v1/payments?agreement_id={id}")).await;
    let results = found.json["results"].as_array().unwrap();
    assert_eq!(found.json["total"], 2, "{}", found.text);
    assert!(results.iter().all(|p| p["agreement_id"] == id.as_str()));
    assert!(results.iter().any(|p| p["payment_id"] == payment_id));

    // The sandbox refuses 5105105105105100 for payments of an agreement, for good: the
    // agreement becomes inactive and takes no more payments.
    let refused = set_up(&server, &site, "5105105105105100").await;
    let declined = take(&server, &refused).await;
    assert_eq!(declined.status, 201, "{}", declined.text);
    server.sweep().await;
    let failed = payment(&server, declined.json["payment_id"].as_str().unwrap()).await;
    assert_eq!(
        failed["state"],
        json!({"status": "failed", "finished": true, "code": "P0010", "message": "Payment method rejected", "can_retry": false})
    );
    assert_eq!(get_agreement(&server, &refused).await["status"], "inactive");
    let after = take(&server, &refused).await;
    assert_eq!(
        after.json["description"],
        "Invalid attribute value: agreement_id. Agreement must be active"
    );
    server.stop().await;
}

pence_testkit::engine_tests!(multi_thread: nodes_sweeping_at_once_take_each_payment_once);
async fn nodes_sweeping_at_once_take_each_payment_once(engine: Engine) {
    let server = recurring(engine).await;
    let site = ServiceSite::start().await;
    let id = set_up(&server, &site, "4000056655665556").await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        let reply = take(&server, &id).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        ids.push(reply.json["payment_id"].as_str().unwrap().to_string());
    }
    let (a, b, c) = tokio::join!(server.sweep(), server.sweep(), server.sweep());
    assert_eq!(a.recurring + b.recurring + c.recurring, 12);
    server.sweep().await;
    for p in &ids {
        let kinds: Vec<EventKind> = server
            .store
            .payment_events(&server.service.id, p)
            .await
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect();
        use EventKind::*;
        for once in [
            PaymentDetailsTakenFromPaymentInstrument,
            AuthorisationSucceeded,
            QueuedForCapture,
            CaptureConfirmed,
        ] {
            assert_eq!(
                kinds.iter().filter(|k| **k == once).count(),
                1,
                "{once} once: {kinds:?}"
            );
        }
        assert_eq!(payment(&server, p).await["state"]["status"], "success");
    }
    server.stop().await;
}

async fn take_with_key(server: &TestServer, key: &str, body: &str) -> pence_testkit::Reply {
    let headers = [
        ("Idempotency-Key", key),
        ("Content-Type", "application/json"),
    ];
    server
        .send(
            reqwest::Method::POST,
            "/v1/payments",
            Some(&server.key),
            &headers,
            Some(body.as_bytes().to_vec()),
        )
        .await
}

pence_testkit::engine_tests!(multi_thread: an_idempotency_key_takes_an_agreement_payment_once);
async fn an_idempotency_key_takes_an_agreement_payment_once(engine: Engine) {
    let server = std::sync::Arc::new(recurring(engine).await);
    let site = ServiceSite::start().await;
    let id = set_up(&server, &site, "4444333322221111").await;
    let body = json!({"amount": 1500, "reference": "CT-1/2", "description": "Second instalment", "authorisation_mode": "agreement", "agreement_id": id});

    let first = take_with_key(&server, "instalment-2", &body.to_string()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.header("location").is_some());
    // The same request, spelled differently (order, spacing, a default given): the same
    // payment, 200, without a Location header.
    let spelled = format!(
        "{{ \"agreement_payment_type\": \"recurring\", \"agreement_id\": \"{id}\", \"authorisation_mode\": \"agreement\", \"description\": \"Second instalment\", \"reference\": \"CT-1/2\", \"amount\": 1500 }}"
    );
    let replay = take_with_key(&server, "instalment-2", &spelled).await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.json["payment_id"], first.json["payment_id"]);
    assert!(replay.header("location").is_none());
    // Another request with the key is refused.
    let other = body.clone();
    let mut other = other.as_object().unwrap().clone();
    other.insert("amount".into(), json!(1600));
    let refused = take_with_key(&server, "instalment-2", &Value::from(other).to_string()).await;
    assert_eq!(
        (refused.status, &refused.json),
        (
            409,
            &json!({"code": "P0191", "description": "The `Idempotency-Key` you sent in the request header has already been used to create a payment."})
        )
    );

    // Racing creates with one key: one payment; the others get it back or 409.
    let mut racers = Vec::new();
    for _ in 0..20 {
        let (server, body) = (server.clone(), body.to_string());
        racers.push(tokio::spawn(async move {
            take_with_key(&server, "instalment-3", &body).await
        }));
    }
    let mut created = Vec::new();
    let mut seen = Vec::new();
    for r in racers {
        let reply = r.await.unwrap();
        match reply.status {
            201 => created.push(reply.json["payment_id"].clone()),
            200 => seen.push(reply.json["payment_id"].clone()),
            409 => assert_eq!(reply.json["code"], "P0191"),
            other => panic!("{other}: {}", reply.text),
        }
    }
    assert_eq!(created.len(), 1, "one payment for the key");
    assert!(seen.iter().all(|p| *p == created[0]));

    // A day later the key is forgotten: the same request takes another payment.
    server
        .clock
        .advance(pence_core::payment::idempotency::WINDOW_MS);
    let later = take_with_key(&server, "instalment-2", &body.to_string()).await;
    assert_eq!(later.status, 201, "{}", later.text);
    assert_ne!(later.json["payment_id"], first.json["payment_id"]);
    assert_eq!(server.sweep().await.keys_forgotten, 1, "instalment-3's key");
    std::sync::Arc::into_inner(server).unwrap().stop().await;
}

pence_testkit::engine_tests!(agreement_payments_send_webhooks_like_any_payment);
async fn agreement_payments_send_webhooks_like_any_payment(engine: Engine) {
    use pence_core::webhook::{subscription, EventType};
    let server =
        TestServer::start_with(engine, pence_testkit::ServerOptions::driven_delivery()).await;
    let mut service = server.service.clone();
    service.recurring_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    let site = ServiceSite::start().await;
    let good = set_up(&server, &site, "4444333322221111").await;
    let refused = set_up(&server, &site, "5105105105105100").await;
    let receiver = pence_testkit::Receiver::start().await;
    subscription::create(
        server.store.as_ref(),
        server.clock.as_ref(),
        pence_core::staff::Actor::Operator,
        &server.service,
        &receiver.url,
        "test receiver",
        &EventType::ALL,
    )
    .await
    .unwrap();
    let paid = take(&server, &good).await.json["payment_id"].clone();
    let failed = take(&server, &refused).await.json["payment_id"].clone();
    server.sweep().await;
    assert_eq!(server.drain_webhooks().await, 3);
    let mut got: Vec<(Value, String)> = receiver
        .received()
        .iter()
        .map(|r| (r.json["resource_id"].clone(), r.event_type().to_string()))
        .collect();
    got.sort_by_key(|(id, kind)| (id.to_string(), kind.contains("captured")));
    let mut expected = vec![
        (paid.clone(), "card_payment_succeeded".to_string()),
        (paid, "card_payment_captured".to_string()),
        (failed, "card_payment_failed".to_string()),
    ];
    expected.sort_by_key(|(id, kind)| (id.to_string(), kind.contains("captured")));
    assert_eq!(got, expected);
    server.stop().await;
}
