//! One case per validation rule of reference §2, each asserting status, code, description
//! and field (or its absence).

use pence_testkit::{Engine, TestServer};
use serde_json::{json, Value};

use crate::{base, with};

struct Case {
    name: &'static str,
    body: Value,
    status: u16,
    code: &'static str,
    description: String,
    field: Option<&'static str>,
}

fn case(
    name: &'static str,
    body: Value,
    status: u16,
    code: &'static str,
    description: &str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        body,
        status,
        code,
        description: description.to_string(),
        field,
    }
}

fn invalid(
    name: &'static str,
    body: Value,
    status: u16,
    field: &'static str,
    message: &str,
) -> Case {
    case(
        name,
        body,
        status,
        "P0102",
        &format!("Invalid attribute value: {field}. {message}"),
        Some(field),
    )
}

fn missing(name: &'static str, body: Value, field: &'static str) -> Case {
    case(
        name,
        body,
        400,
        "P0101",
        &format!("Missing mandatory attribute: {field}"),
        Some(field),
    )
}

fn unexpected(name: &'static str, body: Value, field: &str) -> Case {
    case(
        name,
        body,
        400,
        "P0104",
        &format!("Unexpected attribute: {field}"),
        None,
    )
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

const ID26: &str = "abcdefghijklmnopqrstuv1234";
const RECURRING_OFF: &str = "Recurring card payments are currently disabled for this service. Contact support with your error code - https://www.payments.service.gov.uk/support/";

fn no_return_url(changes: Value) -> Value {
    let mut body = with(changes);
    body.as_object_mut().unwrap().remove("return_url");
    body
}

fn cases() -> Vec<Case> {
    let numeric = "Must be a valid numeric format";
    let string_format = "Must be a valid string format";
    let mut cases = vec![
        // amount
        missing("amount missing", with(json!({"amount": "__remove__"})), "amount"),
        missing("amount null", with(json!({"amount": null})), "amount"),
        invalid("amount as string", with(json!({"amount": "100"})), 400, "amount", numeric),
        invalid("amount blank string", with(json!({"amount": "   "})), 400, "amount", numeric),
        invalid("amount fractional", with(json!({"amount": 100.5})), 400, "amount", numeric),
        invalid("amount object", with(json!({"amount": {}})), 400, "amount", numeric),
        invalid("amount beyond 32 bits", with(json!({"amount": 2147483648u64})), 400, "amount", numeric),
        invalid("amount negative", with(json!({"amount": -1})), 422, "amount", "Must be greater than or equal to 1"),
        invalid("amount too large", with(json!({"amount": 10000001})), 422, "amount", "Must be less than or equal to 10000000"),
        invalid(
            "amount zero",
            with(json!({"amount": 0})),
            422,
            "amount",
            "Must be greater than or equal to 1. Refer to https://docs.payments.service.gov.uk/making_payments/#amount",
        ),
        // return_url
        invalid("return_url not a string", with(json!({"return_url": 123})), 400, "return_url", "Must be a valid URL format"),
        missing("return_url null means absent", with(json!({"return_url": null})), "return_url"),
        missing("return_url missing", with(json!({"return_url": "__remove__"})), "return_url"),
        invalid(
            "return_url too long",
            with(json!({"return_url": format!("https://example.org/{}", long(1990))})),
            422,
            "return_url",
            "Must be less than or equal to 2000 characters length",
        ),
        invalid("return_url not a URL", with(json!({"return_url": "not a url"})), 422, "return_url", "Must be a valid URL format"),
        invalid("return_url ftp", with(json!({"return_url": "ftp://example.org/"})), 422, "return_url", "Must be a valid URL format"),
        // moto
        invalid("moto as string", with(json!({"moto": "true"})), 400, "moto", "Must be true or false"),
        invalid("moto null", with(json!({"moto": null})), 400, "moto", "Must be true or false"),
        case(
            "moto on an account without MOTO",
            with(json!({"moto": true})),
            422,
            "P0196",
            "MOTO payments are not enabled for this account. Please contact support if you would like to process MOTO payments - https://www.payments.service.gov.uk/support/ .",
            None,
        ),
        // set_up_agreement
        invalid(
            "set_up_agreement wrong length",
            with(json!({"set_up_agreement": "short"})),
            422,
            "set_up_agreement",
            "Field [set_up_agreement] length must be 26",
        ),
        case("set_up_agreement without recurring", with(json!({"set_up_agreement": ID26})), 422, "P0942", RECURRING_OFF, None),
        unexpected(
            "set_up_agreement with moto_api",
            no_return_url(json!({"set_up_agreement": ID26, "authorisation_mode": "moto_api"})),
            "set_up_agreement",
        ),
        // authorisation_mode
        invalid(
            "authorisation_mode unknown",
            with(json!({"authorisation_mode": "external"})),
            422,
            "authorisation_mode",
            "Must be one of web, moto_api, agreement",
        ),
        invalid(
            "authorisation_mode not a string",
            with(json!({"authorisation_mode": 1})),
            422,
            "authorisation_mode",
            "Must be one of web, moto_api, agreement",
        ),
        unexpected("return_url with moto_api", with(json!({"authorisation_mode": "moto_api"})), "return_url"),
        case(
            "moto_api not enabled",
            no_return_url(json!({"authorisation_mode": "moto_api"})),
            422,
            "P0195",
            "Using authorisation_mode of moto_api is not allowed for this account",
            None,
        ),
        case(
            "agreement mode without recurring",
            no_return_url(json!({"authorisation_mode": "agreement", "agreement_id": ID26})),
            422,
            "P0942",
            RECURRING_OFF,
            None,
        ),
        unexpected(
            "email with agreement mode",
            no_return_url(json!({"authorisation_mode": "agreement", "agreement_id": ID26, "email": "a@b.c"})),
            "email",
        ),
        unexpected(
            "prefilled details with agreement mode",
            no_return_url(json!({"authorisation_mode": "agreement", "agreement_id": ID26, "prefilled_cardholder_details": {"cardholder_name": "J"}})),
            "prefilled_cardholder_details",
        ),
        // agreement_id
        unexpected("agreement_id without agreement mode", with(json!({"agreement_id": ID26})), "agreement_id"),
        invalid(
            "agreement_id not a string",
            no_return_url(json!({"authorisation_mode": "agreement", "agreement_id": 5})),
            400,
            "agreement_id",
            string_format,
        ),
        missing("agreement_id blank", no_return_url(json!({"authorisation_mode": "agreement", "agreement_id": " "})), "agreement_id"),
        invalid(
            "agreement_id wrong length",
            no_return_url(json!({"authorisation_mode": "agreement", "agreement_id": "short"})),
            422,
            "agreement_id",
            "Field [agreement_id] length must be 26",
        ),
        // agreement_payment_type
        unexpected("agreement_payment_type alone", with(json!({"agreement_payment_type": "recurring"})), "agreement_payment_type"),
        invalid(
            "agreement_payment_type not a string",
            with(json!({"agreement_payment_type": 5})),
            400,
            "agreement_payment_type",
            "Must be one of instalment, recurring, unscheduled",
        ),
        invalid(
            "agreement_payment_type unknown",
            with(json!({"agreement_payment_type": "weekly", "set_up_agreement": ID26})),
            422,
            "agreement_payment_type",
            "Must be one of instalment, recurring, unscheduled",
        ),
        // language
        invalid("language unsupported", with(json!({"language": "fr"})), 422, "language", "Must be \"en\" or \"cy\""),
        invalid("language number", with(json!({"language": 1})), 400, "language", "Must be \"en\" or \"cy\""),
        invalid("language null", with(json!({"language": null})), 400, "language", "Must be \"en\" or \"cy\""),
        invalid("language empty", with(json!({"language": ""})), 400, "language", "Must be \"en\" or \"cy\""),
        invalid("language blank", with(json!({"language": " "})), 400, "language", "Must be \"en\" or \"cy\""),
        // delayed_capture
        invalid("delayed_capture string", with(json!({"delayed_capture": "yes"})), 400, "delayed_capture", "Must be true or false"),
        invalid("delayed_capture null", with(json!({"delayed_capture": null})), 400, "delayed_capture", "Must be true or false"),
        // email
        invalid("email not a string", with(json!({"email": 5})), 400, "email", "Field must be a string"),
        invalid(
            "email too long",
            with(json!({"email": format!("{}@example.org", long(243))})),
            422,
            "email",
            "Must be less than or equal to 254 characters length",
        ),
        // prefilled_cardholder_details
        invalid(
            "prefilled cardholder_name not a string",
            with(json!({"prefilled_cardholder_details": {"cardholder_name": 5}})),
            400,
            "cardholder_name",
            "Field must be a string",
        ),
        invalid(
            "prefilled line1 not a string",
            with(json!({"prefilled_cardholder_details": {"billing_address": {"line1": 5}}})),
            400,
            "line1",
            "Field must be a string",
        ),
        invalid(
            "prefilled country not a string",
            with(json!({"prefilled_cardholder_details": {"billing_address": {"country": true}}})),
            400,
            "country",
            "Field must be a string",
        ),
        invalid(
            "prefilled cardholder_name too long",
            with(json!({"prefilled_cardholder_details": {"cardholder_name": long(256)}})),
            422,
            "cardholder_name",
            "Must be less than or equal to 255 characters length",
        ),
        invalid(
            "prefilled line1 too long",
            with(json!({"prefilled_cardholder_details": {"billing_address": {"line1": long(256)}}})),
            422,
            "line1",
            "Must be less than or equal to 255 characters length",
        ),
        invalid(
            "prefilled line2 too long",
            with(json!({"prefilled_cardholder_details": {"billing_address": {"line2": long(256)}}})),
            422,
            "line2",
            "Must be less than or equal to 255 characters length",
        ),
        invalid(
            "prefilled city too long",
            with(json!({"prefilled_cardholder_details": {"billing_address": {"city": long(256)}}})),
            422,
            "city",
            "Must be less than or equal to 255 characters length",
        ),
        invalid(
            "prefilled postcode too long",
            with(json!({"prefilled_cardholder_details": {"billing_address": {"postcode": long(26)}}})),
            422,
            "postcode",
            "Must be less than or equal to 25 characters length",
        ),
        // metadata (§2.3)
        invalid("metadata not an object", with(json!({"metadata": "x"})), 422, "metadata", "Must be an object of JSON key-value pairs"),
        invalid("metadata array", with(json!({"metadata": [1]})), 422, "metadata", "Must be an object of JSON key-value pairs"),
        invalid("metadata null", with(json!({"metadata": null})), 422, "metadata", "Value must not be null"),
        invalid(
            "metadata too many pairs",
            with(json!({"metadata": (0..16).map(|i| (format!("k{i}"), json!(i))).collect::<serde_json::Map<_, _>>()})),
            422,
            "metadata",
            "Cannot have more than 15 key-value pairs",
        ),
        invalid(
            "metadata key too long",
            with(json!({"metadata": {long(31): 1}})),
            422,
            "metadata",
            "Keys must be between 1 and 30 characters long",
        ),
        invalid("metadata empty key", with(json!({"metadata": {"": 1}})), 422, "metadata", "Keys must be between 1 and 30 characters long"),
        invalid(
            "metadata object value",
            with(json!({"metadata": {"a": {"b": 1}}})),
            422,
            "metadata",
            "Values must be of type String, Boolean or Number",
        ),
        invalid(
            "metadata value too long",
            with(json!({"metadata": {"a": long(101)}})),
            422,
            "metadata",
            "Values must be no greater than 100 characters long",
        ),
        invalid("metadata null value", with(json!({"metadata": {"a": null}})), 422, "metadata", "Must not have null values"),
        invalid(
            "metadata keys equal ignoring case",
            with(json!({"metadata": {"key": 1, "KEY": 2}})),
            422,
            "metadata",
            "Must have case insensitive unique keys",
        ),
        invalid(
            "metadata several rules broken",
            with(json!({"metadata": {"a": null, "b": [1]}})),
            422,
            "metadata",
            "Values must be of type String, Boolean or Number. Must not have null values",
        ),
        // internal.source
        invalid(
            "internal source not allowed",
            with(json!({"internal": {"source": "CARD_API"}})),
            400,
            "source",
            "Accepted values are only CARD_PAYMENT_LINK, CARD_AGENT_INITIATED_MOTO",
        ),
        invalid(
            "internal source unknown",
            with(json!({"internal": {"source": "SOMETHING"}})),
            422,
            "source",
            "Accepted values are only CARD_PAYMENT_LINK, CARD_AGENT_INITIATED_MOTO",
        ),
        // fail fast, in GOV.UK Pay's field order
        missing("first failure wins", json!({"description": 5}), "amount"),
        missing("not an object", json!([1, 2]), "amount"),
        invalid(
            "parser errors before size errors",
            with(json!({"reference": long(300), "description": 5})),
            400,
            "description",
            string_format,
        ),
        invalid(
            "size errors before service rules",
            with(json!({"reference": long(300), "return_url": "__remove__"})),
            422,
            "reference",
            "Must be less than or equal to 255 characters length",
        ),
    ];
    // reference and description share their rules.
    for field in ["reference", "description"] {
        cases.extend([
            missing("missing", with(json!({field: "__remove__"})), field),
            missing("null", with(json!({field: null})), field),
            missing("empty", with(json!({field: ""})), field),
            missing("blank", with(json!({field: "   "})), field),
            invalid(
                "not a string",
                with(json!({field: 123})),
                400,
                field,
                string_format,
            ),
            invalid(
                "contains <",
                with(json!({field: "a<b"})),
                400,
                field,
                string_format,
            ),
            invalid(
                "contains >",
                with(json!({field: "a>b"})),
                400,
                field,
                string_format,
            ),
            invalid(
                "contains |",
                with(json!({field: "a|b"})),
                400,
                field,
                string_format,
            ),
            invalid(
                "too long",
                with(json!({field: long(256)})),
                422,
                field,
                "Must be less than or equal to 255 characters length",
            ),
            // Java counts UTF-16 units: 128 emoji are 256 units.
            invalid(
                "too long in UTF-16",
                with(json!({field: "😀".repeat(128)})),
                422,
                field,
                "Must be less than or equal to 255 characters length",
            ),
        ]);
    }
    cases
}

pence_testkit::engine_tests!(every_rule_of_reference_section_2);
async fn every_rule_of_reference_section_2(engine: Engine) {
    let server = TestServer::start(engine).await;
    let mut failures = Vec::new();
    for c in cases() {
        let reply = server.post("/v1/payments", &c.body).await;
        let want = json!({
            "status": c.status,
            "code": c.code,
            "description": c.description,
            "field": c.field,
        });
        let got = json!({
            "status": reply.status,
            "code": reply.json["code"],
            "description": reply.json["description"],
            "field": reply.json.get("field"),
        });
        if want != got {
            failures.push(format!("{engine:?} {}: want {want}, got {got}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rule(s) broken:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing that failed validation was stored: a valid create still works and is the
    // only payment.
    assert_eq!(server.post("/v1/payments", &base()).await.status, 201);
    server.stop().await;
}

pence_testkit::engine_tests!(live_services_need_https_return_urls);
async fn live_services_need_https_return_urls(engine: Engine) {
    let server = TestServer::start(engine).await;
    let (_, live_key) = server.new_service(true).await;
    assert!(live_key.starts_with("api_live_"));
    let reply = server
        .post_as(
            &live_key,
            "/v1/payments",
            &with(json!({"return_url": "http://example.org/r"})),
        )
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.json,
        json!({
            "field": "return_url",
            "code": "P0920",
            "description": "Invalid attribute value: return_url. Must begin with https:// for a live gateway account"
        })
    );
    let ok = server.post_as(&live_key, "/v1/payments", &base()).await;
    assert_eq!(ok.status, 201);
    // Test services accept http.
    let test = server
        .post(
            "/v1/payments",
            &with(json!({"return_url": "http://localhost:3000/r"})),
        )
        .await;
    assert_eq!(test.status, 201);
    server.stop().await;
}
