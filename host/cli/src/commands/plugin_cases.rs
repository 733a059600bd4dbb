//! The sample cases `weft plugin test` runs: a JSON array of
//! `{name, config, input, model, expect | expect_error}`, and how a result is
//! compared with what a case expects.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;
use weft_core::PluginError;

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    /// What the case checks; `case N` when absent.
    pub name: Option<String>,
    /// The plugin's config (default `{}`).
    #[serde(default)]
    pub config: Option<Value>,
    /// The call's input, in the world's shape: a step's input; a completion
    /// request; an attempt; `{"state", "candidates"}`.
    pub input: Value,
    /// A step's model calls, answered in order: a string is the completion's
    /// text, `{"error": {"kind", "message"}}` a failed call.
    #[serde(default)]
    pub model: Vec<ScriptedAnswer>,
    /// The expected result. An object matches when each of its keys matches
    /// the result's (other keys of the result are not looked at); arrays and
    /// other values must be equal.
    pub expect: Option<Value>,
    /// The expected error instead.
    pub expect_error: Option<ExpectError>,
}

/// One scripted answer to a model call.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum ScriptedAnswer {
    /// The completion's text.
    Text(String),
    /// A failed call.
    Error {
        /// The error the step gets.
        error: PluginError,
    },
}

/// An expected error: its kind (`transient`, `permanent`, `invalid-input`, or
/// `trap` for a failure of the sandbox), and text its message contains.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ExpectError {
    /// Only the kind.
    Kind(String),
    /// The kind and part of the message.
    Full {
        /// The kind.
        kind: String,
        /// Text the message must contain.
        #[serde(default)]
        contains: Option<String>,
    },
}

/// What a call came to: a value, or an error's kind and message.
pub(crate) type Outcome = Result<Value, (String, String)>;

const KINDS: [&str; 4] = ["transient", "permanent", "invalid-input", "trap"];

/// Read and check a cases file.
pub(crate) fn load(path: &Path) -> Result<Vec<Case>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the cases file {}", path.display()))?;
    let cases: Vec<Case> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a list of cases ({{\"name\", \"config\", \"input\", \"expect\" | \"expect_error\"}})",
            path.display()
        )
    })?;
    if cases.is_empty() {
        bail!("{} has no cases", path.display());
    }
    for (i, case) in cases.iter().enumerate() {
        let name = case.label(i);
        match (&case.expect, &case.expect_error) {
            (Some(_), Some(_)) => bail!(
                "{}: {name}: give `expect` or `expect_error`, not both",
                path.display()
            ),
            (None, None) => bail!(
                "{}: {name}: says neither `expect` nor `expect_error`",
                path.display()
            ),
            (None, Some(e)) if !KINDS.contains(&e.kind()) => bail!(
                "{}: {name}: expect_error kind `{}` is none of {}",
                path.display(),
                e.kind(),
                KINDS.join(", ")
            ),
            _ => {}
        }
    }
    Ok(cases)
}

impl Case {
    /// The case's name, or `case N` (1-based).
    pub(crate) fn label(&self, index: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("case {}", index + 1))
    }

    /// The config as JSON text.
    pub(crate) fn config_text(&self) -> String {
        self.config
            .as_ref()
            .map_or_else(|| "{}".to_owned(), Value::to_string)
    }

    /// `None` when `outcome` is what the case expects, else why not.
    pub(crate) fn verdict(&self, outcome: &Outcome) -> Option<String> {
        match (outcome, &self.expect, &self.expect_error) {
            (Ok(got), Some(want), _) => {
                (!matches(want, got)).then(|| format!("expected {want}\ngot      {got}"))
            }
            (Err((kind, msg)), Some(want), _) => {
                Some(format!("expected {want}\ngot      {kind} error: {msg}"))
            }
            (Ok(got), None, Some(want)) => {
                Some(format!("expected a {} error\ngot      {got}", want.kind()))
            }
            (Err((kind, msg)), None, Some(want)) => {
                let contains = want.contains().is_none_or(|c| msg.contains(c));
                (kind != want.kind() || !contains).then(|| {
                    let part = want
                        .contains()
                        .map(|c| format!(" containing `{c}`"))
                        .unwrap_or_default();
                    format!(
                        "expected a {} error{part}\ngot      {kind} error: {msg}",
                        want.kind()
                    )
                })
            }
            (_, None, None) => Some("the case expects nothing".into()),
        }
    }
}

impl ExpectError {
    fn kind(&self) -> &str {
        match self {
            ExpectError::Kind(k) | ExpectError::Full { kind: k, .. } => k,
        }
    }

    fn contains(&self) -> Option<&str> {
        match self {
            ExpectError::Kind(_) => None,
            ExpectError::Full { contains, .. } => contains.as_deref(),
        }
    }
}

/// The kind and message of a plugin's own error.
pub(crate) fn plugin_error_parts(e: &PluginError) -> (String, String) {
    match e {
        PluginError::Transient(m) => ("transient".into(), m.clone()),
        PluginError::Permanent(m) => ("permanent".into(), m.clone()),
        PluginError::InvalidInput(m) => ("invalid-input".into(), m.clone()),
    }
}

/// `want` matches `got`: objects by their keys (recursively), numbers by
/// value (`1` matches `1.0`), everything else by equality.
fn matches(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, wv)| g.get(k).is_some_and(|gv| matches(wv, gv))),
        (Value::Array(w), Value::Array(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(a, b)| matches(a, b))
        }
        (Value::Number(w), Value::Number(g)) => w.as_f64() == g.as_f64(),
        _ => want == got,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_match_by_their_keys_and_arrays_whole() {
        assert!(matches(&json!({"a": 1}), &json!({"a": 1.0, "b": 2})));
        assert!(!matches(&json!({"a": 1, "c": 3}), &json!({"a": 1})));
        assert!(!matches(&json!([1]), &json!([1, 2])));
        assert!(matches(
            &json!({"x": {"y": [1]}}),
            &json!({"x": {"y": [1], "z": 0}})
        ));
        assert!(!matches(&json!("a"), &json!("b")));
    }

    #[test]
    fn an_error_case_checks_kind_and_text() {
        let case: Case = serde_json::from_value(json!({
            "input": {}, "expect_error": {"kind": "invalid-input", "contains": "name"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let err = |k: &str, m: &str| Err((k.to_owned(), m.to_owned()));
        assert!(
            case.verdict(&err("invalid-input", "input.name: required"))
                .is_none()
        );
        assert!(case.verdict(&err("invalid-input", "input.x")).is_some());
        assert!(case.verdict(&err("permanent", "name")).is_some());
        assert!(case.verdict(&Ok(json!({}))).is_some());
    }
}
