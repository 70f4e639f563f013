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

pence_testkit::engine_tests!(the_control_api_refuses_nul_characters);
/// NUL characters anywhere in the control API (a path id, a query, any string of a body)
/// are bad input, answered in JSON (never a 500), the same on both engines; nothing is
/// stored.
async fn the_control_api_refuses_nul_characters(engine: Engine) {
    let server = TestServer::start(engine).await;
    let id = captured_payment(&server, 1000).await;
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": "https://example.org/hook"}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let hook_id = hook.json["id"].as_str().unwrap().to_string();
    let n = "a%00b";
    let card = json!({"card_number": "4444333322221111"});
    let cases: Vec<(Method, String, Option<serde_json::Value>, u16)> = vec![
        (Method::GET, format!("/sandbox/v1/webhooks/{n}"), None, 404),
        (
            Method::PATCH,
            format!("/sandbox/v1/webhooks/{n}"),
            Some(json!({"description": "x"})),
            404,
        ),
        (
            Method::POST,
            format!("/sandbox/v1/webhooks/{n}/rotate-secret"),
            None,
            404,
        ),
        (
            Method::GET,
            format!("/sandbox/v1/webhooks/{n}/messages"),
            None,
            404,
        ),
        (
            Method::GET,
            format!("/sandbox/v1/webhooks/{n}/faults"),
            None,
            404,
        ),
        (
            Method::POST,
            format!("/sandbox/v1/webhooks/messages/{n}/resend"),
            None,
            404,
        ),
        (Method::DELETE, format!("/sandbox/v1/faults/{n}"), None, 404),
        (
            Method::POST,
            format!("/sandbox/v1/payments/{n}/pay"),
            Some(card.clone()),
            404,
        ),
        (
            Method::POST,
            format!("/sandbox/v1/payments/{n}/abandon"),
            None,
            404,
        ),
        (
            Method::POST,
            format!("/sandbox/v1/payments/{n}/cancel"),
            None,
            404,
        ),
        (Method::GET, format!("/sandbox/v1/emails?to={n}"), None, 200),
        (
            Method::GET,
            format!("/sandbox/v1/webhooks/{hook_id}/messages?status={n}"),
            None,
            422,
        ),
        (
            Method::POST,
            "/sandbox/v1/webhooks".into(),
            Some(json!({"callback_url": "https://example.org/\u{0}"})),
            400,
        ),
        (
            Method::POST,
            "/sandbox/v1/webhooks".into(),
            Some(json!({"callback_url": "https://example.org/h", "description": "a\u{0}"})),
            400,
        ),
        (
            Method::POST,
            "/sandbox/v1/webhooks".into(),
            Some(
                json!({"callback_url": "https://example.org/h", "event_types": ["card_payment_succeeded\u{0}"]}),
            ),
            400,
        ),
        (
            Method::PATCH,
            format!("/sandbox/v1/webhooks/{hook_id}"),
            Some(json!({"callback_url": "https://example.org/\u{0}"})),
            400,
        ),
        (
            Method::POST,
            "/sandbox/v1/webhooks/trigger".into(),
            Some(json!({"payment_id": "a\u{0}b", "event_type": "card_payment_succeeded"})),
            400,
        ),
        (
            Method::POST,
            "/sandbox/v1/faults".into(),
            Some(json!({"provider": "capture_failure\u{0}", "next": 1})),
            400,
        ),
        (
            Method::POST,
            format!("/sandbox/v1/payments/{id}/pay"),
            Some(json!({"card_number": "4444\u{0}333322221111"})),
            400,
        ),
        (
            Method::POST,
            "/sandbox/v1/clock".into(),
            Some(json!({"now": "2030-01-01T00:00:00Z\u{0}"})),
            400,
        ),
    ];
    for (method, path, body, status) in cases {
        let headers = [("Content-Type", "application/json")];
        let body = body.map(|b| b.to_string().into_bytes());
        let reply = server
            .send(method.clone(), &path, Some(&server.key), &headers, body)
            .await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text);
        assert!(reply.json.is_object(), "{method} {path}: {}", reply.text);
    }
    let hooks = server.get("/sandbox/v1/webhooks").await;
    assert_eq!(hooks.json["webhooks"].as_array().unwrap().len(), 1);
    let faults = server.get("/sandbox/v1/faults").await;
    assert_eq!(faults.json["faults"], json!([]));
    server.stop().await;
}
