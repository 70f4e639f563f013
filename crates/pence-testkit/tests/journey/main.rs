//! The paying user's journey in real headless Chromium against the real node, on SQLite and
//! (when `PENCE_TEST_POSTGRES_URL` is set) PostgreSQL: the pages are filled in by GOV.UK
//! Pay's element ids, as service teams' existing browser tests do, and every test ends by
//! checking the payment's state and events on the public API.

mod accessibility;
mod admin;
mod admin_input;
mod admin_layout;
mod agreements;
mod browser;
mod disputes;
mod http;
mod payment_links;
mod property;
mod sign_in;
mod webhooks;

use pence_testkit::{Browser, ServiceSite, TestServer};
use serde_json::{json, Value};

/// A payment for the service site; returns its id and next_url.
pub async fn new_payment(
    server: &TestServer,
    site: &ServiceSite,
    extra: Value,
) -> (String, String) {
    let mut body = json!({
        "amount": 14500,
        "reference": "journey-1",
        "description": "Pay your council tax",
        "return_url": format!("{}/completed", site.url),
    });
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let reply = server.post("/v1/payments", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.json["payment_id"].as_str().unwrap().to_string();
    let next = reply.json["_links"]["next_url"]["href"]
        .as_str()
        .unwrap()
        .to_string();
    (id, next)
}

/// The payment as the API shows it.
pub async fn payment(server: &TestServer, id: &str) -> Value {
    let reply = server.get(&format!("/v1/payments/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

/// The public states the payment's events show, oldest first.
pub async fn event_states(server: &TestServer, id: &str) -> Vec<String> {
    let reply = server.get(&format!("/v1/payments/{id}/events")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"]["status"].as_str().unwrap().to_string())
        .collect()
}

/// Fills the card details form with `card` and valid everything else.
pub async fn fill_card(b: &Browser, card: &str) {
    let cvc = if card.len() == 15 && card.starts_with('3') {
        "1234"
    } else {
        "123"
    };
    b.fill("card-no", card).await;
    b.fill("expiry-month", "12").await;
    b.fill("expiry-year", "2030").await;
    b.fill("cardholder-name", "Ada Lovelace").await;
    b.fill("cvc", cvc).await;
    b.fill("address-line-1", "1 Example Street").await;
    b.fill("address-city", "London").await;
    b.fill("address-postcode", "SW1A 1AA").await;
    b.select("address-country", "GB").await;
    b.fill("email", "ada@example.org").await;
}

/// Opens next_url, pays with `card` and lands wherever the card takes the user.
pub async fn pay(b: &Browser, next_url: &str, card: &str) {
    b.goto(next_url).await;
    fill_card(b, card).await;
    b.click("#submit-card-details").await;
}
