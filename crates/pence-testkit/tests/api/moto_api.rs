//! `POST /v1/auth` (reference §8): a MOTO API payment's card passed by the service's staff,
//! with the one-time token of its `auth_url_post` link and no API key.

use pence_core::ports::prelude::*;
use pence_testkit::{Engine, Reply, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

use super::base;

async fn moto_api(engine: Engine) -> TestServer {
    let server = TestServer::start(engine).await;
    let mut service = server.service.clone();
    service.moto_api_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    server
}

/// A new MOTO API payment and its one-time token.
async fn payment(server: &TestServer) -> (String, String) {
    let mut body = base();
    let fields = body.as_object_mut().unwrap();
    fields.remove("return_url");
    fields.insert("authorisation_mode".into(), json!("moto_api"));
    let reply = server.post("/v1/payments", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json["payment_id"].as_str().unwrap().to_string();
    (id, token(&reply.json))
}

fn token(payment: &Value) -> String {
    payment["_links"]["auth_url_post"]["params"]["one_time_token"]
        .as_str()
        .expect("auth_url_post")
        .to_string()
}

fn card(token: &str, number: &str) -> Value {
    json!({"one_time_token": token, "card_number": number, "cvc": "123", "expiry_date": "12/30", "cardholder_name": "Ada Lovelace"})
}

/// POSTs to `/v1/auth` without an API key.
async fn auth(server: &TestServer, body: &Value) -> Reply {
    server
        .send(
            Method::POST,
            "/v1/auth",
            None,
            &[("Content-Type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
        .await
}

fn error(status: u16, code: &str, description: &str) -> (u16, Value) {
    (status, json!({"code": code, "description": description}))
}

pence_testkit::engine_tests!(staff_pass_the_card_and_the_payment_is_taken);
async fn staff_pass_the_card_and_the_payment_is_taken(engine: Engine) {
    let server = moto_api(engine).await;
    let mut body = base();
    body["authorisation_mode"] = json!("moto_api");
    body.as_object_mut().unwrap().remove("return_url");
    let created = server.post("/v1/payments", &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let links = &created.json["_links"];
    assert_eq!(created.json["moto"], true);
    assert!(links.get("next_url").is_none());
    let link = &links["auth_url_post"];
    assert_eq!(link["href"], format!("{}/v1/auth", server.url));
    assert_eq!(
        (&link["method"], &link["type"]),
        (&json!("POST"), &json!("application/json"))
    );
    let id = created.json["payment_id"].as_str().unwrap();
    let again = server.get(&format!("/v1/payments/{id}")).await;
    assert_ne!(
        token(&again.json),
        token(&created.json),
        "a fresh token on every read"
    );

    let reply = auth(&server, &card(&token(&created.json), "4444333322221111")).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert!(reply.text.is_empty());
    let paid = server.get(&format!("/v1/payments/{id}")).await.json;
    assert_eq!(
        paid["state"],
        json!({"status": "success", "finished": true})
    );
    assert_eq!(paid["card_details"]["last_digits_card_number"], "1111");
    assert!(paid["_links"].get("auth_url_post").is_none());
    assert_eq!(server.sweep().await.captured, 1);

    // A token works once.
    let spent = auth(&server, &card(&token(&created.json), "4444333322221111")).await;
    assert_eq!(
        (spent.status, spent.json),
        error(400, "P1212", "The one_time_token has already been used")
    );
    server.stop().await;
}

pence_testkit::engine_tests!(the_body_is_checked_as_gov_uk_pay_checks_it);
async fn the_body_is_checked_as_gov_uk_pay_checks_it(engine: Engine) {
    let server = moto_api(engine).await;
    let (_, token) = payment(&server).await;
    // Code and description only, no `field` (the spec's ErrorResponse for this operation).
    let cases: Vec<(Value, (u16, Value))> = vec![
        (
            json!({"card_number": "4444333322221111", "cvc": "123", "expiry_date": "12/30", "cardholder_name": "A"}),
            error(422, "P0101", "Missing mandatory attribute: one_time_token"),
        ),
        (
            json!({"one_time_token": token, "cvc": "123", "expiry_date": "12/30", "cardholder_name": "A"}),
            error(422, "P0101", "Missing mandatory attribute: card_number"),
        ),
        (
            card(&token, "4444"),
            error(
                422,
                "P0102",
                "Invalid attribute value: card_number. Must be between 12 and 19 characters long",
            ),
        ),
        (
            json!({"one_time_token": token, "card_number": "4444333322221111", "cvc": "12", "expiry_date": "12/30", "cardholder_name": "A"}),
            error(
                422,
                "P0102",
                "Invalid attribute value: cvc. Must be between 3 and 4 characters long",
            ),
        ),
        (
            json!({"one_time_token": token, "card_number": "4444333322221111", "cvc": "123", "expiry_date": "12/2030", "cardholder_name": "A"}),
            error(
                422,
                "P0102",
                "Invalid attribute value: expiry_date. Must be a valid date with the format MM/YY",
            ),
        ),
        (
            json!({"one_time_token": token, "card_number": "4444333322221111", "cvc": "123", "expiry_date": "12/30", "cardholder_name": " "}),
            error(422, "P0101", "Missing mandatory attribute: cardholder_name"),
        ),
        (
            card(&token, "4444-3333-2222-1111"),
            error(
                422,
                "P0102",
                "Invalid attribute value: card_number. Must be a valid card number",
            ),
        ),
        (
            json!({"one_time_token": token, "card_number": "4444333322221111", "cvc": "12a", "expiry_date": "12/30", "cardholder_name": "A"}),
            error(
                422,
                "P0102",
                "Invalid attribute value: cvc. Must contain numbers only",
            ),
        ),
        (
            json!({"one_time_token": token, "card_number": "4444333322221111", "cvc": "123", "expiry_date": "13/30", "cardholder_name": "A"}),
            error(
                422,
                "P0102",
                "Invalid attribute value: expiry_date. Must be a valid date with the format MM/YY",
            ),
        ),
        (
            json!({"one_time_token": token, "card_number": "4444333322221111", "cvc": "123", "expiry_date": "01/20", "cardholder_name": "A"}),
            error(
                422,
                "P0102",
                "Invalid attribute value: expiry_date. Must be a valid date in the future",
            ),
        ),
        (
            card("not-a-token", "4444333322221111"),
            error(400, "P1211", "The one_time_token is not valid"),
        ),
    ];
    for (body, expected) in cases {
        let reply = auth(&server, &body).await;
        assert_eq!((reply.status, reply.json), expected, "{body}");
    }
    // None of those spent the token.
    let reply = auth(&server, &card(&token, "4444333322221111")).await;
    assert_eq!(reply.status, 204, "{}", reply.text);

    // A web payment's next_url token is not a MOTO API token.
    let web = server.post("/v1/payments", &base()).await;
    let next_url = web.json["_links"]["next_url"]["href"].as_str().unwrap();
    let web_token = next_url.rsplit('/').next().unwrap();
    let reply = auth(&server, &card(web_token, "4444333322221111")).await;
    assert_eq!(
        (reply.status, reply.json),
        error(
            400,
            "P1211",
            "The one_time_token is not a valid moto api token"
        )
    );
    server.stop().await;
}

pence_testkit::engine_tests!(refused_cards_fail_the_payment_and_spend_the_token);
async fn refused_cards_fail_the_payment_and_spend_the_token(engine: Engine) {
    let server = moto_api(engine).await;
    let cases = [
        (
            "4444333322221112",
            error(402, "P0010", "The card_number is not a valid card number"),
        ),
        (
            "4000000000000002",
            error(402, "P0010", "The payment was rejected"),
        ),
        (
            "4000000000000119",
            error(500, "P0050", "There was an error authorising the payment"),
        ),
    ];
    for (number, expected) in cases {
        let (id, token) = payment(&server).await;
        let reply = auth(&server, &card(&token, number)).await;
        assert_eq!((reply.status, reply.json), expected, "{number}");
        let state = &server.get(&format!("/v1/payments/{id}")).await.json["state"];
        assert_eq!(
            state["status"],
            if expected.0 == 500 { "error" } else { "failed" }
        );
        let again = auth(&server, &card(&token, "4444333322221111")).await;
        assert_eq!(again.json["code"], "P1212", "{number}: the token is spent");
    }

    // A brand the service does not take.
    let mut service = server
        .store
        .service(&server.service.id)
        .await
        .unwrap()
        .unwrap();
    service
        .cards
        .accepted_brands
        .retain(|b| b.id() != "american-express");
    server.store.update_service(&service, None).await.unwrap();
    let (_, token) = payment(&server).await;
    let mut amex = card(&token, "371449635398431");
    amex["cvc"] = json!("1234");
    let reply = auth(&server, &amex).await;
    assert_eq!(
        (reply.status, reply.json),
        error(
            402,
            "P0010",
            "The card type is not enabled: american-express"
        )
    );
    server.stop().await;
}

pence_testkit::engine_tests!(multi_thread: one_token_authorises_once_under_a_race);
async fn one_token_authorises_once_under_a_race(engine: Engine) {
    let server = std::sync::Arc::new(moto_api(engine).await);
    let (id, token) = payment(&server).await;
    let mut racers = Vec::new();
    for _ in 0..20 {
        let (server, body) = (server.clone(), card(&token, "4444333322221111"));
        racers.push(tokio::spawn(
            async move { auth(&server, &body).await.status },
        ));
    }
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses[0], 204);
    assert!(statuses[1..].iter().all(|s| *s == 400), "{statuses:?}");
    let kinds: Vec<_> = server
        .store
        .payment_events(&server.service.id, &id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    let succeeded = kinds
        .iter()
        .filter(|k| **k == pence_core::ledger::EventKind::AuthorisationSucceeded)
        .count();
    assert_eq!(succeeded, 1, "{kinds:?}");
    std::sync::Arc::into_inner(server).unwrap().stop().await;
}
