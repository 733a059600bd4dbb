//! The two wire protocols: what a request must carry, and the bodies of
//! answers and errors, shaped like the real providers'.

use serde_json::{Value, json};

/// Which provider protocol a request used (chosen by its path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OpenAI chat completions: `POST /v1/chat/completions`.
    OpenAi,
    /// Anthropic messages: `POST /v1/messages`.
    Anthropic,
}

impl Protocol {
    /// The protocol served at `path`, if any.
    pub fn of_path(path: &str) -> Option<Self> {
        match path {
            "/v1/chat/completions" | "/chat/completions" => Some(Self::OpenAi),
            "/v1/messages" | "/messages" => Some(Self::Anthropic),
            _ => None,
        }
    }

    /// The API key the request carried: `authorization: Bearer …` (OpenAI) or
    /// `x-api-key` (Anthropic).
    pub fn api_key<'a>(self, header: impl Fn(&str) -> Option<&'a str>) -> Option<&'a str> {
        match self {
            Self::OpenAi => header("authorization").and_then(|v| v.strip_prefix("Bearer ")),
            Self::Anthropic => header("x-api-key"),
        }
    }

    /// What is wrong with a request body, as the provider would say it (400).
    pub fn check(self, body: &Value, anthropic_version: Option<&str>) -> Result<(), String> {
        if !body.is_object() {
            return Err("the request body must be a JSON object".into());
        }
        if !body.get("model").is_some_and(Value::is_string) {
            return Err("model: field required".into());
        }
        let Some(messages) = body.get("messages").and_then(Value::as_array) else {
            return Err("messages: field required".into());
        };
        if messages.is_empty() {
            return Err("messages: at least one message is required".into());
        }
        if self == Self::Anthropic {
            if anthropic_version.is_none() {
                return Err("anthropic-version: header is required".into());
            }
            if !body.get("max_tokens").is_some_and(Value::is_u64) {
                return Err("max_tokens: field required".into());
            }
            if messages
                .iter()
                .any(|m| m.get("role").and_then(Value::as_str) == Some("system"))
            {
                return Err(
                    "messages: Unexpected role \"system\". Use the top-level `system` parameter"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// A successful text answer.
    pub fn text_body(self, model: &str, text: &str, input: u64, output: u64) -> Value {
        match self {
            Self::OpenAi => json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": text },
                    "finish_reason": "stop"
                }],
                "usage": { "prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output }
            }),
            Self::Anthropic => json!({
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{ "type": "text", "text": text }],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": { "input_tokens": input, "output_tokens": output }
            }),
        }
    }

    /// A successful answer that calls tool `name` with `input`.
    pub fn tool_body(self, model: &str, name: &str, input: &Value) -> Value {
        match self {
            Self::OpenAi => json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": null,
                        "tool_calls": [{
                            "id": "call_fake",
                            "type": "function",
                            "function": { "name": name, "arguments": input.to_string() }
                        }]
                    },
                    "finish_reason": "tool_calls"
                }],
                "usage": { "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15 }
            }),
            Self::Anthropic => json!({
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{ "type": "tool_use", "id": "toolu_fake", "name": name, "input": input }],
                "stop_reason": "tool_use",
                "stop_sequence": null,
                "usage": { "input_tokens": 10, "output_tokens": 5 }
            }),
        }
    }

    /// An error body with `message`, of the provider's `kind`
    /// (`invalid_request_error`, `rate_limit_error`, `api_error`, …).
    pub fn error_body(self, kind: &str, message: &str) -> Value {
        match self {
            Self::OpenAi => json!({
                "error": { "message": message, "type": kind, "param": null, "code": null }
            }),
            Self::Anthropic => json!({
                "type": "error",
                "error": { "type": kind, "message": message }
            }),
        }
    }
}

/// The text of the last user message of an OpenAI- or Anthropic-shaped body
/// (Anthropic content may be a list of blocks).
pub(crate) fn last_user_text(body: &Value) -> String {
    let messages = body.get("messages").and_then(Value::as_array);
    let last = messages.and_then(|m| {
        m.iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    });
    match last.and_then(|m| m.get("content")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}
