//! The connector against a real Pence node over HTTP (through a proxy checking every response
//! against the spec), with its tables in a real SQLite file or PostgreSQL schema.

use std::time::Duration;

use hmac::{Hmac, Mac};
use pence_client::{Client, CreatePayment};
use pence_connector::mop_up::MopUpOptions;
use pence_connector::webhooks::{ConsumerOptions, WebhookConsumer};
use pence_connector::{Clock, Connector, ReturnVia};
use pence_testkit::{Engine, SpecProxy, TestDb, TestServer};
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "webhook-secret-for-tests";

struct Setup {
    server: TestServer,
    proxy: SpecProxy,
    db: TestDb,
    connector: Connector,
}

async fn setup(engine: Engine) -> Setup {
    let server = TestServer::start(engine).await;
    let proxy = SpecProxy::start(&server.url).await;
    let db = TestDb::new(engine).await;
    let connector = open(&server, &proxy, &db).await;
    Setup {
        server,
        proxy,
        db,
        connector,
    }
}

async fn open(server: &TestServer, proxy: &SpecProxy, db: &TestDb) -> Connector {
    let client = Client::new(server.key.clone()).with_base_url(&proxy.url);
    Connector::open(client, &db.url).await.expect("open")
}

fn permit(reference: &str) -> CreatePayment {
    CreatePayment::new(2500, reference, "Parking permit", "").metadata("zone", "B")
}

fn via_url() -> ReturnVia {
    ReturnVia::UrlSecret {
        base: "https://parking.example/return".into(),
    }
}

async fn pay(server: &TestServer, payment_id: &str, card: &str) {
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{payment_id}/pay"),
            &json!({"card_number": card}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
}

fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
}

/// A message as GOV.UK Pay sends it, about the payment as the API shows it now.
fn message(id: &str, event_type: &str, created: &str, payment: &Value) -> Vec<u8> {
    let mut resource = payment.clone();
    resource.as_object_mut().unwrap().remove("_links");
    json!({
        "webhook_message_id": id,
        "created_date": created,
        "resource_id": payment["payment_id"],
        "api_version": 1,
        "resource_type": "payment",
        "event_type": event_type,
        "resource": resource,
    })
    .to_string()
    .into_bytes()
}

/// The consumer mounted on a real HTTP server; answers its URL.
async fn serve(consumer: &WebhookConsumer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    let app: axum::Router = consumer.router("/webhooks");
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn post(url: &str, body: &[u8], signature: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        req = req.header("Pay-Signature", s);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A journey whose payment was paid: its id, and the payment as the API shows it.
async fn paid_journey(s: &Setup, reference: &str) -> (String, Value) {
    let started = s
        .connector
        .start_payment(permit(reference), &via_url())
        .await
        .unwrap();
    let payment_id = started.journey.payment_id.unwrap();
    pay(&s.server, &payment_id, "4444333322221111").await;
    let paid = s
        .server
        .get(&format!("/v1/payments/{payment_id}"))
        .await
        .json;
    (payment_id, paid)
}

async fn drain(consumer: &WebhookConsumer) {
    while consumer.process_once().await.unwrap() > 0 {}
}

pence_testkit::engine_tests!(journeys_match_the_returning_user_by_secret_only);
async fn journeys_match_the_returning_user_by_secret_only(engine: Engine) {
    let s = setup(engine).await;
    let started = s
        .connector
        .start_payment(permit("PP-1"), &via_url())
        .await
        .unwrap();
    let j = &started.journey;
    let payment_id = j.payment_id.clone().unwrap();
    assert_eq!((j.status.as_str(), j.finished), ("created", false));
    assert!(
        started.next_url.starts_with(&s.server.url),
        "{}",
        started.next_url
    );
    assert!(started.return_cookie.is_none());
    // The return URL GOV.UK Pay holds says nothing about the payment or the service's
    // reference, only a secret.
    let p = s
        .server
        .get(&format!("/v1/payments/{payment_id}"))
        .await
        .json;
    let return_url = p["return_url"].as_str().unwrap().to_string();
    let secret = return_url
        .strip_prefix("https://parking.example/return/")
        .unwrap();
    assert!(secret.len() >= 43, "{return_url}");
    assert!(!return_url.contains(&payment_id) && !return_url.contains("PP-1"));

    // Guesses and near misses match nothing; the payment's id matches nothing either.
    for guess in [payment_id.as_str(), "PP-1", &secret[..42], &j.journey_id] {
        assert!(
            s.connector.returned(guess).await.unwrap().is_none(),
            "{guess}"
        );
    }
    // Back before paying (the pages never opened): still open, checked by API.
    let back = s.connector.returned(secret).await.unwrap().unwrap();
    assert_eq!((back.status.as_str(), back.finished), ("created", false));

    pay(&s.server, &payment_id, "4444333322221111").await;
    let back = s.connector.returned(secret).await.unwrap().unwrap();
    assert_eq!(back.status, "success");
    assert!(back.finished);
    assert_eq!(back.resolved_by.as_deref(), Some("return"));
    assert_eq!(back.refund_status.as_deref(), Some("pending"));

    // By cookie: a fixed return URL, the secret in a cookie only the user's browser has.
    let via = ReturnVia::Cookie {
        url: "https://parking.example/return".into(),
    };
    let started = s
        .connector
        .start_payment(permit("PP-2"), &via)
        .await
        .unwrap();
    let cookie = started.return_cookie.expect("a cookie");
    assert_eq!(cookie.name(), pence_connector::RETURN_COOKIE);
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(
        cookie.same_site(),
        Some(axum_extra::extract::cookie::SameSite::Lax)
    );
    let payment_id = started.journey.payment_id.unwrap();
    let p = s
        .server
        .get(&format!("/v1/payments/{payment_id}"))
        .await
        .json;
    assert_eq!(p["return_url"], "https://parking.example/return");
    pay(&s.server, &payment_id, "4000000000000002").await;
    let back = s.connector.returned(cookie.value()).await.unwrap().unwrap();
    assert_eq!(
        (back.status.as_str(), back.code.as_deref()),
        ("failed", Some("P0010"))
    );

    // A refused create leaves the journey in error with GOV.UK Pay's code.
    let refused = s
        .connector
        .start_payment(
            CreatePayment::new(0, "PP-3", "Parking permit", ""),
            &via_url(),
        )
        .await;
    assert!(refused.is_err());
    let all = s.connector.journeys().await.unwrap();
    assert_eq!(all.len(), 3);
    let bad = all.iter().find(|j| j.reference == "PP-3").unwrap();
    assert_eq!(
        (bad.status.as_str(), bad.code.as_deref()),
        ("error", Some("P0102"))
    );
    assert!(bad.payment_id.is_none());
    assert!(
        s.proxy.violations().is_empty(),
        "{:?}",
        s.proxy.violations()
    );
    s.server.stop().await;
    drop(s.db);
}

pence_testkit::engine_tests!(the_consumer_checks_stores_and_processes_each_event_once);
async fn the_consumer_checks_stores_and_processes_each_event_once(engine: Engine) {
    let s = setup(engine).await;
    let options = ConsumerOptions {
        max_attempts: 3,
        ..ConsumerOptions::default()
    };
    let consumer = WebhookConsumer::new(
        s.connector.clone(),
        vec!["old".into(), SECRET.into()],
        options,
    );
    let url = serve(&consumer).await;
    let (payment_id, paid) = paid_journey(&s, "PP-1").await;
    let body = message(
        "m1",
        "card_payment_succeeded",
        "2026-11-30T12:00:00.000Z",
        &paid,
    );

    // Unsigned, or signed with another secret: refused with a reason, nothing stored.
    let (status, text) = post(&url, &body, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"],
        "no Pay-Signature header"
    );
    let (status, text) = post(&url, &body, Some(&sign(&body, "wrong"))).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("matches none"), "{text}");
    assert_eq!(consumer.inbox().await.unwrap().pending, 0);

    // Signed (with either secret during a rotation): stored, 200, processed later.
    assert_eq!(post(&url, &body, Some(&sign(&body, SECRET))).await.0, 200);
    assert_eq!(post(&url, &body, Some(&sign(&body, "old"))).await.0, 200);
    // The same event under another message id, and an older event arriving late.
    let again = message(
        "m2",
        "card_payment_succeeded",
        "2026-11-30T12:00:00.000Z",
        &paid,
    );
    assert_eq!(post(&url, &again, Some(&sign(&again, SECRET))).await.0, 200);
    let mut earlier = paid.clone();
    earlier["state"] = json!({"status": "started", "finished": false});
    let late = message(
        "m0",
        "card_payment_started",
        "2026-11-30T11:59:00.000Z",
        &earlier,
    );
    assert_eq!(post(&url, &late, Some(&sign(&late, SECRET))).await.0, 200);
    let inbox = consumer.inbox().await.unwrap();
    assert_eq!(inbox.pending, 3, "{inbox:?}");
    let before = s
        .connector
        .journey_of_payment(&payment_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.status, "created");

    drain(&consumer).await;
    let j = s
        .connector
        .journey_of_payment(&payment_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((j.status.as_str(), j.finished), ("success", true));
    assert_eq!(j.resolved_by.as_deref(), Some("webhook"));
    assert_eq!(j.refund_status.as_deref(), Some("pending"));
    let inbox = consumer.inbox().await.unwrap();
    assert_eq!(
        (inbox.processed, inbox.duplicate, inbox.pending),
        (2, 1, 0),
        "{inbox:?}"
    );
    // m1 and m2 carry the same event and are processed concurrently: whichever commits
    // first records it, the other is the duplicate.
    let events = consumer.events_of_payment(&payment_id).await.unwrap();
    assert!(
        events == ["m0", "m1"] || events == ["m0", "m2"],
        "{events:?}"
    );

    // A message for a payment with no journey is retried, visibly, then left unmatched.
    let stranger = {
        let mut p = paid.clone();
        p["payment_id"] = json!("nosuchpayment");
        message(
            "m9",
            "card_payment_succeeded",
            "2026-11-30T12:01:00.000Z",
            &p,
        )
    };
    assert_eq!(
        post(&url, &stranger, Some(&sign(&stranger, SECRET)))
            .await
            .0,
        200
    );
    drain(&consumer).await;
    let inbox = consumer.inbox().await.unwrap();
    assert_eq!(inbox.pending, 1);
    assert_eq!(inbox.failing.len(), 1);
    assert_eq!(inbox.failing[0].attempts, 1);
    assert_eq!(
        inbox.failing[0].last_error.as_deref(),
        Some("no journey has payment nosuchpayment")
    );
    for _ in 0..3 {
        s.connector.clock().advance(Duration::from_secs(600));
        drain(&consumer).await;
    }
    let inbox = consumer.inbox().await.unwrap();
    assert_eq!((inbox.pending, inbox.unmatched), (0, 1), "{inbox:?}");
    assert_eq!(inbox.failing[0].attempts, 3);

    // Switched to accept without processing: stored and acknowledged, held.
    let holding = WebhookConsumer::new(
        s.connector.clone(),
        vec![SECRET.into()],
        ConsumerOptions {
            process: false,
            ..ConsumerOptions::default()
        },
    );
    let held = message(
        "m10",
        "card_payment_captured",
        "2026-11-30T12:02:00.000Z",
        &paid,
    );
    assert!(holding
        .accept(&held, Some(&sign(&held, SECRET)))
        .await
        .is_ok());
    assert_eq!(holding.process_once().await.unwrap(), 0);
    assert_eq!(holding.inbox().await.unwrap().held, 1);
    assert!(
        s.proxy.violations().is_empty(),
        "{:?}",
        s.proxy.violations()
    );
    s.server.stop().await;
}

pence_testkit::engine_tests!(multi_thread: racing_deliveries_of_one_event_record_it_once);
async fn racing_deliveries_of_one_event_record_it_once(engine: Engine) {
    let s = setup(engine).await;
    let consumer = WebhookConsumer::new(
        s.connector.clone(),
        vec![SECRET.into()],
        ConsumerOptions::default(),
    );
    let url = serve(&consumer).await;
    let (payment_id, paid) = paid_journey(&s, "PP-1").await;
    // Two background processors and 40 deliveries at once: 20 of one message, 20 of the same
    // event under other ids.
    let runners = [
        tokio::spawn(consumer.clone().run()),
        tokio::spawn(consumer.clone().run()),
    ];
    let sends = (0..40).map(|i| {
        let id = if i % 2 == 0 {
            "same".to_string()
        } else {
            format!("other-{i}")
        };
        let body = message(
            &id,
            "card_payment_succeeded",
            "2026-11-30T12:00:00.000Z",
            &paid,
        );
        let url = url.clone();
        async move { post(&url, &body, Some(&sign(&body, SECRET))).await.0 }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    for _ in 0..500 {
        if consumer.inbox().await.unwrap().pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for r in runners {
        r.abort();
    }
    let inbox = consumer.inbox().await.unwrap();
    assert_eq!(
        (inbox.processed, inbox.duplicate, inbox.pending),
        (1, 20, 0),
        "{inbox:?}"
    );
    assert_eq!(
        consumer.events_of_payment(&payment_id).await.unwrap().len(),
        1
    );
    s.server.stop().await;
}

pence_testkit::engine_tests!(multi_thread: the_mop_up_checks_each_old_open_journey_once_across_instances);
async fn the_mop_up_checks_each_old_open_journey_once_across_instances(engine: Engine) {
    let s = setup(engine).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let started = s
            .connector
            .start_payment(permit(&format!("PP-{i}")), &via_url())
            .await
            .unwrap();
        let payment_id = started.journey.payment_id.unwrap();
        // Two are never paid: the mop-up finds them still open (Pence has not expired them).
        if i < 10 {
            pay(&s.server, &payment_id, "4444333322221111").await;
        }
        ids.push(payment_id);
    }
    let options = MopUpOptions::default();
    // Younger than three hours: left alone.
    let report = s.connector.mop_up_once(&options).await.unwrap();
    assert_eq!(report.checked, 0);

    // A second instance on the same database; both clocks past the cut-off.
    let other = open(&s.server, &s.proxy, &s.db).await;
    let clock = Clock::system();
    clock.advance(Duration::from_secs(3 * 3600 + 60));
    let (a, b) = (
        s.connector.clone().with_clock(clock.clone()),
        other.with_clock(clock),
    );
    let (ra, rb) = tokio::join!(a.mop_up_once(&options), b.mop_up_once(&options));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.checked + rb.checked, 12, "{ra:?} {rb:?}");
    assert_eq!(ra.resolved.len() + rb.resolved.len(), 10);
    assert_eq!(ra.errors + rb.errors, 0);
    let journeys = a.journeys().await.unwrap();
    assert_eq!(
        journeys.iter().filter(|j| j.status == "success").count(),
        10
    );
    assert!(journeys
        .iter()
        .filter(|j| j.finished)
        .all(|j| j.resolved_by.as_deref() == Some("mop_up")));
    // Finished ones are never checked again; the open ones are, on the next run.
    let again = a.mop_up_once(&options).await.unwrap();
    assert_eq!((again.checked, again.resolved.len()), (2, 0));
    assert!(
        s.proxy.violations().is_empty(),
        "{:?}",
        s.proxy.violations()
    );
    s.server.stop().await;
}

pence_testkit::engine_tests!(reconciliation_lists_each_settled_payment_and_refund_once);
async fn reconciliation_lists_each_settled_payment_and_refund_once(engine: Engine) {
    let s = setup(engine).await;
    let mut ids = Vec::new();
    for (i, card) in ["4444333322221111", "4444333322221111", "4000000000000002"]
        .iter()
        .enumerate()
    {
        let started = s
            .connector
            .start_payment(
                permit(&format!("PP-{i}")).metadata("ward", i as i64),
                &via_url(),
            )
            .await
            .unwrap();
        let id = started.journey.payment_id.unwrap();
        pay(&s.server, &id, card).await;
        ids.push(id);
    }
    s.server.sweep().await; // captured
    let refund = s
        .server
        .post(
            &format!("/v1/payments/{}/refunds", ids[1]),
            &json!({"amount": 1000}),
        )
        .await;
    assert_eq!(refund.status, 202, "{}", refund.text);
    let refund_id = refund.json["refund_id"].as_str().unwrap().to_string();
    let today = pence_wire::dates::date(
        pence_wire::dates::parse(refund.json["created_date"].as_str().unwrap()).unwrap(),
    );
    // The refund succeeds, then a day later everything captured or refunded is paid out.
    let moved = s
        .server
        .post("/sandbox/v1/clock", &json!({"advance_seconds": 3600}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    s.server.sweep().await;
    let moved = s
        .server
        .post("/sandbox/v1/clock", &json!({"advance_seconds": 86400}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    s.server.sweep().await;
    let r = s
        .server
        .get(&format!("/v1/payments/{}/refunds/{refund_id}", ids[1]))
        .await;
    let settled = r.json["settlement_summary"]["settled_date"]
        .as_str()
        .expect("refund paid out")
        .to_string();
    assert!(settled > today, "{settled} after {today}");

    let mut out = Vec::new();
    let rows = pence_connector::reconcile::settled_csv(
        s.connector.client(),
        &today,
        "2099-01-01",
        &mut out,
    )
    .await
    .unwrap();
    let csv = String::from_utf8(out).unwrap();
    assert_eq!(rows, 3, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "movement,payment_id,refund_id,reference,description,amount,fee,net_amount,settled_date,created_date,card_brand,metadata.ward,metadata.zone"
    );
    let row = |id: &str, kind: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(kind) && l.contains(id))
            .unwrap_or_else(|| panic!("{kind} {id} in {csv}"))
            .to_string()
    };
    let first = row(&ids[0], "payment,");
    assert!(
        first.starts_with(&format!(
            "payment,{},,PP-0,Parking permit,2500,,,{settled},",
            ids[0]
        )),
        "{first}"
    );
    assert!(first.ends_with(",Visa,0,B"), "{first}");
    let refunded = row(&refund_id, "refund,");
    assert!(
        refunded.starts_with(&format!(
            "refund,{},{refund_id},PP-1,Parking permit,-1000,,-1000,{settled},",
            ids[1]
        )),
        "{refunded}"
    );
    assert!(refunded.ends_with(",,1,B"), "{refunded}");
    // The declined payment never settles; nothing settled before the range is listed.
    assert!(!csv.contains(&ids[2]), "{csv}");
    let mut none = Vec::new();
    let before = pence_connector::reconcile::settled_csv(
        s.connector.client(),
        "2020-01-01",
        &today,
        &mut none,
    )
    .await
    .unwrap();
    assert_eq!(before, 0);
    assert!(
        s.proxy.violations().is_empty(),
        "{:?}",
        s.proxy.violations()
    );
    s.server.stop().await;
}
