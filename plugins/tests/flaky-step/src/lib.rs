//! `flaky-step`: a step that fails on purpose, for the retry tests.
//!
//! Config: `{"succeed_on_attempt": 2, "permanent": false}`, both optional. With
//! `"permanent": true` every attempt fails with a permanent error. Otherwise an
//! attempt below `succeed_on_attempt` (default 1: never) fails with a transient
//! error, and a later one succeeds. Output: `{"attempt": n, "config": config,
//! "input": input}`, so a test sees which attempt succeeded and what it got.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::{Value, json};
use weft::plugin::types::{PluginError, RunInfo};

struct FlakyStep;

fn invalid(msg: impl Into<String>) -> PluginError {
    PluginError::InvalidInput(msg.into())
}

impl Guest for FlakyStep {
    fn run(info: RunInfo, config: String, input: String) -> Result<String, PluginError> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| invalid(format!("config: not valid JSON: {e}")))?;
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| invalid(format!("input: not valid JSON: {e}")))?;
        let permanent = match config.get("permanent") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(invalid(format!(
                    "config.permanent: expected a boolean, got {other}"
                )));
            }
        };
        let succeed_on = match config.get("succeed_on_attempt") {
            None | Some(Value::Null) => 1,
            Some(v) => v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                invalid(format!(
                    "config.succeed_on_attempt: expected an integer >= 1, got {v}"
                ))
            })?,
        };
        if permanent {
            return Err(PluginError::Permanent(format!(
                "flaky-step: configured to fail permanently (attempt {})",
                info.attempt
            )));
        }
        if u64::from(info.attempt) < succeed_on {
            return Err(PluginError::Transient(format!(
                "flaky-step: attempt {} fails, attempt {succeed_on} will succeed",
                info.attempt
            )));
        }
        Ok(json!({"attempt": info.attempt, "config": config, "input": input}).to_string())
    }
}

export!(FlakyStep);
