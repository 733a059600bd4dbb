//! `agent`: a step that lets a model call tools until it answers.
//!
//! Config: `{"model"?: "name", "system"?: "...", "max_turns"?: 6, "max_tokens"?,
//! "temperature"?, "tools": [{"name", "uses": <step plugin>, "with"?: {config},
//! "description"?, "input_schema"?}]}`. `model` defaults to the step's `model:`.
//! Input: its `prompt` or `task` string field, else the input itself if it is a
//! string, else the whole input as JSON text, is the user message.
//!
//! Each turn asks the model with the conversation so far and `extra: {"tools":
//! [OpenAI function tools]}`. A completion with finish reason `tool-call` whose
//! text is `{"tool": NAME, "input": {...}}` runs the tool's plugin through the
//! host's `call-tool` with the tool's `with` as config; the model's request goes
//! back in the conversation as an `assistant` message, and the result as a `tool`
//! message `{"tool": NAME, "output": ...}` or `{"tool": NAME, "error": "..."}`
//! (a failed tool, an unknown tool name or an unreadable request is told to the
//! model, which may recover). Any other completion is the answer: output
//! `{"answer", "turns", "tool_calls": [{"tool", "input", "output" | "error"}]}`.
//! No answer after `max_turns` model calls is a permanent error. The host's own
//! refusals of a tool call (texts starting `call-tool:`, e.g. a tool plugin that
//! is not declared) fail the step with that error: the flow must be fixed.

wit_bindgen::generate!({ world: "step-plugin", path: "../../wit" });

mod config;

use exports::weft::plugin::step::Guest;
use serde_json::{Value, json};
use weft::plugin::host;
use weft::plugin::logging::log;
use weft::plugin::types::{ChatMessage, CompletionRequest, Level, PluginError, RunInfo};

use crate::config::{Config, user_message};

struct Agent;

/// What the host says before its own refusals of a `call-tool`.
const HOST_REFUSAL: &str = "call-tool:";

fn message(role: &str, content: impl Into<String>) -> ChatMessage {
    ChatMessage {
        role: role.into(),
        content: content.into(),
    }
}

fn error_text(e: &PluginError) -> &str {
    match e {
        PluginError::Transient(m) | PluginError::Permanent(m) | PluginError::InvalidInput(m) => m,
    }
}

/// The system message: the config's `system`, then the tools and how to call them.
fn system_prompt(config: &Config) -> String {
    let mut out = config.system.clone().unwrap_or_default();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    if config.tools.is_empty() {
        out.push_str("Answer the user's request.");
        return out;
    }
    out.push_str(
        "You may call these tools. To call one, answer with finish reason tool-call and the text \
         {\"tool\": NAME, \"input\": {...}}; its result comes back as a tool message.\n",
    );
    for t in &config.tools {
        out.push_str(&format!(
            "- {}: {} (input: {})\n",
            t.name, t.description, t.input_schema
        ));
    }
    out
}

/// The first `max` characters of `text`, marked when cut.
fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Runs the tool the model asked for in `request` (the completion's text);
/// returns the `tool` message for the model and the record for the output.
/// `Err` only for the host's own refusals, which fail the step.
fn run_tool(config: &Config, request: &str) -> Result<(String, Value), PluginError> {
    let parsed: Option<Value> = serde_json::from_str(request).ok();
    let name = parsed
        .as_ref()
        .and_then(|v| v.get("tool"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let input = parsed
        .as_ref()
        .and_then(|v| v.get("input"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let Some(name) = name else {
        let error = format!(
            "a tool call must be {{\"tool\": NAME, \"input\": {{...}}}}, got {}",
            clip(request, 200)
        );
        let told = json!({"tool": null, "error": error});
        return Ok((
            told.to_string(),
            json!({"tool": null, "input": input, "error": error}),
        ));
    };
    let Some(tool) = config.tool(&name) else {
        let known: Vec<&str> = config.tools.iter().map(|t| t.name.as_str()).collect();
        let error = format!("unknown tool `{name}`; the tools are: {}", known.join(", "));
        let told = json!({"tool": name, "error": error});
        return Ok((
            told.to_string(),
            json!({"tool": name, "input": input, "error": error}),
        ));
    };
    log(Level::Info, &format!("calling tool {name} ({})", tool.uses));
    match host::call_tool(&tool.uses, &tool.with, &input.to_string()) {
        Ok(text) => {
            let output: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            let told = json!({"tool": name, "output": output});
            Ok((
                told.to_string(),
                json!({"tool": name, "input": input, "output": output}),
            ))
        }
        Err(e) if error_text(&e).starts_with(HOST_REFUSAL) => Err(e),
        Err(e) => {
            let error = error_text(&e).to_owned();
            log(Level::Warn, &format!("tool {name} failed: {error}"));
            let told = json!({"tool": name, "error": error});
            Ok((
                told.to_string(),
                json!({"tool": name, "input": input, "error": error}),
            ))
        }
    }
}

impl Guest for Agent {
    fn run(_info: RunInfo, config: String, input: String) -> Result<String, PluginError> {
        let config = Config::parse(&config)?;
        let user = user_message(&input)?;
        let extra =
            (!config.tools.is_empty()).then(|| json!({"tools": config.tools_json()}).to_string());
        let mut messages = vec![
            message("system", system_prompt(&config)),
            message("user", user),
        ];
        let mut calls = Vec::new();
        let mut last = String::new();
        for turn in 1..=config.max_turns {
            let answer = host::complete(&CompletionRequest {
                model: config.model.clone(),
                messages: messages.clone(),
                max_tokens: config.max_tokens,
                temperature: config.temperature,
                extra: extra.clone(),
            })?;
            if answer.finish_reason != "tool-call" {
                return Ok(json!({
                    "answer": answer.text,
                    "turns": turn,
                    "tool_calls": calls,
                })
                .to_string());
            }
            let (told, record) = run_tool(&config, &answer.text)?;
            messages.push(message("assistant", answer.text.clone()));
            messages.push(message("tool", told));
            calls.push(record);
            last = answer.text;
        }
        Err(PluginError::Permanent(format!(
            "agent: no answer after {} turns (last: {})",
            config.max_turns,
            clip(&last, 200)
        )))
    }
}

export!(Agent);
