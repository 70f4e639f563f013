//! Payment links in real Chromium, as staff and payers use them: an admin makes a Welsh link
//! whose payer enters the amount and a reference, with two reporting columns; a payer opens
//! it prefilled, gets the amount wrong then right, pays with a test card and sees the link's
//! confirmation; the payment is in the API's search with the columns, on the link's page in
//! the admin tool, in the CSV, and its webhook is sent. A declined card shows the link's
//! failure page, whose retry works; view-only staff see links but cannot change them.

use pence_core::ports::prelude::*;
use pence_core::staff::Role;
use pence_core::webhook::subscription;
use pence_core::webhook::EventType;
use pence_testkit::{Browser, Engine, Receiver, ServerOptions, TestServer};

use super::admin::sign_in;
use super::fill_card;

/// Fills in and confirms the card page the browser is on.
async fn pay_on_card_page(b: &Browser, card: &str) {
    assert!(
        b.url().await.contains("/card_details/"),
        "{}",
        b.url().await
    );
    fill_card(b, card).await;
    b.click("#submit-card-details").await;
}

pence_testkit::engine_tests!(a_link_made_in_the_admin_tool_takes_a_payment);
async fn a_link_made_in_the_admin_tool_takes_a_payment(engine: Engine) {
    let server = TestServer::start_with(engine, ServerOptions::driven_delivery()).await;
    let receiver = Receiver::start().await;
    subscription::create(
        server.store.as_ref(),
        server.clock.as_ref(),
        pence_core::staff::Actor::Operator,
        &server.service,
        &receiver.url,
        "finance",
        &[EventType::Succeeded],
    )
    .await
    .expect("subscribe");

    let b = Browser::start().await;
    sign_in(&server, &b, "ada@council.example", Role::Admin).await;
    b.click("a[href$='/payment-links']").await;
    assert!(b.text("#test-links-warning").await.is_some());
    b.fill("payment-link-title", "Trwydded barcio").await;
    b.fill("payment-link-details", "Ar gyfer preswylwyr").await;
    b.toggle("amount-type-variable").await;
    b.toggle("reference-type-custom").await;
    b.fill("reference-label", "rhif y drwydded").await;
    b.toggle("language-cy").await;
    b.fill("reporting-columns", "cost_centre: AB12\nteam: parking")
        .await;
    b.fill("payment-link-path", "parcio").await;
    b.click("#create-payment-link").await;
    assert_eq!(
        b.text("#note").await.as_deref(),
        Some("Payment link created.")
    );
    let url = b.text("#payment-link-url").await.unwrap();
    assert!(url.ends_with("/parcio"), "{url}");

    // The payer, with the reference prefilled (the same browser: two at once could starve
    // the test kit's two browser slots; the link's pages do not look at the admin session).
    let admin_page = b.url().await;
    let payer = &b;
    payer.goto(&format!("{url}?reference=PN-42")).await;
    assert_eq!(
        payer.text("#link-title").await.as_deref(),
        Some("Trwydded barcio")
    );
    payer.click("#continue").await;
    assert!(
        payer.url().await.ends_with("/amount"),
        "{}",
        payer.url().await
    );
    payer.fill("payment-amount", "12.505").await;
    payer.click("#continue").await;
    let error = payer.text("#payment-amount-error").await.unwrap();
    assert!(
        error.contains("Cofnodwch swm mewn punnoedd a cheiniogau"),
        "{error}"
    );
    payer.fill("payment-amount", "12.50").await;
    payer.click("#continue").await;
    assert_eq!(payer.text("#reference").await.as_deref(), Some("PN-42"));
    assert_eq!(payer.text("#amount").await.as_deref(), Some("£12.50"));
    payer.click("#continue-to-payment").await;
    pay_on_card_page(payer, "4444333322221111").await;
    payer.click("#confirm").await;
    assert!(
        payer
            .text("#success-title")
            .await
            .unwrap()
            .contains("llwyddiannus"),
        "{}",
        payer.page().await
    );
    assert_eq!(
        payer.text("#payment-reference").await.as_deref(),
        Some("PN-42")
    );

    // An ordinary payment of the service.
    let found = server.get("/v1/payments?reference=PN-42").await;
    assert_eq!(found.json["count"], 1, "{}", found.text);
    let p = &found.json["results"][0];
    let id = p["payment_id"].as_str().unwrap().to_string();
    assert_eq!(p["metadata"]["cost_centre"], "AB12");
    assert_eq!(p["language"], "cy");
    assert_eq!(server.drain_webhooks().await, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event_type(), "card_payment_succeeded");
    assert_eq!(got[0].json["resource_id"], id.as_str());

    // The link's page shows what it took; the payment's page and the CSV have the columns.
    b.goto(&admin_page).await;
    let takings = b.text("#payment-link-takings").await.unwrap();
    assert!(
        takings.starts_with("1 payments, 1 successful, £12.50"),
        "{takings}"
    );
    b.click("#payment-link-payments a").await;
    assert_eq!(b.text("#payment-id").await.as_deref(), Some(id.as_str()));
    assert_eq!(
        b.text("#payment-source").await.as_deref(),
        Some("Payment link: Trwydded barcio")
    );
    let csv_path = format!(
        "/admin/services/{}/transactions/download?reference=PN-42",
        server.service.id
    );
    let csv = reqwest::Client::new()
        .get(format!("{}{csv_path}", server.url))
        .header("Cookie", b.cookie_header().await)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("cost_centre (metadata)") && csv.contains("AB12"),
        "{csv}"
    );

    // A declined card: the link's failure page, and a retry that starts the link again.
    payer.goto(&format!("{url}?reference=PN-43")).await;
    payer.click("#continue").await;
    payer.fill("payment-amount", "5").await;
    payer.click("#continue").await;
    payer.click("#continue-to-payment").await;
    pay_on_card_page(payer, "4000000000000002").await;
    payer.click("#return-url").await;
    assert!(
        payer.text("#failed-title").await.is_some(),
        "{}",
        payer.page().await
    );
    payer.click("#try-again").await;
    assert_eq!(
        payer.text("#link-title").await.as_deref(),
        Some("Trwydded barcio")
    );

    // Changing and deleting, as the admin.
    b.goto(&format!(
        "{}/admin/services/{}/payment-links",
        server.url, server.service.id
    ))
    .await;
    b.click("#payment-links a").await;
    b.fill("payment-link-title", "").await;
    b.click("#save-payment-link").await;
    assert!(b
        .text(".error-summary")
        .await
        .unwrap()
        .contains("Enter a title"));
    b.fill("payment-link-title", "Trwydded barcio 2026").await;
    b.click("#save-payment-link").await;
    assert_eq!(b.text("#note").await.as_deref(), Some("Saved."));
    b.click("#delete-payment-link").await;
    assert!(b.text("#no-links").await.is_some());
    b.close().await;
    let audit = server.store.audit_log(20).await.unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .filter(|a| a.action == "payment link")
        .map(|a| a.detail.split(' ').next().unwrap())
        .collect();
    assert_eq!(actions.len(), 3, "{audit:?}");
    server.stop().await;
}

pence_testkit::engine_tests!(view_only_staff_see_links_but_cannot_change_them);
async fn view_only_staff_see_links_but_cannot_change_them(engine: Engine) {
    let server = TestServer::start(engine).await;
    let made = server
        .post(
            "/pence/v1/payment_links",
            &serde_json::json!({"title": "Skip hire", "amount": 4000}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.json["id"].as_str().unwrap().to_string();
    let b = Browser::start_without_js().await;
    sign_in(&server, &b, "vic@council.example", Role::ViewOnly).await;
    let list = format!(
        "{}/admin/services/{}/payment-links",
        server.url, server.service.id
    );
    b.goto(&list).await;
    let page = b.page().await;
    assert!(page.contains("Skip hire"), "{page}");
    assert!(b.text("#create-payment-link").await.is_none());
    b.goto(&format!("{list}/{id}")).await;
    assert!(b
        .text("#payment-link-amount-shown")
        .await
        .unwrap()
        .contains("£40.00"));
    assert!(b.text("#save-payment-link").await.is_none());
    assert!(b.text("#delete-payment-link").await.is_none());
    // Posting the delete form anyway, with the session's own token, is refused.
    let csrf = pence_testkit::paying_user::csrf_of(&b.page().await);
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{list}/{id}/delete"))
        .header("Cookie", b.cookie_header().await)
        .form(&[("csrfToken", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    b.close().await;
    let still = server.get(&format!("/pence/v1/payment_links/{id}")).await;
    assert_eq!(still.status, 200);
    server.stop().await;
}

pence_testkit::engine_tests!(staff_take_a_payment_over_the_phone);
async fn staff_take_a_payment_over_the_phone(engine: Engine) {
    let server = TestServer::start(engine).await;
    let b = Browser::start().await;
    sign_in(&server, &b, "ray@council.example", Role::ViewAndRefund).await;
    let phone = format!(
        "{}/admin/services/{}/phone-payments",
        server.url, server.service.id
    );
    // Not until the service takes MOTO payments.
    assert!(b.text("a[href$='/phone-payments']").await.is_none());
    b.goto(&phone).await;
    assert!(b
        .page()
        .await
        .contains("does not take payments over the phone"));
    let mut service = server.service.clone();
    service.moto_enabled = true;
    server.store.update_service(&service, None).await.unwrap();

    b.goto(&format!("{}/admin", server.url)).await;
    b.click("a[href$='/phone-payments']").await;
    b.fill("phone-amount", "twelve").await;
    b.fill("phone-reference", "CALL-7").await;
    b.fill("phone-description", "Bulky waste collection").await;
    b.click("#take-phone-payment").await;
    assert!(b
        .text(".error-summary")
        .await
        .unwrap()
        .contains("Enter the amount"));
    b.fill("phone-amount", "35.00").await;
    b.click("#take-phone-payment").await;
    pay_on_card_page(&b, "4444333322221111").await;
    b.click("#confirm").await;
    assert_eq!(
        b.text("#phone-outcome").await.as_deref(),
        Some("The payment was successful"),
        "{}",
        b.page().await
    );
    assert_eq!(
        b.text("#phone-reference-shown").await.as_deref(),
        Some("CALL-7")
    );
    b.click("#phone-transaction").await;
    let id = b.text("#payment-id").await.unwrap();
    b.close().await;

    let p = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(p.json["moto"], true, "{}", p.text);
    assert_eq!(p.json["amount"], 3500);
    assert_eq!(p.json["state"]["status"], "success");
    assert!(
        p.json.get("authorisation_summary").is_none(),
        "no 3-D Secure: {}",
        p.text
    );
    let audit = server.store.audit_log(20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "phone payment" && a.detail.contains(&id)),
        "{audit:?}"
    );
    server.stop().await;
}
