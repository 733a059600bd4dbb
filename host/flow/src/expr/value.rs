//! Values as expressions see them: how a step ended, a value or a missing
//! one, truthiness, equality and text.

use serde_json::Value as Json;

use crate::render::TemplateError;

/// How a finished step ended, as conditions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepStatus {
    /// It produced an output.
    Succeeded,
    /// Its condition (or a need's end) kept it from running.
    Skipped,
    /// Its last attempt failed.
    Failed,
}

impl StepStatus {
    /// What `steps.<id>.status` reads: `succeeded`, `skipped` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// A value, or a path that leads nowhere (which operators and functions take
/// as `null`, and which is an error when it is what a template renders).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// A JSON value.
    Json(Json),
    /// Nothing at a path, and why.
    Missing(Box<TemplateError>),
}

impl Val {
    /// The value, `null` when missing.
    pub fn json(&self) -> &Json {
        match self {
            Self::Json(v) => v,
            Self::Missing(_) => &Json::Null,
        }
    }
}

/// Whether `v` counts as true in an `if:`: everything but `false`, `null`,
/// `0`, `""` and a missing value.
pub fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(_) | Json::Object(_) => true,
    }
}

/// `==`: values of the same type that are equal (numbers by value, strings
/// case-sensitively, arrays and objects item by item); different types are
/// never equal.
pub fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The text of a value inside a longer string: a string as is, anything else
/// as JSON.
pub fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn truthiness() {
        for v in [json!(false), json!(null), json!(0), json!(0.0), json!("")] {
            assert!(!truthy(&v), "{v}");
        }
        for v in [
            json!(true),
            json!(1),
            json!(-0.5),
            json!("0"),
            json!([]),
            json!({}),
        ] {
            assert!(truthy(&v), "{v}");
        }
    }

    #[test]
    fn equality_never_converts() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(1), &json!("1")));
        assert!(!json_eq(&json!(null), &json!(false)));
        assert!(json_eq(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        assert!(!json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert_eq!(text(&json!("s")), "s");
        assert_eq!(text(&json!({"a": null})), "{\"a\":null}");
        assert_eq!(Val::Json(json!(1)).json(), &json!(1));
    }
}
