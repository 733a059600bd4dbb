//! `exp-backoff`: a retry strategy with exponential backoff and deterministic
//! jitter.
//!
//! Config (all optional): `{"base_ms": 200, "factor": 2.0, "jitter_ms": 100,
//! "max_attempts": 5, "max_delay_ms": 60000}`; other keys (e.g. `strategy`) are
//! ignored. Permanent and invalid-input errors go to the dead-letter queue at once;
//! a transient error is retried after `min(base_ms * factor^(attempt-1),
//! max_delay_ms) + jitter` until `attempt >= max_attempts`. The jitter, in
//! `[0, jitter_ms)`, is a hash of (run id, step id, attempt), so asking again gives
//! the same answer. A bad config fails the run.

wit_bindgen::generate!({ world: "retry-plugin", path: "../../wit" });

use exports::weft::plugin::retry_strategy::Guest;
use serde_json::{Map, Value};
use weft::plugin::types::{AttemptInfo, PluginError, RetryDecision};

struct ExpBackoff;

struct Config {
    base_ms: u64,
    factor: f64,
    jitter_ms: u64,
    max_attempts: u32,
    max_delay_ms: u64,
}

fn uint(config: &Map<String, Value>, name: &str, default: u64, min: u64) -> Result<u64, String> {
    match config.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= min)
            .ok_or_else(|| format!("{name}: expected an integer >= {min}, got {v}")),
    }
}

fn parse(config: &str) -> Result<Config, String> {
    let config: Value = serde_json::from_str(config).map_err(|e| format!("not valid JSON: {e}"))?;
    let empty = Map::new();
    let config = match &config {
        Value::Object(map) => map,
        Value::Null => &empty,
        other => return Err(format!("expected a JSON object, got {other}")),
    };
    let factor = match config.get("factor") {
        None | Some(Value::Null) => 2.0,
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 1.0)
            .ok_or_else(|| format!("factor: expected a number >= 1, got {v}"))?,
    };
    let max_attempts = uint(config, "max_attempts", 5, 1)?;
    Ok(Config {
        base_ms: uint(config, "base_ms", 200, 0)?,
        factor,
        jitter_ms: uint(config, "jitter_ms", 100, 0)?,
        max_attempts: u32::try_from(max_attempts).map_err(|_| {
            format!("max_attempts: expected an integer below 2^32, got {max_attempts}")
        })?,
        max_delay_ms: uint(config, "max_delay_ms", 60_000, 0)?,
    })
}

/// 64-bit FNV-1a over `parts`, each followed by a 0xff separator byte.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn describe(error: &PluginError) -> String {
    match error {
        PluginError::Transient(m) => format!("transient error: {m}"),
        PluginError::Permanent(m) => format!("permanent error: {m}"),
        PluginError::InvalidInput(m) => format!("invalid input: {m}"),
    }
}

impl Guest for ExpBackoff {
    fn decide(config: String, attempt: AttemptInfo) -> RetryDecision {
        let config = match parse(&config) {
            Ok(c) => c,
            Err(e) => return RetryDecision::Fail(format!("invalid retry config: {e}")),
        };
        let error = describe(&attempt.error);
        if !matches!(attempt.error, PluginError::Transient(_)) {
            return RetryDecision::DeadLetter(format!("not retried: {error}"));
        }
        if attempt.attempt >= config.max_attempts {
            return RetryDecision::DeadLetter(format!(
                "gave up after {} attempts: {error}",
                attempt.attempt
            ));
        }
        let exponent = attempt.attempt.saturating_sub(1).min(i32::MAX as u32) as i32;
        // f64 -> u64 `as` saturates, and `min` tames an infinite product.
        let delay = (config.base_ms as f64 * config.factor.powi(exponent))
            .min(config.max_delay_ms as f64) as u64;
        let jitter = match config.jitter_ms {
            0 => 0,
            j => {
                let n = attempt.attempt.to_le_bytes();
                fnv1a(&[attempt.run_id.as_bytes(), attempt.step_id.as_bytes(), &n]) % j
            }
        };
        RetryDecision::RetryAfter(delay.saturating_add(jitter))
    }
}

export!(ExpBackoff);
