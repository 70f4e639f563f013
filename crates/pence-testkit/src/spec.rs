//! Validation of public-API responses against `spec/govuk-pay-openapi-1.0.3.json`, the
//! GOV.UK Pay OpenAPI file kept in the repository as the contract Pence implements.
//!
//! The published spec has a few known defects (what GOV.UK Pay really sends differs): they
//! are corrected once, in `spec/overrides.json` (a JSON Patch, each entry saying why), which
//! the compatibility suite's schemathesis run applies too. The spec's schemas also declare no
//! required keys and allow any extra keys, so a plain check would pass almost anything: here
//! every object schema is closed (`additionalProperties: false`), so a misspelt or invented
//! key fails, and OpenAPI's `nullable` is honoured.
//!
//! Pence's own control API (`/sandbox/v1/...`) is described by `spec/pence-sandbox-openapi.json`,
//! whose payment responses refer to GOV.UK Pay's schema in the file beside it, and its links
//! API (`/pence/v1/...`) by `spec/pence-links-openapi.json`; their responses are validated
//! the same way.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

fn spec_path() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("PENCE_SPEC") {
        return p.into();
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/govuk-pay-openapi-1.0.3.json")
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (it lives in the repository's spec/, or set PENCE_SPEC)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("JSON")
}

/// The spec, parsed once, with `spec/overrides.json` applied.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = spec_path();
        let mut spec = read_json(&path);
        let overrides: json_patch::Patch =
            serde_json::from_value(read_json(&path.with_file_name("overrides.json")))
                .expect("spec/overrides.json is a JSON Patch");
        json_patch::patch(&mut spec, &overrides).expect("spec/overrides.json applies");
        spec
    })
}

/// The control API's spec, parsed once.
pub fn sandbox_spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| read_json(&spec_path().with_file_name("pence-sandbox-openapi.json")))
}

/// The links API's spec, parsed once.
pub fn links_spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| read_json(&spec_path().with_file_name("pence-links-openapi.json")))
}

/// A reference to GOV.UK Pay's file from the control API's, as a reference inside the merged
/// components.
const GOVUK_FILE: &str = "govuk-pay-openapi-1.0.3.json#";

fn tighten(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if obj.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::String(t)) = obj.get("type").cloned() {
            obj.insert("type".into(), json!([t, "null"]));
        } else if let Some(all) = obj.remove("allOf") {
            // A nullable reference (`allOf: [$ref]`, as OpenAPI 3.0 writes one).
            obj.insert("anyOf".into(), json!([{"allOf": all}, {"type": "null"}]));
        }
    }
    if obj.contains_key("properties") && !obj.contains_key("additionalProperties") {
        obj.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (_, v) in obj.iter_mut() {
        match v {
            Value::Object(_) => tighten(v),
            Value::Array(items) => items.iter_mut().for_each(tighten),
            _ => {}
        }
    }
}

/// The spec's components with the control API's schemas beside them, closed.
fn components() -> &'static Value {
    static COMPONENTS: OnceLock<Value> = OnceLock::new();
    COMPONENTS.get_or_init(|| {
        let mut components = spec()["components"].clone();
        let schemas = components["schemas"].as_object_mut().expect("schemas");
        for doc in [sandbox_spec(), links_spec()] {
            let ours = doc["components"]["schemas"]
                .as_object()
                .expect("Pence's specs have schemas");
            for (name, schema) in ours {
                assert!(!schemas.contains_key(name), "schema {name} is in two specs");
                schemas.insert(name.clone(), schema.clone());
            }
        }
        tighten(&mut components);
        components
    })
}

fn check_schema(schema_ref: &str, body: &Value) -> Result<(), String> {
    static CACHE: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let validator = {
        let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
        *cache.entry(schema_ref.to_string()).or_insert_with(|| {
            let root = json!({"$ref": schema_ref, "components": components()});
            let v = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft4)
                .build(&root)
                .unwrap_or_else(|e| panic!("schema {schema_ref}: {e}"));
            Box::leak(Box::new(v))
        })
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("against {schema_ref}: {}", errors.join("; ")))
    }
}

/// Matches `/v1/payments/abc` to `/v1/payments/{paymentId}`.
fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| (a.starts_with('{') && a.ends_with('}')) || a == b)
}

/// The operation's documented JSON schema for `status`, if the spec names one (the control
/// API's spec for `/sandbox/...`).
pub fn response_schema(method: &str, path: &str, status: u16) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    let doc = if path.starts_with("/sandbox/") {
        sandbox_spec()
    } else if path.starts_with("/pence/") {
        links_spec()
    } else {
        spec()
    };
    let paths = doc["paths"].as_object()?;
    // Literal paths win over templated ones (as a router would choose).
    let mut candidates: Vec<(&String, &Value)> = paths
        .iter()
        .filter(|(t, _)| template_matches(t, path))
        .collect();
    candidates.sort_by_key(|(t, _)| t.matches('{').count());
    let (_, item) = candidates.first()?;
    let op = item.get(method.to_ascii_lowercase())?;
    let mut response = &op["responses"][status.to_string()];
    if let Some(shared) = response.get("$ref").and_then(Value::as_str) {
        let name = shared.strip_prefix("#/components/responses/")?;
        response = &doc["components"]["responses"][name];
    }
    let schema = &response["content"]["application/json"]["schema"];
    let reference = schema.get("$ref")?.as_str()?;
    Some(match reference.strip_prefix(GOVUK_FILE) {
        Some(inside) => format!("#{inside}"),
        None => reference.to_string(),
    })
}

/// Validates a public-API response body; Err explains every violation. Responses the spec
/// gives no JSON schema for (401, 204, routes it does not know) are not checked here.
pub fn validate_response(
    method: &str,
    path: &str,
    status: u16,
    body: &Value,
) -> Result<(), String> {
    let Some(schema) = response_schema(method, path, status) else {
        return Ok(());
    };
    check_schema(&schema, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_schemas_by_operation() {
        assert_eq!(
            response_schema("GET", "/v1/payments/abc", 200).as_deref(),
            Some("#/components/schemas/PaymentWithAllLinks")
        );
        assert_eq!(
            response_schema("POST", "/v1/payments", 422).as_deref(),
            Some("#/components/schemas/RequestError")
        );
        assert_eq!(response_schema("POST", "/v1/payments", 401), None);
        assert_eq!(
            response_schema("POST", "/sandbox/v1/payments/abc/pay", 200).as_deref(),
            Some("#/components/schemas/PaymentWithAllLinks")
        );
        assert_eq!(
            response_schema("POST", "/sandbox/v1/payments/abc/pay", 422).as_deref(),
            Some("#/components/schemas/SandboxError")
        );
        assert_eq!(
            response_schema("GET", "/pence/v1/payment_links/abc", 200).as_deref(),
            Some("#/components/schemas/LinkResource")
        );
        assert_eq!(
            response_schema("PUT", "/pence/v1/payment_links/abc", 409).as_deref(),
            Some("#/components/schemas/LinksError")
        );
    }

    #[test]
    fn closed_schemas_catch_invented_keys_and_wrong_types() {
        let ok = json!({"code": "P0200", "description": "Not found"});
        assert!(validate_response("GET", "/v1/payments/x", 404, &ok).is_ok());
        let invented = json!({"code": "P0200", "description": "Not found", "detail": 1});
        assert!(validate_response("GET", "/v1/payments/x", 404, &invented).is_err());
        let wrong = json!({"code": 200, "description": "Not found"});
        assert!(validate_response("GET", "/v1/payments/x", 404, &wrong).is_err());
    }
}
