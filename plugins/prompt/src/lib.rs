//! `prompt`: an agent step that fills a prompt template from its input and asks a
//! model through the host.
//!
//! Config: `{"model": "name", "template": "Summarise: {{text}}", "system": "...",
//! "max_tokens": 200, "temperature": 0.2}`; `model` and `template` are required.
//! `{{path}}` placeholders take dotted paths into the input object (a numeric
//! segment indexes an array); strings are inserted as-is, other values as JSON.
//! Output: `{"text", "model", "finish_reason", "usage": {"input_tokens",
//! "output_tokens", "cost_usd"}}`. Errors from the host are passed through.

wit_bindgen::generate!({ world: "step-plugin", path: "../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::{Map, Value, json};
use weft::plugin::host;
use weft::plugin::logging::log;
use weft::plugin::types::{ChatMessage, CompletionRequest, Level, PluginError, RunInfo};

struct Prompt;

fn invalid(msg: impl Into<String>) -> PluginError {
    PluginError::InvalidInput(msg.into())
}

/// Follows a dotted path (`a.b.0.c`) through objects and arrays.
fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |cur, seg| match cur {
        Value::Object(map) => map.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Replaces every `{{path}}` in `template` with the value at `path` in `input`.
fn fill(template: &str, input: &Value) -> Result<String, PluginError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(invalid(format!(
                "config.template: \"{{{{\" at byte {} is never closed with \"}}}}\"",
                template.len() - rest.len() + start
            )));
        };
        let path = after[..end].trim();
        if path.is_empty() {
            return Err(invalid("config.template: empty placeholder \"{{}}\""));
        }
        match lookup(input, path) {
            Some(Value::String(s)) => out.push_str(s),
            Some(other) => out.push_str(&other.to_string()),
            None => {
                return Err(invalid(format!(
                    "config.template: placeholder {{{{{path}}}}} has no matching field in the input"
                )));
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn string_field(config: &Map<String, Value>, name: &str) -> Result<Option<String>, PluginError> {
    match config.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(format!(
            "config.{name}: expected a string, got {other}"
        ))),
    }
}

impl Guest for Prompt {
    fn run(_info: RunInfo, config: String, input: String) -> Result<String, PluginError> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| invalid(format!("config: not valid JSON: {e}")))?;
        let Value::Object(config) = config else {
            return Err(invalid(format!(
                "config: expected a JSON object, got {config}"
            )));
        };
        let model = string_field(&config, "model")?
            .ok_or_else(|| invalid("config.model: required, the name of a configured model"))?;
        let template = string_field(&config, "template")?.ok_or_else(|| {
            invalid("config.template: required, the prompt text with {{field}} placeholders")
        })?;
        let system = string_field(&config, "system")?;
        let max_tokens = match config.get("max_tokens") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => Some(n),
                None => {
                    let msg = format!("config.max_tokens: expected an integer 0..2^32, got {v}");
                    return Err(invalid(msg));
                }
            },
        };
        let temperature = match config.get("temperature") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(t) => Some(t as f32),
                None => {
                    let msg = format!("config.temperature: expected a number, got {v}");
                    return Err(invalid(msg));
                }
            },
        };
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| invalid(format!("input: not valid JSON: {e}")))?;
        let user = fill(&template, &input)?;

        let mut messages = Vec::with_capacity(2);
        if let Some(system) = system {
            messages.push(ChatMessage {
                role: "system".into(),
                content: system,
            });
        }
        messages.push(ChatMessage {
            role: "user".into(),
            content: user,
        });
        log(
            Level::Info,
            &format!(
                "asking model {model}: {} chars of prompt",
                messages.iter().map(|m| m.content.len()).sum::<usize>()
            ),
        );
        let answer = host::complete(&CompletionRequest {
            model,
            messages,
            max_tokens,
            temperature,
            extra: None,
        })?;
        Ok(json!({
            "text": answer.text,
            "model": answer.model,
            "finish_reason": answer.finish_reason,
            "usage": {
                "input_tokens": answer.usage.input_tokens,
                "output_tokens": answer.usage.output_tokens,
                "cost_usd": answer.usage.cost_usd,
            },
        })
        .to_string())
    }
}

export!(Prompt);
