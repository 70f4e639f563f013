//! `POST /v1/payments/{id}/cancel` (reference §6.2) and `GET /v1/payments/{id}/events` (§13).

use std::sync::Arc;

use pence_core::ports::prelude::*;
use pence_testkit::{Engine, TestServer};
use reqwest::Method;
use serde_json::json;

use crate::base;

async fn create(server: &TestServer) -> String {
    let reply = server.post("/v1/payments", &base()).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json["payment_id"].as_str().unwrap().to_string()
}

async fn cancel(server: &TestServer, id: &str) -> pence_testkit::Reply {
    server
        .send(
            Method::POST,
            &format!("/v1/payments/{id}/cancel"),
            Some(&server.key),
            &[],
            None,
        )
        .await
}

pence_testkit::engine_tests!(cancelling_a_created_payment);
async fn cancelling_a_created_payment(engine: Engine) {
    let server = TestServer::start(engine).await;
    let id = create(&server).await;
    let reply = cancel(&server, &id).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(reply.text, "");

    let p = server.get(&format!("/v1/payments/{id}")).await.json;
    assert_eq!(
        p["state"],
        json!({"status": "cancelled", "finished": true, "message": "Payment was cancelled by the service", "code": "P0040"})
    );
    assert_eq!(p["refund_summary"]["status"], "unavailable");
    for gone in ["cancel", "next_url", "next_url_post", "capture"] {
        assert!(
            p["_links"].get(gone).is_none(),
            "{gone} link on a cancelled payment"
        );
    }

    let events = server.get(&format!("/v1/payments/{id}/events")).await;
    assert_eq!(events.status, 200, "{}", events.text);
    let self_url = format!("{}/v1/payments/{id}", server.url);
    assert_eq!(events.json["payment_id"], id.as_str());
    assert_eq!(
        events.json["_links"],
        json!({"self": {"href": format!("{self_url}/events"), "method": "GET"}})
    );
    let list = events.json["events"].as_array().unwrap();
    let states: Vec<&str> = list
        .iter()
        .map(|e| e["state"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["created", "cancelled"]);
    for e in list {
        assert_eq!(e["payment_id"], id.as_str());
        assert_eq!(
            e["_links"],
            json!({"payment_url": {"href": self_url, "method": "GET"}})
        );
        assert_eq!(e["updated"].as_str().unwrap().len(), 24);
    }
    assert_eq!(list[1]["state"]["code"], "P0040");

    // Finished: a second cancel is refused, and changes nothing.
    let again = cancel(&server, &id).await;
    assert_eq!(
        (again.status, &again.json),
        (
            400,
            &json!({"code": "P0501", "description": "Cancellation of payment failed"})
        )
    );
    assert_eq!(
        server
            .store
            .payment_events(&server.service.id, &id)
            .await
            .unwrap()
            .len(),
        2
    );
    server.stop().await;
}

pence_testkit::engine_tests!(unknown_payments_are_not_found);
async fn unknown_payments_are_not_found(engine: Engine) {
    let server = TestServer::start(engine).await;
    let (_, other_key) = server.new_service(false).await;
    let theirs = server.post_as(&other_key, "/v1/payments", &base()).await;
    let their_id = theirs.json["payment_id"].as_str().unwrap();
    for id in [their_id, "nosuchpayment0000000000000", "%FF"] {
        let reply = cancel(&server, id).await;
        assert_eq!(
            (reply.status, &reply.json),
            (404, &json!({"code": "P0500", "description": "Not found"})),
            "{id}"
        );
        let reply = server.get(&format!("/v1/payments/{id}/events")).await;
        assert_eq!(
            (reply.status, &reply.json),
            (404, &json!({"code": "P0300", "description": "Not found"})),
            "{id}"
        );
    }
    // Their payment was not touched.
    let theirs = server
        .get_as(&other_key, &format!("/v1/payments/{their_id}"))
        .await;
    assert_eq!(theirs.json["state"]["status"], "created");
    server.stop().await;
}

pence_testkit::engine_tests!(concurrent_cancels_cancel_once);
/// Twenty cancels at once: one cancels (204), the others answer as a cancel after it would
/// (400 P0501), never a 500 — for a payment cancelled in one step and for a capturable one,
/// which passes through SYSTEM CANCEL READY while the provider voids.
async fn concurrent_cancels_cancel_once(engine: Engine) {
    use pence_core::payment::status::Status::*;
    let server = Arc::new(TestServer::start(engine).await);
    let capturable = create(&server).await;
    crate::move_to(
        &server,
        &capturable,
        &[
            EnteringCardDetails,
            AuthorisationReady,
            AuthorisationSuccess,
            AwaitingCaptureRequest,
        ],
    )
    .await;
    race_cancels(&server, &capturable).await;
    let shown = server.get(&format!("/v1/payments/{capturable}")).await;
    assert_eq!(shown.json["state"]["status"], "cancelled");
    let id = create(&server).await;
    race_cancels(&server, &id).await;
    // Exactly one state change was written: created, then one cancel.
    let events = server
        .store
        .payment_events(&server.service.id, &id)
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
}

/// Sends twenty cancels of `id` at once: one 204, nineteen 400 P0501.
async fn race_cancels(server: &Arc<TestServer>, id: &str) {
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let server = server.clone();
        let id = id.to_string();
        tasks.push(tokio::spawn(async move { cancel(&server, &id).await }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let reply = t.await.unwrap();
        if reply.status != 204 {
            assert_eq!(
                reply.json,
                json!({"code": "P0501", "description": "Cancellation of payment failed"})
            );
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        19,
        "{statuses:?}"
    );
}
