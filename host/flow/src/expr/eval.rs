//! Evaluation of an [`Expr`] against a run's input, the outputs and statuses
//! of finished steps.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value as Json;

use super::ast::{BinOp, Expr, ExprKind};
use super::functions::{self, Func};
use super::value::{StepStatus, Val, json_eq, truthy};
use crate::render::{TemplateContext, TemplateError, json_kind, lookup};
use crate::template::TemplateRef;

/// What an expression reads while it is evaluated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env<'a> {
    /// The run's input.
    pub input: &'a Json,
    /// Outputs of finished steps, by id.
    pub outputs: &'a HashMap<String, Json>,
    /// How finished steps ended (`steps.<id>.status`); `None` in templates.
    pub statuses: Option<&'a HashMap<String, StepStatus>>,
    /// The values of `success()` and `failure()`; `None` in templates.
    pub status: Option<StatusFns>,
}

/// The values of the status functions for one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusFns {
    /// Every direct need succeeded.
    pub success: bool,
    /// Some step upstream failed.
    pub failure: bool,
}

/// An expression that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// What failed, naming the sub-expression.
    pub message: String,
}

/// Evaluate `expr` in `env`.
pub(crate) fn eval(expr: &Expr, env: &Env<'_>) -> Result<Val, EvalError> {
    match &expr.kind {
        ExprKind::Literal(v) => Ok(Val::Json(v.clone())),
        ExprKind::Path(TemplateRef::Status(step)) => {
            let Some(statuses) = env.statuses else {
                return Err(EvalError {
                    message: format!("`{expr}` can only be read in a step's `if:`"),
                });
            };
            Ok(match statuses.get(step) {
                Some(s) => Val::Json(Json::String(s.as_str().to_owned())),
                None => Val::Missing(Box::new(TemplateError::Missing {
                    reference: expr.to_string(),
                    at: expr.to_string(),
                    why: format!("step `{step}` has not ended"),
                })),
            })
        }
        ExprKind::Path(r) => {
            let ctx = TemplateContext {
                input: env.input,
                step_outputs: env.outputs,
            };
            Ok(match lookup(r, &ctx) {
                Ok(v) => Val::Json(v.clone()),
                Err(e) => Val::Missing(Box::new(e)),
            })
        }
        ExprKind::Index { target, key } => {
            let base = eval(target, env)?;
            let found = match base.json() {
                Json::Object(map) => map.get(key),
                Json::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            Ok(match found {
                Some(v) => Val::Json(v.clone()),
                None => Val::Missing(Box::new(TemplateError::Missing {
                    reference: expr.to_string(),
                    at: expr.to_string(),
                    why: format!("`{target}` is {}, with no `{key}`", json_kind(base.json())),
                })),
            })
        }
        ExprKind::Not(inner) => Ok(Val::Json(Json::Bool(!truthy(eval(inner, env)?.json())))),
        ExprKind::Binary { op, lhs, rhs } => binary(*op, lhs, rhs, env),
        ExprKind::Call { name, args, .. } => {
            let Some(func) = Func::lookup(name) else {
                return Err(EvalError {
                    message: format!("unknown function `{name}()` in `{expr}`"),
                });
            };
            if let Some(why) = func.arity_error(args.len()) {
                return Err(EvalError { message: why });
            }
            if func.is_status() {
                let Some(s) = env.status else {
                    return Err(EvalError {
                        message: format!("`{}()` can only be used in a step's `if:`", func.name()),
                    });
                };
                let value = match func {
                    Func::Success => s.success,
                    Func::Failure => s.failure,
                    _ => true,
                };
                return Ok(Val::Json(Json::Bool(value)));
            }
            let values = args
                .iter()
                .map(|a| eval(a, env))
                .collect::<Result<Vec<_>, _>>()?;
            functions::call(func, &values)
                .map(Val::Json)
                .map_err(|why| EvalError {
                    message: format!("`{expr}`: {why}"),
                })
        }
    }
}

fn binary(op: BinOp, lhs: &Expr, rhs: &Expr, env: &Env<'_>) -> Result<Val, EvalError> {
    let left = eval(lhs, env)?;
    match op {
        BinOp::And if !truthy(left.json()) => return Ok(left),
        BinOp::Or if truthy(left.json()) => return Ok(left),
        BinOp::And | BinOp::Or => return eval(rhs, env),
        _ => {}
    }
    let right = eval(rhs, env)?;
    let (a, b) = (left.json(), right.json());
    let result = match op {
        BinOp::Eq => json_eq(a, b),
        BinOp::Ne => !json_eq(a, b),
        _ => {
            let ord = match (a, b) {
                (Json::Number(x), Json::Number(y)) => x
                    .as_f64()
                    .zip(y.as_f64())
                    .and_then(|(x, y)| x.partial_cmp(&y)),
                (Json::String(x), Json::String(y)) => Some(x.cmp(y)),
                _ => None,
            };
            let Some(ord) = ord else {
                return Err(EvalError {
                    message: format!(
                        "cannot order {} and {} with `{}`: only two numbers or two strings can be compared so",
                        describe(lhs, &left),
                        describe(rhs, &right),
                        op.symbol()
                    ),
                });
            };
            match op {
                BinOp::Lt => ord == Ordering::Less,
                BinOp::Le => ord != Ordering::Greater,
                BinOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
    };
    Ok(Val::Json(Json::Bool(result)))
}

fn describe(expr: &Expr, v: &Val) -> String {
    match v {
        Val::Json(j) => format!("`{expr}` ({})", json_kind(j)),
        Val::Missing(e) => format!("`{expr}` (no value: {})", missing_why(e)),
    }
}

/// Why a path has no value, without the reference.
pub(crate) fn missing_why(e: &TemplateError) -> String {
    match e {
        TemplateError::Missing { why, .. } => why.clone(),
        TemplateError::NoOutput { step, .. } => format!("step `{step}` has no output"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::expr::parse;

    struct World {
        input: Json,
        outputs: HashMap<String, Json>,
        statuses: HashMap<String, StepStatus>,
    }

    fn world() -> World {
        let mut outputs = HashMap::new();
        outputs.insert(
            "fetch".to_owned(),
            json!({"items": [{"id": 7}], "ok": true}),
        );
        let mut statuses = HashMap::new();
        statuses.insert("fetch".to_owned(), StepStatus::Succeeded);
        statuses.insert("lint".to_owned(), StepStatus::Skipped);
        World {
            input: json!({"name": "Ada", "n": 3, "x": 2.5, "tags": ["a", "b"], "odd key": 1, "e": ""}),
            outputs,
            statuses,
        }
    }

    fn run(src: &str) -> Result<Json, String> {
        let w = world();
        let env = Env {
            input: &w.input,
            outputs: &w.outputs,
            statuses: Some(&w.statuses),
            status: Some(StatusFns {
                success: true,
                failure: false,
            }),
        };
        let e = parse(src).map_err(|e| e.message)?;
        eval(&e, &env)
            .map(|v| v.json().clone())
            .map_err(|e| e.message)
    }

    #[test]
    fn operators() {
        for (src, want) in [
            ("input.n == 3", json!(true)),
            ("input.n == 3.0", json!(true)),
            ("input.n == '3'", json!(false)),
            ("input.name == 'ada'", json!(false)),
            ("input.name != 'ada'", json!(true)),
            ("input.n < 4", json!(true)),
            ("input.n <= 3", json!(true)),
            ("input.x > 2", json!(true)),
            ("input.x >= 3", json!(false)),
            ("'abc' < 'abd'", json!(true)),
            ("'B' < 'a'", json!(true)),
            ("!input.e", json!(true)),
            ("!!input.name", json!(true)),
            ("input.e || 'default'", json!("default")),
            ("input.name || 'default'", json!("Ada")),
            ("input.name && input.n", json!(3)),
            ("input.e && input.nope.deeper", json!("")),
            ("input.nope || 1", json!(1)),
            ("input.nope == null", json!(true)),
            ("null == false", json!(false)),
            ("input.tags == input.tags", json!(true)),
            ("input['odd key'] == 1", json!(true)),
            ("input.tags[1]", json!("b")),
            ("steps.fetch.output.items.0.id", json!(7)),
            ("steps.fetch.status == 'succeeded'", json!(true)),
            ("steps.lint.status", json!("skipped")),
            ("fromJSON('{\"a\": [5]}').a[0]", json!(5)),
            ("success() && !failure() && always()", json!(true)),
            (
                "contains(input.tags, 'b') && startsWith(input.name, 'A')",
                json!(true),
            ),
            ("length(input.tags) == 2", json!(true)),
            ("format('{0}/{1}', input.name, input.n)", json!("Ada/3")),
            ("join(input.tags, '+')", json!("a+b")),
            ("toJSON(input.tags)", json!("[\"a\",\"b\"]")),
        ] {
            assert_eq!(run(src), Ok(want), "{src}");
        }
    }

    #[test]
    fn errors_name_what_failed() {
        let e = run("input.name < 3").unwrap_err();
        assert_eq!(
            e,
            "cannot order `input.name` (a string) and `3` (a number) with `<`: only two numbers or two strings can be compared so"
        );
        let e = run("steps.fetch.output.items.3 > 1").unwrap_err();
        assert!(
            e.contains("`steps.fetch.output.items` has 1 items, so there is no item 3"),
            "{e}"
        );
        let e = run("length(input.n)").unwrap_err();
        assert_eq!(
            e,
            "`length(input.n)`: `length()` needs a string, an array or an object, found a number"
        );
        assert!(
            run("nope(1)")
                .unwrap_err()
                .contains("unknown function `nope()`")
        );
        assert!(run("length()").unwrap_err().contains("takes 1 argument"));
    }

    #[test]
    fn short_circuits() {
        // The right side would be an error.
        assert_eq!(run("false && input.name < 3"), Ok(json!(false)));
        assert_eq!(run("true || input.name < 3"), Ok(json!(true)));
    }

    #[test]
    fn templates_have_no_status() {
        let w = world();
        let env = Env {
            input: &w.input,
            outputs: &w.outputs,
            statuses: None,
            status: None,
        };
        for src in ["success()", "steps.fetch.status"] {
            let e = eval(&parse(src).unwrap(), &env).unwrap_err();
            assert!(e.message.contains("only"), "{e}");
        }
    }
}
