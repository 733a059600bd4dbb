//! `{{name}}`: a weft retry strategy with a fixed delay.
//!
//! Config (optional): `{"delay_ms": 1000, "max_attempts": 3}`. A transient
//! error is retried after `delay_ms` until `max_attempts` attempts have failed,
//! then goes to the dead-letter queue; a permanent error goes there at once; an
//! invalid-input error fails the run (the flow must be fixed).

wit_bindgen::generate!({ world: "retry-plugin", path: "wit" });

use exports::weft::plugin::retry_strategy::Guest;
use serde_json::Value;
use weft::plugin::types::{AttemptInfo, PluginError, RetryDecision};

struct Plugin;

impl Guest for Plugin {
    fn decide(config: String, attempt: AttemptInfo) -> RetryDecision {
        let config: Value = serde_json::from_str(&config).unwrap_or(Value::Null);
        let number = |key: &str, default: u64| {
            config.get(key).and_then(Value::as_u64).unwrap_or(default)
        };
        let delay_ms = number("delay_ms", 1000);
        let max_attempts = number("max_attempts", 3);
        match attempt.error {
            PluginError::Transient(_) if u64::from(attempt.attempt) < max_attempts => {
                RetryDecision::RetryAfter(delay_ms)
            }
            PluginError::Transient(e) => RetryDecision::DeadLetter(format!(
                "gave up after {} attempts: {e}",
                attempt.attempt
            )),
            PluginError::Permanent(e) => RetryDecision::DeadLetter(e),
            PluginError::InvalidInput(e) => RetryDecision::Fail(e),
        }
    }
}

export!(Plugin);
