//! `slow-agent`: an agent step for the crash tests. It asks a model through the
//! host (a journaled call), then either returns the answer or, with
//! `"spin": true`, keeps running forever, so that a test can kill the host after
//! the call was journaled and before the step finished.
//!
//! For the worker tests: `"spin_once": true` spins only the first time the
//! step runs in its run (it marks that in the run's artifact
//! `slow-agent:<step>:started` before spinning; a later run of the step finds
//! the mark and finishes), and `"sleep_ms": N` sleeps N ms before answering.
//!
//! Config: `{"model": "name", "prompt": "text", "spin": false, "spin_once":
//! false, "sleep_ms": 0}`, all optional; `model` defaults to the step's
//! `model:` (the host routes an empty name there), `prompt` to `"Say hello"`.
//! Output: `{"text", "model", "attempt"}`.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::{Value, json};
use std::hint::black_box;
use weft::plugin::host;
use weft::plugin::types::{ChatMessage, CompletionRequest, PluginError, RunInfo};

struct SlowAgent;

fn invalid(msg: impl Into<String>) -> PluginError {
    PluginError::InvalidInput(msg.into())
}

/// The string field `name` of the config, or `default` when absent or null.
fn text(config: &Value, name: &str, default: &str) -> Result<String, PluginError> {
    match config.get(name) {
        None | Some(Value::Null) => Ok(default.to_owned()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(invalid(format!(
            "config.{name}: expected a string, got {other}"
        ))),
    }
}

/// The boolean field `name` of the config (false when absent or null).
fn flag(config: &Value, name: &str) -> Result<bool, PluginError> {
    match config.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid(format!(
            "config.{name}: expected a boolean, got {other}"
        ))),
    }
}

impl Guest for SlowAgent {
    fn run(info: RunInfo, config: String, _input: String) -> Result<String, PluginError> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| invalid(format!("config: not valid JSON: {e}")))?;
        let mut spin = flag(&config, "spin")?;
        let sleep_ms = match config.get("sleep_ms") {
            None | Some(Value::Null) => 0,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| invalid(format!("config.sleep_ms: expected ms, got {v}")))?,
        };
        let answer = host::complete(&CompletionRequest {
            model: text(&config, "model", "")?,
            messages: vec![ChatMessage {
                role: "user".into(),
                content: text(&config, "prompt", "Say hello")?,
            }],
            max_tokens: None,
            temperature: None,
            extra: None,
        })?;
        if flag(&config, "spin_once")? {
            let mark = format!("slow-agent:{}:started", info.step_id);
            if host::artifact_get(&mark).is_none() {
                host::artifact_put(&mark, "true")
                    .map_err(|e| PluginError::Transient(format!("cannot mark the start: {e:?}")))?;
                spin = true;
            }
        }
        if sleep_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(sleep_ms));
        }
        if spin {
            // A `black_box`ed counter keeps the optimiser from deleting the loop.
            let mut n = answer.text.len() as u64;
            loop {
                n = black_box(n.wrapping_add(1));
            }
        }
        Ok(json!({
            "text": answer.text,
            "model": answer.model,
            "attempt": info.attempt,
        })
        .to_string())
    }
}

export!(SlowAgent);
