//! The example service end to end: a real Pence node, the service started as its binary
//! starts it, real Chromium for the user. Every public-API answer the service gets passes
//! through a proxy that checks it against the spec.

use std::time::Duration;

use parking_permit::{Config, ReturnMode, Running};
use pence_connector::Clock;
use pence_testkit::{Browser, Engine, SpecProxy, TestDb, TestServer};
use serde_json::{json, Value};

struct Harness {
    server: TestServer,
    proxy: SpecProxy,
    app: Running,
    clock: Clock,
    /// The Pence webhook subscription delivering to the service, if any.
    webhook: Option<(String, String)>,
    _db: TestDb,
}

fn config(pay_base_url: &str, api_key: &str, database: &str, mode: ReturnMode) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        pay_base_url: pay_base_url.into(),
        api_key: api_key.into(),
        webhook_secret: vec![],
        database: database.into(),
        mop_up_every: Duration::from_secs(3600),
        mop_up_older_than: Duration::from_secs(3 * 3600),
        return_via: mode,
        cookie_key: Some("a cookie key for the example service tests".into()),
        no_webhook_processing: false,
        webhook_lease: Duration::from_secs(30),
    }
}

async fn start(engine: Engine, mode: ReturnMode, webhooks: bool) -> Harness {
    start_with(engine, mode, webhooks, None).await
}

/// `public_url`: where users are sent back to (a dead address: they never come back).
async fn start_with(
    engine: Engine,
    mode: ReturnMode,
    webhooks: bool,
    public_url: Option<&str>,
) -> Harness {
    let server = TestServer::start(engine).await;
    let proxy = SpecProxy::start(&server.url).await;
    let db = TestDb::new(engine).await;
    let clock = Clock::system();
    let mut config = config(&proxy.url, &server.key, &db.url, mode);
    config.public_url = public_url.map(str::to_string);
    let app = parking_permit::start(config, clock.clone())
        .await
        .expect("start the service");
    let webhook = if webhooks {
        let created = server
            .post(
                "/sandbox/v1/webhooks",
                &json!({"callback_url": format!("{}/webhooks", app.local_url), "description": "parking"}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let secret = created.json["secret"].as_str().unwrap().to_string();
        app.consumer.set_secrets(vec![secret.clone()]);
        Some((created.json["id"].as_str().unwrap().to_string(), secret))
    } else {
        None
    };
    Harness {
        server,
        proxy,
        app,
        clock,
        webhook,
        _db: db,
    }
}

impl Harness {
    async fn journeys(&self) -> Vec<Value> {
        let resp = reqwest::get(format!("{}/journeys", self.app.local_url))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn only_journey(&self) -> Value {
        let all = self.journeys().await;
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].clone()
    }

    /// Waits for what the background webhook processing is doing to show.
    async fn wait_for_journey(&self, what: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..500 {
            let j = self.only_journey().await;
            if what(&j) {
                return j;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the journey never got there: {:?}",
            self.only_journey().await
        );
    }

    /// Submits the start page's form as a browser would, without following the redirect.
    async fn start_permit(&self, registration: &str) -> reqwest::Response {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{}/start", self.app.local_url))
            .form(&[("registration", registration)])
            .send()
            .await
            .unwrap()
    }

    async fn inbox(&self) -> Value {
        let resp = reqwest::get(format!("{}/webhooks/inbox", self.app.local_url))
            .await
            .unwrap();
        resp.json().await.unwrap()
    }

    async fn stop(self) {
        assert!(
            self.proxy.violations().is_empty(),
            "{:?}",
            self.proxy.violations()
        );
        self.app.stop().await;
        self.server.stop().await;
    }
}

/// Starts a permit application in the browser and lands on Pence's card page.
async fn apply(h: &Harness, b: &Browser) {
    b.goto(&h.app.local_url).await;
    assert!(b.text("form#start-payment").await.is_some());
    b.fill("registration", "ab12 cde").await;
    b.click("#pay").await;
    assert!(
        b.url().await.starts_with(&h.server.url),
        "{}",
        b.url().await
    );
    assert!(
        b.url().await.contains("/card_details/"),
        "{}",
        b.url().await
    );
}

async fn fill_card(b: &Browser, card: &str) {
    b.fill("card-no", card).await;
    b.fill("expiry-month", "12").await;
    b.fill("expiry-year", "2030").await;
    b.fill("cardholder-name", "Ada Lovelace").await;
    b.fill("cvc", "123").await;
    b.fill("address-line-1", "1 Example Street").await;
    b.fill("address-city", "London").await;
    b.fill("address-postcode", "SW1A 1AA").await;
    b.select("address-country", "GB").await;
    b.fill("email", "ada@example.org").await;
    b.click("#submit-card-details").await;
}

async fn outcome(b: &Browser) -> (String, String) {
    let text = b
        .text("#outcome")
        .await
        .expect("an #outcome on the return page");
    let kind = b
        .client
        .find(fantoccini::Locator::Css("#outcome"))
        .await
        .unwrap()
        .attr("data-outcome")
        .await
        .unwrap()
        .unwrap_or_default();
    (kind, text)
}

pence_testkit::engine_tests!(paid_declined_and_cancelled_in_the_browser);
async fn paid_declined_and_cancelled_in_the_browser(engine: Engine) {
    for mode in [ReturnMode::Cookie, ReturnMode::Url] {
        let h = start(engine, mode, false).await;
        let b = Browser::start().await;
        apply(&h, &b).await;
        fill_card(&b, "4444333322221111").await;
        b.click("#confirm").await;
        assert!(b.url().await.starts_with(&format!("{}/return", h.app.url)));
        let (kind, text) = outcome(&b).await;
        assert_eq!(kind, "paid", "{text}");
        assert!(text.contains("Parking permit for AB12 CDE"), "{text}");
        let j = h.only_journey().await;
        assert_eq!(j["status"], "success");
        assert_eq!(j["resolved_by"], "return");
        let p = h
            .server
            .get(&format!(
                "/v1/payments/{}",
                j["payment_id"].as_str().unwrap()
            ))
            .await
            .json;
        assert_eq!(p["metadata"]["registration"], "AB12 CDE");
        assert_eq!(p["reference"], j["reference"]);
        b.close().await;
        h.stop().await;
    }

    let h = start(engine, ReturnMode::Cookie, false).await;
    let b = Browser::start().await;
    apply(&h, &b).await;
    fill_card(&b, "4000000000000002").await;
    b.click("#return-url").await;
    let declined = "Not paid: your payment was declined. No money has been taken.";
    assert_eq!(
        outcome(&b).await,
        ("not-paid".to_string(), declined.to_string())
    );
    apply(&h, &b).await;
    b.click("#cancel-payment").await;
    let cancelled = "Not paid: you cancelled the payment. No money has been taken.";
    assert_eq!(
        outcome(&b).await,
        ("not-paid".to_string(), cancelled.to_string())
    );
    let codes: Vec<Value> = h
        .journeys()
        .await
        .iter()
        .map(|j| j["code"].clone())
        .collect();
    assert_eq!(codes, [json!("P0030"), json!("P0010")]);
    b.close().await;
    h.stop().await;
}

/// The user's browser never gets back: the service's public address is unreachable from it
/// (as when the user closes the tab on the way back).
const GONE: &str = "http://127.0.0.1:9";

/// Pays in Chromium, and the browser ends on the unreachable return address.
async fn pay_and_never_return(h: &Harness) {
    let b = Browser::start().await;
    apply(h, &b).await;
    fill_card(&b, "4444333322221111").await;
    b.click("#confirm").await;
    assert!(b.url().await.starts_with(GONE), "{}", b.url().await);
    b.close().await;
}

pence_testkit::engine_tests!(a_user_who_never_comes_back_is_resolved_by_webhook_or_mop_up);
async fn a_user_who_never_comes_back_is_resolved_by_webhook_or_mop_up(engine: Engine) {
    // With webhooks: the message marks the journey paid; the mop-up later has nothing to do.
    let h = start_with(engine, ReturnMode::Cookie, true, Some(GONE)).await;
    pay_and_never_return(&h).await;
    let j = h
        .wait_for_journey(|j| j["status"] == "success" && j["resolved_by"] == "webhook")
        .await;
    assert_eq!(j["finished"], true);
    h.clock.advance(Duration::from_secs(3 * 3600 + 60));
    let report = h
        .app
        .connector
        .mop_up_once(&Default::default())
        .await
        .unwrap();
    assert_eq!(report.checked, 0, "{report:?}");
    h.stop().await;

    // Without webhooks: nothing is known until the mop-up, which waits three hours.
    let h = start_with(engine, ReturnMode::Url, false, Some(GONE)).await;
    pay_and_never_return(&h).await;
    let j = h.only_journey().await;
    assert_eq!(j["status"], "created");
    let payment_id = j["payment_id"].as_str().unwrap().to_string();
    let p = h
        .server
        .get(&format!("/v1/payments/{payment_id}"))
        .await
        .json;
    assert_eq!(p["state"]["status"], "success");
    let options = Default::default();
    assert_eq!(
        h.app.connector.mop_up_once(&options).await.unwrap().checked,
        0
    );
    h.clock.advance(Duration::from_secs(3 * 3600 + 60));
    let report = h.app.connector.mop_up_once(&options).await.unwrap();
    assert_eq!(report.checked, 1);
    assert_eq!(
        report.resolved,
        [(
            j["journey_id"].as_str().unwrap().to_string(),
            "success".to_string()
        )]
    );
    let j = h.only_journey().await;
    assert_eq!(
        (j["status"].as_str(), j["resolved_by"].as_str()),
        (Some("success"), Some("mop_up"))
    );
    h.stop().await;
}

pence_testkit::engine_tests!(duplicate_and_out_of_order_webhooks_change_nothing);
async fn duplicate_and_out_of_order_webhooks_change_nothing(engine: Engine) {
    let h = start(engine, ReturnMode::Url, true).await;
    let (webhook_id, _) = h.webhook.clone().unwrap();
    let faults = h
        .server
        .send(
            reqwest::Method::PUT,
            &format!("/sandbox/v1/webhooks/{webhook_id}/faults"),
            Some(&h.server.key),
            &[("Content-Type", "application/json")],
            Some(
                json!({"duplicate": true, "out_of_order": true})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(faults.status, 200, "{}", faults.text);
    let started = h.start_permit("XY99 ZZZ").await;
    assert_eq!(started.status(), 303);
    let payment_id = h.only_journey().await["payment_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Paid, captured and settled: succeeded, captured and settled messages, each sent twice
    // and in the wrong order.
    let paid = h
        .server
        .post(
            &format!("/sandbox/v1/payments/{payment_id}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    h.server.sweep().await;
    let moved = h
        .server
        .post("/sandbox/v1/clock", &json!({"advance_seconds": 2 * 86400}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    h.server.sweep().await;
    // Every message delivered (twice) and processed.
    let mut seen = 0;
    for _ in 0..500 {
        let inbox = h.inbox().await;
        seen = inbox["processed"].as_i64().unwrap();
        if seen >= 3 && inbox["pending"] == 0 && inbox["redelivered"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, 3, "{}", h.inbox().await);
    // Each message arrived twice; the second delivery of each changed nothing.
    assert_eq!(h.inbox().await["redelivered"], 3, "{}", h.inbox().await);
    let events = h.app.consumer.events_of_payment(&payment_id).await.unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    let j = h.only_journey().await;
    assert_eq!(
        (j["status"].as_str(), j["resolved_by"].as_str()),
        (Some("success"), Some("webhook"))
    );
    assert_eq!(j["refund_status"], "available");
    assert_eq!(j["refund_amount_available"], 2500);
    h.stop().await;
}

#[tokio::test]
async fn tampered_cookies_and_guessed_return_ids_are_refused() {
    let h = start(Engine::Sqlite, ReturnMode::Cookie, false).await;
    let started = h.start_permit("AB12 CDE").await;
    assert_eq!(started.status(), 303);
    let set_cookie = started.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let sealed = set_cookie.split(';').next().unwrap().to_string();
    let back = |cookie: String| {
        let url = format!("{}/return", h.app.local_url);
        async move {
            let resp = reqwest::Client::new()
                .get(url)
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let (status, page) = back(sealed.clone()).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"outcome\""), "{page}");
    // One character changed, the secret in the clear, another service's key: all refused.
    let mut tampered = sealed.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for cookie in [tampered, "pay_return=anything".to_string(), String::new()] {
        let (status, page) = back(cookie.clone()).await;
        assert_eq!(status, 404, "{cookie}");
        assert!(page.contains("id=\"refused\""), "{page}");
    }
    h.stop().await;

    let h = start(Engine::Sqlite, ReturnMode::Url, false).await;
    let started = h.start_permit("AB12 CDE").await;
    assert!(started.headers().get("set-cookie").is_none());
    let j = h.only_journey().await;
    let payment_id = j["payment_id"].as_str().unwrap();
    let p = h
        .server
        .get(&format!("/v1/payments/{payment_id}"))
        .await
        .json;
    let return_url = p["return_url"].as_str().unwrap();
    assert!(
        !return_url.contains(payment_id) && !return_url.contains(j["reference"].as_str().unwrap())
    );
    for guess in [
        payment_id,
        j["reference"].as_str().unwrap(),
        j["journey_id"].as_str().unwrap(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let resp = reqwest::get(format!("{}/return/{guess}", h.app.local_url))
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{guess}");
    }
    let resp = reqwest::get(return_url).await.unwrap();
    assert_eq!(resp.status(), 200);
    h.stop().await;
}

#[test]
fn a_live_key_is_refused_over_http() {
    let live = config(
        "http://127.0.0.1:9",
        "api_live_abc",
        "x.db",
        ReturnMode::Cookie,
    );
    let err = live.check().unwrap_err().to_string();
    assert!(err.contains("live API key over http"), "{err}");
    let mut live = config(
        "https://publicapi.payments.service.gov.uk",
        "api_live_abc",
        "x.db",
        ReturnMode::Cookie,
    );
    live.public_url = Some("http://parking.example".into());
    assert!(live
        .check()
        .unwrap_err()
        .to_string()
        .contains("--public-url must be https://"));
    live.public_url = Some("https://parking.example".into());
    assert!(live.check().is_ok());
    let test = config(
        "http://127.0.0.1:9",
        "api_test_abc",
        "x.db",
        ReturnMode::Cookie,
    );
    assert!(test.check().is_ok());
}
