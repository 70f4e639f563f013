//! The control API's paying user (`/sandbox/v1/payments/{id}/pay`, `/abandon`, `/cancel`;
//! issue 15): the card journey driven without a browser, through the card pages' own rules,
//! for test services only. Responses are validated against `spec/pence-sandbox-openapi.json`.

use pence_core::journey::card::form::Problem;
use pence_core::ledger::EventKind;
use pence_core::payment::Language;
use pence_core::ports::prelude::*;
use pence_testkit::{Engine, Reply, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

use super::{base, with};

const VISA: &str = "4444333322221111";
const DECLINED: &str = "4000000000000002";
const THREE_DS: &str = "4000002500003155";

async fn create(server: &TestServer, body: &Value) -> String {
    let reply = server.post("/v1/payments", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json["payment_id"].as_str().unwrap().to_string()
}

async fn pay(server: &TestServer, id: &str, body: Value) -> Reply {
    server
        .post(&format!("/sandbox/v1/payments/{id}/pay"), &body)
        .await
}

fn state(reply: &Reply) -> (&str, Option<&str>) {
    (
        reply.json["state"]["status"].as_str().unwrap(),
        reply.json["state"]["code"].as_str(),
    )
}

/// How many events of `kind` the payment's ledger holds.
async fn events_of(server: &TestServer, id: &str, kind: EventKind) -> usize {
    let events = server
        .store
        .payment_events(&server.service.id, id)
        .await
        .unwrap();
    events.iter().filter(|e| e.kind == kind).count()
}

pence_testkit::engine_tests!(the_paying_user_pays_without_a_browser);
async fn the_paying_user_pays_without_a_browser(engine: Engine) {
    let server = TestServer::start(engine).await;

    // A card, nothing else: the rest is filled in as a tester would, and it is confirmed.
    let id = create(&server, &base()).await;
    let paid = pay(&server, &id, json!({"card_number": VISA})).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert_eq!(state(&paid), ("success", None));
    assert_eq!(paid.json["card_details"]["last_digits_card_number"], "1111");
    assert_eq!(
        paid.json["card_details"]["cardholder_name"],
        "Sandbox Payer"
    );
    assert_eq!(
        paid.json["email"], "payer@example.org",
        "email is mandatory by default"
    );
    let got = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(got.json["state"], paid.json["state"]);
    assert_eq!(got.json["card_details"], paid.json["card_details"]);
    let again = pay(&server, &id, json!({"card_number": VISA})).await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.json,
        json!({"code": "S0409", "description": "The payment is not waiting for the paying user: it is success"})
    );

    // What the service prefilled is used; what the request gives wins.
    let prefilled = with(json!({
        "email": "citizen@example.org",
        "prefilled_cardholder_details": {"cardholder_name": "Ada Lovelace"},
        "delayed_capture": true
    }));
    let id = create(&server, &prefilled).await;
    let paid = pay(
        &server,
        &id,
        json!({"card_number": VISA, "expiry": "11/40"}),
    )
    .await;
    assert_eq!(state(&paid), ("capturable", None), "delayed capture waits");
    assert_eq!(paid.json["card_details"]["cardholder_name"], "Ada Lovelace");
    assert_eq!(paid.json["card_details"]["expiry_date"], "11/40");
    assert_eq!(paid.json["email"], "citizen@example.org");

    // 3-D Secure, answered either way; a declined card.
    let id = create(&server, &base()).await;
    let failed = pay(
        &server,
        &id,
        json!({"card_number": THREE_DS, "three_d_secure": "fail"}),
    )
    .await;
    assert_eq!(state(&failed), ("failed", Some("P0010")));
    let id = create(&server, &base()).await;
    let passed = pay(&server, &id, json!({"card_number": THREE_DS})).await;
    assert_eq!(state(&passed), ("success", None));
    assert_eq!(
        passed.json["authorisation_summary"]["three_d_secure"]["required"],
        true
    );
    let id = create(&server, &base()).await;
    let declined = pay(&server, &id, json!({"card_number": DECLINED})).await;
    assert_eq!(state(&declined), ("failed", Some("P0010")));

    // Stopping at the confirm page, then pressing Cancel there.
    let id = create(&server, &base()).await;
    let waiting = pay(&server, &id, json!({"card_number": VISA, "confirm": false})).await;
    assert_eq!(state(&waiting), ("submitted", None));
    let cancelled = server
        .post(&format!("/sandbox/v1/payments/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(state(&cancelled), ("failed", Some("P0030")));
    server.stop().await;
}

pence_testkit::engine_tests!(card_details_are_refused_as_the_card_page_refuses_them);
async fn card_details_are_refused_as_the_card_page_refuses_them(engine: Engine) {
    let server = TestServer::start(engine).await;
    let id = create(&server, &base()).await;
    let refused = pay(
        &server,
        &id,
        json!({"card_number": "4444333322221112", "cardholder_name": "", "expiry": "01/20"}),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.json["code"], "S0422");
    let words = |p| pence_http::card_problem_text(Language::En, p);
    assert_eq!(
        refused.json["errors"],
        json!([
            {"field": "card-no", "message": words(Problem::CardNoInvalid)},
            {"field": "expiry-month", "message": words(Problem::ExpiryPast)},
            {"field": "cardholder-name", "message": words(Problem::NameMissing)},
        ])
    );
    // Nothing was charged: the user, still on the card page, can pay.
    let got = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(got.json["state"]["status"], "started");
    assert_eq!(
        state(&pay(&server, &id, json!({"card_number": VISA})).await).0,
        "success"
    );

    // In the payment's language.
    let id = create(&server, &with(json!({"language": "cy"}))).await;
    let refused = pay(&server, &id, json!({"card_number": "1234"})).await;
    assert_eq!(
        refused.json["errors"][0]["message"],
        pence_http::card_problem_text(Language::Cy, Problem::CardNoInvalid)
    );

    // Bodies it cannot read; a card number never comes back in an answer.
    let id = create(&server, &base()).await;
    let send = |body: &'static str| {
        server.send(
            Method::POST,
            Box::leak(format!("/sandbox/v1/payments/{id}/pay").into_boxed_str()),
            Some(&server.key),
            &[("Content-Type", "application/json")],
            Some(body.as_bytes().to_vec()),
        )
    };
    let number = send(r#"{"card_number": 4444333322221111}"#).await;
    assert_eq!(number.status, 400);
    assert_eq!(number.json["code"], "S0400");
    assert!(!number.text.contains("4444333322221111"), "{}", number.text);
    let unknown = send(r#"{"card_number": "4444333322221111", "cvv": "123"}"#).await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.json["description"]
        .as_str()
        .unwrap()
        .contains("cvv"));
    assert_eq!(send("card").await.status, 400);
    let null = send(r#"{"card_number": "4444333322221111", "cvc": null}"#).await;
    assert_eq!(null.status, 400);
    assert!(null.json["description"]
        .as_str()
        .unwrap()
        .contains("cvc must not be null"));
    assert_eq!(send("{}").await.status, 400, "card_number is required");
    server.stop().await;
}

pence_testkit::engine_tests!(only_test_services_have_a_sandbox);
async fn only_test_services_have_a_sandbox(engine: Engine) {
    let server = TestServer::start(engine).await;
    let id = create(&server, &base()).await;
    let path = format!("/sandbox/v1/payments/{id}/pay");
    let card = json!({"card_number": VISA});
    let not_found = json!({"code": "S0404", "description": "Not found"});

    let anonymous = server
        .send(
            Method::POST,
            &path,
            None,
            &[],
            Some(card.to_string().into_bytes()),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    let (_, live_key) = server.new_service(true).await;
    let live = server.post_as(&live_key, &path, &card).await;
    assert_eq!(
        (live.status, &live.json),
        (404, &not_found),
        "live keys see nothing"
    );
    let (_, other_key) = server.new_service(false).await;
    let other = server.post_as(&other_key, &path, &card).await;
    assert_eq!(
        (other.status, &other.json),
        (404, &not_found),
        "nor others' payments"
    );
    let unknown = server.post("/sandbox/v1/nothing", &card).await;
    assert_eq!((unknown.status, &unknown.json), (404, &not_found));
    let wrong_method = server.get(&path).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.json["code"], "S0405");
    let nonsense = server.post("/sandbox/v1/payments/%FF/pay", &card).await;
    assert_eq!(nonsense.status, 404);

    // MOTO API payments have no card pages.
    let mut service = server.service.clone();
    service.moto_api_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    let moto = create(
        &server,
        &with(json!({"authorisation_mode": "moto_api", "return_url": "__remove__"})),
    )
    .await;
    let refused = pay(&server, &moto, card.clone()).await;
    assert_eq!(refused.status, 409, "{}", refused.text);

    // The payment is untouched by all of it.
    let got = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(got.json["state"]["status"], "created");
    server.stop().await;
}

pence_testkit::engine_tests!(an_abandoned_payment_starts_and_expires);
async fn an_abandoned_payment_starts_and_expires(engine: Engine) {
    let server = TestServer::start(engine).await;
    let id = create(&server, &base()).await;
    let left = server
        .post(&format!("/sandbox/v1/payments/{id}/abandon"), &json!({}))
        .await;
    assert_eq!(left.status, 200, "{}", left.text);
    assert_eq!(state(&left), ("started", None));
    assert_eq!(events_of(&server, &id, EventKind::PaymentStarted).await, 1);
    server.clock.advance(91 * 60 * 1000);
    server.sweep().await;
    let got = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(got.json["state"]["code"], "P0020");
    let late = server
        .post(&format!("/sandbox/v1/payments/{id}/abandon"), &json!({}))
        .await;
    assert_eq!(late.status, 409);
    server.stop().await;
}

pence_testkit::engine_tests!(multi_thread: racing_payers_pay_once);
async fn racing_payers_pay_once(engine: Engine) {
    let server = std::sync::Arc::new(TestServer::start(engine).await);
    let id = create(&server, &base()).await;
    let payers: Vec<_> = (0..8)
        .map(|_| {
            let (server, id) = (server.clone(), id.clone());
            tokio::spawn(
                async move { pay(&server, &id, json!({"card_number": VISA})).await.status },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for p in payers {
        statuses.push(p.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| [200, 409].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200));
    let got = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(got.json["state"]["status"], "success");
    let authorised = events_of(&server, &id, EventKind::AuthorisationSucceeded).await;
    assert_eq!(authorised, 1, "one authorisation, whoever won");
    assert_eq!(
        events_of(&server, &id, EventKind::PaymentDetailsEntered).await,
        1
    );
}
