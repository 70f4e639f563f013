//! `GET /metrics` (issue 16): what a node counts, in Prometheus's text format; and request ids.

use pence_testkit::{Engine, Receiver, ServerOptions, TestServer};
use reqwest::Method;
use serde_json::json;

use super::base;

/// The value of the sample `name{labels}` in `text`, if present.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pence_testkit::engine_tests!(the_node_counts_what_it_does);
async fn the_node_counts_what_it_does(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let receiver = Receiver::start().await;
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": receiver.url, "event_types": ["card_payment_succeeded"]}),
        )
        .await;
    assert_eq!(hook.status, 201);
    let created = server.post("/v1/payments", &base()).await;
    let id = created.json["payment_id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(server.get(&format!("/v1/payments/{id}")).await.status, 200);
    }
    assert_eq!(server.get("/v1/payments/nosuchpayment").await.status, 404);
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.status, 200);
    assert_eq!(server.sweep().await.captured, 1);
    assert_eq!(server.drain_webhooks().await, 1);

    let reply = server.send(Method::GET, "/metrics", None, &[], None).await;
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = &reply.text;
    let get = r#"pence_http_requests_total{route="/v1/payments/{payment_id}",method="GET",status="#;
    assert_eq!(
        sample(text, &format!("{get}\"200\"}}")),
        Some(3.0),
        "{text}"
    );
    assert_eq!(sample(text, &format!("{get}\"404\"}}")), Some(1.0));
    assert_eq!(
        sample(
            text,
            r#"pence_http_requests_total{route="/v1/payments",method="POST",status="201"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            text,
            r#"pence_http_requests_total{route="/sandbox/v1/payments/{payment_id}/pay",method="POST",status="200"}"#
        ),
        Some(1.0)
    );
    assert_eq!(sample(text, "pence_payments_created_total"), Some(1.0));
    for status in [
        "CREATED",
        "ENTERING CARD DETAILS",
        "AUTHORISATION SUCCESS",
        "CAPTURED",
    ] {
        let line = format!("pence_payment_transitions_total{{status=\"{status}\"}}");
        assert_eq!(sample(text, &line), Some(1.0), "{line}");
    }
    assert_eq!(
        sample(text, r#"pence_swept_payments_total{sweep="captured"}"#),
        Some(1.0)
    );
    assert_eq!(sample(text, "pence_sweep_rounds_total"), Some(1.0));
    assert_eq!(
        sample(text, r#"pence_webhook_attempts_total{outcome="delivered"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(text, "pence_webhook_attempt_duration_seconds_count"),
        Some(1.0)
    );
    assert_eq!(
        sample(text, r#"pence_webhook_messages{status="successful"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(
            text,
            r#"pence_http_request_duration_seconds_count{route="/v1/payments/{payment_id}",method="GET"}"#
        ),
        Some(4.0)
    );
    assert!(
        text.contains(r#"pence_http_request_duration_seconds_bucket{le="#)
            || text.contains("_bucket{")
    );
    for event in [
        "PAYMENT_CREATED",
        "AUTHORISATION_SUCCEEDED",
        "CAPTURE_CONFIRMED",
    ] {
        let line = format!("pence_ledger_events_total{{event=\"{event}\"}}");
        assert_eq!(sample(text, &line), Some(1.0), "{line}");
    }
    // The database's group commits: every change above went through one, none was empty.
    let groups = sample(text, "pence_db_commit_group_size_count").unwrap();
    let changes = sample(text, "pence_db_commit_group_size_sum").unwrap();
    assert!(
        groups >= 4.0 && changes >= groups,
        "{groups} groups, {changes} changes"
    );
    assert_eq!(
        sample(text, "pence_db_commit_duration_seconds_count"),
        Some(groups)
    );
    let in_use = sample(text, r#"pence_db_connections{state="in_use"}"#).unwrap();
    let idle = sample(text, r#"pence_db_connections{state="idle"}"#).unwrap();
    assert!(in_use + idle >= 1.0, "{in_use} in use, {idle} idle");
    assert!(text.trim_end().ends_with("# EOF"));
    server.stop().await;
}

pence_testkit::engine_tests!(each_request_has_an_id);
async fn each_request_has_an_id(engine: Engine) {
    let server = TestServer::start(engine).await;
    let given = server
        .send(
            Method::GET,
            "/healthcheck",
            None,
            &[("X-Request-Id", "trace-42.a:b_c")],
            None,
        )
        .await;
    assert_eq!(given.header("x-request-id"), Some("trace-42.a:b_c"), "kept");
    let made = server
        .send(Method::GET, "/healthcheck", None, &[], None)
        .await;
    let id = made.header("x-request-id").expect("one is made");
    assert_eq!(id.len(), 26);
    let odd = server
        .send(
            Method::GET,
            "/healthcheck",
            None,
            &[("X-Request-Id", "two words")],
            None,
        )
        .await;
    assert_ne!(odd.header("x-request-id"), Some("two words"), "replaced");
    let refused = server
        .send(Method::GET, "/v1/payments", None, &[], None)
        .await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.header("x-request-id").is_some(),
        "every answer has one"
    );
    server.stop().await;
}

/// With a metrics address of its own, `/metrics` is served there and not on the public one.
#[tokio::test]
async fn metrics_can_have_their_own_address() {
    let db = pence_testkit::TestDb::new(Engine::Sqlite).await;
    let node = pence_node::Node::start(pence_node::Settings {
        metrics_listen: Some("127.0.0.1:0".into()),
        sweep_every: None,
        background_delivery: false,
        ..pence_node::Settings::new(db.url.clone())
    })
    .await
    .unwrap();
    let at = node.metrics_addr.expect("a metrics address");
    let public = reqwest::get(format!("{}/metrics", node.public_url))
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
    let body: serde_json::Value = public.json().await.unwrap();
    assert!(body.is_object(), "an unknown path's JSON 404: {body}");
    let health = reqwest::get(format!("{}/healthcheck", node.public_url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = reqwest::get(format!("http://{at}/metrics")).await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"pence_http_requests_total{route="/healthcheck",method="GET",status="200"} 1"#
        ),
        "{text}"
    );
    node.stop().await;
}
