//! `GET /v1/payments` (reference §11, §12).

use pence_testkit::{Engine, TestServer};
use reqwest::Method;
use serde_json::json;

use crate::with;

fn ids(reply: &pence_testkit::Reply) -> Vec<String> {
    reply.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["payment_id"].as_str().unwrap().to_string())
        .collect()
}

pence_testkit::engine_tests!(filters_pages_and_links);
async fn filters_pages_and_links(engine: Engine) {
    let server = TestServer::start(engine).await;
    let mut made = Vec::new();
    for (i, (reference, email)) in [
        ("Council-TAX-1", "a@Example.org"),
        ("council-tax-2", "b@example.org"),
        ("parking_100%", "c@other.org"),
        ("Parking-2", "d@other.org"),
        ("licence", "e@example.org"),
    ]
    .iter()
    .enumerate()
    {
        let reply = server
            .post(
                "/v1/payments",
                &with(json!({"reference": reference, "email": email, "amount": 100 + i})),
            )
            .await;
        made.push(reply.json["payment_id"].as_str().unwrap().to_string());
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    server
        .send(
            Method::POST,
            &format!("/v1/payments/{}/cancel", made[4]),
            Some(&server.key),
            &[],
            None,
        )
        .await;
    let (_, other_key) = server.new_service(false).await;
    server
        .post_as(
            &other_key,
            "/v1/payments",
            &with(json!({"reference": "council-tax-9"})),
        )
        .await;

    // Everything, newest first; no next_url in results.
    let all = server.get("/v1/payments").await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.header("cache-control"), Some("no-store"));
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(ids(&all), newest_first);
    assert_eq!(
        (
            all.json["total"].as_u64(),
            all.json["count"].as_u64(),
            all.json["page"].as_u64()
        ),
        (Some(5), Some(5), Some(1))
    );
    assert!(all.json["results"][1]["_links"].get("next_url").is_none());
    assert!(all.json["results"][1]["_links"]["cancel"].is_object());

    let search = |q: &str| {
        let path = format!("/v1/payments?{q}");
        let server = &server;
        async move { server.get(&path).await }
    };
    // Case-insensitive partial matches; LIKE wildcards are literal.
    assert_eq!(
        ids(&search("reference=council-tax").await),
        [made[1].clone(), made[0].clone()]
    );
    assert_eq!(ids(&search("reference=100%25").await), [made[2].clone()]);
    assert_eq!(ids(&search("reference=_").await), [made[2].clone()]);
    assert_eq!(
        ids(&search("email=EXAMPLE.ORG").await),
        [made[4].clone(), made[1].clone(), made[0].clone()]
    );
    assert_eq!(ids(&search("state=cancelled").await), [made[4].clone()]);
    assert_eq!(
        ids(&search("state=created&reference=parking").await),
        [made[3].clone(), made[2].clone()]
    );
    assert!(ids(&search("state=success").await).is_empty());
    assert!(
        ids(&search("card_brand=visa").await).is_empty(),
        "no payment has a card yet"
    );
    assert!(ids(&search("last_digits_card_number=4242").await).is_empty());
    // Dates are exclusive at both ends.
    let first_created = all.json["results"][4]["created_date"]
        .as_str()
        .unwrap()
        .to_string();
    let last_created = all.json["results"][0]["created_date"]
        .as_str()
        .unwrap()
        .to_string();
    let after_first = search(&format!("from_date={first_created}")).await;
    assert_eq!(ids(&after_first), newest_first[..4].to_vec());
    let before_last = search(&format!("to_date={last_created}")).await;
    assert_eq!(ids(&before_last), newest_first[1..].to_vec());

    // Pages of two.
    let page1 = search("display_size=2&reference=").await;
    let base = format!("{}/v1/payments?", server.url);
    assert_eq!(ids(&page1), newest_first[..2].to_vec());
    assert_eq!(
        page1.json["_links"],
        json!({
            "self": {"href": format!("{base}page=1&display_size=2")},
            "first_page": {"href": format!("{base}page=1&display_size=2")},
            "last_page": {"href": format!("{base}page=3&display_size=2")},
            "next_page": {"href": format!("{base}page=2&display_size=2")}
        })
    );
    let page3 = search("display_size=2&page=3&email=org").await;
    assert_eq!(ids(&page3), newest_first[4..].to_vec());
    assert_eq!(page3.json["count"], 1);
    assert_eq!(
        page3.json["_links"]["prev_page"]["href"],
        format!("{base}email=org&page=2&display_size=2")
    );
    assert!(page3.json["_links"].get("next_page").is_none());
    let past = search("display_size=2&page=4").await;
    assert_eq!(
        (past.status, &past.json),
        (
            404,
            &json!({"code": "P0402", "description": "Page not found"})
        )
    );
    // No results: any page is an empty 200.
    let none = search("reference=nothing-like-this&page=7").await;
    assert_eq!(
        (
            none.status,
            none.json["total"].as_u64(),
            none.json["count"].as_u64()
        ),
        (200, Some(0), Some(0))
    );
    assert_eq!(
        none.json["_links"]["last_page"]["href"],
        format!("{base}reference=nothing-like-this&page=1&display_size=500")
    );
    server.stop().await;
}

pence_testkit::engine_tests!(invalid_parameters_are_listed_in_order);
async fn invalid_parameters_are_listed_in_order(engine: Engine) {
    let invalid = |names: &str| json!({"code": "P0401", "description": format!("Invalid parameters: {names}. See Public API documentation for the correct data formats")});
    let server = TestServer::start(engine).await;
    let long = "x".repeat(256);
    let cases = [
        ("state=capturable".to_string(), "state"),
        (format!("reference={long}"), "reference"),
        (format!("email={}", "e".repeat(255)), "email"),
        (format!("card_brand={}", "b".repeat(21)), "card_brand"),
        ("from_date=2015-08-13".to_string(), "from_date"),
        ("to_date=yesterday".to_string(), "to_date"),
        ("page=0".to_string(), "page"),
        ("page=-1".to_string(), "page"),
        ("display_size=501".to_string(), "display_size"),
        ("display_size=abc".to_string(), "display_size"),
        (
            "first_digits_card_number=12345".to_string(),
            "first_digits_card_number",
        ),
        (
            "last_digits_card_number=12a4".to_string(),
            "last_digits_card_number",
        ),
        (
            "from_settled_date=2020-02-30".to_string(),
            "from_settled_date",
        ),
        ("to_settled_date=20200101".to_string(), "to_settled_date"),
        (
            "to_settled_date=x&display_size=0&to_date=x&state=nope&email=ok&from_date=x"
                .to_string(),
            "state, from_date, to_date, display_size, to_settled_date",
        ),
    ];
    for (query, names) in cases {
        let reply = server.get(&format!("/v1/payments?{query}")).await;
        assert_eq!(
            (reply.status, &reply.json),
            (422, &invalid(names)),
            "{query}"
        );
    }
    // Well-formed values of every kind are accepted.
    let ok = server
        .get("/v1/payments?state=success&from_date=2015-08-13T12:35:00Z&to_date=2099-08-13T12:35:00%2B01:00&first_digits_card_number=424242&last_digits_card_number=4242&from_settled_date=2020-01-01&to_settled_date=2020-02-01&page=1&display_size=500&cardholder_name=J&agreement_id=x&unknown=1")
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    server.stop().await;
}

pence_testkit::engine_tests!(any_letters_find_their_payment_in_any_case);
/// A payment is found by its own reference, email or cardholder name as given, in lower case
/// and in upper case, whatever its letters (SQLite's own LOWER folds only ASCII).
async fn any_letters_find_their_payment_in_any_case(engine: Engine) {
    let server = TestServer::start(engine).await;
    let cases = [
        ("TALU-ŴYL-2026", "Zoë.Ŵyn@Example.org", "Émile Ŵyn"),
        ("Ωμέγα-ΔΕΛΤΑ-7", "Ωmega@Example.org", "Ωλγα Σμιθ"),
        ("ÆØÅ-Ünïcödé-9", "Åsa@Example.org", "Åsa Ørsted"),
        ("ПЛАТЁЖ-42", "Иван@Example.org", "Иван Петров"),
    ];
    let mut made = Vec::new();
    for (reference, email, name) in cases {
        let body = with(json!({"reference": reference, "email": email}));
        let created = server.post("/v1/payments", &body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.json["payment_id"].as_str().unwrap().to_string();
        let paid = server
            .post(
                &format!("/sandbox/v1/payments/{id}/pay"),
                &json!({"card_number": "4444333322221111", "cardholder_name": name}),
            )
            .await;
        assert_eq!(paid.status, 200, "{}", paid.text);
        made.push((id, reference, email, name));
    }
    for (id, reference, email, name) in &made {
        for (field, value) in [
            ("reference", reference),
            ("email", email),
            ("cardholder_name", name),
        ] {
            for text in [
                value.to_string(),
                value.to_lowercase(),
                value.to_uppercase(),
            ] {
                let query: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
                let found = server.get(&format!("/v1/payments?{field}={query}")).await;
                assert_eq!(found.status, 200, "{}", found.text);
                assert_eq!(ids(&found), vec![id.clone()], "{field}={text}");
            }
        }
    }
    server.stop().await;
}
