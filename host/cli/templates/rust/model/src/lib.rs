//! `{{name}}`: a weft model adapter. This one answers offline: its text is
//! `prefix` (config, default `"echo: "`) followed by the last user message. A
//! real adapter would call its provider over `wasi:http` instead.
//!
//! Usage: input tokens are the bytes of every message, output tokens the bytes
//! of the answer; no cost (the host prices tokens with the model's `price`).

wit_bindgen::generate!({ world: "model-plugin", path: "wit", generate_all });

use exports::weft::plugin::model_adapter::Guest;
use serde_json::Value;
use weft::plugin::types::{Completion, CompletionRequest, PluginError, Usage};

struct Plugin;

impl Guest for Plugin {
    fn complete(config: String, req: CompletionRequest) -> Result<Completion, PluginError> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| PluginError::InvalidInput(format!("config: {e}")))?;
        let prefix = config
            .get("prefix")
            .and_then(Value::as_str)
            .unwrap_or("echo: ");
        let last = req
            .messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .ok_or_else(|| PluginError::InvalidInput("messages: no user message".into()))?;
        let text = format!("{prefix}{}", last.content);
        let input_tokens = req.messages.iter().map(|m| m.content.len() as u64).sum();
        Ok(Completion {
            usage: Usage {
                input_tokens,
                output_tokens: text.len() as u64,
                cost_usd: 0.0,
            },
            text,
            model: req.model,
            finish_reason: "stop".into(),
        })
    }
}

export!(Plugin);
