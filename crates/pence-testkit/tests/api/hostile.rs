//! Hostile input gets GOV.UK Pay's 4xx for invalid input, the same on both engines, and
//! nothing stored changes: NUL characters (which PostgreSQL text cannot hold) in bodies, path
//! ids and search filters.

use pence_testkit::{Engine, TestServer};
use reqwest::Method;
use serde_json::json;

use crate::{base, captured_payment, with};

pence_testkit::engine_tests!(nul_characters_are_refused_as_invalid_input);
async fn nul_characters_are_refused_as_invalid_input(engine: Engine) {
    let server = TestServer::start(engine).await;
    // In a body: the field's parser error, like any malformed string.
    let string_format = |field: &str| json!({"field": field, "code": "P0102", "description": format!("Invalid attribute value: {field}. Must be a valid string format")});
    for (body, expected) in [
        (
            with(json!({"reference": "ref\u{0}1"})),
            string_format("reference"),
        ),
        (
            with(json!({"description": "\u{0}"})),
            string_format("description"),
        ),
        (
            with(json!({"email": "a\u{0}@example.org"})),
            json!({"field": "email", "code": "P0102", "description": "Invalid attribute value: email. Field must be a string"}),
        ),
        (
            with(json!({"prefilled_cardholder_details": {"cardholder_name": "A\u{0}"}})),
            json!({"field": "cardholder_name", "code": "P0102", "description": "Invalid attribute value: cardholder_name. Field must be a string"}),
        ),
    ] {
        let reply = server.post("/v1/payments", &body).await;
        assert_eq!((reply.status, &reply.json), (400, &expected), "{body}");
    }
    // Metadata keeps any string (stored as escaped JSON).
    let reply = server
        .post("/v1/payments", &with(json!({"metadata": {"k": "v\u{0}"}})))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    // In a path id: names no payment, so each endpoint's 404.
    let id = captured_payment(&server, 1000).await;
    let cases = [
        (Method::GET, "/v1/payments/a%00b", "P0200"),
        (Method::GET, "/v1/payments/a%00b/events", "P0300"),
        (Method::POST, "/v1/payments/a%00b/cancel", "P0500"),
        (Method::POST, "/v1/payments/a%00b/capture", "P1000"),
        (Method::GET, "/v1/payments/a%00b/refunds", "P0800"),
    ];
    for (method, path, code) in cases {
        let reply = server
            .send(method.clone(), path, Some(&server.key), &[], None)
            .await;
        assert_eq!(
            (reply.status, reply.json["code"].as_str()),
            (404, Some(code)),
            "{method} {path}: {}",
            reply.text
        );
    }
    let refund = server
        .post("/v1/payments/a%00b/refunds", &json!({"amount": 100}))
        .await;
    assert_eq!(
        (refund.status, refund.json["code"].as_str()),
        (404, Some("P0600"))
    );
    let one = server
        .get(&format!("/v1/payments/{id}/refunds/x%00y"))
        .await;
    assert_eq!(
        (one.status, one.json["code"].as_str()),
        (404, Some("P0700"))
    );

    // In a search filter: an invalid parameter (never a match of everything).
    for filter in [
        "reference=%00",
        "reference=abc%00def",
        "email=user%00@x",
        "card_brand=vi%00sa",
        "cardholder_name=Ad%00a",
        "agreement_id=%00",
    ] {
        let reply = server.get(&format!("/v1/payments?{filter}")).await;
        assert_eq!(reply.status, 422, "{filter}: {}", reply.text);
        assert_eq!(reply.json["code"], "P0401", "{filter}");
    }
    // Nothing stored changed: the captured payment is as it was.
    let p = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(p.json["state"]["status"], "success");
    assert_eq!(p.json["reference"], base()["reference"]);
    server.stop().await;
}
