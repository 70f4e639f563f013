//! Successful creates and the body-level rules: content type, JSON syntax, Idempotency-Key,
//! unknown fields.

use pence_core::ports::prelude::*;
use pence_testkit::{Engine, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{base, with};

fn is_gov_uk_pay_id(s: &str) -> bool {
    s.len() == 26
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
}

fn is_gov_uk_pay_date(s: &str) -> bool {
    // 2016-01-21T17:15:00.000Z
    let b = s.as_bytes();
    s.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && s.chars().filter(char::is_ascii_digit).count() == 17
}

pence_testkit::engine_tests!(created_payment_has_gov_uk_pay_shape);
async fn created_payment_has_gov_uk_pay_shape(engine: Engine) {
    let server = TestServer::start(engine).await;
    let body = with(json!({
        "email": "citizen@example.org",
        "language": "cy",
        "delayed_capture": true,
        "metadata": {"ledger_code": "AB100", "an_internal_reference_number": 200, "flag": true},
        "prefilled_cardholder_details": {
            "cardholder_name": "J. Bogs",
            "billing_address": {"line1": "1 Street", "postcode": "AB1 2CD", "city": "Town", "country": "GB"}
        },
        "unknown_field": "ignored"
    }));
    let reply = server.post("/v1/payments", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let p = &reply.json;
    let id = p["payment_id"].as_str().unwrap();
    assert!(is_gov_uk_pay_id(id), "{id}");
    assert!(is_gov_uk_pay_date(p["created_date"].as_str().unwrap()));
    let self_url = format!("{}/v1/payments/{id}", server.url);
    assert_eq!(reply.header("location"), Some(self_url.as_str()));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(p["amount"], 1000);
    assert_eq!(p["reference"], "ref-1");
    assert_eq!(p["description"], "A test payment");
    assert_eq!(p["email"], "citizen@example.org");
    assert_eq!(p["language"], "cy");
    assert_eq!(p["delayed_capture"], true);
    assert_eq!(p["moto"], false);
    assert_eq!(p["authorisation_mode"], "web");
    assert_eq!(p["payment_provider"], "sandbox");
    assert_eq!(p["return_url"], "https://example.org/return");
    assert_eq!(p["state"], json!({"status": "created", "finished": false}));
    assert_eq!(
        p["refund_summary"],
        json!({"status": "pending", "amount_available": 1000, "amount_submitted": 0})
    );
    assert_eq!(p["settlement_summary"], json!({}));
    assert_eq!(
        p["metadata"],
        json!({"ledger_code": "AB100", "an_internal_reference_number": 200, "flag": true})
    );
    assert!(p.get("unknown_field").is_none());
    assert!(p.get("card_details").is_none());
    let links = &p["_links"];
    assert_eq!(links["self"], json!({"href": self_url, "method": "GET"}));
    assert_eq!(
        links["events"],
        json!({"href": format!("{self_url}/events"), "method": "GET"})
    );
    assert_eq!(
        links["refunds"],
        json!({"href": format!("{self_url}/refunds"), "method": "GET"})
    );
    assert_eq!(
        links["cancel"],
        json!({"href": format!("{self_url}/cancel"), "method": "POST"})
    );
    assert!(links.get("capture").is_none());
    let next = links["next_url"]["href"].as_str().unwrap();
    let token = next
        .strip_prefix(&format!("{}/secure/", server.url))
        .unwrap();
    assert_eq!(links["next_url"]["method"], "GET");
    assert_eq!(
        links["next_url_post"],
        json!({
            "href": format!("{}/secure", server.url),
            "method": "POST",
            "type": "application/x-www-form-urlencoded",
            "params": {"chargeTokenId": token}
        })
    );

    // The created event was written with the payment.
    let events = server
        .store
        .payment_events(&server.service.id, id)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind.as_str(), "PAYMENT_CREATED");
    assert_eq!(events[0].status.as_str(), "CREATED");
    server.stop().await;
}

pence_testkit::engine_tests!(optional_fields_absent_are_omitted);
async fn optional_fields_absent_are_omitted(engine: Engine) {
    let server = TestServer::start(engine).await;
    let reply = server
        .post(
            "/v1/payments",
            &with(
                json!({"email": null, "metadata": {}, "prefilled_cardholder_details": "ignored"}),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    for absent in [
        "email",
        "metadata",
        "card_details",
        "provider_id",
        "corporate_card_surcharge",
    ] {
        assert!(
            reply.json.get(absent).is_none(),
            "{absent} should be absent"
        );
    }
    assert_eq!(reply.json["language"], "en");
    assert_eq!(reply.json["delayed_capture"], false);
    server.stop().await;
}

async fn raw(
    server: &TestServer,
    content_type: Option<&str>,
    body: &[u8],
    extra: &[(&str, &str)],
) -> pence_testkit::Reply {
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if let Some(ct) = content_type {
        headers.push(("Content-Type", ct));
    }
    server
        .send(
            Method::POST,
            "/v1/payments",
            Some(&server.key),
            &headers,
            Some(body.to_vec()),
        )
        .await
}

pence_testkit::engine_tests!(body_level_rules);
async fn body_level_rules(engine: Engine) {
    let denied = json!({
        "code": "P0920",
        "description": "Request blocked by security rules. Please consult API documentation for more information."
    });
    let unparseable = json!({"code": "P0197", "description": "Unable to parse JSON"});
    let valid = base().to_string();
    let server = TestServer::start(engine).await;
    type Case<'a> = (&'a str, Option<&'a str>, &'a [u8], u16, &'a Value);
    let cases: Vec<Case<'_>> = vec![
        ("no content type", None, valid.as_bytes(), 400, &denied),
        (
            "text/plain",
            Some("text/plain"),
            valid.as_bytes(),
            400,
            &denied,
        ),
        (
            "form",
            Some("application/x-www-form-urlencoded"),
            b"amount=1",
            400,
            &denied,
        ),
        ("empty body", Some("application/json"), b"", 400, &denied),
        (
            "blank body",
            Some("application/json"),
            b"  \n",
            400,
            &denied,
        ),
        (
            "truncated JSON",
            Some("application/json"),
            b"{\"amount\": 1",
            400,
            &unparseable,
        ),
        (
            "hex number",
            Some("application/json"),
            b"{\"amount\": 0x1000}",
            400,
            &unparseable,
        ),
        (
            "percent garbage",
            Some("application/json"),
            b"%00",
            400,
            &unparseable,
        ),
        (
            "unquoted",
            Some("application/json"),
            b"{amount: 1}",
            400,
            &unparseable,
        ),
    ];
    for (name, ct, body, status, want) in cases {
        let reply = raw(&server, ct, body, &[]).await;
        assert_eq!((reply.status, &reply.json), (status, want), "{name}");
    }
    // Content type parameters and case are fine.
    let reply = raw(
        &server,
        Some("Application/JSON; charset=utf-8"),
        valid.as_bytes(),
        &[],
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    server.stop().await;
}

pence_testkit::engine_tests!(idempotency_key_is_validated_and_ignored_for_web_payments);
async fn idempotency_key_is_validated_and_ignored_for_web_payments(engine: Engine) {
    let size = "Header [Idempotency-Key] can have a size between 1 and 255";
    let chars = "Header [Idempotency-Key] can only contain alphanumeric characters and hyphens";
    let valid = base().to_string();
    let server = TestServer::start(engine).await;
    let long = "a".repeat(256);
    for (value, message) in [
        ("", size),
        (long.as_str(), size),
        ("has space", chars),
        ("under_score", chars),
    ] {
        let reply = raw(
            &server,
            Some("application/json"),
            valid.as_bytes(),
            &[("Idempotency-Key", value)],
        )
        .await;
        assert_eq!(
            (reply.status, &reply.json),
            (
                422,
                &json!({"header": "Idempotency-Key", "code": "P0102", "description": message})
            ),
            "{value:?}"
        );
    }
    // Web payments ignore a valid key: each request creates a new payment.
    let a = raw(
        &server,
        Some("application/json"),
        valid.as_bytes(),
        &[("Idempotency-Key", "key-1")],
    )
    .await;
    let b = raw(
        &server,
        Some("application/json"),
        valid.as_bytes(),
        &[("Idempotency-Key", "key-1")],
    )
    .await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_ne!(a.json["payment_id"], b.json["payment_id"]);
    server.stop().await;
}

pence_testkit::engine_tests!(concurrent_creates_are_all_stored_with_one_event_each);
async fn concurrent_creates_are_all_stored_with_one_event_each(engine: Engine) {
    let server = std::sync::Arc::new(TestServer::start(engine).await);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let reply = server
                .post("/v1/payments", &with(json!({"reference": format!("r{i}")})))
                .await;
            assert_eq!(reply.status, 201, "{}", reply.text);
            reply.json["payment_id"].as_str().unwrap().to_string()
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap());
    }
    assert_eq!(ids.len(), 200);
    for id in &ids {
        let got = server.get(&format!("/v1/payments/{id}")).await;
        assert_eq!(got.status, 200);
        let events = server
            .store
            .payment_events(&server.service.id, id)
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{id}");
    }
}
