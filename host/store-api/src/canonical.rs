//! Canonical bytes of a ledger event: the exact input of its hash.
//!
//! The canonical form is compact JSON (no whitespace) of the object
//! `{"run":…,"seq":…,"time_ms":…,"type":…,"payload":…}` with the fields in exactly
//! that order, and with the keys of every object inside `payload` sorted by their
//! UTF-8 bytes, at every depth. Strings and numbers are written as `serde_json`
//! writes them. It does not depend on serde_json's `preserve_order` feature.

use std::fmt::Write as _;

use serde_json::Value;

/// The canonical bytes of one event (see the module docs).
pub fn event_bytes(run: &str, seq: u64, time_ms: u64, kind: &str, payload: &Value) -> Vec<u8> {
    let mut out = String::with_capacity(128);
    out.push_str("{\"run\":");
    push_str_json(&mut out, run);
    let _ = write!(out, ",\"seq\":{seq},\"time_ms\":{time_ms},\"type\":");
    push_str_json(&mut out, kind);
    out.push_str(",\"payload\":");
    push_value(&mut out, payload);
    out.push('}');
    out.into_bytes()
}

/// Writes `value` as canonical JSON (object keys sorted at every depth).
pub fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => push_str_json(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_str_json(out, key);
                out.push(':');
                if let Some(v) = map.get(key) {
                    push_value(out, v);
                }
            }
            out.push('}');
        }
    }
}

fn push_str_json(out: &mut String, s: &str) {
    // Serialising a string into JSON cannot fail; fall back to an empty string
    // rather than panic should that ever change.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\"")));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_depth_and_header_order_is_fixed() {
        let payload = json!({"b": 1, "a": {"z": [true, null], "y": "x\"y"}});
        let bytes = event_bytes("r-1", 3, 42, "run-created", &payload);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"run":"r-1","seq":3,"time_ms":42,"type":"run-created","payload":{"a":{"y":"x\"y","z":[true,null]},"b":1}}"#
        );
    }

    #[test]
    fn canonical_form_survives_a_round_trip() {
        let payload = json!({"f": 1.5e300, "n": -3, "s": "é\u{1}"});
        let text = serde_json::to_string(&payload).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            event_bytes("r", 1, 1, "t", &payload),
            event_bytes("r", 1, 1, "t", &back)
        );
    }
}
