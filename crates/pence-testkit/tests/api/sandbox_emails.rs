//! The email sink (`GET /sandbox/v1/emails`, issue 15): the confirmation and refund emails
//! GOV.UK Pay sends paying users, as the service's settings and the payment's language say.

use pence_core::ports::prelude::*;
use pence_core::service::EmailCollection;
use pence_testkit::{Engine, TestServer};
use serde_json::{json, Value};

use super::with;

async fn paid(server: &TestServer, body: Value) -> String {
    let created = server.post("/v1/payments", &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["payment_id"].as_str().unwrap().to_string();
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.json["state"]["status"], "success", "{}", paid.text);
    id
}

async fn emails_to(server: &TestServer, to: &str) -> Vec<Value> {
    let reply = server.get(&format!("/sandbox/v1/emails?to={to}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["emails"].as_array().unwrap().clone()
}

pence_testkit::engine_tests!(paying_users_get_their_emails);
async fn paying_users_get_their_emails(engine: Engine) {
    let server = TestServer::start(engine).await;
    let name = server.service.name.clone();
    let mut service = server
        .store
        .service(&server.service.id)
        .await
        .unwrap()
        .unwrap();
    service.emails.custom_paragraph = Some("Your permit number is $reference.".into());
    server.store.update_service(&service, None).await.unwrap();

    let id = paid(
        &server,
        with(json!({"email": "Citizen@Example.org", "reference": "PERMIT-7", "amount": 14500})),
    )
    .await;
    let got = emails_to(&server, "citizen@example.org").await;
    assert_eq!(got.len(), 1, "{got:?}");
    let email = &got[0];
    assert_eq!(email["kind"], "payment_confirmed");
    assert_eq!(email["payment_id"], id.as_str());
    assert_eq!(email["to"], "Citizen@Example.org");
    assert_eq!(email["subject"], format!("Your payment to {name}"));
    let text = email["text"].as_str().unwrap();
    for fact in [
        "PERMIT-7",
        "£145.00",
        "A test payment",
        "Your permit number is PERMIT-7.",
    ] {
        assert!(text.contains(fact), "{fact} missing from {text}");
    }
    assert!(email["html"].as_str().unwrap().starts_with("<p>"));

    // A refund, once captured.
    server.sweep().await;
    let refund = server
        .post(
            &format!("/v1/payments/{id}/refunds"),
            &json!({"amount": 500}),
        )
        .await;
    assert_eq!(refund.json["status"], "success", "{}", refund.text);
    let got = emails_to(&server, "citizen@example.org").await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["kind"], "refund_issued", "newest first");
    assert_eq!(got[0]["subject"], format!("Your refund from {name}"));
    assert!(got[0]["text"].as_str().unwrap().contains("£5.00"));

    // Welsh for a Welsh payment.
    paid(
        &server,
        with(json!({"email": "cymraeg@example.org", "language": "cy"})),
    )
    .await;
    let got = emails_to(&server, "cymraeg@example.org").await;
    assert_eq!(got[0]["subject"], format!("Eich taliad i {name}"));

    // None when the service sends none, or does not ask for addresses.
    service.emails.payment_confirmed = false;
    server.store.update_service(&service, None).await.unwrap();
    paid(&server, with(json!({"email": "off@example.org"}))).await;
    assert!(emails_to(&server, "off@example.org").await.is_empty());
    service.emails.payment_confirmed = true;
    service.cards.email_collection = EmailCollection::Off;
    server.store.update_service(&service, None).await.unwrap();
    paid(&server, with(json!({"email": "nocollect@example.org"}))).await;
    assert!(emails_to(&server, "nocollect@example.org").await.is_empty());

    // Only the service's own.
    let (_, other) = server.new_service(false).await;
    let theirs = server.get_as(&other, "/sandbox/v1/emails").await;
    assert_eq!(theirs.json["emails"], json!([]));
    let all = server.get("/sandbox/v1/emails").await;
    assert_eq!(all.json["emails"].as_array().unwrap().len(), 3);
    server.stop().await;
}
