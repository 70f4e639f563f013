//! Refunds (reference §5): validation, availability checks in GOV.UK Pay's order, the
//! refund shapes, and that concurrent refunds never exceed the amount.

use std::sync::Arc;

use pence_core::ports::prelude::*;
use pence_testkit::{Engine, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{base, captured_payment};

async fn refund(server: &TestServer, id: &str, body: &Value) -> pence_testkit::Reply {
    server
        .post(&format!("/v1/payments/{id}/refunds"), body)
        .await
}

fn not_available(reason: &str) -> Value {
    json!({"code": "P0603", "description": format!("The payment is not available for refund. Payment refund status: {reason}")})
}

pence_testkit::engine_tests!(refund_rules_in_order);
async fn refund_rules_in_order(engine: Engine) {
    let server = TestServer::start(engine).await;
    let id = captured_payment(&server, 1000).await;
    let invalid = |status: u16, message: &str| {
        (
            status,
            json!({"field": "amount", "code": "P0602", "description": format!("Invalid attribute value: amount. {message}")}),
        )
    };
    let missing = (
        400,
        json!({"field": "amount", "code": "P0601", "description": "Missing mandatory attribute: amount"}),
    );
    let cases: Vec<(&str, Value, (u16, Value))> = vec![
        ("no amount", json!({}), missing.clone()),
        ("null amount", json!({"amount": null}), missing),
        (
            "string amount",
            json!({"amount": "100"}),
            invalid(400, "Must be a valid numeric format"),
        ),
        (
            "fractional amount",
            json!({"amount": 1.5}),
            invalid(400, "Must be a valid numeric format"),
        ),
        (
            "zero",
            json!({"amount": 0}),
            invalid(422, "Must be greater than or equal to 1"),
        ),
        (
            "too large",
            json!({"amount": 10000001}),
            invalid(422, "Must be less than or equal to 10000000"),
        ),
        (
            "available mismatch",
            json!({"amount": 100, "refund_amount_available": 999}),
            (
                412,
                json!({"code": "P0604", "description": "Refund amount available mismatch."}),
            ),
        ),
        (
            "non-numeric available counts as 0",
            json!({"amount": 100, "refund_amount_available": "abc"}),
            (
                412,
                json!({"code": "P0604", "description": "Refund amount available mismatch."}),
            ),
        ),
        (
            "more than available",
            json!({"amount": 1001}),
            (400, not_available("amount_not_available")),
        ),
    ];
    for (name, body, (status, want)) in cases {
        let reply = refund(&server, &id, &body).await;
        assert_eq!((reply.status, &reply.json), (status, &want), "{name}");
    }
    let bad_json = server
        .send(
            Method::POST,
            &format!("/v1/payments/{id}/refunds"),
            Some(&server.key),
            &[("Content-Type", "application/json")],
            Some(b"{".to_vec()),
        )
        .await;
    assert_eq!(
        (bad_json.status, &bad_json.json),
        (
            400,
            &json!({"code": "P0697", "description": "Unable to parse JSON"})
        )
    );
    // None of that took money.
    let p = server.get(&format!("/v1/payments/{id}")).await.json;
    assert_eq!(
        p["refund_summary"],
        json!({"status": "available", "amount_available": 1000, "amount_submitted": 0})
    );

    // A payment not yet captured is pending; a cancelled one unavailable; unknown: P0600.
    let created = server.post("/v1/payments", &base()).await.json["payment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = refund(&server, &created, &json!({"amount": 1})).await;
    assert_eq!(
        (reply.status, &reply.json),
        (400, &not_available("pending"))
    );
    server
        .send(
            Method::POST,
            &format!("/v1/payments/{created}/cancel"),
            Some(&server.key),
            &[],
            None,
        )
        .await;
    let reply = refund(&server, &created, &json!({"amount": 1})).await;
    assert_eq!(
        (reply.status, &reply.json),
        (400, &not_available("unavailable"))
    );
    let reply = refund(&server, "nosuchpayment0000000000000", &json!({"amount": 1})).await;
    assert_eq!(
        (reply.status, &reply.json),
        (404, &json!({"code": "P0600", "description": "Not found"}))
    );
    server.stop().await;
}

pence_testkit::engine_tests!(partial_refunds_up_to_full);
async fn partial_refunds_up_to_full(engine: Engine) {
    let server = TestServer::start(engine).await;
    let id = captured_payment(&server, 1000).await;
    let first = refund(
        &server,
        &id,
        &json!({"amount": 300, "refund_amount_available": 1000}),
    )
    .await;
    assert_eq!(first.status, 202, "{}", first.text);
    let rid = first.json["refund_id"].as_str().unwrap().to_string();
    let payment_url = format!("{}/v1/payments/{id}", server.url);
    assert_eq!(rid.len(), 26);
    assert_eq!(first.json["amount"], 300);
    assert_eq!(first.json["status"], "success");
    assert_eq!(first.json["settlement_summary"], json!({}));
    assert_eq!(
        first.json["_links"],
        json!({
            "self": {"href": format!("{payment_url}/refunds/{rid}"), "method": "GET"},
            "payment": {"href": payment_url, "method": "GET"}
        })
    );
    let p = server.get(&format!("/v1/payments/{id}")).await.json;
    assert_eq!(
        p["refund_summary"],
        json!({"status": "available", "amount_available": 700, "amount_submitted": 300})
    );

    let second = refund(&server, &id, &json!({"amount": 700})).await;
    assert_eq!(second.status, 202, "{}", second.text);
    let p = server.get(&format!("/v1/payments/{id}")).await.json;
    assert_eq!(
        p["refund_summary"],
        json!({"status": "full", "amount_available": 0, "amount_submitted": 1000})
    );
    let third = refund(&server, &id, &json!({"amount": 1})).await;
    assert_eq!((third.status, &third.json), (400, &not_available("full")));

    let list = server.get(&format!("/v1/payments/{id}/refunds")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json["payment_id"], id.as_str());
    assert_eq!(
        list.json["_links"]["self"]["href"],
        format!("{payment_url}/refunds")
    );
    let amounts: Vec<i64> = list.json["_embedded"]["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, [300, 700]);

    let one = server
        .get(&format!("/v1/payments/{id}/refunds/{rid}"))
        .await;
    assert_eq!((one.status, &one.json), (200, &first.json));
    let missing = server
        .get(&format!(
            "/v1/payments/{id}/refunds/nosuchrefund00000000000000"
        ))
        .await;
    assert_eq!(
        (missing.status, &missing.json),
        (404, &json!({"code": "P0700", "description": "Not found"}))
    );
    let no_payment = server
        .get("/v1/payments/nosuchpayment0000000000000/refunds")
        .await;
    assert_eq!(
        (no_payment.status, &no_payment.json),
        (404, &json!({"code": "P0800", "description": "Not found"}))
    );
    // Another service sees none of it.
    let (_, other_key) = server.new_service(false).await;
    let theirs = server
        .get_as(&other_key, &format!("/v1/payments/{id}/refunds/{rid}"))
        .await;
    assert_eq!(theirs.status, 404);
    server.stop().await;
}

pence_testkit::engine_tests!(fifty_concurrent_refunds_never_exceed_the_amount);
async fn fifty_concurrent_refunds_never_exceed_the_amount(engine: Engine) {
    let server = Arc::new(TestServer::start(engine).await);
    let id = captured_payment(&server, 1000).await;
    // 50 refunds of 30p against £10: at most 33 fit.
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let server = server.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            refund(&server, &id, &json!({"amount": 30})).await
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        let reply = t.await.unwrap();
        match reply.status {
            202 => accepted += 1,
            400 => assert_eq!(reply.json, not_available("amount_not_available")),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(accepted, 33);
    let p = server.get(&format!("/v1/payments/{id}")).await.json;
    assert_eq!(
        p["refund_summary"],
        json!({"status": "available", "amount_available": 10, "amount_submitted": 990})
    );
    let stored = server.store.refunds(&server.service.id, &id).await.unwrap();
    assert_eq!(stored.iter().map(|r| r.amount).sum::<i64>(), 990);
    assert_eq!(stored.len(), 33);
}

pence_testkit::engine_tests!(concurrent_refunds_naming_the_same_amount_available_go_through_once);
/// A service retrying a timed-out refund names what it saw as available: two such refunds
/// at once must not both go through, because the second was judged against a total that
/// the first changed (reference §5.2, P0604). The database settles it inside the write.
async fn concurrent_refunds_naming_the_same_amount_available_go_through_once(engine: Engine) {
    let server = Arc::new(TestServer::start(engine).await);
    for round in 0..20 {
        let id = captured_payment(&server, 1000).await;
        let body = json!({"amount": 500, "refund_amount_available": 1000});
        let (a, b) = tokio::join!(refund(&server, &id, &body), refund(&server, &id, &body));
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [202, 412], "{engine:?} round {round}");
        let mismatch = if a.status == 412 { &a } else { &b };
        assert_eq!(
            mismatch.json,
            json!({"code": "P0604", "description": "Refund amount available mismatch."})
        );
        let stored = server.store.refunds(&server.service.id, &id).await.unwrap();
        assert_eq!(stored.len(), 1, "{engine:?} round {round}");
    }
}
