//! `slow-agent`: an agent step for the crash tests. It asks a model through the
//! host (a journaled call), then either returns the answer or, with
//! `"spin": true`, keeps running forever, so that a test can kill the host after
//! the call was journaled and before the step finished.
//!
//! Config: `{"model": "name", "prompt": "text", "spin": false}`, all optional;
//! `model` defaults to the step's `model:` (the host routes an empty name
//! there), `prompt` to `"Say hello"`. Output: `{"text", "model", "attempt"}`.

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

impl Guest for SlowAgent {
    fn run(info: RunInfo, config: String, _input: String) -> Result<String, PluginError> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| invalid(format!("config: not valid JSON: {e}")))?;
        let spin = match config.get("spin") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(invalid(format!(
                    "config.spin: expected a boolean, got {other}"
                )));
            }
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
