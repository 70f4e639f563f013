//! Random sequences of what a paying user, the service and time do to a payment, through the
//! real pages, API and sweeps; after every step the invariants of issue 4 hold:
//! refunds never exceed amount + surcharge; a finished payment never changes state;
//! `refund_summary` agrees with the refund rows; every stored state change has its one event.

use pence_core::ports::prelude::*;
use pence_testkit::{Engine, ServiceSite, TestServer};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::payment;

#[derive(Debug, Clone)]
enum Op {
    SubmitCard(&'static str),
    PassThreeDs(bool),
    Confirm,
    UserCancel,
    ServiceCancel,
    Capture,
    Refund(i64),
    /// Minutes pass, then the node sweeps.
    Wait(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop::sample::select(vec![
            "4444333322221111",
            "4000000000000002",
            "4000000000000119",
            "4000002500003155",
            "4000000000005126",
            "4000000000000259",
            "4111111111111111",
        ])
        .prop_map(Op::SubmitCard),
        any::<bool>().prop_map(Op::PassThreeDs),
        Just(Op::Confirm),
        Just(Op::UserCancel),
        Just(Op::ServiceCancel),
        Just(Op::Capture),
        (1i64..1500).prop_map(Op::Refund),
        prop::sample::select(vec![0i64, 1, 100, 60 * 24 * 6]).prop_map(Op::Wait),
    ]
}

fn csrf_of(page: &str) -> Option<String> {
    let needle = "name=\"csrfToken\" value=\"";
    let at = page.find(needle)? + needle.len();
    Some(page[at..at + page[at..].find('"')?].to_string())
}

struct Journey {
    id: String,
    browser: reqwest::Client,
    csrf: String,
    url: String,
    /// The first finished state seen: it must never change.
    finished: Option<Value>,
}

async fn apply(server: &TestServer, j: &Journey, op: &Op) {
    let form = |extra: Vec<(&'static str, String)>| -> Vec<(&'static str, String)> {
        let mut f = vec![("csrfToken", j.csrf.clone())];
        f.extend(extra);
        f
    };
    match op {
        Op::SubmitCard(card) => {
            let fields = super::http::card_form(&j.csrf, card);
            let _ = j.browser.post(&j.url).form(&fields).send().await;
        }
        Op::PassThreeDs(pass) => {
            let page = j
                .browser
                .get(format!("{}/3ds_required", j.url))
                .send()
                .await;
            let Ok(page) = page else { return };
            let page = page.text().await.unwrap_or_default();
            let needle = "name=\"threeDsToken\" value=\"";
            if let Some(at) = page.find(needle).map(|a| a + needle.len()) {
                let seal = page[at..at + page[at..].find('"').unwrap()].to_string();
                let result = if *pass { "pass" } else { "fail" }.to_string();
                let fields = vec![("threeDsToken", seal), ("result", result)];
                let _ = j
                    .browser
                    .post(format!("{}/3ds_required_in", j.url))
                    .form(&form(fields))
                    .send()
                    .await;
            }
        }
        Op::Confirm | Op::UserCancel => {
            let path = if matches!(op, Op::Confirm) {
                "confirm"
            } else {
                "cancel"
            };
            let _ = j
                .browser
                .post(format!("{}/{path}", j.url))
                .form(&form(vec![]))
                .send()
                .await;
        }
        Op::ServiceCancel | Op::Capture => {
            let path = if matches!(op, Op::Capture) {
                "capture"
            } else {
                "cancel"
            };
            let r = server
                .post(&format!("/v1/payments/{}/{path}", j.id), &json!({}))
                .await;
            assert!(
                [204, 400, 409, 500].contains(&r.status),
                "{path}: {}",
                r.text
            );
        }
        Op::Refund(amount) => {
            let r = server
                .post(
                    &format!("/v1/payments/{}/refunds", j.id),
                    &json!({"amount": amount}),
                )
                .await;
            assert!([202, 400].contains(&r.status), "refund: {}", r.text);
        }
        Op::Wait(minutes) => {
            server.clock.advance(minutes * 60 * 1000 + 2_000);
            server.sweep().await;
        }
    }
}

async fn check(server: &TestServer, j: &mut Journey) -> Result<(), TestCaseError> {
    let p = payment(server, &j.id).await;
    let refunds = server.get(&format!("/v1/payments/{}/refunds", j.id)).await;
    let rows = refunds.json["_embedded"]["refunds"]
        .as_array()
        .unwrap()
        .clone();
    let submitted: i64 = rows
        .iter()
        .filter(|r| r["status"] != "error")
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    let total = p["total_amount"]
        .as_i64()
        .unwrap_or(p["amount"].as_i64().unwrap());
    prop_assert!(submitted <= total, "refunded {submitted} of {total}");
    let summary = &p["refund_summary"];
    prop_assert_eq!(summary["amount_submitted"].as_i64().unwrap(), submitted);
    prop_assert_eq!(
        summary["amount_available"].as_i64().unwrap(),
        total - submitted
    );
    if let Some(done) = &j.finished {
        prop_assert_eq!(&p["state"], done, "a finished payment changed");
    } else if p["state"]["finished"] == true {
        j.finished = Some(p["state"].clone());
    }
    // Every stored status change has its event: the ledger ends at the payment's status, and
    // no event repeats the one before it.
    let stored = server.store.journey_payment(&j.id).await.unwrap().unwrap();
    let events = server
        .store
        .payment_events(&server.service.id, &j.id)
        .await
        .unwrap();
    prop_assert_eq!(events.last().unwrap().status, stored.status);
    // A disputed payment takes no more refunds.
    if let Some(raised) = events
        .iter()
        .position(|e| e.kind.as_str() == "DISPUTE_CREATED")
    {
        prop_assert_eq!(&summary["status"], "unavailable");
        prop_assert!(
            !events[raised..]
                .iter()
                .any(|e| e.kind.as_str().starts_with("REFUND_CREATED")),
            "refunded after the dispute"
        );
    }
    for pair in events.windows(2) {
        prop_assert!(
            pair[0].status != pair[1].status
                || pair[0].kind != pair[1].kind
                || pair[1].kind.as_str().starts_with("REFUND"),
            "event repeated: {:?}",
            pair[1]
        );
    }
    Ok(())
}

pence_testkit::engine_tests!(sync: random_journeys_keep_the_invariants);
fn random_journeys_keep_the_invariants(engine: Engine) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start(engine));
    let site = runtime.block_on(ServiceSite::start());
    let mut service = server.service.clone();
    service.cards.surcharge_credit = 250;
    runtime
        .block_on(server.store.update_service(&service, None))
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (any::<bool>(), prop::collection::vec(op(), 1..14));
    runner
        .run(&strategy, |(delayed, ops)| {
            runtime.block_on(async {
                let extra = json!({"delayed_capture": delayed, "amount": 1000});
                let (id, next) = super::new_payment(&server, &site, extra).await;
                let browser = reqwest::Client::builder()
                    .cookie_store(true)
                    .build()
                    .unwrap();
                let page = browser
                    .get(&next)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                let mut j = Journey {
                    url: format!("{}/card_details/{id}", server.url),
                    id,
                    browser,
                    csrf: csrf_of(&page).unwrap_or_default(),
                    finished: None,
                };
                for op in &ops {
                    apply(&server, &j, op).await;
                    check(&server, &mut j).await?;
                }
                Ok(())
            })
        })
        .unwrap();
    runtime.block_on(server.stop());
}
