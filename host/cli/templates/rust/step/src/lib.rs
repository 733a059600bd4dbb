//! `{{name}}`: a weft step plugin.
//!
//! Input: `{"name": "Ada"}`. Config (optional): `{"greeting": "Hello", "model":
//! "mock"}`. Output: `{"message": "Hello, Ada!"}`; with `model`, the step also
//! asks that model (a model of weft.yaml) to greet the name and adds its answer
//! as `reply`.

wit_bindgen::generate!({ world: "step-plugin", path: "wit" });

use exports::weft::plugin::step::Guest;
use serde_json::{Value, json};
use weft::plugin::host;
use weft::plugin::logging::log;
use weft::plugin::types::{ChatMessage, CompletionRequest, Level, PluginError, RunInfo};

struct Plugin;

fn object(what: &str, text: &str) -> Result<serde_json::Map<String, Value>, PluginError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(PluginError::InvalidInput(format!("{what}: expected a JSON object"))),
    }
}

impl Guest for Plugin {
    fn run(info: RunInfo, config: String, input: String) -> Result<String, PluginError> {
        let config = object("config", &config)?;
        let input = object("input", &input)?;
        let name = input.get("name").and_then(Value::as_str).ok_or_else(|| {
            PluginError::InvalidInput("input.name: required, a string".into())
        })?;
        let greeting = config
            .get("greeting")
            .and_then(Value::as_str)
            .unwrap_or("Hello");
        log(Level::Info, &format!("greeting {name} (attempt {})", info.attempt));
        let mut out = json!({ "message": format!("{greeting}, {name}!") });
        if let Some(model) = config.get("model").and_then(Value::as_str) {
            let completion = host::complete(&CompletionRequest {
                model: model.into(),
                messages: vec![ChatMessage {
                    role: "user".into(),
                    content: format!("Say hello to {name}."),
                }],
                max_tokens: None,
                temperature: None,
                extra: None,
            })?;
            out["reply"] = Value::String(completion.text);
        }
        Ok(out.to_string())
    }
}

export!(Plugin);
