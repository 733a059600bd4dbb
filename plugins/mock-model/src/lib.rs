//! `mock-model`: a model adapter that answers without any network, for tests and
//! dry runs. The same request always gets the same answer and token counts.
//!
//! Input tokens: whitespace-separated words across all messages (at least 1).
//! Text: `mock answer to: <first 60 chars of the last user message> #<FNV-1a hex
//! of the request>`, or config `"reply"` verbatim; output tokens: its words, cut to
//! `max_tokens` words (finish reason `length`, else `stop`). Cost is always 0.
//! Config `{"fail": "transient" | "permanent"}` makes every call fail that way.
//! The world lets it import wasi:http; it never uses it.
//!
//! Tools: when the request's `extra` has a non-empty `tools` list (OpenAI
//! function tools, as the `agent` step sends), it plays an agent's model. While
//! the conversation has fewer `tool` messages than config `tool_calls` (default
//! 1), it asks for a tool: finish reason `tool-call`, text `{"tool": NAME,
//! "input": {"text": <last user message>}}`, NAME being config `call_tool` or
//! the first tool's name. Then it answers `mock answer after N tool calls:
//! <content of the last tool message>` (finish reason `stop`). Without tools in
//! `extra` nothing changes.

// `generate_all`: also generate the wasi:http bindings the world imports.
wit_bindgen::generate!({ world: "model-plugin", path: "../../wit", generate_all });

use exports::weft::plugin::model_adapter::Guest;
use serde_json::Value;
use weft::plugin::types::{Completion, CompletionRequest, PluginError, Usage};

struct MockModel;

/// 64-bit FNV-1a over `parts`, each followed by a 0xff separator byte (never in
/// UTF-8) so that ("ab", "c") and ("a", "bc") differ.
fn fnv1a<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn invalid(msg: impl Into<String>) -> PluginError {
    PluginError::InvalidInput(msg.into())
}

impl Guest for MockModel {
    fn complete(config: String, req: CompletionRequest) -> Result<Completion, PluginError> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| invalid(format!("config: not valid JSON: {e}")))?;
        if !(config.is_object() || config.is_null()) {
            return Err(invalid(format!(
                "config: expected a JSON object, got {config}"
            )));
        }
        match config.get("fail") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == "transient" => {
                return Err(PluginError::Transient(
                    "mock-model: configured to fail (transient)".into(),
                ));
            }
            Some(Value::String(s)) if s == "permanent" => {
                return Err(PluginError::Permanent(
                    "mock-model: configured to fail (permanent)".into(),
                ));
            }
            Some(other) => {
                return Err(invalid(format!(
                    "config.fail: expected \"transient\" or \"permanent\", got {other}"
                )));
            }
        }
        let reply = match config.get("reply") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(invalid(format!(
                    "config.reply: expected a string, got {other}"
                )));
            }
        };

        if let Some(tools) = tools_of(&req)? {
            return tool_turn(&config, &req, &tools);
        }

        let input_tokens = req
            .messages
            .iter()
            .map(|m| m.content.split_whitespace().count() as u64)
            .sum::<u64>()
            .max(1);
        let text = reply.unwrap_or_else(|| {
            let last_user = req.messages.iter().rev().find(|m| m.role == "user");
            let question: String = last_user
                .map_or("", |m| m.content.as_str())
                .chars()
                .take(60)
                .collect();
            let max_tokens = req.max_tokens.map(u32::to_le_bytes);
            let temperature = req.temperature.map(|t| t.to_bits().to_le_bytes());
            let hash = fnv1a(
                [req.model.as_bytes()]
                    .into_iter()
                    .chain(
                        req.messages
                            .iter()
                            .flat_map(|m| [m.role.as_bytes(), m.content.as_bytes()]),
                    )
                    .chain([
                        max_tokens.as_ref().map_or(&b"-"[..], |b| &b[..]),
                        temperature.as_ref().map_or(&b"-"[..], |b| &b[..]),
                        req.extra.as_deref().unwrap_or("-").as_bytes(),
                    ]),
            );
            format!("mock answer to: {question} #{hash:016x}")
        });

        let words: Vec<&str> = text.split_whitespace().collect();
        let (text, output_tokens, finish_reason) = match req.max_tokens {
            Some(max) if words.len() > max as usize => {
                (words[..max as usize].join(" "), max as u64, "length")
            }
            _ => (text.clone(), words.len() as u64, "stop"),
        };
        Ok(Completion {
            text,
            model: req.model,
            usage: Usage {
                input_tokens,
                output_tokens,
                cost_usd: 0.0,
            },
            finish_reason: finish_reason.into(),
        })
    }
}

/// The names of the tools in `req.extra.tools`, if any are offered.
fn tools_of(req: &CompletionRequest) -> Result<Option<Vec<String>>, PluginError> {
    let Some(extra) = req.extra.as_deref() else {
        return Ok(None);
    };
    let extra: Value =
        serde_json::from_str(extra).map_err(|e| invalid(format!("extra: not valid JSON: {e}")))?;
    let Some(Value::Array(tools)) = extra.get("tools") else {
        return Ok(None);
    };
    let names: Vec<String> = tools
        .iter()
        .filter_map(|t| {
            t.pointer("/function/name")
                .or_else(|| t.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    Ok((!names.is_empty()).then_some(names))
}

/// One turn of the deterministic tool-using model (see the module docs).
fn tool_turn(
    config: &Value,
    req: &CompletionRequest,
    tools: &[String],
) -> Result<Completion, PluginError> {
    let wanted = match config.get("tool_calls") {
        None | Some(Value::Null) => 1,
        Some(v) => v.as_u64().ok_or_else(|| {
            invalid(format!(
                "config.tool_calls: expected a non-negative integer, got {v}"
            ))
        })?,
    };
    let tool = match config.get("call_tool") {
        None | Some(Value::Null) => tools.first().cloned().unwrap_or_default(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(invalid(format!(
                "config.call_tool: expected a string, got {other}"
            )));
        }
    };
    let results: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == "tool")
        .map(|m| m.content.as_str())
        .collect();
    let input_tokens = req
        .messages
        .iter()
        .map(|m| m.content.split_whitespace().count() as u64)
        .sum::<u64>()
        .max(1);
    let (text, finish_reason) = if (results.len() as u64) < wanted {
        let last_user = req.messages.iter().rev().find(|m| m.role == "user");
        let call = serde_json::json!({
            "tool": tool,
            "input": {"text": last_user.map_or("", |m| m.content.as_str())},
        });
        (call.to_string(), "tool-call")
    } else {
        let last = results.last().copied().unwrap_or("none");
        let text = format!("mock answer after {} tool calls: {last}", results.len());
        (text, "stop")
    };
    let output_tokens = text.split_whitespace().count() as u64;
    Ok(Completion {
        text,
        model: req.model.clone(),
        usage: Usage {
            input_tokens,
            output_tokens,
            cost_usd: 0.0,
        },
        finish_reason: finish_reason.into(),
    })
}

export!(MockModel);
