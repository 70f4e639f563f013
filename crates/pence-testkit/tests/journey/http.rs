//! The journey's pages over plain HTTP (a cookie-keeping client): the protections every page
//! carries, CSRF, concurrent submits and races with the service, and where card numbers must
//! never end up.

use std::sync::Arc;

use pence_core::ports::prelude::*;
use pence_testkit::{Engine, ServiceSite, TestServer};
use serde_json::json;

use super::{event_states, new_payment, payment};

use pence_testkit::paying_user::csrf_of;
pub(crate) use pence_testkit::paying_user::{browser_like as client, card_form};

/// A payment opened in a fresh browser-like client, on its card page.
pub(crate) struct Paying {
    pub(crate) c: reqwest::Client,
    pub(crate) id: String,
    pub(crate) csrf: String,
    /// `/card_details/{id}` on the node.
    pub(crate) url: String,
}

pub(crate) async fn paying(server: &TestServer, site: &ServiceSite) -> Paying {
    paying_with(server, site, json!({})).await
}

/// Like `paying`, for a payment created with `extra` fields.
pub(crate) async fn paying_with(
    server: &TestServer,
    site: &ServiceSite,
    extra: serde_json::Value,
) -> Paying {
    let (id, next) = new_payment(server, site, extra).await;
    let c = client();
    let csrf = open(&c, server, &next, &id).await;
    let url = format!("{}/card_details/{id}", server.url);
    Paying { c, id, csrf, url }
}

/// Submits `card` on the card page, then confirms.
pub(crate) async fn enter_and_confirm(p: &Paying, card: &str) {
    p.c.post(&p.url)
        .form(&card_form(&p.csrf, card))
        .send()
        .await
        .unwrap();
    p.c.post(format!("{}/confirm", p.url))
        .form(&[("csrfToken", p.csrf.clone())])
        .send()
        .await
        .unwrap();
}

/// Opens next_url in `c`; returns the card page's CSRF token.
async fn open(c: &reqwest::Client, server: &TestServer, next: &str, id: &str) -> String {
    let r = c.get(next).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/card_details/{id}"));
    let page = c
        .get(format!("{}/card_details/{id}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    csrf_of(&page.text().await.unwrap())
}

#[tokio::test]
async fn pages_carry_their_protections() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let (id, next) = new_payment(&server, &site, json!({})).await;
    let c = client();
    let exchange = c.get(&next).send().await.unwrap();
    let cookie = exchange.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains(&id), "the session cookie is encrypted");
    let page = c
        .get(format!("{}/card_details/{id}", server.url))
        .send()
        .await
        .unwrap();
    let h = page.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        csp.contains(&format!("form-action 'self' {}", site.url)),
        "{csp}"
    );
    assert!(!page.text().await.unwrap().contains("<script"));
    // POST /secure with chargeTokenId works like the GET link (a fresh token each time).
    let fresh = server.get(&format!("/v1/payments/{id}")).await;
    let token = fresh.json["_links"]["next_url_post"]["params"]["chargeTokenId"]
        .as_str()
        .unwrap()
        .to_string();
    let posted = client()
        .post(format!("{}/secure", server.url))
        .form(&[("chargeTokenId", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    // Redirects carry the pages' protections too.
    let h = posted.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    // A forged or unknown token is not found.
    let forged = c
        .get(format!("{}/secure/{}", server.url, "x".repeat(77)))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let Paying { c, id, csrf, url } = paying(&server, &site).await;
    let forged = c
        .post(&url)
        .form(&card_form("not-the-token", "4444333322221111"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let body = forged.text().await.unwrap();
    assert!(!body.contains("4444333322221111"));
    assert_eq!(payment(&server, &id).await["state"]["status"], "started");
    // Another browser, even with a valid token of its own, has no session for this payment.
    let other = client();
    let r = other
        .post(&url)
        .form(&card_form(&csrf, "4444333322221111"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(payment(&server, &id).await["state"]["status"], "started");
    server.stop().await;
}

pence_testkit::engine_tests!(concurrent_double_submits_authorise_and_confirm_once);
/// Ten simultaneous submits of the card form and of the confirm button: one authorisation,
/// one capture approval, each recorded once.
async fn concurrent_double_submits_authorise_and_confirm_once(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let Paying { c, id, csrf, url } = paying(&server, &site).await;
    let form = Arc::new(card_form(&csrf, "4444333322221111"));
    let submits = (0..10).map(|_| {
        let (c, url, form) = (c.clone(), url.clone(), form.clone());
        tokio::spawn(async move { c.post(&url).form(&*form).send().await.unwrap().status() })
    });
    for s in submits {
        assert_eq!(s.await.unwrap(), 303);
    }
    let confirms = (0..10).map(|_| {
        let (c, url, csrf) = (c.clone(), format!("{url}/confirm"), csrf.clone());
        tokio::spawn(async move {
            c.post(&url)
                .form(&[("csrfToken", csrf)])
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    for s in confirms {
        assert_eq!(s.await.unwrap(), 303);
    }
    assert_eq!(
        event_states(&server, &id).await,
        ["created", "started", "submitted", "success"]
    );
    let events = server
        .store
        .payment_events(&server.service.id, &id)
        .await
        .unwrap();
    let count = |t: &str| events.iter().filter(|e| e.kind.as_str() == t).count();
    assert_eq!(count("PAYMENT_DETAILS_ENTERED"), 1);
    assert_eq!(count("AUTHORISATION_SUCCEEDED"), 1);
    assert_eq!(count("USER_APPROVED_FOR_CAPTURE"), 1);
    server.stop().await;
}

pence_testkit::engine_tests!(service_cancel_races_the_user_confirming);
/// The service cancels while the user confirms: exactly one wins, the other gets its answer.
async fn service_cancel_races_the_user_confirming(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    for _ in 0..5 {
        let Paying { c, id, csrf, url } = paying(&server, &site).await;
        let r = c
            .post(&url)
            .form(&card_form(&csrf, "4444333322221111"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()["location"],
            format!("/card_details/{id}/confirm")
        );
        let confirm = c
            .post(format!("{url}/confirm"))
            .form(&[("csrfToken", csrf)])
            .send();
        let (cancel_path, empty) = (format!("/v1/payments/{id}/cancel"), json!({}));
        let cancel = server.post(&cancel_path, &empty);
        let (confirm, cancel) = tokio::join!(confirm, cancel);
        let confirm = confirm.unwrap();
        let p = payment(&server, &id).await;
        match p["state"]["status"].as_str().unwrap() {
            "success" => {
                assert_eq!(cancel.status, 400, "{}", cancel.text);
                assert_eq!(cancel.json["code"], "P0501");
                assert_eq!(confirm.headers()["location"], format!("/return/{id}"));
            }
            "cancelled" => {
                assert_eq!(cancel.status, 204);
                // The user lands on the page saying the service cancelled it.
                assert_eq!(confirm.headers()["location"], format!("/card_details/{id}"));
            }
            other => panic!("unexpected state {other}"),
        }
        let states = event_states(&server, &id).await;
        assert_eq!(states.len(), 4, "{states:?}");
    }
    server.stop().await;
}

/// After a whole journey the card number is nowhere in the database file.
#[tokio::test]
async fn card_numbers_never_reach_the_database() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let card = "4000056655665556";
    let Paying { c, id, csrf, url } = paying(&server, &site).await;
    // A refused submit (bad CVC) and then the real one.
    let mut bad = card_form(&csrf, card);
    bad[5].1 = "1".into();
    let page = c
        .post(&url)
        .form(&bad)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(card), "the number is not echoed back");
    c.post(&url)
        .form(&card_form(&csrf, card))
        .send()
        .await
        .unwrap();
    c.post(format!("{url}/confirm"))
        .form(&[("csrfToken", csrf)])
        .send()
        .await
        .unwrap();
    // And a card passed to the MOTO API.
    let moto_card = "5101180000000007";
    let mut service = server.service.clone();
    service.moto_api_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    let created = server
        .post(
            "/v1/payments",
            &json!({"amount": 100, "reference": "r", "description": "d", "authorisation_mode": "moto_api"}),
        )
        .await;
    let token = created.json["_links"]["auth_url_post"]["params"]["one_time_token"]
        .as_str()
        .unwrap();
    let body = json!({"one_time_token": token, "card_number": moto_card, "cvc": "737", "expiry_date": "12/30", "cardholder_name": "A"});
    let authorised = server
        .send(
            reqwest::Method::POST,
            "/v1/auth",
            None,
            &[("Content-Type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(authorised.status, 204, "{}", authorised.text);
    server.sweep().await;
    assert_eq!(
        payment(&server, &id).await["card_details"]["last_digits_card_number"],
        "5556"
    );
    let path = server.db.path.clone().expect("sqlite file");
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        bytes.extend(std::fs::read(&p).unwrap_or_default());
    }
    assert!(!bytes.is_empty());
    for number in [card, moto_card] {
        let needle = number.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "card number {number} found in the database files"
        );
    }
    // The digits that may be kept are there (so the search above looked at real data).
    assert!(bytes.windows(6).any(|w| w == b"400005"));
    server.stop().await;
}

/// The card page starts from what the service prefilled; a service can take Maestro.
#[tokio::test]
async fn prefilled_details_and_per_service_brands() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let prefilled = json!({
        "email": "payer@example.org",
        "prefilled_cardholder_details": {
            "cardholder_name": "J. Payer",
            "billing_address": {"line1": "2 High Street", "city": "Cardiff", "postcode": "CF10 1AA", "country": "GB"}
        }
    });
    let (id, next) = new_payment(&server, &site, prefilled).await;
    let c = client();
    c.get(&next).send().await.unwrap();
    let page = c
        .get(format!("{}/card_details/{id}", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for value in [
        "J. Payer",
        "2 High Street",
        "Cardiff",
        "CF10 1AA",
        "payer@example.org",
    ] {
        assert!(
            page.contains(&format!("value=\"{value}\"")),
            "{value} prefilled"
        );
    }
    assert!(page.contains("<option value=\"GB\" selected>"));
    let csrf = csrf_of(&page);
    let maestro = "6759649826438453";
    let url = format!("{}/card_details/{id}", server.url);
    let refused = c
        .post(&url)
        .form(&card_form(&csrf, maestro))
        .send()
        .await
        .unwrap();
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Maestro cards are not accepted"));
    let mut service = server.service.clone();
    service
        .cards
        .accepted_brands
        .push(pence_core::journey::card::Brand::Maestro);
    server.store.update_service(&service, None).await.unwrap();
    let accepted = c
        .post(&url)
        .form(&card_form(&csrf, maestro))
        .send()
        .await
        .unwrap();
    assert_eq!(
        accepted.headers()["location"],
        format!("/card_details/{id}/confirm")
    );
    assert_eq!(
        payment(&server, &id).await["card_details"]["card_brand"],
        "Maestro"
    );
    server.stop().await;
}

/// The 3-D Secure result must carry the value Pence signed for this payment.
#[tokio::test]
async fn three_ds_results_must_be_signed() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let Paying { c, id, csrf, url } = paying(&server, &site).await;
    let r = c
        .post(&url)
        .form(&card_form(&csrf, "4000002500003155"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"],
        format!("/card_details/{id}/3ds_required")
    );
    let page = c
        .get(format!("{url}/3ds_required"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = "name=\"threeDsToken\" value=\"";
    let at = page.find(needle).unwrap() + needle.len();
    let seal = page[at..at + page[at..].find('"').unwrap()].to_string();
    let post = |seal: String| {
        c.post(format!("{url}/3ds_required_in"))
            .form(&[
                ("csrfToken", csrf.clone()),
                ("threeDsToken", seal),
                ("result", "pass".into()),
            ])
            .send()
    };
    assert_eq!(post("forged".into()).await.unwrap().status(), 403);
    assert_eq!(payment(&server, &id).await["state"]["status"], "started");
    let ok = post(seal.clone()).await.unwrap();
    assert_eq!(
        ok.headers()["location"],
        format!("/card_details/{id}/confirm")
    );
    // Used once: a replay finds the payment moved on and changes nothing.
    let replay = post(seal).await.unwrap();
    assert_eq!(
        replay.headers()["location"],
        format!("/card_details/{id}/confirm")
    );
    assert_eq!(
        event_states(&server, &id).await,
        ["created", "started", "submitted"]
    );
    server.stop().await;
}

/// Pays through the pages with `card` and confirms; returns the captured payment's id.
pub(crate) async fn paid_with(server: &TestServer, site: &ServiceSite, card: &str) -> String {
    let p = paying(server, site).await;
    enter_and_confirm(&p, card).await;
    let id = p.id;
    server.sweep().await;
    assert_eq!(
        payment(server, &id).await["refund_summary"]["status"],
        "available"
    );
    id
}

pence_testkit::engine_tests!(refunds_of_the_refund_error_card_fail_later);
/// Beyond GOV.UK Pay's sandbox: refunds of a payment made with 4000000000005126 are accepted,
/// then fail a moment later, and the amount becomes available again.
async fn refunds_of_the_refund_error_card_fail_later(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let id = paid_with(&server, &site, "4000000000005126").await;
    let refund = server
        .post(
            &format!("/v1/payments/{id}/refunds"),
            &json!({"amount": 500}),
        )
        .await;
    assert_eq!(refund.status, 202, "{}", refund.text);
    assert_eq!(refund.json["status"], "submitted");
    let summary = &payment(&server, &id).await["refund_summary"];
    assert_eq!(summary["amount_submitted"], 500);
    assert_eq!(summary["amount_available"], 14000);
    server.clock.advance(2_000);
    assert_eq!(server.sweep().await.refunds, 1);
    let refund_id = refund.json["refund_id"].as_str().unwrap();
    let after = server
        .get(&format!("/v1/payments/{id}/refunds/{refund_id}"))
        .await;
    assert_eq!(after.json["status"], "error");
    let summary = &payment(&server, &id).await["refund_summary"];
    assert_eq!(summary["amount_submitted"], 0);
    assert_eq!(summary["amount_available"], 14500);
    assert_eq!(summary["status"], "available");
    assert_eq!(server.sweep().await.refunds, 0, "recorded once");

    // Any other card's refunds succeed at once.
    let other = paid_with(&server, &site, "4242424242424242").await;
    let refund = server
        .post(
            &format!("/v1/payments/{other}/refunds"),
            &json!({"amount": 500}),
        )
        .await;
    assert_eq!(refund.json["status"], "success");
    server.stop().await;
}

/// A node sweeps by itself: a confirmed payment gets captured without anyone asking.
#[tokio::test]
async fn the_node_captures_in_the_background() {
    let options = pence_testkit::ServerOptions {
        background_sweeps: true,
        ..Default::default()
    };
    let server = TestServer::start_with(Engine::Sqlite, options).await;
    let site = ServiceSite::start().await;
    let p = paying(&server, &site).await;
    enter_and_confirm(&p, "4242424242424242").await;
    let id = p.id;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let p = payment(&server, &id).await;
        if p["settlement_summary"]["captured_date"].is_string() {
            assert_eq!(p["refund_summary"]["status"], "available");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not captured: {p}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.stop().await;
}

pence_testkit::engine_tests!(captured_payments_settle_a_day_later);
/// The sandbox pays out a day after capture: `settled_date`, and search by settled dates.
async fn captured_payments_settle_a_day_later(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let id = paid_with(&server, &site, "4242424242424242").await;
    let p = payment(&server, &id).await;
    assert!(p["settlement_summary"].get("settled_date").is_none());
    server.clock.advance(23 * 60 * 60 * 1000);
    assert_eq!(
        server.sweep().await.settled,
        0,
        "not before a day has passed"
    );
    server.clock.advance(60 * 60 * 1000);
    assert_eq!(server.sweep().await.settled, 1);
    assert_eq!(server.sweep().await.settled, 0, "settled once");
    let p = payment(&server, &id).await;
    let settled = p["settlement_summary"]["settled_date"]
        .as_str()
        .unwrap()
        .to_string();
    let captured = p["settlement_summary"]["captured_date"].as_str().unwrap();
    assert!(settled.as_str() > captured, "{settled} after {captured}");
    // Paid-out date >= from, < to (reference §12).
    for (query, total) in [
        (format!("from_settled_date={settled}"), 1),
        (format!("to_settled_date={settled}"), 0),
        (
            format!("from_settled_date={captured}&to_settled_date={settled}"),
            0,
        ),
    ] {
        let found = server.get(&format!("/v1/payments?{query}")).await;
        assert_eq!(found.json["total"], total, "{query}");
    }
    server.stop().await;
}

pence_testkit::engine_tests!(control_characters_typed_into_the_card_page_are_dropped);
/// A NUL (or another control character) typed into the card page is dropped, on both engines:
/// the payment goes on, and what is stored holds none.
async fn control_characters_typed_into_the_card_page_are_dropped(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let p = paying(&server, &site).await;
    let mut form = card_form(&p.csrf, "4444333322221111");
    for (name, value) in form.iter_mut() {
        match *name {
            "cardholderName" => *value = "Ada\u{0} Lovelace".into(),
            "addressLine1" => *value = "1 Example\u{0} Street".into(),
            "addressCity" => *value = "\u{7}London".into(),
            _ => {}
        }
    }
    let r = p.c.post(&p.url).form(&form).send().await.unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    p.c.post(format!("{}/confirm", p.url))
        .form(&[("csrfToken", p.csrf.clone())])
        .send()
        .await
        .unwrap();
    let paid = payment(&server, &p.id).await;
    assert_eq!(paid["state"]["status"], "success", "{paid}");
    let card = &paid["card_details"];
    assert_eq!(card["cardholder_name"], "Ada Lovelace");
    assert_eq!(card["billing_address"]["line1"], "1 Example Street");
    assert_eq!(card["billing_address"]["city"], "London");
    server.stop().await;
}

/// The state a crash between storing AUTHORISATION READY and the provider's answer leaves:
/// the payment moved as the card form moves it, with the card it keeps, and no answer.
async fn stranded(server: &TestServer, id: &str, first: &str, last: &str) {
    use pence_core::journey::card::{Brand, CardType};
    use pence_core::ledger::EventKind;
    use pence_core::payment::status::Status;
    use pence_core::payment::transition::{self, Move};
    use pence_core::payment::CardDetails;
    let moved = transition::step(
        server.store.as_ref(),
        server.clock.as_ref(),
        id,
        |p, now| {
            Some(
                Move::to(
                    p,
                    Status::AuthorisationReady,
                    EventKind::PaymentDetailsEntered,
                    now,
                )
                .with(|next| {
                    next.card = Some(CardDetails {
                        first_digits: first.into(),
                        last_digits: last.into(),
                        cardholder_name: "Ada Lovelace".into(),
                        expiry: "04/31".into(),
                        brand: Brand::parse("visa").unwrap(),
                        card_type: CardType::Debit,
                        billing_address: None,
                    })
                }),
            )
        },
    )
    .await
    .unwrap()
    .unwrap();
    assert!(moved.changed);
}

pence_testkit::engine_tests!(a_lost_authorisation_answer_is_recovered_by_the_sweep);
/// A crash between card submit and the provider's answer does not strand the payment for 90
/// minutes: a minute on, the sweep asks the provider again and the page shows the outcome.
async fn a_lost_authorisation_answer_is_recovered_by_the_sweep(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let good = paying(&server, &site).await;
    let declined = paying(&server, &site).await;
    stranded(&server, &good.id, "444433", "1111").await;
    stranded(&server, &declined.id, "400000", "0002").await;
    // Meanwhile the user sees the waiting page, and a sweep too soon changes nothing.
    let waiting = good.c.get(&good.url).send().await.unwrap();
    assert_eq!(waiting.status(), 200);
    assert_eq!(server.sweep().await.resumed, 0);
    assert_eq!(
        payment(&server, &good.id).await["state"]["status"],
        "started"
    );

    server.clock.advance(pence_core::sweeps::STUCK_AFTER_MS);
    assert_eq!(server.sweep().await.resumed, 2);
    assert_eq!(server.sweep().await.resumed, 0, "once");
    assert_eq!(
        payment(&server, &good.id).await["state"]["status"],
        "submitted"
    );
    let failed = payment(&server, &declined.id).await;
    assert_eq!(
        (&failed["state"]["status"], &failed["state"]["code"]),
        (&json!("failed"), &json!("P0010"))
    );
    // The page now shows where the payment stands: the confirm page.
    let page = good.c.get(&good.url).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()["location"],
        format!("/card_details/{}/confirm", good.id)
    );
    let events = event_states(&server, &good.id).await;
    assert_eq!(events.last().map(String::as_str), Some("submitted"));
    server.stop().await;
}

pence_testkit::engine_tests!(moto_payments_are_not_challenged);
/// A MOTO payment (`moto: true`) is keyed in by the service's staff: the inputs masked if the
/// service says so, and no 3-D Secure challenge, even with the sandbox's challenge card.
async fn moto_payments_are_not_challenged(engine: Engine) {
    let server = TestServer::start(engine).await;
    let mut service = server.service.clone();
    service.moto_enabled = true;
    service.cards.moto_mask_card_number = true;
    service.cards.moto_mask_security_code = true;
    server.store.update_service(&service, None).await.unwrap();
    let site = ServiceSite::start().await;
    // The service masks the card number and security code of MOTO payments as typed.
    let masked = |page: &str| {
        (
            page.contains(r#"id="card-no" name="cardNo" type="password""#),
            page.contains(r#"id="cvc" name="cvc" type="password""#),
        )
    };
    let web = paying_with(&server, &site, json!({})).await;
    let page = web
        .c
        .get(&web.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(masked(&page), (false, false), "only MOTO payments");
    let p = paying_with(&server, &site, json!({"moto": true})).await;
    let page = p.c.get(&p.url).send().await.unwrap().text().await.unwrap();
    assert_eq!(masked(&page), (true, true));
    let r =
        p.c.post(&p.url)
            .form(&card_form(&p.csrf, "4000002500003155"))
            .send()
            .await
            .unwrap();
    assert_eq!(
        r.headers()["location"],
        format!("/card_details/{}/confirm", p.id)
    );
    let shown = payment(&server, &p.id).await;
    assert_eq!(shown["moto"], true);
    assert_eq!(shown["state"]["status"], "submitted");
    assert!(shown.get("authorisation_summary").is_none());
    server.stop().await;
}

pence_testkit::engine_tests!(a_lost_moto_api_answer_is_recovered_by_the_sweep);
/// A MOTO API payment stranded in AUTHORISATION READY is finished by the same sweep, the
/// MOTO API's way: authorised, then captured without anybody confirming.
async fn a_lost_moto_api_answer_is_recovered_by_the_sweep(engine: Engine) {
    let server = TestServer::start(engine).await;
    let mut service = server.service.clone();
    service.moto_api_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    let created = server
        .post(
            "/v1/payments",
            &json!({"amount": 100, "reference": "r", "description": "d", "authorisation_mode": "moto_api"}),
        )
        .await;
    let id = created.json["payment_id"].as_str().unwrap().to_string();
    stranded(&server, &id, "444433", "1111").await;
    server.clock.advance(pence_core::sweeps::STUCK_AFTER_MS);
    let swept = server.sweep().await;
    assert_eq!((swept.resumed, swept.captured), (1, 1));
    let paid = payment(&server, &id).await;
    assert_eq!(
        paid["state"],
        json!({"status": "success", "finished": true})
    );
    server.stop().await;
}
