//! The arguments of a step call.
//!
//! - **config**: the step's `with:`, rendered (`${{ input.… }}`,
//!   `${{ steps.<id>.output.… }}`), merged key by key over the plugin's `config`
//!   from `weft.yaml`; when the step has a `model:` and the config has no
//!   `model` key, `model` is set to it (what `prompt` reads).
//! - **input**: for a step with no `needs`, the run input; otherwise an object of
//!   the outputs of the steps it needs, keyed by step id.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};
use weft_core::PluginError;
use weft_flow::{CompiledStep, ProjectConfig, TemplateContext, render};

/// `over`'s keys replace `base`'s (both objects); a non-object `over` that is not
/// null replaces `base` entirely; a null `over` keeps `base`.
pub(crate) fn merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                out.insert(k.clone(), v.clone());
            }
            Value::Object(out)
        }
        (_, Value::Null) => base.clone(),
        (_, over) => over.clone(),
    }
}

/// The config a call of plugin `name` gets: its `config:` from weft.yaml with
/// `over` merged on top (see [`merge`]).
pub(crate) fn plugin_config(project: &ProjectConfig, name: &str, over: &Value) -> Value {
    let base = project
        .plugin(name)
        .map_or(Value::Null, |p| p.config.clone());
    merge(&base, over)
}

/// The config and input of a step call, as JSON text.
pub(crate) fn step_args(
    project: &ProjectConfig,
    step: &CompiledStep,
    run_input: &Value,
    outputs: &BTreeMap<String, Value>,
) -> Result<(String, String), PluginError> {
    let step_outputs: HashMap<String, Value> = outputs
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let ctx = TemplateContext {
        input: run_input,
        step_outputs: &step_outputs,
    };
    let with = render(&step.with, &ctx)
        .map_err(|e| PluginError::InvalidInput(format!("step `{}`: {e}", step.id)))?;
    let mut config = plugin_config(project, &step.uses, &with);
    if config.is_null() {
        config = Value::Object(Map::new());
    }
    if let (Value::Object(map), Some(model)) = (&mut config, &step.model)
        && !map.contains_key("model")
    {
        map.insert("model".into(), Value::String(model.clone()));
    }
    let input = if step.needs.is_empty() {
        run_input.clone()
    } else {
        let mut map = Map::new();
        for need in &step.needs {
            let Some(out) = outputs.get(need) else {
                return Err(PluginError::Permanent(format!(
                    "step `{}` runs before the output of `{need}` is stored",
                    step.id
                )));
            };
            map.insert(need.clone(), out.clone());
        }
        Value::Object(map)
    };
    Ok((config.to_string(), input.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge;

    #[test]
    fn merge_replaces_keys_and_keeps_the_rest() {
        let merged = merge(&json!({"a": 1, "b": 2}), &json!({"b": 3, "c": 4}));
        assert_eq!(merged, json!({"a": 1, "b": 3, "c": 4}));
        assert_eq!(merge(&json!({"a": 1}), &json!(null)), json!({"a": 1}));
    }
}
