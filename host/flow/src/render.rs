//! Run-time rendering of a step's `with:` against the run input and the outputs
//! of the steps it needs.

use std::collections::HashMap;

use serde_json::Value;

use crate::expr::{self, Expr};
use crate::template::{self, Part, TemplateRef};

/// What templates can read while a run is going on.
#[derive(Debug, Clone, Copy)]
pub struct TemplateContext<'a> {
    /// The run's input (after [`crate::CompiledFlow::check_input`]).
    pub input: &'a Value,
    /// Outputs of finished steps, by step id.
    pub step_outputs: &'a HashMap<String, Value>,
}

/// A template that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template does not parse (validation catches this; kept for raw values).
    #[error("bad template in `{text}`: {message}")]
    Syntax {
        /// The string holding the template.
        text: String,
        /// What is wrong.
        message: String,
    },
    /// The step has no output yet (it has not run, or it is not upstream).
    #[error("`${{{{ {reference} }}}}`: step `{step}` has no output (it has not finished)")]
    NoOutput {
        /// The whole reference.
        reference: String,
        /// The step.
        step: String,
    },
    /// The path leads nowhere.
    #[error("`${{{{ {reference} }}}}`: no value at `{at}`: {why}")]
    Missing {
        /// The whole reference.
        reference: String,
        /// The prefix of the reference at which the lookup failed.
        at: String,
        /// Why, e.g. "the object has no key `x`".
        why: String,
    },
    /// The expression cannot be evaluated, e.g. it orders a string and a
    /// number, or calls a function with a value it does not take.
    #[error("cannot evaluate a template in `{text}`: {message}")]
    Eval {
        /// The string holding the template.
        text: String,
        /// What failed.
        message: String,
    },
}

/// Render every template in `with`: a string that is exactly one template takes
/// the JSON value it reads (object, number, …); templates inside longer strings
/// are replaced by their text (strings as is, other values as JSON).
pub fn render(with: &Value, ctx: &TemplateContext<'_>) -> Result<Value, TemplateError> {
    match with {
        Value::String(s) => render_str(s, ctx),
        Value::Array(items) => items
            .iter()
            .map(|v| render(v, ctx))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), render(v, ctx)?)))
            .collect::<Result<serde_json::Map<_, _>, _>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

fn render_str(text: &str, ctx: &TemplateContext<'_>) -> Result<Value, TemplateError> {
    if !template::has_template(text) {
        return Ok(Value::String(text.to_owned()));
    }
    let parts = template::parse(text).map_err(|e| TemplateError::Syntax {
        text: text.to_owned(),
        message: e.message,
    })?;
    if let [Part::Expr(e, _)] = parts.as_slice() {
        return evaluate(e, text, ctx);
    }
    let mut out = String::new();
    for part in &parts {
        match part {
            Part::Literal(s) => out.push_str(s),
            Part::Expr(e, _) => out.push_str(&expr::text(&evaluate(e, text, ctx)?)),
        }
    }
    Ok(Value::String(out))
}

/// The value of one template's expression; a path that leads nowhere is an
/// error here (operators and functions inside take it as `null`).
fn evaluate(e: &Expr, text: &str, ctx: &TemplateContext<'_>) -> Result<Value, TemplateError> {
    let env = expr::Env {
        input: ctx.input,
        outputs: ctx.step_outputs,
        statuses: None,
        status: None,
    };
    match expr::eval(e, &env) {
        Ok(expr::Val::Json(v)) => Ok(v),
        Ok(expr::Val::Missing(why)) => Err(*why),
        Err(err) => Err(TemplateError::Eval {
            text: text.to_owned(),
            message: err.message,
        }),
    }
}

/// The value a reference reads.
pub fn lookup<'v>(r: &TemplateRef, ctx: &TemplateContext<'v>) -> Result<&'v Value, TemplateError> {
    let (root, mut at, path) = match r {
        TemplateRef::Input(path) => (ctx.input, "input".to_owned(), path),
        TemplateRef::Step { step, path } => {
            let out = ctx
                .step_outputs
                .get(step)
                .ok_or_else(|| TemplateError::NoOutput {
                    reference: r.to_string(),
                    step: step.clone(),
                })?;
            (out, format!("steps.{step}.output"), path)
        }
        TemplateRef::Status(_) => {
            return Err(TemplateError::Eval {
                text: r.to_string(),
                message: format!("`{r}` can only be read in a step's `if:`"),
            });
        }
    };
    let mut current = root;
    for seg in path {
        let next = match current {
            Value::Object(map) => map.get(seg).ok_or_else(|| {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                let hint = crate::diagnostic::did_you_mean(seg, keys.iter().copied())
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default();
                format!("`{at}` has no key `{seg}`{hint}")
            }),
            Value::Array(items) => match seg.parse::<usize>() {
                Ok(i) => items.get(i).ok_or_else(|| {
                    format!("`{at}` has {} items, so there is no item {i}", items.len())
                }),
                Err(_) => Err(format!("`{at}` is an array, so `{seg}` must be an index")),
            },
            other => Err(format!("`{at}` is {}, not an object", json_kind(other))),
        };
        match next {
            Ok(v) => current = v,
            Err(why) => {
                return Err(TemplateError::Missing {
                    reference: r.to_string(),
                    at: format!("{at}.{seg}"),
                    why,
                });
            }
        }
        at.push('.');
        at.push_str(seg);
    }
    Ok(current)
}

/// The JSON type of `v` for messages: "a string", "an object", ...
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx_parts() -> (Value, HashMap<String, Value>) {
        let input = json!({"name": "Ada", "n": 3, "user": {"tags": ["a", "b"]}});
        let mut outputs = HashMap::new();
        outputs.insert(
            "fetch".to_owned(),
            json!({"items": [{"id": 7}], "ok": true}),
        );
        (input, outputs)
    }

    #[test]
    fn whole_template_keeps_type() {
        let (input, outputs) = ctx_parts();
        let ctx = TemplateContext {
            input: &input,
            step_outputs: &outputs,
        };
        let with = json!({
            "n": "${{ input.n }}",
            "item": "${{ steps.fetch.output.items.0 }}",
            "tag": "${{input.user.tags.1}}",
            "all": "${{ input }}",
            "text": "Hello ${{ input.name }}, n=${{ input.n }}, ok=${{ steps.fetch.output.ok }}",
            "plain": 5,
        });
        let out = render(&with, &ctx).unwrap();
        assert_eq!(out["n"], json!(3));
        assert_eq!(out["item"], json!({"id": 7}));
        assert_eq!(out["tag"], json!("b"));
        assert_eq!(out["all"], input);
        assert_eq!(out["text"], json!("Hello Ada, n=3, ok=true"));
        assert_eq!(out["plain"], json!(5));
    }

    #[test]
    fn missing_values_name_the_path() {
        let (input, outputs) = ctx_parts();
        let ctx = TemplateContext {
            input: &input,
            step_outputs: &outputs,
        };
        let e = render(&json!("${{ input.nmae }}"), &ctx).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`${{ input.nmae }}`: no value at `input.nmae`: `input` has no key `nmae`; did you mean `name`?"
        );
        let e = render(&json!("${{ steps.fetch.output.items.3 }}"), &ctx).unwrap_err();
        assert!(
            e.to_string().contains("has 1 items, so there is no item 3"),
            "{e}"
        );
        let e = render(&json!("${{ steps.other.output }}"), &ctx).unwrap_err();
        assert!(matches!(e, TemplateError::NoOutput { .. }));
    }
}
