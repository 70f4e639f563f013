//! The admin tool reads like a GOV.UK service at a phone's width and a desktop's: no page is
//! wider than the screen (a long reference, a webhook URL, ids and keys wrap or scroll in
//! their table), dates are written as a person reads them, and the dashboard's chart says
//! its scale.

use pence_core::staff::Role;
use pence_testkit::{Browser, Engine, TestServer};
use serde_json::json;

use crate::admin::{paid_payment, sign_in};

#[tokio::test]
async fn every_admin_page_fits_a_phone_and_a_desktop() {
    let server = TestServer::start(Engine::Sqlite).await;
    let long = "COUNCIL-TAX-2026-ACCOUNT-0000000000000000000000000000000000000001";
    let id = paid_payment(&server, &server.key, long).await;
    server.sweep().await;
    let hook = server
        .post(
            "/sandbox/v1/webhooks",
            &json!({"callback_url": "https://a-very-long-host-name.council.example/webhooks/pence/receive/all/events/here"}),
        )
        .await;
    let hook_id = hook.json["id"].as_str().unwrap().to_string();

    let b = Browser::start().await;
    b.viewport_width(320).await;
    b.goto(&format!("{}/admin/login", server.url)).await;
    fits(&b, 320, "/admin/login").await;
    sign_in(&server, &b, "admin@council.example", Role::Admin).await;
    let svc = format!("/admin/services/{}", server.service.id);
    let pages = [
        "/admin".to_string(),
        format!("{svc}/dashboard"),
        format!("{svc}/transactions"),
        format!("{svc}/transactions/{id}"),
        format!("{svc}/api-keys"),
        format!("{svc}/agreements"),
        format!("{svc}/disputes"),
        format!("{svc}/settings"),
        format!("{svc}/team"),
        format!("{svc}/audit"),
        format!("{svc}/webhooks"),
        format!("{svc}/webhooks/{hook_id}"),
    ];
    for width in [320, 1000] {
        b.viewport_width(width).await;
        for page in &pages {
            b.goto(&format!("{}{page}", server.url)).await;
            fits(&b, width, page).await;
        }
    }
    // Dates as a person reads them, not ISO strings.
    b.goto(&format!("{}{svc}/transactions", server.url)).await;
    let text = b.script("return document.body.innerText").await;
    let text = text.as_str().unwrap();
    assert!(!text.contains(".000Z"), "{text}");
    assert!(text.contains(" UTC") && (text.contains("am UTC") || text.contains("pm UTC")));
    // The chart's scale: 0 and the most in a day.
    b.goto(&format!("{}{svc}/dashboard", server.url)).await;
    assert_eq!(b.text("#chart-scale-top").await.as_deref(), Some("1"));
    b.close().await;
    server.stop().await;
}

/// The page is no wider than the window: nothing to scroll sideways.
async fn fits(b: &Browser, width: u32, page: &str) {
    let sizes = b
        .script("return [document.documentElement.scrollWidth, window.innerWidth]")
        .await;
    let (scroll, inner) = (sizes[0].as_u64().unwrap(), sizes[1].as_u64().unwrap());
    let wide = b
        .script(
            "return [...document.querySelectorAll('body *')]\
             .filter(e => e.getBoundingClientRect().right > window.innerWidth)\
             .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8).join(' ')",
        )
        .await;
    assert!(
        scroll <= inner,
        "{page} at {width} px: {scroll} px wide in a {inner} px window; too wide: {wide}"
    );
}
