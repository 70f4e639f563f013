//! The admin tool in real Chromium: a user invited with a one-time link sets a password,
//! signs in with an authenticator code (set up on the way), finds a payment by reference and
//! refunds part of it (the API shows the refund); a view-only user (JavaScript off) sees no
//! refund button and a forged refund POST is refused; another service's payment is not found;
//! repeated wrong passwords lock the account.

use pence_core::clock::Clock;
use pence_core::ports::prelude::*;
use pence_core::service::administer::{self, Actor};
use pence_core::staff::{secrets, Role};
use pence_testkit::{Browser, Engine, TestServer};
use serde_json::json;

pub(crate) const PASSWORD: &str = "a long enough password";

pub(crate) async fn paid_payment(server: &TestServer, key: &str, reference: &str) -> String {
    let created = server
        .post_as(
            key,
            "/v1/payments",
            &json!({"amount": 2500, "reference": reference, "description": "Parking permit",
                "return_url": "https://service.example/done", "metadata": {"ward": "B"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["payment_id"].as_str().unwrap().to_string();
    let paid = server
        .post_as(
            key,
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    id
}

/// Invites `email` with `role` on the server's service and signs in all the way in `b`.
pub(crate) async fn sign_in(server: &TestServer, b: &Browser, email: &str, role: Role) {
    let (_, token) = administer::invite_user(
        server.store.as_ref(),
        server.clock.as_ref(),
        Actor::Operator,
        email,
        &server.service.id,
        role,
    )
    .await
    .unwrap();
    b.goto(&format!("{}/admin/set-password/{token}", server.url))
        .await;
    assert_eq!(b.text("#user-email").await.as_deref(), Some(email));
    b.fill("password", PASSWORD).await;
    b.fill("password-confirm", PASSWORD).await;
    b.click("#submit-password").await;
    assert!(
        b.url().await.ends_with("/admin/login?from=password"),
        "{}",
        b.url().await
    );
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.click("#sign-in").await;
    assert!(b.url().await.ends_with("/admin/two-factor"));
    // First sign-in: the key is shown as text (and as a QR code) for the app.
    let secret = b.text("#totp-secret").await.expect("the key as text");
    assert!(b.page().await.contains("<svg"), "a QR code");
    b.fill("code", "000000").await;
    b.click("#submit-code").await;
    assert!(b
        .text(".error-summary")
        .await
        .unwrap()
        .contains("The security code is not correct"));
    let code = secrets::code_at(&secret, email, server.clock.now_ms()).unwrap();
    b.fill("code", &code).await;
    b.click("#submit-code").await;
    assert!(b.url().await.ends_with("/admin"), "{}", b.url().await);
    assert_eq!(b.text("#signed-in-as").await.as_deref(), Some(email));
}

pence_testkit::engine_tests!(staff_find_and_refund_a_payment);
async fn staff_find_and_refund_a_payment(engine: Engine) {
    let server = TestServer::start(engine).await;
    let id = paid_payment(&server, &server.key, "PERMIT-7").await;
    paid_payment(&server, &server.key, "PERMIT-8").await;
    server.sweep().await; // captured: refundable
    let (_, other_key) = server.new_service(false).await;
    let elsewhere = paid_payment(&server, &other_key, "NOT-YOURS").await;

    let b = Browser::start().await;
    sign_in(&server, &b, "ada@council.example", Role::Admin).await;
    b.click("a[href$='/transactions']").await;
    assert!(b
        .text("#result-count")
        .await
        .unwrap()
        .starts_with("2 transactions"));
    // Filtered by the API's parameter name: the list has a URL.
    let list = format!(
        "{}/admin/services/{}/transactions",
        server.url, server.service.id
    );
    b.goto(&format!("{list}?reference=PERMIT-7")).await;
    assert_eq!(
        b.text("#result-count").await.as_deref(),
        Some("1 transaction")
    );
    assert_eq!(b.value("reference").await, "PERMIT-7");
    // Metadata, which the API cannot search: keys and values, any case.
    b.goto(&format!("{list}?metadata=WARD")).await;
    assert!(b
        .text("#result-count")
        .await
        .unwrap()
        .starts_with("2 transactions"));
    b.goto(&format!("{list}?metadata=nowhere")).await;
    assert!(b
        .text("#result-count")
        .await
        .unwrap()
        .starts_with("0 transactions"));
    b.goto(&format!("{list}?reference=PERMIT-7")).await;
    // The filtered list as GOV.UK Pay's CSV, fetched with the browser's own session.
    let href = b
        .client
        .find(fantoccini::Locator::Id("download-csv"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        href.ends_with("/transactions/download?reference=PERMIT-7"),
        "{href}"
    );
    let csv = reqwest::Client::new()
        .get(format!("{}{href}", server.url))
        .header("Cookie", b.cookie_header().await)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("Reference,Description,Email,Amount,Card Brand,"),
        "{text}"
    );
    assert!(
        lines[0].ends_with(",Wallet Type,Card Type,ward (metadata)"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("PERMIT-7,Parking permit,payer@example.org,25.00,Visa,"),
        "{text}"
    );
    assert!(
        lines[1].contains(",Success,true,,,") && lines[1].contains(&id),
        "{text}"
    );
    assert!(lines[1].ends_with(",credit,B"), "{text}");
    b.click("#transactions a").await;
    assert_eq!(b.text("#payment-id").await.as_deref(), Some(id.as_str()));
    assert_eq!(b.text("#payment-state").await.as_deref(), Some("success"));
    assert!(b.text("#metadata").await.unwrap().contains("ward"));
    b.fill("refund-amount", "30.00").await;
    b.click("#refund-submit").await;
    assert!(
        b.text(".error-summary").await.unwrap().contains(
            "The payment is not available for refund. Payment refund status: amount_not_available"
        ),
        "{}",
        b.page().await
    );
    b.fill("refund-amount", "5.50").await;
    b.click("#refund-submit").await;
    assert_eq!(b.text("#note").await.as_deref(), Some("Refund submitted."));
    assert_eq!(b.text("#refunded-amount").await.as_deref(), Some("£5.50"));
    let refunds = server.get(&format!("/v1/payments/{id}/refunds")).await;
    assert_eq!(refunds.json["_embedded"]["refunds"][0]["amount"], 550);
    let audit = server.store.audit_log(10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "refund" && e.detail.contains(&id)),
        "{audit:?}"
    );

    // A delayed-capture payment is captured, and an unpaid one cancelled, from their pages.
    let delayed = server
        .post(
            "/v1/payments",
            &json!({"amount": 1000, "reference": "DELAYED", "description": "Permit",
                "return_url": "https://service.example/done", "delayed_capture": true}),
        )
        .await;
    let delayed = delayed.json["payment_id"].as_str().unwrap().to_string();
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{delayed}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.status, 200);
    b.goto(&format!("{list}/{delayed}")).await;
    assert_eq!(
        b.text("#payment-state").await.as_deref(),
        Some("capturable")
    );
    b.click("#capture").await;
    assert_eq!(b.text("#note").await.as_deref(), Some("Payment captured."));
    let p = server.get(&format!("/v1/payments/{delayed}")).await;
    assert_eq!(p.json["state"]["status"], "success");
    let unpaid = server
        .post(
            "/v1/payments",
            &json!({"amount": 1000, "reference": "UNPAID", "description": "Permit",
                "return_url": "https://service.example/done"}),
        )
        .await;
    let unpaid = unpaid.json["payment_id"].as_str().unwrap().to_string();
    b.goto(&format!("{list}/{unpaid}")).await;
    assert!(b.text("#capture").await.is_none());
    b.click("#cancel").await;
    assert_eq!(b.text("#note").await.as_deref(), Some("Payment cancelled."));
    let p = server.get(&format!("/v1/payments/{unpaid}")).await;
    assert_eq!(p.json["state"]["code"], "P0040");

    // The dashboard counts the three successful payments and the refund, today and this week.
    b.goto(&format!(
        "{}/admin/services/{}/dashboard",
        server.url, server.service.id
    ))
    .await;
    for period in ["today", "week"] {
        assert_eq!(
            b.text(&format!("#{period}-payments")).await.as_deref(),
            Some("3 (£60.00)")
        );
        assert_eq!(
            b.text(&format!("#{period}-refunds")).await.as_deref(),
            Some("1 (£5.50)")
        );
        assert_eq!(
            b.text(&format!("#{period}-net")).await.as_deref(),
            Some("£54.50")
        );
    }
    let chart = b.text("#payments-chart figcaption").await.unwrap();
    assert!(
        chart.starts_with("3 successful payments in the last 14 days"),
        "{chart}"
    );

    // Another service's payment, and a service the user has no role on: not found.
    b.goto(&format!("{list}/{elsewhere}")).await;
    let page = b.page().await;
    assert!(page.contains("Page not found"), "{page}");
    b.goto(&format!(
        "{}/admin/services/nosuchservice/transactions",
        server.url
    ))
    .await;
    let page = b.page().await;
    assert!(page.contains("Page not found"), "{page}");

    b.click("#sign-out").await;
    assert!(b.url().await.ends_with("/admin/login?from=signed-out"));
    b.goto(&format!("{}/admin", server.url)).await;
    assert!(
        b.url().await.ends_with("/admin/login"),
        "signed out: {}",
        b.url().await
    );
    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn view_only_staff_cannot_refund_and_failures_lock_the_account() {
    let server = TestServer::start(Engine::Sqlite).await;
    let id = paid_payment(&server, &server.key, "PERMIT-9").await;
    server.sweep().await;
    let b = Browser::start_without_js().await;
    sign_in(&server, &b, "viewer@council.example", Role::ViewOnly).await;
    let page = format!(
        "{}/admin/services/{}/transactions/{id}",
        server.url, server.service.id
    );
    b.goto(&page).await;
    assert_eq!(b.text("#payment-state").await.as_deref(), Some("success"));
    assert!(
        b.text("#refund-submit").await.is_none(),
        "no refund button for view-only"
    );
    b.close().await;

    // The POST itself is refused, even with the session's own CSRF token.
    let (c, csrf) = signed_in_client(&server, "viewer@council.example").await;
    let forged = c
        .post(format!("{page}/refund"))
        .form(&[("csrfToken", csrf.as_str()), ("amount", "1.00")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let refunds = server.get(&format!("/v1/payments/{id}/refunds")).await;
    assert_eq!(refunds.json["_embedded"]["refunds"], json!([]));
    // Capture and cancel are refused to the role just the same.
    for action in ["capture", "cancel"] {
        let forged = c
            .post(format!("{page}/{action}"))
            .form(&[("csrfToken", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403, "{action}");
        assert!(forged.text().await.unwrap().contains("You cannot do this"));
    }
    let payment = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(payment.json["state"]["status"], "success");

    // Five wrong passwords lock the account: the right one is refused for 15 minutes.
    let b = Browser::start().await;
    b.goto(&format!("{}/admin/login", server.url)).await;
    for _ in 0..5 {
        b.fill("email", "viewer@council.example").await;
        b.fill("password", "not the password").await;
        b.click("#sign-in").await;
        assert!(b
            .text(".error-summary")
            .await
            .unwrap()
            .contains("not correct"));
    }
    b.fill("email", "viewer@council.example").await;
    b.fill("password", PASSWORD).await;
    b.click("#sign-in").await;
    assert!(
        b.text(".error-summary").await.unwrap().contains("locked"),
        "{}",
        b.page().await
    );
    b.close().await;
    server.stop().await;
}

// An admin creates an API key (shown once; the API takes it) and revokes it (the API stops
// taking it), adds a webhook (its secret shown once) and reads the delivery attempt of a
// message it was sent.
pence_testkit::engine_tests!(admins_manage_keys_and_webhooks);
async fn admins_manage_keys_and_webhooks(engine: Engine) {
    let server = TestServer::start(engine).await;
    let receiver = pence_testkit::Receiver::start().await;
    let b = Browser::start().await;
    sign_in(&server, &b, "admin@council.example", Role::Admin).await;
    b.click("a[href$='/api-keys']").await;
    b.fill("api-key-description", "Finance reports").await;
    b.click("#create-api-key").await;
    let key = b.text("#new-api-key").await.expect("the key, once");
    assert!(key.starts_with("api_test_"), "{key}");
    assert_eq!(server.get_as(&key, "/v1/payments").await.status, 200);
    b.goto(&format!(
        "{}/admin/services/{}/api-keys",
        server.url, server.service.id
    ))
    .await;
    assert!(b.text("#new-api-key").await.is_none(), "shown only once");
    let table = b.text("#api-keys").await.unwrap();
    assert!(
        table.contains("Finance reports") && table.contains("active"),
        "{table}"
    );
    // Its use just now is noted beside the request, so it may take a moment to show.
    for _ in 0..100 {
        let keys = server.store.api_keys().await.unwrap();
        if keys
            .iter()
            .any(|k| k.description == "Finance reports" && k.last_used_ms.is_some())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    b.goto(&format!(
        "{}/admin/services/{}/api-keys",
        server.url, server.service.id
    ))
    .await;
    let rows = b
        .client
        .find_all(fantoccini::Locator::Css("#api-keys tbody tr"))
        .await
        .unwrap();
    let mut row = String::new();
    for r in rows {
        let text = r.text().await.unwrap();
        if text.contains("Finance reports") {
            row = text;
        }
    }
    assert!(
        row.contains("active") && !row.contains("never"),
        "last use shown: {row}"
    );
    // The new key's row is the one with the description; its revoke button ends it.
    let id = server
        .store
        .api_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.description == "Finance reports")
        .unwrap()
        .id;
    b.click(&format!("#revoke-{id}")).await;
    assert_eq!(
        b.text("#note").await.as_deref(),
        Some("The key is revoked.")
    );
    assert_eq!(server.get_as(&key, "/v1/payments").await.status, 401);

    b.goto(&format!(
        "{}/admin/services/{}/webhooks",
        server.url, server.service.id
    ))
    .await;
    b.fill("webhook-url", "not a url").await;
    b.click("#create-webhook").await;
    assert!(b
        .text(".error-summary")
        .await
        .unwrap()
        .contains("callback URL"));
    b.fill("webhook-url", &receiver.url).await;
    b.fill("webhook-description", "Our backend").await;
    b.click("#create-webhook").await;
    let secret = b.text("#webhook-secret").await.expect("the secret, once");
    paid_payment(&server, &server.key, "HOOKED").await;
    let got = receiver
        .wait_for(1, std::time::Duration::from_secs(20))
        .await;
    assert!(got[0].signed_with(&secret));
    b.click("#webhooks a").await;
    let log = b.text("#webhook-messages").await.unwrap();
    assert!(
        log.contains("card_payment_succeeded") && log.contains("HTTP 200"),
        "{log}"
    );
    // The payment's page lists its messages too.
    let hooked = got[0].json["resource_id"].as_str().unwrap().to_string();
    let webhooks_page = b.url().await;
    b.goto(&format!(
        "{}/admin/services/{}/transactions/{hooked}",
        server.url, server.service.id
    ))
    .await;
    let messages = b.text("#payment-webhook-messages").await.unwrap();
    assert!(
        messages.contains("card_payment_succeeded") && messages.contains("HTTP 200"),
        "{messages}"
    );
    b.goto(&webhooks_page).await;
    b.toggle("event-card_payment_captured").await;
    b.click("#save-events").await;
    assert_eq!(b.text("#note").await.as_deref(), Some("Saved."));
    let sub = server
        .store
        .webhooks(Some(&server.service.id))
        .await
        .unwrap()
        .remove(0);
    let types: Vec<&str> = sub.event_types.iter().map(|e| e.as_str()).collect();
    assert!(
        !types.contains(&"card_payment_captured") && types.contains(&"card_payment_succeeded"),
        "{types:?}"
    );
    b.click("#toggle-webhook").await;
    assert_eq!(b.text("#webhook-state").await.as_deref(), Some("inactive"));
    // Settings: a bad surcharge is refused; saved ones are what the card pages use.
    b.goto(&format!(
        "{}/admin/services/{}/settings",
        server.url, server.service.id
    ))
    .await;
    b.fill("surcharge-credit", "two pounds").await;
    b.click("#save-settings").await;
    assert!(b
        .text(".error-summary")
        .await
        .unwrap()
        .contains("Enter a surcharge"));
    b.fill("surcharge-credit", "2.50").await;
    b.toggle("billing-address").await; // on by default: now off
    b.toggle("brand-maestro").await; // off by default: now on
    b.fill("custom-paragraph", "Keep $reference for your records.")
        .await;
    b.click("#save-settings").await;
    assert_eq!(
        b.text("#note").await.as_deref(),
        Some("Your settings are saved.")
    );
    let saved = server
        .store
        .service(&server.service.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.cards.surcharge_credit, 250);
    assert!(!saved.cards.collect_billing_address);
    assert!(saved
        .cards
        .accepted_brands
        .contains(&pence_core::journey::card::Brand::Maestro));
    assert_eq!(
        saved.emails.custom_paragraph.as_deref(),
        Some("Keep $reference for your records.")
    );
    assert_eq!(saved.moto_enabled, server.service.moto_enabled);

    // The team: an invitation's link, then a role change.
    b.goto(&format!(
        "{}/admin/services/{}/team",
        server.url, server.service.id
    ))
    .await;
    b.fill("invite-email", "Bob@Council.example").await;
    b.select("invite-role", "view-only").await;
    b.click("#invite").await;
    let link = b.text("#invite-link").await.expect("the invitation link");
    let opened = reqwest::get(&link).await.unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().await.unwrap().contains("bob@council.example"));
    let bob = server
        .store
        .user_by_email("bob@council.example")
        .await
        .unwrap()
        .unwrap();
    b.select(&format!("role-{}", bob.id), "view-and-refund")
        .await;
    b.click("#team button[type=submit]").await;
    assert_eq!(
        b.text("#note").await.as_deref(),
        Some("The role is changed.")
    );
    let roles = server.store.roles(&bob.id).await.unwrap();
    assert_eq!(roles, [(server.service.id.clone(), Role::ViewAndRefund)]);
    assert!(b.text("#team").await.unwrap().contains("(you)"));

    // The audit log, as the service's admins read it.
    b.goto(&format!(
        "{}/admin/services/{}/audit",
        server.url, server.service.id
    ))
    .await;
    let log = b.text("#audit-log").await.unwrap();
    assert!(
        log.contains("admin@council.example")
            && log.contains("revoked API key")
            && log.contains("invited bob@council.example as view-only")
            && log.contains("changed bob@council.example's role to view-and-refund"),
        "{log}"
    );
    let audit = server.store.audit_log(20).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"api key") && actions.contains(&"webhook") && actions.contains(&"team"),
        "{actions:?}"
    );
    b.close().await;
    server.stop().await;
}

// Agreements (an active one cancelled from the tool, through the API's use case) and
// disputes (a lost one listed) of a service.
pence_testkit::engine_tests!(agreements_and_disputes_in_the_tool);
async fn agreements_and_disputes_in_the_tool(engine: Engine) {
    let server = TestServer::start(engine).await;
    let mut service = server.service.clone();
    service.recurring_enabled = true;
    server.store.update_service(&service, None).await.unwrap();
    let agreement = server
        .post(
            "/v1/agreements",
            &json!({"reference": "CT-1", "description": "Council tax"}),
        )
        .await;
    let agreement = agreement.json["agreement_id"].as_str().unwrap().to_string();
    let setup = server
        .post(
            "/v1/payments",
            &json!({"amount": 500, "reference": "SETUP", "description": "First payment",
                "return_url": "https://service.example/done", "set_up_agreement": agreement}),
        )
        .await;
    let setup = setup.json["payment_id"].as_str().unwrap().to_string();
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{setup}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    // A payment that will be disputed (and lost) a minute after capture.
    let disputed = server
        .post(
            "/v1/payments",
            &json!({"amount": 3000, "reference": "DISPUTED", "description": "Permit",
                "return_url": "https://service.example/done"}),
        )
        .await;
    let disputed = disputed.json["payment_id"].as_str().unwrap().to_string();
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{disputed}/pay"),
            &json!({"card_number": "4000000000000259"}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    server.sweep().await;
    let moved = server
        .post("/sandbox/v1/clock", &json!({"advance_seconds": 120}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    server.sweep().await;

    let b = Browser::start().await;
    sign_in(&server, &b, "ops@council.example", Role::ViewAndRefund).await;
    b.goto(&format!(
        "{}/admin/services/{}/agreements",
        server.url, server.service.id
    ))
    .await;
    assert_eq!(
        b.text("#agreement-count").await.as_deref(),
        Some("1 agreement")
    );
    assert!(b.text("#agreements").await.unwrap().contains("active"));
    b.click(&format!("#cancel-{agreement}")).await;
    assert_eq!(
        b.text("#note").await.as_deref(),
        Some("The agreement is cancelled.")
    );
    let a = server.get(&format!("/v1/agreements/{agreement}")).await;
    assert_eq!(a.json["status"], "cancelled");
    b.goto(&format!(
        "{}/admin/services/{}/disputes",
        server.url, server.service.id
    ))
    .await;
    assert_eq!(b.text("#dispute-count").await.as_deref(), Some("1 dispute"));
    let row = b.text("#disputes").await.unwrap();
    assert!(row.contains(&disputed) && row.contains("£30.00"), "{row}");
    b.close().await;
    server.stop().await;
}

/// A cookie-keeping HTTP client signed in as `email` (whose password is set) with password
/// and authenticator code, and the session's CSRF token. The node's clock moves on 30
/// seconds first: a code signs in once, and the user may have just used this one.
pub(crate) async fn signed_in_client(
    server: &TestServer,
    email: &str,
) -> (reqwest::Client, String) {
    server.clock.advance(30_000);
    let c = pence_testkit::paying_user::browser_like();
    let login = c
        .get(format!("{}/admin/login", server.url))
        .send()
        .await
        .unwrap();
    let csrf = pence_testkit::paying_user::csrf_of(&login.text().await.unwrap());
    let signed = c
        .post(format!("{}/admin/login", server.url))
        .form(&[
            ("csrfToken", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let two = c
        .get(format!("{}/admin/two-factor", server.url))
        .send()
        .await
        .unwrap();
    let csrf = pence_testkit::paying_user::csrf_of(&two.text().await.unwrap());
    let user = server.store.user_by_email(email).await.unwrap().unwrap();
    let code = secrets::code_at(
        user.totp_secret.as_deref().unwrap(),
        &user.email,
        server.clock.now_ms(),
    )
    .unwrap();
    let done = c
        .post(format!("{}/admin/two-factor", server.url))
        .form(&[("csrfToken", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.headers()["location"], "/admin");
    (c, csrf)
}

/// A new user with `role` on the server's service whose password is set (over HTTP).
pub(crate) async fn new_user(server: &TestServer, email: &str, role: Role) {
    let (_, token) = administer::invite_user(
        server.store.as_ref(),
        server.clock.as_ref(),
        Actor::Operator,
        email,
        &server.service.id,
        role,
    )
    .await
    .unwrap();
    let c = pence_testkit::paying_user::browser_like();
    let url = format!("{}/admin/set-password/{token}", server.url);
    let page = c.get(&url).send().await.unwrap().text().await.unwrap();
    let csrf = pence_testkit::paying_user::csrf_of(&page);
    let set = c
        .post(&url)
        .form(&[
            ("csrfToken", csrf.as_str()),
            ("password", PASSWORD),
            ("passwordConfirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 303, "{}", set.text().await.unwrap());
}

pence_testkit::engine_tests!(multi_thread: a_refund_form_sent_twice_refunds_once);
/// The refund form carries what was left to refund when the page was shown, as the API's
/// `refund_amount_available` does: sent twice at once (a double click), or sent again after
/// it refunded (back and resubmit), it refunds once, and the other answer says why.
async fn a_refund_form_sent_twice_refunds_once(engine: Engine) {
    let server = TestServer::start(engine).await;
    let id = paid_payment(&server, &server.key, "PERMIT-2X").await;
    server.sweep().await;
    new_user(&server, "refunds@council.example", Role::ViewAndRefund).await;
    let (c, _) = signed_in_client(&server, "refunds@council.example").await;
    let page = format!(
        "{}/admin/services/{}/transactions/{id}",
        server.url, server.service.id
    );
    let shown = c.get(&page).send().await.unwrap().text().await.unwrap();
    let csrf = pence_testkit::paying_user::csrf_of(&shown);
    let available = shown
        .split("name=\"refund_amount_available\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form says what is left to refund")
        .to_string();
    assert_eq!(available, "2500");
    let submit = || {
        let form = [
            ("csrfToken", csrf.clone()),
            ("amount", "1.00".to_string()),
            ("refund_amount_available", available.clone()),
        ];
        c.post(format!("{page}/refund")).form(&form).send()
    };
    let (one, two) = tokio::join!(submit(), submit());
    let mut statuses = vec![one.unwrap().status(), two.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [303, 400], "one refunds, the other is told");
    let again = submit().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("This payment has been refunded since the page was loaded"));
    let refunds = server.get(&format!("/v1/payments/{id}/refunds")).await;
    let refunds = refunds.json["_embedded"]["refunds"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    // A form without the amount left (an old page) refunds nothing either.
    let old = c
        .post(format!("{page}/refund"))
        .form(&[("csrfToken", csrf.as_str()), ("amount", "1.00")])
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 400);
    let refunds = server.get(&format!("/v1/payments/{id}/refunds")).await;
    assert_eq!(
        refunds.json["_embedded"]["refunds"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    server.stop().await;
}
