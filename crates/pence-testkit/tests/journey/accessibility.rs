//! The admin tool's pages checked with axe-core (from npm, pinned; `scripts/compat` installs it
//! and runs this with `PENCE_AXE` naming its `axe.min.js`) in real Chromium: no violations of
//! WCAG 2.1 level A or AA on any page, signed out and signed in. Ignored in the plain test run,
//! which has no npm packages; without `PENCE_AXE` it fails rather than pass unchecked.

use pence_core::clock::Clock;
use pence_core::ports::prelude::*;
use pence_core::service::administer::{self, Actor};
use pence_core::staff::{secrets, Role};
use pence_testkit::{Browser, Engine, TestServer};
use serde_json::{json, Value};

/// The WCAG 2.1 A and AA rules' violations on the page `b` shows.
async fn violations(b: &Browser, axe: &str) -> Vec<String> {
    b.client
        .execute(&format!("{axe}\n;return true;"), vec![])
        .await
        .expect("load axe-core");
    let found = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
               .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    match found {
        Value::Array(v) => v
            .into_iter()
            .map(|s| s.as_str().unwrap_or("?").to_string())
            .collect(),
        other => vec![format!("unexpected answer {other}")],
    }
}

#[tokio::test]
#[ignore = "needs axe-core from npm: run by scripts/compat"]
async fn admin_pages_have_no_wcag_a_or_aa_violations() {
    let path = std::env::var("PENCE_AXE").expect("PENCE_AXE: the path of axe-core's axe.min.js");
    let axe = std::fs::read_to_string(&path).expect("axe.min.js");
    let server = TestServer::start(Engine::Sqlite).await;
    let created = server
        .post(
            "/v1/payments",
            &json!({"amount": 2500, "reference": "A11Y", "description": "Parking permit",
                "return_url": "https://service.example/done", "metadata": {"ward": "B"}}),
        )
        .await;
    let id = created.json["payment_id"].as_str().unwrap().to_string();
    let paid = server
        .post(
            &format!("/sandbox/v1/payments/{id}/pay"),
            &json!({"card_number": "4444333322221111"}),
        )
        .await;
    assert_eq!(paid.status, 200);
    server.sweep().await;
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": "https://service.example/hooks"}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let hook = hook.json["id"].as_str().unwrap().to_string();
    let link = server
        .post(
            "/pence/v1/payment_links",
            &json!({"title": "Parking permit", "reference": {"label": "Permit number"}}),
        )
        .await;
    assert_eq!(link.status, 201, "{}", link.text);
    let link = link.json["id"].as_str().unwrap().to_string();
    let mut moto = server.service.clone();
    moto.moto_enabled = true;
    server.store.update_service(&moto, None).await.unwrap();
    let email = "a11y@council.example";
    let (_, token) = administer::invite_user(
        server.store.as_ref(),
        server.clock.as_ref(),
        Actor::Operator,
        email,
        &server.service.id,
        Role::Admin,
    )
    .await
    .unwrap();

    let b = Browser::start().await;
    let mut report = Vec::new();
    let mut check = |page: String, found: Vec<String>| {
        for v in found {
            report.push(format!("{page}: {v}"));
        }
    };
    let base = server.url.clone();
    b.goto(&format!("{base}/admin/set-password/{token}")).await;
    check("set password".into(), violations(&b, &axe).await);
    b.fill("password", "short").await;
    b.click("#submit-password").await;
    check(
        "set password, with an error".into(),
        violations(&b, &axe).await,
    );
    b.fill("password", "a long enough password").await;
    b.fill("password-confirm", "a long enough password").await;
    b.click("#submit-password").await;
    check("sign in".into(), violations(&b, &axe).await);
    b.fill("email", email).await;
    b.fill("password", "a long enough password").await;
    b.click("#sign-in").await;
    check("authenticator set-up".into(), violations(&b, &axe).await);
    let secret = b.text("#totp-secret").await.unwrap();
    let code = secrets::code_at(&secret, email, server.clock.now_ms()).unwrap();
    b.fill("code", &code).await;
    b.click("#submit-code").await;
    let service = &server.service.id;
    for (name, path) in [
        ("services", "/admin".to_string()),
        (
            "transactions",
            format!("/admin/services/{service}/transactions"),
        ),
        (
            "transactions, filtered",
            format!("/admin/services/{service}/transactions?reference=A11Y&state=success"),
        ),
        (
            "payment",
            format!("/admin/services/{service}/transactions/{id}"),
        ),
        ("API keys", format!("/admin/services/{service}/api-keys")),
        ("webhooks", format!("/admin/services/{service}/webhooks")),
        (
            "a webhook",
            format!("/admin/services/{service}/webhooks/{hook}"),
        ),
        ("team", format!("/admin/services/{service}/team")),
        ("audit log", format!("/admin/services/{service}/audit")),
        ("dashboard", format!("/admin/services/{service}/dashboard")),
        ("settings", format!("/admin/services/{service}/settings")),
        (
            "agreements",
            format!("/admin/services/{service}/agreements"),
        ),
        ("disputes", format!("/admin/services/{service}/disputes")),
        (
            "payment links",
            format!("/admin/services/{service}/payment-links"),
        ),
        (
            "a payment link",
            format!("/admin/services/{service}/payment-links/{link}"),
        ),
        (
            "phone payment",
            format!("/admin/services/{service}/phone-payments"),
        ),
        (
            "a phone payment's outcome",
            format!("/admin/services/{service}/phone-payments/{id}"),
        ),
        (
            "not found",
            format!("/admin/services/{service}/transactions/nosuchpayment"),
        ),
    ] {
        b.goto(&format!("{base}{path}")).await;
        check(name.into(), violations(&b, &axe).await);
    }
    // The phone payment form with an error.
    b.goto(&format!("{base}/admin/services/{service}/phone-payments"))
        .await;
    b.click("#take-phone-payment").await;
    check(
        "phone payment, with an error".into(),
        violations(&b, &axe).await,
    );
    // The link form with an error.
    b.goto(&format!("{base}/admin/services/{service}/payment-links"))
        .await;
    b.click("#create-payment-link").await;
    check(
        "payment links, with an error".into(),
        violations(&b, &axe).await,
    );
    b.close().await;
    assert!(report.is_empty(), "axe-core found:\n{}", report.join("\n"));
    server.stop().await;
}

/// A payment link's own pages, signed out, in English and Welsh, with and without errors.
#[tokio::test]
#[ignore = "needs axe-core from npm: run by scripts/compat"]
async fn payment_link_pages_have_no_wcag_a_or_aa_violations() {
    let path = std::env::var("PENCE_AXE").expect("PENCE_AXE: the path of axe-core's axe.min.js");
    let axe = std::fs::read_to_string(&path).expect("axe.min.js");
    let server = TestServer::start(Engine::Sqlite).await;
    let b = Browser::start().await;
    let mut report = Vec::new();
    for language in ["en", "cy"] {
        let made = server
            .post(
                "/pence/v1/payment_links",
                &json!({"title": format!("Parking permit {language}"), "language": language,
                    "details": "Residents only.\n\nOne a household.",
                    "reference": {"label": "permit number", "hint": "On your letter"},
                    "amount_hint": "Up to £50"}),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text);
        let url = made.json["url"].as_str().unwrap().to_string();
        let mut check = |page: &str, found: Vec<String>| {
            for v in found {
                report.push(format!("{language} {page}: {v}"));
            }
        };
        b.goto(&url).await;
        check("start", violations(&b, &axe).await);
        b.click("#continue").await;
        check("reference", violations(&b, &axe).await);
        b.click("#continue").await;
        check("reference, with an error", violations(&b, &axe).await);
        b.fill("payment-reference", "4242 4242 4242 4242").await;
        b.click("#continue").await;
        check("reference, a card number", violations(&b, &axe).await);
        b.fill("payment-reference", "PN-1").await;
        b.click("#continue").await;
        check("amount", violations(&b, &axe).await);
        b.click("#continue").await;
        check("amount, with an error", violations(&b, &axe).await);
        b.fill("payment-amount", "10").await;
        b.click("#continue").await;
        check("confirm", violations(&b, &axe).await);
        b.goto(&format!("{url}?amount=nonsense")).await;
        check("a bad prefilled link", violations(&b, &axe).await);
    }
    b.goto(&format!("{}/pay/nosuchlink", server.url)).await;
    report.extend(
        violations(&b, &axe)
            .await
            .into_iter()
            .map(|v| format!("not found: {v}")),
    );
    b.close().await;
    assert!(report.is_empty(), "axe-core found:\n{}", report.join("\n"));
    server.stop().await;
}
