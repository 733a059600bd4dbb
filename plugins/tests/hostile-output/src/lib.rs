//! `hostile-output`: a step that returns a huge but well-formed JSON string,
//! `"aaa…"`, of config `{"bytes": N}` letters (default 100 MiB), to test the host's
//! output size cap.

wit_bindgen::generate!({ world: "step-plugin", path: "../../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::Value;
use weft::plugin::types::{PluginError, RunInfo};

struct HostileOutput;

impl Guest for HostileOutput {
    fn run(_info: RunInfo, config: String, _input: String) -> Result<String, PluginError> {
        let config: Value = serde_json::from_str(&config).unwrap_or(Value::Null);
        let bytes = match config.get("bytes") {
            None | Some(Value::Null) => 100 * 1024 * 1024,
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    PluginError::InvalidInput(format!(
                        "config.bytes: expected a non-negative integer, got {v}"
                    ))
                })?,
        };
        let mut out = String::with_capacity(bytes.saturating_add(2));
        out.push('"');
        out.extend(std::iter::repeat_n('a', bytes));
        out.push('"');
        Ok(out)
    }
}

export!(HostileOutput);
