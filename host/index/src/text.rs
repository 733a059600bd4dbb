//! Turning run inputs and outputs (JSON) into searchable text of bounded size.

use serde_json::Value;

/// The searchable text of a JSON value: string and number leaves, each after
/// its object key, one per line; cut to `max_bytes`.
pub fn json_text(value: &Value, max_bytes: usize) -> String {
    let mut out = String::new();
    walk(value, None, &mut out, max_bytes);
    truncate(out, max_bytes)
}

fn walk(value: &Value, key: Option<&str>, out: &mut String, max: usize) {
    if out.len() >= max {
        return;
    }
    let mut leaf = |text: &str| {
        if let Some(k) = key {
            out.push_str(k);
            out.push(' ');
        }
        out.push_str(text);
        out.push('\n');
    };
    match value {
        Value::Null => {}
        Value::Bool(b) => leaf(if *b { "true" } else { "false" }),
        Value::Number(n) => leaf(&n.to_string()),
        Value::String(s) => leaf(s),
        Value::Array(items) => {
            for item in items {
                walk(item, key, out, max);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                walk(v, Some(k), out, max);
            }
        }
    }
}

/// `text` cut to at most `max_bytes`, at a character boundary.
pub fn truncate(mut text: String, max_bytes: usize) -> String {
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The plugin-provided summary of an output: its top-level `summary` string.
pub fn summary_of(value: &Value) -> Option<&str> {
    value.get("summary").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        reason = "a test should fail loudly"
    )]
    use serde_json::json;

    use super::*;

    #[test]
    fn leaves_follow_their_keys_and_the_text_is_cut_on_a_char_boundary() {
        let v = json!({"customer": "Zoë", "items": [{"sku": 42}], "ok": true, "none": null});
        assert_eq!(json_text(&v, 1000), "customer Zoë\nsku 42\nok true\n");
        assert_eq!(json_text(&v, 12), "customer Zo");
        assert_eq!(summary_of(&json!({"summary": "s"})), Some("s"));
        assert_eq!(summary_of(&json!({"summary": 1})), None);
    }
}
