//! The paying user over plain HTTP, as a browser would be without JavaScript: a client that
//! keeps cookies and does not follow redirects, the card form as the pages name its fields.

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn browser_like() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The CSRF token in a page's form.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrfToken\" value=\"")
        .expect("csrf field")
        + 24;
    page[at..at + page[at..].find('"').expect("csrf value")].to_string()
}

/// The card form filled in with `card` and valid everything else.
pub fn card_form(csrf: &str, card: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrfToken", csrf.to_string()),
        ("cardNo", card.to_string()),
        ("expiryMonth", "04".into()),
        ("expiryYear", "31".into()),
        ("cardholderName", "Ada Lovelace".into()),
        ("cvc", "123".into()),
        ("addressLine1", "1 Example Street".into()),
        ("addressCity", "London".into()),
        ("addressPostcode", "SW1A 1AA".into()),
        ("addressCountry", "GB".into()),
        ("email", "ada@example.org".into()),
    ]
}

/// Opens `next_url` on the node at `node` (whatever host the link names, as a load balancer
/// routes it), pays with `card` and confirms; answers where the user is sent at the end (the
/// service's return URL), following the node's own redirects on the same node.
pub async fn pay_on(node: &str, next_url: &str, payment_id: &str, card: &str) -> String {
    let c = browser_like();
    let path = next_url
        .find("/secure/")
        .map(|at| &next_url[at..])
        .expect("a next_url");
    let exchange = c.get(format!("{node}{path}")).send().await.expect("open");
    assert_eq!(exchange.status(), 303, "opening {path} on {node}");
    let card_page = format!("{node}/card_details/{payment_id}");
    let page = c.get(&card_page).send().await.expect("card page");
    assert_eq!(page.status(), 200);
    let csrf = csrf_of(&page.text().await.expect("page"));
    let submitted = c
        .post(&card_page)
        .form(&card_form(&csrf, card))
        .send()
        .await
        .expect("card details");
    assert_eq!(submitted.status(), 303);
    let confirmed = c
        .post(format!("{card_page}/confirm"))
        .form(&[("csrfToken", csrf)])
        .send()
        .await
        .expect("confirm");
    assert_eq!(confirmed.status(), 303);
    let mut location = location(&confirmed);
    // The node's own steps (`/return/{id}`), then off to the service.
    while location.starts_with('/') {
        let next = c
            .get(format!("{node}{location}"))
            .send()
            .await
            .expect("redirect");
        assert_eq!(next.status(), 303, "{location}");
        location = self::location(&next);
    }
    location
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}
