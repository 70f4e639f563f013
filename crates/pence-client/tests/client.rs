//! The client against a real Pence node over HTTP, on SQLite and PostgreSQL: every operation,
//! typed errors, backoff on 429, streams over every page, and webhook messages a real node
//! signed.

use futures_util::TryStreamExt;
use pence_client::webhooks::{self, WebhookError};
use pence_client::{
    AgreementSearch, AuthoriseMoto, Client, CreateAgreement, CreatePayment, CreateRefund,
    DisputeSearch, Error, PaymentSearch, RefundSearch, RetryPolicy,
};
use pence_core::ports::prelude::*;
use pence_testkit::{Engine, Receiver, ServerOptions, SpecProxy, TestServer};
use pence_wire::ErrorCode;
use serde_json::json;

/// A client of the node through a proxy that checks every answer against the spec (an answer
/// that breaks it comes back as a 502, failing the call); keep the proxy while calling.
async fn client(server: &TestServer) -> (Client, SpecProxy) {
    let proxy = SpecProxy::start(&server.url).await;
    let client = Client::new(server.key.clone()).with_base_url(&proxy.url);
    (client, proxy)
}

fn permit(reference: &str) -> CreatePayment {
    CreatePayment::new(
        14500,
        reference,
        "Parking permit",
        "https://example.org/done",
    )
}

/// Pays for a payment as its user would (the control API), confirming it.
async fn pay(server: &TestServer, id: &str, card: &str) {
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": card}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
}

pence_testkit::engine_tests!(every_operation_against_pence);
async fn every_operation_against_pence(engine: Engine) {
    let server = TestServer::start(engine).await;
    let mut service = server.service.clone();
    service.recurring_enabled = true;
    service.moto_api_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    let (pay_api, _proxy) = client(&server).await;

    // Payments: create, get, events, search, refund.
    let created = pay_api
        .create_payment(
            &permit("PERMIT-1")
                .email("a@example.org")
                .metadata("ward", 7)
                .language("cy"),
        )
        .await
        .unwrap();
    assert_eq!(created.state.status, "created");
    assert_eq!(created.language, "cy");
    assert!(created.links.as_ref().unwrap().next_url.is_some());
    let id = created.payment_id.clone();
    assert_eq!(pay_api.get_payment(&id).await.unwrap().payment_id, id);
    let events = pay_api.get_payment_events(&id).await.unwrap();
    assert_eq!(events.events.len(), 1);
    let found = pay_api
        .search_payments(&PaymentSearch {
            reference: Some("PERMIT-1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (found.total, found.results[0].payment_id.as_str()),
        (1, id.as_str())
    );
    pay(&server, &id, "4444333322221111").await;
    server.sweep().await;
    let refund = pay_api
        .create_refund(&id, &CreateRefund::new(500).expecting_available(14500))
        .await
        .unwrap();
    assert_eq!(refund.status, "success");
    let refunds = pay_api.get_refunds(&id).await.unwrap();
    assert_eq!(refunds.embedded.refunds.len(), 1);
    let one = pay_api.get_refund(&id, &refund.refund_id).await.unwrap();
    assert_eq!(one.amount, 500);
    assert!(
        pay_api
            .search_refunds(&RefundSearch::default())
            .await
            .unwrap()
            .total
            >= 1
    );
    assert_eq!(
        pay_api
            .search_disputes(&DisputeSearch::default())
            .await
            .unwrap()
            .total,
        0
    );

    // Capture of a delayed-capture payment; cancel, and a second cancel refused by code.
    let delayed = pay_api
        .create_payment(&permit("PERMIT-2").delayed_capture(true))
        .await
        .unwrap();
    pay(&server, &delayed.payment_id, "4444333322221111").await;
    pay_api.capture_payment(&delayed.payment_id).await.unwrap();
    let cancelled = pay_api.create_payment(&permit("PERMIT-3")).await.unwrap();
    pay_api.cancel_payment(&cancelled.payment_id).await.unwrap();
    let again = pay_api
        .cancel_payment(&cancelled.payment_id)
        .await
        .unwrap_err();
    assert_eq!(
        again.api().unwrap().code,
        Some(ErrorCode::CANCEL_PAYMENT_FAILED)
    );

    // Agreements: set one up with a payment, take a payment with it (a repeat of the same
    // request is the same payment), find it, cancel it.
    let agreement = pay_api
        .create_agreement(&CreateAgreement::new("AGR-1", "Monthly permit").user_identifier("u1"))
        .await
        .unwrap();
    let set_up = pay_api
        .create_payment(&permit("PERMIT-4").set_up_agreement(&agreement.agreement_id))
        .await
        .unwrap();
    pay(&server, &set_up.payment_id, "4444333322221111").await;
    assert_eq!(
        pay_api
            .get_agreement(&agreement.agreement_id)
            .await
            .unwrap()
            .status,
        "active"
    );
    let monthly = CreatePayment::agreement(2500, "MONTH-1", "December", &agreement.agreement_id);
    let first = pay_api.create_payment(&monthly).await.unwrap();
    let repeat = pay_api.create_payment(&monthly).await.unwrap();
    assert_eq!(
        first.payment_id, repeat.payment_id,
        "one Idempotency-Key, one payment"
    );
    let listed = pay_api
        .search_agreements(&AgreementSearch {
            reference: Some("AGR-1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    pay_api
        .cancel_agreement(&agreement.agreement_id)
        .await
        .unwrap();

    // MOTO API: the staff pass the card with the payment's one-time token.
    let moto = pay_api
        .create_payment(&CreatePayment::moto_api(900, "PHONE-1", "By phone"))
        .await
        .unwrap();
    let token = moto.links.unwrap().auth_url_post.unwrap().params.unwrap()["one_time_token"]
        .as_str()
        .unwrap()
        .to_string();
    pay_api
        .authorise_moto(&AuthoriseMoto {
            one_time_token: token,
            card_number: "4444333322221111".into(),
            cvc: "123".into(),
            expiry_date: "12/30".into(),
            cardholder_name: "Ada Lovelace".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        pay_api
            .get_payment(&moto.payment_id)
            .await
            .unwrap()
            .state
            .status,
        "success"
    );
    server.stop().await;
}

pence_testkit::engine_tests!(errors_come_typed_by_code);
async fn errors_come_typed_by_code(engine: Engine) {
    let server = TestServer::start(engine).await;
    let (pay_api, proxy) = client(&server).await;
    let api = |e: Error| e.api().cloned().expect("an API answer");

    let missing = api(pay_api.get_payment("nosuchpayment").await.unwrap_err());
    assert_eq!(
        (missing.status, missing.code),
        (404, Some(ErrorCode::GET_PAYMENT_NOT_FOUND))
    );
    let mut negative = permit("X");
    negative.amount = -1;
    let invalid = api(pay_api.create_payment(&negative).await.unwrap_err());
    assert_eq!(
        (invalid.status, invalid.code),
        (422, Some(ErrorCode::CREATE_PAYMENT_VALIDATION))
    );
    assert_eq!(invalid.field.as_deref(), Some("amount"));
    let bad_key = Client::new("api_test_nonsense").with_base_url(&proxy.url);
    let refused = api(bad_key.get_payment("x").await.unwrap_err());
    assert_eq!(
        (refused.status, refused.code, refused.raw_code.as_str()),
        (401, None, "401")
    );
    let search = api(pay_api
        .search_payments(&PaymentSearch {
            state: Some("capturable".into()),
            ..Default::default()
        })
        .await
        .unwrap_err());
    assert_eq!(search.code, Some(ErrorCode::SEARCH_PAYMENTS_VALIDATION));
    let key = api(pay_api
        .create_payment(&permit("Y").idempotency_key("not valid!"))
        .await
        .unwrap_err());
    assert_eq!(key.header.as_deref(), Some("Idempotency-Key"));
    let nowhere = Client::new("k")
        .with_base_url("http://127.0.0.1:9")
        .with_retry(RetryPolicy::none());
    assert!(matches!(
        nowhere.get_payment("x").await.unwrap_err(),
        Error::Transport(_)
    ));
    server.stop().await;
}

pence_testkit::engine_tests!(rate_limited_reads_back_off_and_succeed);
async fn rate_limited_reads_back_off_and_succeed(engine: Engine) {
    let mut options = ServerOptions::default();
    options.rate_limits.enabled = true;
    options.rate_limits.defaults.get = 3;
    let server = TestServer::start_with(engine, options).await;
    let created = server.post("/v1/payments", &json!({"amount": 100, "reference": "r", "description": "d", "return_url": "https://example.org/r"})).await;
    let id = created.json["payment_id"].as_str().unwrap().to_string();

    let (patient, _proxy) = client(&server).await;
    let patient = patient.with_retry(RetryPolicy {
        retries: 8,
        ..RetryPolicy::default()
    });
    let reads = (0..12).map(|_| patient.get_payment(&id));
    for read in futures_util::future::join_all(reads).await {
        assert_eq!(read.unwrap().payment_id, id);
    }
    let hasty = patient.clone().with_retry(RetryPolicy::none());
    let results = futures_util::future::join_all((0..12).map(|_| hasty.get_payment(&id))).await;
    let limited = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.api().and_then(|a| a.code) == Some(ErrorCode::TOO_MANY_REQUESTS)))
        .count();
    assert!(limited > 0, "without retries some reads meet the limit");
    server.stop().await;
}

pence_testkit::engine_tests!(multi_thread: streams_cover_every_page);
async fn streams_cover_every_page(engine: Engine) {
    let server = TestServer::start(engine).await;
    let (pay_api, _proxy) = client(&server).await;
    let creates = (0..1_050).map(|i| {
        let pay_api = pay_api.clone();
        async move {
            pay_api
                .create_payment(&permit(&format!("BULK-{i}")))
                .await
                .unwrap()
        }
    });
    futures_util::stream::iter(creates)
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let search = PaymentSearch {
        reference: Some("BULK-".into()),
        display_size: Some(100),
        ..Default::default()
    };
    let all: Vec<_> = pay_api
        .search_payments_all(&search)
        .try_collect()
        .await
        .unwrap();
    let mut ids: Vec<_> = all.iter().map(|p| p.payment_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1_050, "every payment once, over 11 pages");
    server.stop().await;
}

use futures_util::StreamExt;

pence_testkit::engine_tests!(webhook_messages_are_verified_and_parsed);
async fn webhook_messages_are_verified_and_parsed(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let receiver = Receiver::start().await;
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": receiver.url, "event_types": ["card_payment_succeeded"]}),
        )
        .await;
    let secret = hook.json["secret"].as_str().unwrap().to_string();
    let (pay_api, _proxy) = client(&server).await;
    let created = pay_api.create_payment(&permit("HOOK-1")).await.unwrap();
    pay(&server, &created.payment_id, "4444333322221111").await;
    server.drain_webhooks().await;
    let got = receiver.received();
    let message = &got[0];
    let signature = message.signature.as_deref();

    let parsed = webhooks::verify(&message.body, signature, &["old-secret", &secret]).unwrap();
    assert_eq!(parsed.event_type, "card_payment_succeeded");
    assert_eq!(parsed.resource_id, created.payment_id);
    assert_eq!(parsed.resource.reference, "HOOK-1");
    assert_eq!(
        webhooks::verify(&message.body, signature, &["another"]),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        webhooks::verify(&message.body, None, &[&secret]),
        Err(WebhookError::NoSignature)
    );
    let mut tampered = message.body.clone();
    tampered[10] ^= 1;
    assert!(!webhooks::signed(&tampered, signature.unwrap(), &[&secret]));
    server.stop().await;
}
