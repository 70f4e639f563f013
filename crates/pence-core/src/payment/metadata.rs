//! Metadata rules (reference §2.3): at most 15 pairs, keys 1–30 characters, values string,
//! number or boolean of at most 100 characters, no nulls, keys unique ignoring case. Every
//! broken rule is reported, joined with `. `.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::text::java_len;

pub const MAX_PAIRS: usize = 15;
pub const MAX_KEY_LEN: usize = 30;
pub const MAX_VALUE_LEN: usize = 100;

/// The broken rules' messages, in a fixed order, or an empty list.
pub fn violations(map: &Map<String, Value>) -> Vec<&'static str> {
    let mut out = Vec::new();
    if map.len() > MAX_PAIRS {
        out.push("Cannot have more than 15 key-value pairs");
    }
    if map
        .keys()
        .any(|k| java_len(k) == 0 || java_len(k) > MAX_KEY_LEN)
    {
        out.push("Keys must be between 1 and 30 characters long");
    }
    if map
        .values()
        .any(|v| matches!(v, Value::Array(_) | Value::Object(_)))
    {
        out.push("Values must be of type String, Boolean or Number");
    }
    if map.values().any(|v| value_len(v) > MAX_VALUE_LEN) {
        out.push("Values must be no greater than 100 characters long");
    }
    if map.values().any(Value::is_null) {
        out.push("Must not have null values");
    }
    let mut seen = HashSet::new();
    if !map.keys().all(|k| seen.insert(k.to_lowercase())) {
        out.push("Must have case insensitive unique keys");
    }
    out
}

fn value_len(v: &Value) -> usize {
    match v {
        Value::String(s) => java_len(s),
        Value::Number(n) => n.to_string().len(),
        Value::Bool(b) => b.to_string().len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Vec<&'static str> {
        violations(v.as_object().unwrap())
    }

    #[test]
    fn each_rule() {
        assert!(check(json!({"a": "x", "b": 1, "c": true, "d": ""})).is_empty());
        assert_eq!(
            check(json!({"": 1})),
            ["Keys must be between 1 and 30 characters long"]
        );
        assert_eq!(
            check(json!({"a": [1]})),
            ["Values must be of type String, Boolean or Number"]
        );
        assert_eq!(check(json!({"a": null})), ["Must not have null values"]);
        assert_eq!(
            check(json!({"a": 1, "A": 2})),
            ["Must have case insensitive unique keys"]
        );
        assert_eq!(
            check(json!({"a": "x".repeat(101)})),
            ["Values must be no greater than 100 characters long"]
        );
        let many: Map<String, Value> = (0..16).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(
            violations(&many),
            ["Cannot have more than 15 key-value pairs"]
        );
    }
}
