//! The control API's whole story, as a service team's test suite would script it, with no
//! browser and no waiting (issue 15): create, pay with a 3-D Secure pass, a day later paid
//! out, refund, the emails, a webhook on demand, and GOV.UK Pay "down" for one create.

use pence_testkit::{Engine, Receiver, TestServer};
use reqwest::Method;
use serde_json::json;

use super::with;

pence_testkit::engine_tests!(a_scripted_flow_without_a_browser);
async fn a_scripted_flow_without_a_browser(engine: Engine) {
    let server = TestServer::start(engine).await;
    let receiver = Receiver::start().await;
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": receiver.url, "event_types": ["card_payment_succeeded"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let secret = hook.json["secret"].as_str().unwrap().to_string();

    let created = server
        .post(
            "/v1/payments",
            &with(json!({"email": "flow@example.org", "reference": "FLOW-1"})),
        )
        .await;
    let id = created.json["payment_id"].as_str().unwrap().to_string();
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": "4000002500003155", "three_d_secure": "pass"}),
        )
        .await;
    assert_eq!(paid.json["state"]["status"], "success", "{}", paid.text);
    server.sweep().await; // the node's own second: the capture

    let day = server
        .post(
            "/sandbox/v1/clock",
            &json!({"advance_seconds": 24 * 60 * 60 + 60}),
        )
        .await;
    assert_eq!(day.json["swept"]["settled"], 1, "{}", day.text);
    let got = server.get(&format!("/v1/payments/{id}")).await;
    assert!(
        got.json["settlement_summary"]["settled_date"].is_string(),
        "{}",
        got.text
    );

    let refund = server
        .post(
            &format!("/v1/payments/{id}/refunds"),
            &json!({"amount": 400}),
        )
        .await;
    assert_eq!(refund.json["status"], "success", "{}", refund.text);
    let emails = server.get("/sandbox/v1/emails?to=flow@example.org").await;
    let kinds: Vec<&str> = emails.json["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["refund_issued", "payment_confirmed"]);

    let sent = server
        .post(
            "/sandbox/v1/webhooks/trigger",
            &json!({"payment_id": id, "event_type": "card_payment_succeeded"}),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    // The one from the payment, and the one asked for (the node delivers in the background
    // too, so this only hurries it).
    server.drain_webhooks().await;
    let received = receiver
        .wait_for(2, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.signed_with(&secret)));

    let fault = server
        .post(
            "/sandbox/v1/faults",
            &json!({"method": "POST", "path": "/v1/payments", "next": 1,
                    "answer": {"status": 503, "code": "P0999", "description": "GOV.UK Pay is unavailable"}}),
        )
        .await;
    let fault_id = fault.json["id"].as_str().unwrap().to_string();
    let down = server.post("/v1/payments", &with(json!({}))).await;
    assert_eq!(
        (down.status, down.json["code"].as_str()),
        (503, Some("P0999"))
    );
    let removed = server
        .send(
            Method::DELETE,
            &format!("/sandbox/v1/faults/{fault_id}"),
            Some(&server.key),
            &[],
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    assert_eq!(
        server.post("/v1/payments", &with(json!({}))).await.status,
        201
    );
    server.stop().await;
}

pence_testkit::engine_tests!(a_message_triggered_with_overrides_says_so);
async fn a_message_triggered_with_overrides_says_so(engine: Engine) {
    let server = TestServer::start(engine).await;
    let receiver = Receiver::start().await;
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": receiver.url, "event_types": ["card_payment_failed"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let (hook_id, secret) = (
        hook.json["id"].as_str().unwrap().to_string(),
        hook.json["secret"].as_str().unwrap().to_string(),
    );
    let created = server.post("/v1/payments", &with(json!({}))).await;
    let id = created.json["payment_id"].as_str().unwrap().to_string();

    // A failure the payment never had, to test the receiver's handling of one.
    let sent = server
        .post(
            "/sandbox/v1/webhooks/trigger",
            &json!({"payment_id": id, "event_type": "card_payment_failed",
                "overrides": {"resource.state.status": "failed", "resource.state.code": "P0010",
                    "resource.amount": 1}}),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    server.drain_webhooks().await;
    let got = receiver
        .wait_for(1, std::time::Duration::from_secs(10))
        .await;
    assert!(
        got[0].signed_with(&secret),
        "signed over the overridden body"
    );
    let resource = &got[0].json["resource"];
    assert_eq!(resource["state"]["status"], "failed");
    assert_eq!(resource["state"]["code"], "P0010");
    assert_eq!(resource["amount"], 1);
    assert_eq!(resource["reference"], "ref-1", "the rest is the payment's");
    let log = server
        .get(&format!("/sandbox/v1/webhooks/{hook_id}/messages"))
        .await;
    let m = &log.json["messages"][0];
    assert_eq!(m["triggered"], true);
    assert_eq!(
        m["overrides"],
        "resource.amount=1, resource.state.code=\"P0010\", resource.state.status=\"failed\"",
        "{}",
        log.text
    );

    // Only the resource can be overridden.
    for overrides in [json!({"event_type": "x"}), json!({"resource.amount.x": 1})] {
        let refused = server
            .post(
                "/sandbox/v1/webhooks/trigger",
                &json!({"payment_id": id, "event_type": "card_payment_failed", "overrides": overrides}),
            )
            .await;
        assert_eq!(refused.status, 422, "{overrides}: {}", refused.text);
    }
    server.stop().await;
}
