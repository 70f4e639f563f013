//! Payment links over real HTTP: the links API (`/pence/v1/payment_links`, validated against
//! `spec/pence-links-openapi.json`) and the payer's pages driven as a browser without
//! JavaScript drives them, through to the card pages and back to the link's own page.

use pence_testkit::paying_user::{browser_like, card_form, csrf_of};
use pence_testkit::{Engine, Reply, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const LINKS: &str = "/pence/v1/payment_links";
const VISA: &str = "4444333322221111";
const DECLINED: &str = "4000000000000002";

async fn send(server: &TestServer, method: Method, path: &str, body: Option<&Value>) -> Reply {
    let bytes = body.map(|b| b.to_string().into_bytes());
    let headers = [("Content-Type", "application/json")];
    server
        .send(method, path, Some(&server.key), &headers, bytes)
        .await
}

async fn create_link(server: &TestServer, body: Value) -> Value {
    let made = send(server, Method::POST, LINKS, Some(&body)).await;
    assert_eq!(made.status, 201, "{}", made.text);
    made.json
}

pence_testkit::engine_tests!(links_are_managed_as_code);
async fn links_are_managed_as_code(engine: Engine) {
    let server = TestServer::start(engine).await;
    let made = create_link(
        &server,
        json!({"title": "Pay for a parking permit", "amount": 2500, "details": "Residents only"}),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["link_path"], "pay-for-parking-permit");
    assert_eq!(made["amount"], 2500);
    assert_eq!(made["reference"], Value::Null);
    assert_eq!(made["language"], "en");
    let url = made["url"].as_str().unwrap();
    assert!(url.starts_with(&server.url) && url.ends_with("/pay-for-parking-permit"));

    let listed = send(&server, Method::GET, LINKS, None).await;
    assert_eq!(listed.json["count"], 1);
    let one = send(&server, Method::GET, &format!("{LINKS}/{id}"), None).await;
    assert_eq!(one.json, made);

    // A second link cannot take the address; a bad field gets GOV.UK Pay's text.
    let taken = json!({"title": "Pay for parking permit"});
    let clash = send(&server, Method::POST, LINKS, Some(&taken)).await;
    assert_eq!(clash.status, 409);
    assert_eq!(
        clash.json["description"],
        "The website address is already taken"
    );
    let cases = [
        (json!({"title": " "}), "title", "Enter a title"),
        (
            json!({"title": "x", "amount": 10_000_001}),
            "amount",
            "Enter a valid payment amount between £0.30 and £100000",
        ),
        (
            json!({"title": "x", "reference": {"label": "a".repeat(51)}}),
            "reference_label",
            "Reference must be be 50 characters or fewer",
        ),
        (
            json!({"title": "x", "details": "<script>"}),
            "details",
            "You cannot use any of the following characters < > | in the Details",
        ),
    ];
    for (body, field, message) in cases {
        let refused = send(&server, Method::POST, LINKS, Some(&body)).await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.text);
        assert_eq!(
            refused.json["errors"],
            json!([{"field": field, "message": message}])
        );
    }
    for body in [
        json!({"title": "x", "amount": 1e5}),
        json!({"title": "x", "amount": -1}),
        json!({"title": "x", "colour": "red"}),
        json!({"amount": 100}),
    ] {
        let refused = send(&server, Method::POST, LINKS, Some(&body)).await;
        assert!(
            [400, 422].contains(&refused.status),
            "{body}: {}",
            refused.text
        );
    }
    let count = send(&server, Method::GET, LINKS, None).await;
    assert_eq!(count.json["count"], 1, "nothing refused was stored");

    // Replaced in full; the address kept when not given.
    let replaced = json!({"title": "Parking permits", "language": "cy"});
    let put = send(
        &server,
        Method::PUT,
        &format!("{LINKS}/{id}"),
        Some(&replaced),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(
        (put.json["amount"].clone(), put.json["language"].clone()),
        (Value::Null, json!("cy"))
    );
    assert_eq!(put.json["link_path"], "pay-for-parking-permit");

    // Another service sees none of it.
    let (_, other_key) = server.new_service(false).await;
    let theirs = server.get_as(&other_key, &format!("{LINKS}/{id}")).await;
    assert_eq!(theirs.status, 404);
    let unauthorised = server.send(Method::GET, LINKS, None, &[], None).await;
    assert_eq!(unauthorised.status, 401);

    let gone = send(&server, Method::DELETE, &format!("{LINKS}/{id}"), None).await;
    assert_eq!(gone.status, 204);
    let again = send(&server, Method::DELETE, &format!("{LINKS}/{id}"), None).await;
    assert_eq!(again.status, 404);
    let page = reqwest::get(format!("{}/pay/{id}", server.url))
        .await
        .unwrap();
    assert_eq!(page.status(), 404, "a deleted link takes no payments");
    server.stop().await;
}

/// The page at `path` on the server, as `client` sees it: its status and body.
async fn open(client: &reqwest::Client, server: &TestServer, path: &str) -> (u16, String) {
    let resp = client
        .get(format!("{}{path}", server.url))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Posts a form; answers the status and where it redirects (or the page's body).
async fn submit(
    client: &reqwest::Client,
    server: &TestServer,
    path: &str,
    form: &[(&str, String)],
) -> (u16, String) {
    let resp = client
        .post(format!("{}{path}", server.url))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(resp.text().await.unwrap()))
}

/// Pays the payment whose card pages start at `secure` with `card`; answers where the card
/// pages send the payer at the end.
async fn pay(client: &reqwest::Client, server: &TestServer, secure: &str, card: &str) -> String {
    let opened = client
        .get(format!("{}{secure}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 303);
    let card_page = opened.headers()["location"].to_str().unwrap().to_string();
    let (_, page) = open(client, server, &card_page).await;
    let csrf = csrf_of(&page);
    let (status, to) = submit(client, server, &card_page, &card_form(&csrf, card)).await;
    assert_eq!(status, 303);
    if card == DECLINED {
        // The card pages' own failure page, whose button goes back to the service.
        let (_, page) = open(client, server, &to).await;
        let at = page.find("id=\"return-url\"").expect("a way back");
        let href = &page[at..];
        let start = href.find("href=\"").unwrap() + 6;
        return href[start..start + href[start..].find('"').unwrap()].to_string();
    }
    let confirm = format!("{card_page}/confirm");
    let (status, mut to) = submit(client, server, &confirm, &[("csrfToken", csrf)]).await;
    assert_eq!(status, 303);
    while to.starts_with("/return/") {
        let resp = client
            .get(format!("{}{to}", server.url))
            .send()
            .await
            .unwrap();
        to = resp.headers()["location"].to_str().unwrap().to_string();
    }
    to
}

pence_testkit::engine_tests!(a_payer_pays_through_a_welsh_link_with_a_prefilled_reference);
async fn a_payer_pays_through_a_welsh_link_with_a_prefilled_reference(engine: Engine) {
    let server = TestServer::start(engine).await;
    let link = create_link(
        &server,
        json!({
            "title": "Trwydded barcio",
            "language": "cy",
            "reference": {"label": "rhif y drwydded", "hint": "Ar eich llythyr"},
            "reporting_columns": {"cost_centre": "AB12", "team": "parking"},
            "link_path": "parcio"
        }),
    )
    .await;
    let id = link["id"].as_str().unwrap();
    let client = browser_like();

    // The friendly address keeps the query on its way to the start page.
    let friendly = format!(
        "/payments/{}/parcio?reference=PN-42",
        link["service_path"].as_str().unwrap()
    );
    let resp = client
        .get(format!("{}{friendly}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let start = resp.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(start, format!("/pay/{id}?reference=PN-42"));
    let (status, page) = open(&client, &server, &start).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("lang=\"cy\"") && page.contains("Trwydded barcio"),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"/pay/{id}/amount\"")),
        "the reference is given: {page}"
    );

    // The amount: wrong first (GOV.UK Pay's Welsh text), then right.
    let amount_path = format!("/pay/{id}/amount");
    let (_, page) = open(&client, &server, &amount_path).await;
    let csrf = csrf_of(&page);
    for (typed, message) in [
        ("", "Cofnodwch swm o arian i’w dalu"),
        ("1e5", "Cofnodwch swm mewn punnoedd a cheiniogau"),
        ("0.001", "Cofnodwch swm mewn punnoedd a cheiniogau"),
        ("100000.01", "Cofnodwch swm sy’n £100,000 neu lai"),
        ("0", "Rhaid i&#39;r swm fod yn £0.01 neu fwy"),
    ] {
        let form = [
            ("csrfToken", csrf.clone()),
            ("payment-amount", typed.into()),
        ];
        let (status, page) = submit(&client, &server, &amount_path, &form).await;
        assert_eq!(status, 200, "{typed}");
        assert!(page.contains(message), "{typed}: {page}");
        assert!(page.contains("id=\"error-summary\""), "{typed}");
    }
    let form = [
        ("csrfToken", csrf.clone()),
        ("payment-amount", "12.5".into()),
    ];
    let (status, to) = submit(&client, &server, &amount_path, &form).await;
    assert_eq!(
        (status, to.as_str()),
        (303, format!("/pay/{id}/confirm").as_str())
    );

    // Confirm: the prefilled reference cannot be changed; the amount can.
    let (_, page) = open(&client, &server, &to).await;
    assert!(page.contains("PN-42") && page.contains("£12.50"), "{page}");
    assert!(!page.contains("id=\"change-reference\"") && page.contains("id=\"change-amount\""));
    let (status, secure) = submit(&client, &server, &to, &[("csrfToken", csrf.clone())]).await;
    assert_eq!(status, 303);
    assert!(secure.starts_with("/secure/"), "{secure}");

    let back = pay(&client, &server, &secure, VISA).await;
    let complete = back
        .strip_prefix(&server.url)
        .expect("back to this node")
        .to_string();
    assert!(complete.starts_with("/payment-complete/"), "{complete}");
    let (status, page) = open(&client, &server, &complete).await;
    assert_eq!(status, 200);
    assert!(page.contains("Roedd eich taliad yn llwyddiannus"), "{page}");
    assert!(page.contains("PN-42") && page.contains("£12.50"));

    // An ordinary payment of the service: found by the API with the link's columns.
    let found = server.get("/v1/payments?reference=PN-42").await;
    assert_eq!(found.json["count"], 1, "{}", found.text);
    let payment = &found.json["results"][0];
    assert_eq!(payment["amount"], 1250);
    assert_eq!(payment["description"], "Trwydded barcio");
    assert_eq!(payment["language"], "cy");
    assert_eq!(
        payment["metadata"],
        json!({"cost_centre": "AB12", "team": "parking"})
    );
    assert_eq!(payment["state"]["status"], "success");
    server.stop().await;
}

pence_testkit::engine_tests!(a_declined_payer_can_try_again_and_bad_prefills_are_refused);
async fn a_declined_payer_can_try_again_and_bad_prefills_are_refused(engine: Engine) {
    let server = TestServer::start(engine).await;
    let link = create_link(&server, json!({"title": "Skip hire", "amount": 4000})).await;
    let id = link["id"].as_str().unwrap();
    let client = browser_like();

    let (status, page) = open(&client, &server, &format!("/pay/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("£40.00") && page.contains(&format!("/pay/{id}/confirm")));
    let (_, page) = open(&client, &server, &format!("/pay/{id}/confirm")).await;
    let csrf = csrf_of(&page);
    let confirm = format!("/pay/{id}/confirm");
    // A form from another browser is not this one's.
    let (status, to) = submit(
        &client,
        &server,
        &confirm,
        &[("csrfToken", "forged".into())],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, format!("/pay/{id}").as_str()));
    let (_, secure) = submit(&client, &server, &confirm, &[("csrfToken", csrf)]).await;
    let back = pay(&client, &server, &secure, DECLINED).await;
    let complete = back.strip_prefix(&server.url).unwrap().to_string();
    let (status, page) = open(&client, &server, &complete).await;
    assert_eq!(status, 200);
    assert!(page.contains("Your payment has been declined"), "{page}");
    assert!(
        page.contains(&format!("id=\"try-again\" href=\"/pay/{id}\"")),
        "{page}"
    );
    let made = server.get("/v1/payments").await;
    let reference = made.json["results"][0]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(reference.len(), 10, "a made-up reference: {reference}");

    // A link with a fixed amount has no amount page; a variable one refuses a bad prefill.
    let (status, _) = open(&client, &server, &format!("/pay/{id}/amount")).await;
    assert_eq!(status, 404);
    let variable = create_link(&server, json!({"title": "Donation"})).await;
    let vid = variable["id"].as_str().unwrap();
    for bad in ["12.50", "0", "-1", "10000001", "1e5"] {
        let (status, page) = open(&client, &server, &format!("/pay/{vid}?amount={bad}")).await;
        assert_eq!(status, 200, "{bad}");
        assert!(
            page.contains("There is a problem with the link"),
            "{bad}: {page}"
        );
    }
    let (_, page) = open(&client, &server, &format!("/pay/{vid}?amount=750")).await;
    assert!(page.contains(&format!("/pay/{vid}/confirm")), "{page}");
    let (_, page) = open(&client, &server, &format!("/pay/{vid}/confirm")).await;
    assert!(
        page.contains("£7.50") && !page.contains("id=\"change-amount\""),
        "{page}"
    );
    let (status, _) = open(&client, &server, "/pay/nosuchlink").await;
    assert_eq!(status, 404);
    // Addresses no link can have are not found, on both engines (PostgreSQL text holds no NUL).
    for path in [
        "/payments/svc/a%00b",
        "/payments/x%20y/z",
        "/redirect/a/%00",
        "/pay/%00",
    ] {
        let (status, _) = open(&client, &server, path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = open(&client, &server, "/payment-complete/nosuchpayment").await;
    assert_eq!(status, 404);
    server.stop().await;
}

pence_testkit::engine_tests!(the_control_api_pays_through_a_link);
async fn the_control_api_pays_through_a_link(engine: Engine) {
    let server = TestServer::start(engine).await;
    let fixed = create_link(&server, json!({"title": "Skip hire", "amount": 4000})).await;
    let asks = create_link(
        &server,
        json!({"title": "Fine", "reference": {"label": "penalty notice number"}}),
    )
    .await;
    let pay = |id: &Value| format!("/sandbox/v1/payment_links/{}/pay", id.as_str().unwrap());

    let paid = server
        .post(&pay(&fixed["id"]), &json!({"card_number": VISA}))
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert_eq!(paid.json["state"]["status"], "success");
    assert_eq!(paid.json["amount"], 4000);
    assert_eq!(paid.json["description"], "Skip hire");
    let paid = server
        .post(
            &pay(&asks["id"]),
            &json!({"amount": 6000, "reference": "PCN-1", "card_number": DECLINED}),
        )
        .await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    assert_eq!(paid.json["reference"], "PCN-1");
    assert_eq!(paid.json["state"]["code"], "P0010");

    // Answers the pages would refuse, with their words.
    for (link, body, field, message) in [
        (&fixed, json!({"amount": 100, "card_number": VISA}), "amount", "The link has a fixed amount"),
        (&asks, json!({"reference": "PCN-2", "card_number": VISA}), "amount", "Enter an amount of money to pay"),
        (&asks, json!({"amount": 10_000_001, "reference": "PCN-2", "card_number": VISA}), "amount", "Enter an amount that is £100,000 or less"),
        (&asks, json!({"amount": 100, "card_number": VISA}), "reference", "You must enter your penalty notice number"),
        (&asks, json!({"amount": 100, "reference": "a;b", "card_number": VISA}), "reference", "Penalty notice number must not include any of the following characters < > ; : ` ( ) \" ' = | \",\" ~ [ ]"),
        (&asks, json!({"amount": 100, "reference": "a\u{7}b", "card_number": VISA}), "reference", "Penalty notice number must not include any of the following characters < > ; : ` ( ) \" ' = | \",\" ~ [ ]"),
    ] {
        let refused = server.post(&pay(&link["id"]), &body).await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.text);
        assert_eq!(refused.json["errors"], json!([{"field": field, "message": message}]), "{body}");
    }
    // A card number sent as a number is refused without being repeated.
    let typed = server
        .post(
            &pay(&fixed["id"]),
            &json!({"card_number": 4444333322221111u64}),
        )
        .await;
    assert_eq!(typed.status, 400, "{}", typed.text);
    assert!(!typed.text.contains("4444333322221111"), "{}", typed.text);
    let nothing = server
        .post(
            "/sandbox/v1/payment_links/nosuchlink/pay",
            &json!({"card_number": VISA}),
        )
        .await;
    assert_eq!(nothing.status, 404);
    // Another service's link is not found; nothing refused was taken.
    let (_, other_key) = server.new_service(false).await;
    let theirs = server
        .post_as(
            &other_key,
            &pay(&fixed["id"]),
            &json!({"card_number": VISA}),
        )
        .await;
    assert_eq!(theirs.status, 404);
    let all = server.get("/v1/payments").await;
    assert_eq!(all.json["count"], 2, "{}", all.text);
    server.stop().await;
}
