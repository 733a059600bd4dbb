//! `echo`: a step that returns its input unchanged, or wrapped as
//! `{"<key>": input}` when the config sets `"wrap": "<key>"`.

wit_bindgen::generate!({ world: "step-plugin", path: "../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::{Map, Value};
use weft::plugin::types::{PluginError, RunInfo};

struct Echo;

impl Guest for Echo {
    fn run(_info: RunInfo, config: String, input: String) -> Result<String, PluginError> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| PluginError::InvalidInput(format!("config: not valid JSON: {e}")))?;
        let wrap = match &config {
            Value::Null => None,
            Value::Object(map) => match map.get("wrap") {
                None | Some(Value::Null) => None,
                Some(Value::String(key)) => Some(key.clone()),
                Some(other) => {
                    return Err(PluginError::InvalidInput(format!(
                        "config.wrap: expected a string (the key to wrap the input under), got {other}"
                    )));
                }
            },
            other => {
                return Err(PluginError::InvalidInput(format!(
                    "config: expected a JSON object, got {other}"
                )));
            }
        };
        let Some(key) = wrap else {
            return Ok(input);
        };
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| PluginError::InvalidInput(format!("input: not valid JSON: {e}")))?;
        let mut out = Map::new();
        out.insert(key, input);
        Ok(Value::Object(out).to_string())
    }
}

export!(Echo);
