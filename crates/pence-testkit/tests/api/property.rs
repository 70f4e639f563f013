//! Any JSON object posted to create payment gets 201, 400, 422 or 401 with a spec-shaped body
//! (the test kit validates each against the spec) — never a 5xx.

use pence_testkit::{Engine, TestServer};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const FIELDS: &[&str] = &[
    "amount",
    "reference",
    "description",
    "return_url",
    "moto",
    "set_up_agreement",
    "authorisation_mode",
    "agreement_id",
    "agreement_payment_type",
    "language",
    "delayed_capture",
    "email",
    "prefilled_cardholder_details",
    "metadata",
    "internal",
    "unknown",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-5i64..20_000_000).prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "[<>|a-z ]{0,10}".prop_map(Value::String),
        prop_oneof![
            Just("https://example.org/r"),
            Just("http://localhost/x"),
            Just("en"),
            Just("cy"),
            Just("web"),
            Just("moto_api"),
            Just("agreement"),
            Just("recurring"),
            Just("abcdefghijklmnopqrstuv1234"),
            Just("CARD_PAYMENT_LINK"),
        ]
        .prop_map(|s| json!(s)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                "[a-zA-Z_0-9]{0,12}|source|line1|cardholder_name|billing_address",
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(FIELDS), value()), 0..12).prop_map(|pairs| {
        let mut map = Map::new();
        // Start from a valid body half the time so deeper rules are reached.
        for (k, v) in pairs {
            map.insert(k.to_string(), v);
        }
        Value::Object(map)
    })
}

pence_testkit::engine_tests!(sync: any_json_object_gets_a_gov_uk_pay_answer);
fn any_json_object_gets_a_gov_uk_pay_answer(engine: Engine) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start(engine));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (body(), any::<bool>()).prop_map(|(body, from_valid)| {
        if !from_valid {
            return body;
        }
        let mut merged = crate::base();
        for (k, v) in body.as_object().unwrap() {
            merged[k] = v.clone();
        }
        merged
    });
    runner
        .run(&strategy, |body| {
            let reply = runtime.block_on(server.post("/v1/payments", &body));
            prop_assert!(
                [201, 400, 401, 422].contains(&reply.status),
                "status {} for {body}: {}",
                reply.status,
                reply.text
            );
            if reply.status != 201 {
                prop_assert!(reply.json["code"].is_string(), "{}", reply.text);
                prop_assert!(reply.json["description"].is_string(), "{}", reply.text);
            }
            Ok(())
        })
        .unwrap();
    runtime.block_on(server.stop());
}
