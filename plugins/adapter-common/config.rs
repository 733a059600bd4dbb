//! Reading an adapter's `config:` JSON, with `invalid-input` errors that name
//! the field.

use serde_json::{Map, Value};

use crate::weft::plugin::types::PluginError;

/// The config object (`{}` for `null`).
pub fn parse(adapter: &str, config: &str) -> Result<Map<String, Value>, PluginError> {
    match serde_json::from_str::<Value>(config) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(invalid(
            adapter,
            format!("config: expected an object, got {other}"),
        )),
        Err(e) => Err(invalid(adapter, format!("config: not valid JSON: {e}"))),
    }
}

/// `config.<key>` as a string, if present.
pub fn string(
    adapter: &str,
    c: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, PluginError> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(
            adapter,
            format!("config.{key}: expected a string, got {other}"),
        )),
    }
}

/// `config.<key>` as a whole number, if present.
pub fn number(
    adapter: &str,
    c: &Map<String, Value>,
    key: &str,
) -> Result<Option<u64>, PluginError> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            invalid(
                adapter,
                format!("config.{key}: expected a whole number, got {v}"),
            )
        }),
    }
}

/// The request's `extra` as a JSON object (empty when absent).
pub fn extra(adapter: &str, extra: Option<&str>) -> Result<Map<String, Value>, PluginError> {
    match extra.map(serde_json::from_str::<Value>) {
        None => Ok(Map::new()),
        Some(Ok(Value::Object(m))) => Ok(m),
        Some(Ok(Value::Null)) => Ok(Map::new()),
        Some(Ok(other)) => Err(invalid(
            adapter,
            format!("extra: expected an object, got {other}"),
        )),
        Some(Err(e)) => Err(invalid(adapter, format!("extra: not valid JSON: {e}"))),
    }
}

/// An `invalid-input` error prefixed with the adapter's name.
pub fn invalid(adapter: &str, message: String) -> PluginError {
    PluginError::InvalidInput(format!("{adapter}: {message}"))
}

/// The provider's answer as JSON; a malformed one is transient (a proxy or an
/// overloaded provider cut it short).
pub fn answer(adapter: &str, body: &[u8]) -> Result<Value, PluginError> {
    serde_json::from_slice(body).map_err(|e| {
        PluginError::Transient(format!(
            "{adapter}: the provider's answer is not valid JSON: {e}"
        ))
    })
}

/// The text of a tool call as the adapters return it.
pub fn tool_call_text(name: &str, input: Value) -> String {
    serde_json::json!({ "tool": name, "input": input }).to_string()
}
