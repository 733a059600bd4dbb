//! The agent's config and input, checked field by field: a bad value is an
//! `invalid-input` naming the field.

use serde_json::{Map, Value, json};

use crate::weft::plugin::types::PluginError;

/// Turns taken when the config names no `max_turns`.
pub const DEFAULT_MAX_TURNS: u32 = 6;

/// One tool the model may call.
pub struct Tool {
    /// The name the model calls it by.
    pub name: String,
    /// The step plugin that runs it.
    pub uses: String,
    /// The plugin's config (its `with:`), as JSON text.
    pub with: String,
    /// What it does, told to the model.
    pub description: String,
    /// JSON schema of its input, told to the model.
    pub input_schema: Value,
}

/// The agent's config.
pub struct Config {
    /// The model to ask; empty means the step's `model:`.
    pub model: String,
    /// Extra system prompt, put before the tool list.
    pub system: Option<String>,
    /// Model calls at most.
    pub max_turns: u32,
    /// Passed to every model call.
    pub max_tokens: Option<u32>,
    /// Passed to every model call.
    pub temperature: Option<f32>,
    /// The tools, in config order.
    pub tools: Vec<Tool>,
}

fn invalid(msg: impl Into<String>) -> PluginError {
    PluginError::InvalidInput(msg.into())
}

fn string_at(map: &Map<String, Value>, at: &str, key: &str) -> Result<Option<String>, PluginError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(format!(
            "{at}.{key}: expected a string, got {other}"
        ))),
    }
}

fn u32_at(map: &Map<String, Value>, key: &str) -> Result<Option<u32>, PluginError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                invalid(format!(
                    "config.{key}: expected an integer 0..2^32, got {v}"
                ))
            }),
    }
}

impl Config {
    /// Parses the step's config (JSON text).
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| invalid(format!("config: not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(invalid(format!(
                "config: expected a JSON object, got {value}"
            )));
        };
        let max_turns = u32_at(&map, "max_turns")?.unwrap_or(DEFAULT_MAX_TURNS);
        if max_turns == 0 {
            return Err(invalid("config.max_turns: must be at least 1"));
        }
        let temperature =
            match map.get("temperature") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_f64().ok_or_else(|| {
                    invalid(format!("config.temperature: expected a number, got {v}"))
                })? as f32),
            };
        let tools = match map.get("tools") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, t)| parse_tool(i, t))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(invalid(format!(
                    "config.tools: expected a list of tools, got {other}"
                )));
            }
        };
        let tools: Vec<Tool> = tools;
        for (i, t) in tools.iter().enumerate() {
            if tools[..i].iter().any(|o| o.name == t.name) {
                return Err(invalid(format!(
                    "config.tools[{i}].name: `{}` is used by an earlier tool",
                    t.name
                )));
            }
        }
        Ok(Self {
            model: string_at(&map, "config", "model")?.unwrap_or_default(),
            system: string_at(&map, "config", "system")?,
            max_turns,
            max_tokens: u32_at(&map, "max_tokens")?,
            temperature,
            tools,
        })
    }

    /// The tool the model calls `name`.
    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// The tools as OpenAI function tools (`extra.tools` of every model call).
    pub fn tools_json(&self) -> Value {
        Value::Array(
            self.tools
                .iter()
                .map(|t| {
                    json!({
                        "type": "function",
                        "function": {
                            "name": t.name,
                            "description": t.description,
                            "parameters": t.input_schema,
                        },
                    })
                })
                .collect(),
        )
    }
}

fn parse_tool(i: usize, value: &Value) -> Result<Tool, PluginError> {
    let at = format!("config.tools[{i}]");
    let Value::Object(map) = value else {
        return Err(invalid(format!("{at}: expected an object, got {value}")));
    };
    let required = |key: &str| -> Result<String, PluginError> {
        match string_at(map, &at, key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(invalid(format!("{at}.{key}: required, a non-empty string"))),
        }
    };
    let name = required("name")?;
    let uses = required("uses")?;
    let with = match map.get("with") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(other) => {
            return Err(invalid(format!(
                "{at}.with: expected an object, got {other}"
            )));
        }
    };
    let input_schema = match map.get("input_schema") {
        None | Some(Value::Null) => json!({"type": "object"}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(other) => {
            return Err(invalid(format!(
                "{at}.input_schema: expected a JSON schema object, got {other}"
            )));
        }
    };
    Ok(Tool {
        description: string_at(map, &at, "description")?.unwrap_or_default(),
        name,
        uses,
        with,
        input_schema,
    })
}

/// The user message: the input's `prompt` or `task` string field, else the
/// input itself when it is a string, else the whole input as JSON text.
pub fn user_message(input: &str) -> Result<String, PluginError> {
    let value: Value =
        serde_json::from_str(input).map_err(|e| invalid(format!("input: not valid JSON: {e}")))?;
    for key in ["prompt", "task"] {
        if let Some(Value::String(s)) = value.get(key) {
            return Ok(s.clone());
        }
    }
    Ok(match value {
        Value::String(s) => s,
        other => other.to_string(),
    })
}
