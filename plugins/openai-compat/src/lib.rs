//! `openai-compat`: a model adapter for the OpenAI chat-completions API and the
//! servers that copy it (Ollama, vLLM, llama.cpp server, LM Studio, …).
//!
//! Config (`models.<name>.config` in weft.yaml):
//! - `endpoint` (required): the API base, e.g. `https://api.openai.com/v1` or
//!   `http://localhost:11434/v1`; requests go to `<endpoint>/chat/completions`.
//! - `model`: the provider's model id (default: the request's model).
//! - `max_retry_wait_ms`: the longest 429 `retry-after` waited out inside the
//!   call (default 10000); a longer one is a transient error saying when.
//!
//! The API key is never in the config: the adapter sends `authorization:
//! Bearer {{weft.api_key}}` and the host puts the model's key there (or drops
//! the header when the model has none). `extra` fields are merged into the
//! request body; `tools` there are OpenAI function tools. A tool call comes
//! back with finish reason `tool-call` and text `{"tool": NAME, "input": {…}}`.

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

const NAME: &str = "openai-compat";

struct OpenAiCompat;

impl Guest for OpenAiCompat {
    fn complete(config: String, req: CompletionRequest) -> Result<Completion, PluginError> {
        let c = config::parse(NAME, &config)?;
        let Some(endpoint) = config::string(NAME, &c, "endpoint")? else {
            return Err(config::invalid(
                NAME,
                "config.endpoint: required, e.g. \"https://api.openai.com/v1\"".into(),
            ));
        };
        let url = http::Url::parse(&endpoint)
            .map_err(|why| config::invalid(NAME, format!("config.endpoint: {why}")))?;
        let model = config::string(NAME, &c, "model")?.unwrap_or_else(|| req.model.clone());
        if model.is_empty() {
            return Err(config::invalid(
                NAME,
                "config.model: required (the provider's model id)".into(),
            ));
        }
        let body = request_body(&model, &req)?;
        let call = call::Call {
            adapter: NAME,
            url: url.join("/chat/completions"),
            headers: vec![
                ("content-type", "application/json".into()),
                ("accept", "application/json".into()),
                ("authorization", format!("Bearer {}", call::API_KEY)),
            ],
            body: body.to_string().into_bytes(),
            max_retry_wait_ms: config::number(NAME, &c, "max_retry_wait_ms")?.unwrap_or(10_000),
            error_message,
        };
        let answer = config::answer(NAME, &call.send()?)?;
        completion(&model, &answer)
    }
}

fn request_body(model: &str, req: &CompletionRequest) -> Result<Value, PluginError> {
    if req.messages.is_empty() {
        return Err(config::invalid(NAME, "the request has no messages".into()));
    }
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| match m.role.as_str() {
            "system" | "user" | "assistant" => json!({ "role": m.role, "content": m.content }),
            // A tool result without the provider's tool-call id: plain user text.
            "tool" => json!({ "role": "user", "content": format!("Tool result:\n{}", m.content) }),
            other => json!({ "role": other, "content": m.content }),
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    if let Some(max) = req.max_tokens {
        body.insert("max_tokens".into(), json!(max));
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
        body.insert(k, v);
    }
    Ok(Value::Object(body))
}

fn completion(asked: &str, answer: &Value) -> Result<Completion, PluginError> {
    let malformed = |what: &str| {
        PluginError::Transient(format!(
            "{NAME}: the provider's answer has no {what}: {answer}"
        ))
    };
    let choice = answer
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| malformed("choices[0]"))?;
    let message = choice
        .get("message")
        .ok_or_else(|| malformed("choices[0].message"))?;
    let finish = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .unwrap_or("stop");
    let tool = message
        .get("tool_calls")
        .and_then(|t| t.get(0))
        .and_then(|t| t.get("function"));
    let (text, finish) = match tool {
        Some(f) => {
            let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
            let args = f.get("arguments").and_then(Value::as_str).unwrap_or("{}");
            let input = serde_json::from_str(args).map_err(|e| {
                PluginError::Transient(format!(
                    "{NAME}: tool call `{name}` has arguments that are not JSON: {e}"
                ))
            })?;
            (config::tool_call_text(name, input), "tool-call".to_owned())
        }
        None => {
            let text = match message.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let finish = match finish {
                "tool_calls" | "function_call" => "tool-call",
                "content_filter" => "content-filter",
                other => other,
            };
            (text, finish.to_owned())
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
            input_tokens: tokens("prompt_tokens"),
            output_tokens: tokens("completion_tokens"),
            cost_usd: 0.0,
        },
        finish_reason: finish,
    })
}

/// `error.message` of an OpenAI error body.
fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error")?;
    e.get("message")
        .and_then(Value::as_str)
        .or_else(|| e.as_str())
        .map(str::to_owned)
}

export!(OpenAiCompat);
