//! `json-transform`: a step that reshapes a JSON object.
//!
//! Config (all optional): `{"pick": ["a", "b.c"], "rename": {"old": "new"},
//! "set": {"k": value}, "strict": false}`, applied in that order. `pick` keeps only
//! the listed dotted paths (each picked value is stored under its path string, e.g.
//! `"b.c"`; a numeric segment indexes an array); without `pick` the whole input
//! object is kept. A missing path gives `null`, or an error when `strict` is true.
//! `rename` renames top-level keys of the result (absent keys are an error only when
//! `strict`). `set` writes constants, replacing existing keys.

wit_bindgen::generate!({ world: "step-plugin", path: "../../wit" });

use exports::weft::plugin::step::Guest;
use serde_json::{Map, Value};
use weft::plugin::types::{PluginError, RunInfo};

struct JsonTransform;

fn invalid(msg: impl Into<String>) -> PluginError {
    PluginError::InvalidInput(msg.into())
}

/// Follows a dotted path (`a.b.0.c`) through objects and arrays.
fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |cur, seg| match cur {
        Value::Object(map) => map.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The config's field `name`, treating an absent field and `null` alike.
fn field<'a>(config: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    config.get(name).filter(|v| !v.is_null())
}

impl Guest for JsonTransform {
    fn run(_info: RunInfo, config: String, input: String) -> Result<String, PluginError> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| invalid(format!("config: not valid JSON: {e}")))?;
        let empty = Map::new();
        let config = match &config {
            Value::Object(map) => map,
            Value::Null => &empty,
            other => {
                return Err(invalid(format!(
                    "config: expected a JSON object, got {other}"
                )));
            }
        };
        let strict = match field(config, "strict") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(invalid(format!(
                    "config.strict: expected true or false, got {other}"
                )));
            }
        };
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| invalid(format!("input: not valid JSON: {e}")))?;
        let Value::Object(object) = &input else {
            return Err(invalid(format!(
                "input: expected a JSON object, got {}",
                kind(&input)
            )));
        };

        let mut out = match field(config, "pick") {
            None => object.clone(),
            Some(Value::Array(paths)) => {
                let mut out = Map::new();
                for (i, path) in paths.iter().enumerate() {
                    let Some(path) = path.as_str() else {
                        return Err(invalid(format!(
                            "config.pick[{i}]: expected a dotted path string, got {path}"
                        )));
                    };
                    if path.split('.').any(str::is_empty) {
                        return Err(invalid(format!(
                            "config.pick[{i}]: \"{path}\" has an empty path segment"
                        )));
                    }
                    let value = match lookup(&input, path) {
                        Some(v) => v.clone(),
                        None if strict => {
                            return Err(invalid(format!(
                                "input: picked path \"{path}\" not found (config.strict is true)"
                            )));
                        }
                        None => Value::Null,
                    };
                    out.insert(path.to_string(), value);
                }
                out
            }
            Some(other) => {
                return Err(invalid(format!(
                    "config.pick: expected an array of dotted path strings, got {other}"
                )));
            }
        };

        match field(config, "rename") {
            None => {}
            Some(Value::Object(renames)) => {
                // All at once, so `{"a": "b", "b": "a"}` swaps instead of chaining.
                let mut moved = Vec::new();
                for (old, new) in renames {
                    let Some(new) = new.as_str() else {
                        return Err(invalid(format!(
                            "config.rename.{old}: expected the new key as a string, got {new}"
                        )));
                    };
                    match out.remove(old) {
                        Some(v) => moved.push((new.to_string(), v)),
                        None if strict => {
                            return Err(invalid(format!(
                                "config.rename: key \"{old}\" not in the result (config.strict is true)"
                            )));
                        }
                        None => {}
                    }
                }
                out.extend(moved);
            }
            Some(other) => {
                return Err(invalid(format!(
                    "config.rename: expected an object of old key -> new key, got {other}"
                )));
            }
        }

        match field(config, "set") {
            None => {}
            Some(Value::Object(set)) => out.extend(set.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Some(other) => {
                return Err(invalid(format!(
                    "config.set: expected an object of key -> value, got {other}"
                )));
            }
        }
        Ok(Value::Object(out).to_string())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

export!(JsonTransform);
