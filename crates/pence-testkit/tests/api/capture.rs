//! `POST /v1/payments/{id}/capture` (reference §6.1). Until the card pages exist, a payment
//! is brought to `capturable` through the store, as the sandbox journey will.

use pence_core::payment::status::Status;
use pence_core::ports::prelude::*;
use pence_testkit::{Engine, TestServer};
use reqwest::Method;
use serde_json::json;

use crate::{move_to, with};

async fn capture(server: &TestServer, id: &str) -> pence_testkit::Reply {
    server
        .send(
            Method::POST,
            &format!("/v1/payments/{id}/capture"),
            Some(&server.key),
            &[],
            None,
        )
        .await
}

pence_testkit::engine_tests!(capturing_a_capturable_payment);
async fn capturing_a_capturable_payment(engine: Engine) {
    use Status::*;
    let conflict = json!({"code": "P1003", "description": "Payment cannot be captured"});
    let server = TestServer::start(engine).await;
    let created = server
        .post("/v1/payments", &with(json!({"delayed_capture": true})))
        .await;
    let id = created.json["payment_id"].as_str().unwrap().to_string();

    // Not yet capturable.
    let early = capture(&server, &id).await;
    assert_eq!((early.status, &early.json), (409, &conflict));

    move_to(
        &server,
        &id,
        &[
            EnteringCardDetails,
            AuthorisationReady,
            AuthorisationSuccess,
            AwaitingCaptureRequest,
        ],
    )
    .await;
    let p = server.get(&format!("/v1/payments/{id}")).await.json;
    assert_eq!(
        p["state"],
        json!({"status": "capturable", "finished": false})
    );
    let self_url = format!("{}/v1/payments/{id}", server.url);
    assert_eq!(
        p["_links"]["capture"],
        json!({"href": format!("{self_url}/capture"), "method": "POST"})
    );
    assert!(
        p["_links"].get("next_url").is_none(),
        "no next_url while awaiting capture"
    );
    assert_eq!(p["refund_summary"]["status"], "unavailable");

    let ok = capture(&server, &id).await;
    assert_eq!((ok.status, ok.text.as_str()), (204, ""));
    let p = server.get(&format!("/v1/payments/{id}")).await.json;
    assert_eq!(p["state"], json!({"status": "success", "finished": true}));
    assert!(p["_links"].get("capture").is_none());
    // Capturing again is a no-op that still answers 204.
    assert_eq!(capture(&server, &id).await.status, 204);
    let events = server
        .store
        .payment_events(&server.service.id, &id)
        .await
        .unwrap();
    assert_eq!(
        events.last().unwrap().kind.as_str(),
        "SERVICE_APPROVED_FOR_CAPTURE"
    );
    assert_eq!(events.len(), 6, "one event per change, none for the no-op");

    // A cancelled payment cannot be captured; an unknown one is not found.
    let other = server.post("/v1/payments", &with(json!({}))).await.json["payment_id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .send(
            Method::POST,
            &format!("/v1/payments/{other}/cancel"),
            Some(&server.key),
            &[],
            None,
        )
        .await;
    let refused = capture(&server, &other).await;
    assert_eq!((refused.status, &refused.json), (409, &conflict));
    let unknown = capture(&server, "nosuchpayment0000000000000").await;
    assert_eq!(
        (unknown.status, &unknown.json),
        (404, &json!({"code": "P1000", "description": "Not found"}))
    );
    server.stop().await;
}
