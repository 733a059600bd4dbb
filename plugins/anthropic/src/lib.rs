//! `anthropic`: a model adapter for the Anthropic messages API.
//!
//! Config (`models.<name>.config` in weft.yaml):
//! - `endpoint`: the API base (default `https://api.anthropic.com/v1`);
//!   requests go to `<endpoint>/messages`.
//! - `model`: the provider's model id (default: the request's model).
//! - `max_tokens`: used when the request sets none (default 1024; the API
//!   requires one).
//! - `anthropic_version`: the `anthropic-version` header (default `2023-06-01`).
//! - `max_retry_wait_ms`: the longest 429 `retry-after` waited out inside the
//!   call (default 10000); a longer one is a transient error saying when.
//!
//! The API key is never in the config: the adapter sends `x-api-key:
//! {{weft.api_key}}` and the host puts the model's key there. System messages
//! become the top-level `system`. `extra` fields are merged into the body;
//! `tools` there may be OpenAI function tools (converted) or Anthropic tools.
//! A `tool_use` answer comes back with finish reason `tool-call` and text
//! `{"tool": NAME, "input": {…}}`.

wit_bindgen::generate!({ world: "model-plugin", path: "../../wit", generate_all });

#[path = "../../adapter-common/call.rs"]
mod call;
#[path = "../../adapter-common/config.rs"]
mod config;
#[path = "../../adapter-common/http.rs"]
mod http;

use exports::weft::plugin::model_adapter::Guest;
use serde_json::{Map, Value, json};
use weft::plugin::types::{Completion, CompletionRequest, PluginError, Usage};

const NAME: &str = "anthropic";

struct Anthropic;

impl Guest for Anthropic {
    fn complete(config: String, req: CompletionRequest) -> Result<Completion, PluginError> {
        let c = config::parse(NAME, &config)?;
        let endpoint = config::string(NAME, &c, "endpoint")?
            .unwrap_or_else(|| "https://api.anthropic.com/v1".into());
        let url = http::Url::parse(&endpoint)
            .map_err(|why| config::invalid(NAME, format!("config.endpoint: {why}")))?;
        let model = config::string(NAME, &c, "model")?.unwrap_or_else(|| req.model.clone());
        if model.is_empty() {
            return Err(config::invalid(
                NAME,
                "config.model: required (the provider's model id)".into(),
            ));
        }
        let default_max = config::number(NAME, &c, "max_tokens")?.unwrap_or(1024);
        let version =
            config::string(NAME, &c, "anthropic_version")?.unwrap_or_else(|| "2023-06-01".into());
        let body = request_body(&model, default_max, &req)?;
        let call = call::Call {
            adapter: NAME,
            url: url.join("/messages"),
            headers: vec![
                ("content-type", "application/json".into()),
                ("accept", "application/json".into()),
                ("anthropic-version", version),
                ("x-api-key", call::API_KEY.into()),
            ],
            body: body.to_string().into_bytes(),
            max_retry_wait_ms: config::number(NAME, &c, "max_retry_wait_ms")?.unwrap_or(10_000),
            error_message,
        };
        let answer = config::answer(NAME, &call.send()?)?;
        completion(&model, &answer)
    }
}

fn request_body(
    model: &str,
    default_max: u64,
    req: &CompletionRequest,
) -> Result<Value, PluginError> {
    let mut system = Vec::new();
    let mut messages = Vec::new();
    for m in &req.messages {
        match m.role.as_str() {
            "system" => system.push(m.content.as_str()),
            "user" | "assistant" => messages.push(json!({ "role": m.role, "content": m.content })),
            "tool" => messages.push(json!({
                "role": "user",
                "content": format!("Tool result:\n{}", m.content)
            })),
            other => {
                return Err(config::invalid(
                    NAME,
                    format!("message role `{other}`: expected system, user, assistant or tool"),
                ));
            }
        }
    }
    if messages.is_empty() {
        return Err(config::invalid(
            NAME,
            "the request has no user or assistant message".into(),
        ));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    body.insert(
        "max_tokens".into(),
        json!(req.max_tokens.map_or(default_max, u64::from)),
    );
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    if let Some(t) = req.temperature {
        if !t.is_finite() {
            return Err(config::invalid(
                NAME,
                format!("temperature {t} is not a number"),
            ));
        }
        body.insert("temperature".into(), json!(t));
    }
    for (k, v) in config::extra(NAME, req.extra.as_deref())? {
        let v = if k == "tools" { tools(v)? } else { v };
        body.insert(k, v);
    }
    Ok(Value::Object(body))
}

/// OpenAI function tools as Anthropic tools; Anthropic tools unchanged.
fn tools(v: Value) -> Result<Value, PluginError> {
    let Value::Array(list) = v else {
        return Err(config::invalid(
            NAME,
            format!("extra.tools: expected a list, got {v}"),
        ));
    };
    let converted = list
        .into_iter()
        .map(|t| match t.get("function") {
            Some(f) => {
                let mut tool = Map::new();
                tool.insert("name".into(), f.get("name").cloned().unwrap_or(Value::Null));
                if let Some(d) = f.get("description") {
                    tool.insert("description".into(), d.clone());
                }
                tool.insert(
                    "input_schema".into(),
                    f.get("parameters")
                        .cloned()
                        .unwrap_or_else(|| json!({ "type": "object" })),
                );
                Value::Object(tool)
            }
            None => t,
        })
        .collect();
    Ok(Value::Array(converted))
}

fn completion(asked: &str, answer: &Value) -> Result<Completion, PluginError> {
    let Some(blocks) = answer.get("content").and_then(Value::as_array) else {
        return Err(PluginError::Transient(format!(
            "{NAME}: the provider's answer has no content: {answer}"
        )));
    };
    let tool = blocks
        .iter()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"));
    let stop = answer
        .get("stop_reason")
        .and_then(Value::as_str)
        .unwrap_or("end_turn");
    let (text, finish) = match tool {
        Some(t) => {
            let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
            let input = t.get("input").cloned().unwrap_or_else(|| json!({}));
            (config::tool_call_text(name, input), "tool-call")
        }
        None => {
            let text: Vec<&str> = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect();
            let finish = match stop {
                "end_turn" | "stop_sequence" => "stop",
                "max_tokens" => "length",
                "tool_use" => "tool-call",
                other => other,
            };
            (text.concat(), finish)
        }
    };
    let usage = answer.get("usage");
    let tokens = |k: &str| {
        usage
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok(Completion {
        text,
        model: answer
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(asked)
            .to_owned(),
        usage: Usage {
            input_tokens: tokens("input_tokens"),
            output_tokens: tokens("output_tokens"),
            cost_usd: 0.0,
        },
        finish_reason: finish.to_owned(),
    })
}

/// `error.message` of an Anthropic error body.
fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("error")?
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

export!(Anthropic);
