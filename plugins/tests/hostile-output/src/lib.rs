//! `hostile-output`: a step that hands the host too much, to test its caps.
//!
//! By default it returns a huge but well-formed JSON string, `"aaa…"`, of
//! config `{"bytes": N}` letters (default 100 MiB): the output size cap. Its
//! input can ask for something else instead:
//!
//! - `{"artifact": {"key_bytes": K, "value_bytes": N}}`: calls `artifact-put`
//!   with a key of `K` letters `k` (default 8) and a JSON string of `N` letters
//!   (default 16), and returns what the host said: `{"artifact_put": "ok"}` or
//!   `{"artifact_put": {"kind": "invalid-input", "message": "…"}}`;
//! - `{"error_bytes": N}`: fails with a transient error of `N` letters `e`;
//! - `{"model_calls": N, "model": "mock"}`: asks the model `N` times, and
//!   `{"tool_calls": N, "tool": "echo"}`: runs the tool `N` times; either way
//!   it goes on past a refused call and returns `{"ok": calls answered,
//!   "first_error": "…" | null}`, so only the host can fail the attempt.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::{Value, json};
use weft::plugin::host;
use weft::plugin::types::{ChatMessage, CompletionRequest, PluginError, RunInfo};

struct HostileOutput;

/// `value[name]` as a size, `default` when it is not there.
fn size(value: &Value, name: &str, default: usize) -> Result<usize, PluginError> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                PluginError::InvalidInput(format!(
                    "{name}: expected a non-negative integer, got {v}"
                ))
            }),
    }
}

/// A JSON string of `n` letters `c`.
fn letters(c: char, n: usize) -> String {
    let mut out = String::with_capacity(n.saturating_add(2));
    out.push('"');
    out.extend(std::iter::repeat_n(c, n));
    out.push('"');
    out
}

/// Puts the artifact `spec` asks for; what the host answered, as output.
fn put_artifact(spec: &Value) -> Result<String, PluginError> {
    let key = "k".repeat(size(spec, "key_bytes", 8)?);
    let value = letters('a', size(spec, "value_bytes", 16)?);
    let answer = match host::artifact_put(&key, &value) {
        Ok(()) => json!("ok"),
        Err(e) => {
            let (kind, message) = match e {
                PluginError::Transient(m) => ("transient", m),
                PluginError::Permanent(m) => ("permanent", m),
                PluginError::InvalidInput(m) => ("invalid-input", m),
            };
            json!({"kind": kind, "message": message})
        }
    };
    Ok(json!({ "artifact_put": answer }).to_string())
}

/// Makes `n` calls with `call`, going on past errors: how many were answered
/// and the first error.
fn calls(n: usize, call: impl Fn(usize) -> Result<(), PluginError>) -> String {
    let (mut ok, mut first_error) = (0, None::<String>);
    for i in 0..n {
        match call(i) {
            Ok(()) => ok += 1,
            Err(e) => {
                let message = match e {
                    PluginError::Transient(m)
                    | PluginError::Permanent(m)
                    | PluginError::InvalidInput(m) => m,
                };
                first_error.get_or_insert(message);
            }
        }
    }
    json!({"ok": ok, "first_error": first_error}).to_string()
}

/// The calls `input` asks for, if it asks for any.
fn host_calls(input: &Value) -> Result<Option<String>, PluginError> {
    if input.get("model_calls").is_some() {
        let model = input["model"].as_str().unwrap_or_default().to_owned();
        let n = size(input, "model_calls", 0)?;
        return Ok(Some(calls(n, |i| {
            host::complete(&CompletionRequest {
                model: model.clone(),
                messages: vec![ChatMessage {
                    role: "user".into(),
                    content: format!("call {i}"),
                }],
                max_tokens: Some(16),
                temperature: None,
                extra: None,
            })
            .map(drop)
        })));
    }
    if input.get("tool_calls").is_some() {
        let tool = input["tool"].as_str().unwrap_or("echo").to_owned();
        let n = size(input, "tool_calls", 0)?;
        return Ok(Some(calls(n, |i| {
            host::call_tool(&tool, "{}", &json!({"i": i}).to_string()).map(drop)
        })));
    }
    Ok(None)
}

impl Guest for HostileOutput {
    fn run(_info: RunInfo, config: String, input: String) -> Result<String, PluginError> {
        let config: Value = serde_json::from_str(&config).unwrap_or(Value::Null);
        let input: Value = serde_json::from_str(&input).unwrap_or(Value::Null);
        if let Some(spec) = input.get("artifact") {
            return put_artifact(spec);
        }
        if let Some(output) = host_calls(&input)? {
            return Ok(output);
        }
        if input.get("error_bytes").is_some() {
            let n = size(&input, "error_bytes", 0)?;
            return Err(PluginError::Transient("e".repeat(n)));
        }
        let bytes = size(&config, "bytes", 100 * 1024 * 1024)?;
        Ok(letters('a', bytes))
    }
}

export!(HostileOutput);
