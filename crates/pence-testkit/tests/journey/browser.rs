//! Journeys driven in Chromium.

use pence_testkit::{Browser, Engine, ServiceSite, TestServer};
use serde_json::json;

use super::{event_states, fill_card, new_payment, pay, payment};

pence_testkit::engine_tests!(pays_with_a_good_card_and_returns_to_the_service);
async fn pays_with_a_good_card_and_returns_to_the_service(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let (id, next) = new_payment(&server, &site, json!({})).await;
    let b = Browser::start().await;
    b.goto(&next).await;
    assert!(b.url().await.ends_with(&format!("/card_details/{id}")));
    // GOV.UK Pay's structure, which existing browser tests rely on.
    let form = b
        .text(".charge-new__content #card-details-wrap form#card-details")
        .await;
    assert!(form.is_some(), "card form structure");
    assert!(b.page().await.contains("£145.00"));
    assert_eq!(payment(&server, &id).await["state"]["status"], "started");
    fill_card(&b, "4444333322221111").await;
    b.click("#submit-card-details").await;
    assert!(b.url().await.ends_with("/confirm"), "{}", b.url().await);
    let summary = b.text("#main-content").await.unwrap();
    assert!(
        summary.contains("1111") && summary.contains("Ada Lovelace"),
        "{summary}"
    );
    assert!(
        summary.contains("Visa") && summary.contains("12/30"),
        "{summary}"
    );
    let submitted = payment(&server, &id).await;
    assert_eq!(submitted["state"]["status"], "submitted");
    // Without 3-D Secure GOV.UK Pay shows no authorisation_summary at all (its public API
    // drops one whose three_d_secure.required is false).
    assert!(
        submitted.get("authorisation_summary").is_none(),
        "{submitted}"
    );
    // GOV.UK Pay's own smoke tests click exactly this selector.
    b.click(".govuk-grid-row > #main-content #confirm").await;
    assert_eq!(b.url().await, format!("{}/completed", site.url));
    b.close().await;

    let p = payment(&server, &id).await;
    assert_eq!(p["state"], json!({"status": "success", "finished": true}));
    assert_eq!(p["card_details"]["last_digits_card_number"], "1111");
    assert_eq!(p["card_details"]["first_digits_card_number"], "444433");
    assert_eq!(p["card_details"]["card_brand"], "Visa");
    assert_eq!(p["card_details"]["card_type"], "credit");
    assert_eq!(p["card_details"]["expiry_date"], "12/30");
    assert_eq!(p["card_details"]["billing_address"]["postcode"], "SW1A 1AA");
    assert_eq!(p["email"], "ada@example.org");
    assert_eq!(p["provider_id"].as_str().unwrap().len(), 36);
    assert!(p["_links"].get("next_url").is_none() && p["_links"].get("cancel").is_none());
    assert_eq!(
        event_states(&server, &id).await,
        ["created", "started", "submitted", "success"]
    );
    // The capture sweep completes the capture: refundable, with settlement times.
    server.sweep().await;
    let p = payment(&server, &id).await;
    assert_eq!(p["refund_summary"]["status"], "available");
    assert_eq!(p["refund_summary"]["amount_available"], 14500);
    assert!(p["settlement_summary"]["capture_submit_time"].is_string());
    assert!(p["settlement_summary"]["captured_date"].is_string());
    server.stop().await;
}

pence_testkit::engine_tests!(delayed_capture_waits_for_the_service);
async fn delayed_capture_waits_for_the_service(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let (id, next) = new_payment(&server, &site, json!({"delayed_capture": true})).await;
    let b = Browser::start().await;
    pay(&b, &next, "4242424242424242").await;
    b.click("#confirm").await;
    assert_eq!(b.url().await, format!("{}/completed", site.url));
    b.close().await;
    let p = payment(&server, &id).await;
    assert_eq!(
        p["state"],
        json!({"status": "capturable", "finished": false})
    );
    assert!(p["_links"]["capture"].is_object());
    let capture = server
        .post(&format!("/v1/payments/{id}/capture"), &json!({}))
        .await;
    assert_eq!(capture.status, 204);
    assert_eq!(payment(&server, &id).await["state"]["status"], "success");
    assert_eq!(
        event_states(&server, &id).await,
        ["created", "started", "submitted", "capturable", "success"]
    );
    server.stop().await;
}

/// Cards the sandbox refuses or fails on: a page with a way back, and the payment's code.
#[tokio::test]
async fn declined_and_errored_cards_end_the_payment() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let cases = [
        ("4000000000000002", "failed", "P0010", "declined"),
        ("4000000000000069", "failed", "P0010", "declined"),
        ("4000000000000127", "failed", "P0010", "declined"),
        ("4000000000000119", "error", "P0050", "could not take"),
    ];
    for (card, status, code, words) in cases {
        let (id, next) = new_payment(&server, &site, json!({})).await;
        let b = Browser::start().await;
        pay(&b, &next, card).await;
        let title = b.text("#message-title").await.unwrap_or_default();
        assert!(title.contains(words), "{card}: {title}");
        assert!(b.url().await.ends_with(&format!("/card_details/{id}")));
        b.click("#return-url").await;
        assert_eq!(b.url().await, format!("{}/completed", site.url));
        b.close().await;
        let p = payment(&server, &id).await;
        assert_eq!(p["state"]["status"], status, "{card}");
        assert_eq!(p["state"]["code"], code, "{card}");
        assert_eq!(p["card_details"]["last_digits_card_number"], &card[12..]);
        assert_eq!(
            event_states(&server, &id).await,
            ["created", "started", status],
            "{card}"
        );
    }
    server.stop().await;
}

pence_testkit::engine_tests!(three_d_secure_pass_and_fail);
async fn three_d_secure_pass_and_fail(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    for (button, status) in [("#three-ds-pass", "success"), ("#three-ds-fail", "failed")] {
        let (id, next) = new_payment(&server, &site, json!({})).await;
        let b = Browser::start().await;
        pay(&b, &next, "4000002500003155").await;
        assert!(
            b.url().await.ends_with("/3ds_required"),
            "{}",
            b.url().await
        );
        assert_eq!(payment(&server, &id).await["state"]["status"], "started");
        b.click(button).await;
        if status == "success" {
            b.click("#confirm").await;
            assert_eq!(b.url().await, format!("{}/completed", site.url));
        } else {
            assert!(b.text("#message-title").await.unwrap().contains("declined"));
        }
        b.close().await;
        let p = payment(&server, &id).await;
        assert_eq!(p["state"]["status"], status);
        assert_eq!(
            p["authorisation_summary"],
            json!({"three_d_secure": {"required": true}})
        );
        let events = event_states(&server, &id).await;
        assert_eq!(events.last().unwrap(), status);
    }
    server.stop().await;
}

#[tokio::test]
async fn user_cancels_from_the_card_page_and_from_the_confirm_page() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    for after_card in [false, true] {
        let (id, next) = new_payment(&server, &site, json!({})).await;
        let b = Browser::start().await;
        b.goto(&next).await;
        if after_card {
            fill_card(&b, "4444333322221111").await;
            b.click("#submit-card-details").await;
            assert!(b.url().await.ends_with("/confirm"));
        }
        b.click("#cancel-payment").await;
        assert_eq!(b.url().await, format!("{}/completed", site.url));
        b.close().await;
        let p = payment(&server, &id).await;
        assert_eq!(p["state"]["code"], "P0030");
        assert_eq!(p["state"]["message"], "Payment was cancelled by the user");
        assert_eq!(event_states(&server, &id).await.last().unwrap(), "failed");
    }
    server.stop().await;
}

#[tokio::test]
async fn validation_errors_keep_what_was_typed_but_never_the_card_number() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let (id, next) = new_payment(&server, &site, json!({})).await;
    let b = Browser::start_without_js().await;
    b.goto(&next).await;
    b.fill("card-no", "4444333322221112").await; // fails Luhn
    b.fill("cardholder-name", "Ada Lovelace").await;
    b.fill("cvc", "12").await;
    b.fill("address-line-1", "1 Example Street").await;
    b.fill("email", "not-an-email").await;
    b.click("#submit-card-details").await;
    let summary = b.text("#error-summary").await.expect("error summary");
    for words in [
        "valid card number",
        "expiry date",
        "security code",
        "town or city",
        "email",
    ] {
        assert!(summary.contains(words), "{words}: {summary}");
    }
    // Each summary entry links to its field; each field shows its own message.
    assert!(b.page().await.contains("href=\"#card-no\""));
    assert!(b.text("#error-card-no").await.is_some());
    assert!(b.text("#error-expiry-date").await.is_some());
    assert!(b.text("#error-cvc").await.is_some());
    assert!(b.text("#error-cardholder-name").await.is_none());
    assert_eq!(b.value("cardholder-name").await, "Ada Lovelace");
    assert_eq!(b.value("address-line-1").await, "1 Example Street");
    assert_eq!(b.value("card-no").await, "");
    assert_eq!(b.value("cvc").await, "");
    assert!(!b.page().await.contains("4444333322221112"));
    assert_eq!(payment(&server, &id).await["state"]["status"], "started");
    fill_card(&b, "5105105105105100").await;
    b.click("#submit-card-details").await;
    b.click("#confirm").await;
    assert_eq!(b.url().await, format!("{}/completed", site.url));
    b.close().await;
    let p = payment(&server, &id).await;
    assert_eq!(p["state"]["status"], "success");
    assert_eq!(p["card_details"]["card_brand"], "Mastercard");
    assert_eq!(p["card_details"]["card_type"], "debit");
    server.stop().await;
}

pence_testkit::engine_tests!(an_expired_payment_shows_it_and_cannot_be_paid);
async fn an_expired_payment_shows_it_and_cannot_be_paid(engine: Engine) {
    let server = TestServer::start(engine).await;
    let site = ServiceSite::start().await;
    let (id, next) = new_payment(&server, &site, json!({})).await;
    let b = Browser::start().await;
    b.goto(&next).await;
    fill_card(&b, "4444333322221111").await;
    // The user leaves the page open for 91 minutes.
    server.clock.advance(91 * 60 * 1000);
    assert_eq!(server.sweep().await.expired, 1);
    assert_eq!(server.sweep().await.expired, 0, "never twice");
    b.click("#submit-card-details").await;
    let title = b.text("#message-title").await.unwrap();
    assert!(title.contains("expired"), "{title}");
    b.close().await;
    let p = payment(&server, &id).await;
    assert_eq!(p["state"]["code"], "P0020");
    assert!(p.get("card_details").is_none(), "nothing was authorised");
    assert_eq!(
        event_states(&server, &id).await,
        ["created", "started", "failed"]
    );
    server.stop().await;
}

#[tokio::test]
async fn welsh_payments_are_in_welsh_throughout() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let (id, next) = new_payment(&server, &site, json!({"language": "cy"})).await;
    let b = Browser::start().await;
    b.goto(&next).await;
    let page = b.page().await;
    assert!(page.contains("lang=\"cy\""));
    assert!(
        page.contains("Rhowch fanylion y cerdyn"),
        "card page in Welsh"
    );
    b.click("#submit-card-details").await;
    assert!(b
        .text("#error-summary")
        .await
        .unwrap()
        .contains("Mae problem wedi codi"));
    fill_card(&b, "4444333322221111").await;
    b.click("#submit-card-details").await;
    assert!(
        b.page().await.contains("Cadarnhewch eich taliad"),
        "confirm page in Welsh"
    );
    assert_eq!(b.text("#confirm").await.unwrap(), "Cadarnhau'r taliad");
    b.click("#confirm").await;
    assert_eq!(b.url().await, format!("{}/completed", site.url));
    b.close().await;
    assert_eq!(payment(&server, &id).await["state"]["status"], "success");
    server.stop().await;
}

#[tokio::test]
async fn a_used_link_works_only_in_the_browser_that_used_it() {
    let server = TestServer::start(Engine::Sqlite).await;
    let site = ServiceSite::start().await;
    let (id, next) = new_payment(&server, &site, json!({})).await;
    let first = Browser::start().await;
    first.goto(&next).await;
    assert!(first.url().await.ends_with(&format!("/card_details/{id}")));
    let second = Browser::start().await;
    second.goto(&next).await;
    assert!(second
        .text("#message-title")
        .await
        .unwrap()
        .contains("has been used"));
    assert!(second.text("#card-no").await.is_none());
    // Nor can the second browser reach the card page directly.
    second
        .goto(&format!("{}/card_details/{id}", server.url))
        .await;
    assert!(second.text("#card-no").await.is_none());
    second.close().await;
    // The first browser resumes where it was.
    first.goto(&next).await;
    fill_card(&first, "4444333322221111").await;
    first.click("#submit-card-details").await;
    first.click("#confirm").await;
    assert_eq!(first.url().await, format!("{}/completed", site.url));
    first.close().await;
    assert_eq!(payment(&server, &id).await["state"]["status"], "success");
    server.stop().await;
}

pence_testkit::engine_tests!(corporate_cards_pay_the_service_surcharge);
async fn corporate_cards_pay_the_service_surcharge(engine: Engine) {
    let server = TestServer::start(engine).await;
    let mut service = server.service.clone();
    service.cards.surcharge_credit = 250;
    service.cards.surcharge_debit = 50;
    pence_core::ServiceStore::update_service(server.store.as_ref(), &service, None)
        .await
        .unwrap();
    let site = ServiceSite::start().await;
    let (id, next) = new_payment(&server, &site, json!({})).await;
    let b = Browser::start().await;
    b.goto(&next).await;
    assert!(b.text("#surcharge-notice").await.unwrap().contains("£2.50"));
    fill_card(&b, "4111111111111111").await; // corporate credit
    b.click("#submit-card-details").await;
    assert_eq!(b.text("#amount").await.unwrap(), "£147.50");
    assert!(b.text("#surcharge-notice").await.unwrap().contains("£2.50"));
    b.click("#confirm").await;
    b.close().await;
    server.sweep().await;
    let p = payment(&server, &id).await;
    assert_eq!(p["amount"], 14500);
    assert_eq!(p["corporate_card_surcharge"], 250);
    assert_eq!(p["total_amount"], 14750);
    assert_eq!(p["refund_summary"]["amount_available"], 14750);
    // The whole total can be refunded, and no more.
    let refund = server
        .post(
            &format!("/v1/payments/{id}/refunds"),
            &json!({"amount": 14750}),
        )
        .await;
    assert_eq!(refund.status, 202, "{}", refund.text);
    assert_eq!(
        payment(&server, &id).await["refund_summary"]["status"],
        "full"
    );
    server.stop().await;
}
