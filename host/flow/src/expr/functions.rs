//! The functions an expression may call, their arity and what they do.

use serde_json::Value as Json;

use super::value::{Val, json_eq, text};
use crate::render::json_kind;

/// A function of the expression language. Names are matched without regard
/// to case, as in GitHub Actions (`startswith` is `startsWith`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `contains(haystack, needle)`: `needle` is a substring of the string
    /// `haystack`, or equal (`==`) to an item of the array `haystack`.
    Contains,
    /// `startsWith(s, prefix)`.
    StartsWith,
    /// `endsWith(s, suffix)`.
    EndsWith,
    /// `length(x)`: the characters of a string, the items of an array, the
    /// keys of an object.
    Length,
    /// `fromJSON(s)`: the JSON value the string `s` holds.
    FromJson,
    /// `toJSON(v)`: `v` as compact JSON text.
    ToJson,
    /// `format('{0} of {1}', a, b)`: `{N}` is replaced by the text of argument
    /// N; `{{` and `}}` stand for `{` and `}`.
    Format,
    /// `join(array, sep)`: the texts of the items joined by `sep` (default
    /// `,`).
    Join,
    /// `success()`: every need of the step succeeded (`if:` only).
    Success,
    /// `failure()`: some step upstream of the step failed (`if:` only).
    Failure,
    /// `always()`: true (`if:` only).
    Always,
}

impl Func {
    /// Every function.
    pub const ALL: [Func; 11] = [
        Self::Contains,
        Self::StartsWith,
        Self::EndsWith,
        Self::Length,
        Self::FromJson,
        Self::ToJson,
        Self::Format,
        Self::Join,
        Self::Success,
        Self::Failure,
        Self::Always,
    ];

    /// Its name, as documented.
    pub fn name(self) -> &'static str {
        match self {
            Self::Contains => "contains",
            Self::StartsWith => "startsWith",
            Self::EndsWith => "endsWith",
            Self::Length => "length",
            Self::FromJson => "fromJSON",
            Self::ToJson => "toJSON",
            Self::Format => "format",
            Self::Join => "join",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Always => "always",
        }
    }

    /// How it is called, for messages: `startsWith(s, prefix)`.
    pub fn signature(self) -> &'static str {
        match self {
            Self::Contains => "contains(haystack, needle)",
            Self::StartsWith => "startsWith(s, prefix)",
            Self::EndsWith => "endsWith(s, suffix)",
            Self::Length => "length(x)",
            Self::FromJson => "fromJSON(s)",
            Self::ToJson => "toJSON(value)",
            Self::Format => "format('{0} …', value, …)",
            Self::Join => "join(array, separator)",
            Self::Success => "success()",
            Self::Failure => "failure()",
            Self::Always => "always()",
        }
    }

    /// The function called `name` (any case).
    pub fn lookup(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// The fewest and the most arguments it takes (`None`: no limit).
    pub fn arity(self) -> (usize, Option<usize>) {
        match self {
            Self::Contains | Self::StartsWith | Self::EndsWith => (2, Some(2)),
            Self::Length | Self::FromJson | Self::ToJson => (1, Some(1)),
            Self::Format => (1, None),
            Self::Join => (1, Some(2)),
            Self::Success | Self::Failure | Self::Always => (0, Some(0)),
        }
    }

    /// Whether it reads how the step's needs ended, which only a step's `if:`
    /// can.
    pub fn is_status(self) -> bool {
        matches!(self, Self::Success | Self::Failure | Self::Always)
    }

    /// "takes 2 arguments" for messages, or `None` when `n` arguments fit.
    pub(crate) fn arity_error(self, n: usize) -> Option<String> {
        let (min, max) = self.arity();
        if n >= min && max.is_none_or(|m| n <= m) {
            return None;
        }
        let plural = |k: usize| if k == 1 { "" } else { "s" };
        let takes = match max {
            Some(m) if m == min => format!("{m} argument{}", plural(m)),
            Some(m) => format!("{min} or {m} arguments"),
            None => format!("at least {min} argument{}", plural(min)),
        };
        Some(format!("`{}()` takes {takes}, found {n}", self.name()))
    }
}

/// Call a function that is not a status function on evaluated arguments
/// (their number already checked). A missing value counts as `null`.
pub(crate) fn call(func: Func, args: &[Val]) -> Result<Json, String> {
    let arg = |i: usize| args.get(i).map_or(&Json::Null, Val::json);
    let name = func.name();
    match func {
        Func::Contains => match (arg(0), arg(1)) {
            (Json::String(h), needle) => Ok(Json::Bool(h.contains(text(needle).as_str()))),
            (Json::Array(items), needle) => {
                Ok(Json::Bool(items.iter().any(|i| json_eq(i, needle))))
            }
            (Json::Null, _) => Ok(Json::Bool(false)),
            (other, _) => Err(format!(
                "`contains()` needs a string or an array to search, found {}",
                json_kind(other)
            )),
        },
        Func::StartsWith | Func::EndsWith => match (arg(0), arg(1)) {
            (Json::String(s), Json::String(p)) => Ok(Json::Bool(if func == Func::StartsWith {
                s.starts_with(p.as_str())
            } else {
                s.ends_with(p.as_str())
            })),
            (Json::Null, _) => Ok(Json::Bool(false)),
            (a, b) => Err(format!(
                "`{name}()` needs two strings, found {} and {}",
                json_kind(a),
                json_kind(b)
            )),
        },
        Func::Length => match arg(0) {
            Json::String(s) => Ok(Json::from(s.chars().count())),
            Json::Array(items) => Ok(Json::from(items.len())),
            Json::Object(map) => Ok(Json::from(map.len())),
            other => Err(format!(
                "`length()` needs a string, an array or an object, found {}",
                json_kind(other)
            )),
        },
        Func::FromJson => match arg(0) {
            Json::String(s) => serde_json::from_str(s)
                .map_err(|e| format!("`fromJSON()`: the string is not JSON: {e}")),
            other => Err(format!(
                "`fromJSON()` needs a string, found {}",
                json_kind(other)
            )),
        },
        Func::ToJson => Ok(Json::String(arg(0).to_string())),
        Func::Format => match arg(0) {
            Json::String(f) => format(f, args.get(1..).unwrap_or_default()).map(Json::String),
            other => Err(format!(
                "`format()` needs a format string first, found {}",
                json_kind(other)
            )),
        },
        Func::Join => {
            let sep = match arg(1) {
                Json::Null => ",".to_owned(),
                other => text(other),
            };
            match arg(0) {
                Json::Array(items) => Ok(Json::String(
                    items.iter().map(text).collect::<Vec<_>>().join(&sep),
                )),
                Json::String(s) => Ok(Json::String(s.clone())),
                other => Err(format!(
                    "`join()` needs an array, found {}",
                    json_kind(other)
                )),
            }
        }
        Func::Success | Func::Failure | Func::Always => {
            Err(format!("`{name}()` can only be used in a step's `if:`"))
        }
    }
}

fn format(f: &str, args: &[Val]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = f.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut digits = String::new();
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == '}' {
                        closed = true;
                        break;
                    }
                    digits.push(d);
                }
                let index = digits.parse::<usize>().ok().filter(|_| closed).ok_or_else(|| {
                    format!("`format()`: `{{{digits}` is not `{{N}}` with N a number (write `{{{{` for a `{{`)")
                })?;
                let value = args.get(index).ok_or_else(|| {
                    format!(
                        "`format()`: `{{{index}}}` but {} value{} follow the format string",
                        args.len(),
                        if args.len() == 1 { "" } else { "s" }
                    )
                })?;
                out.push_str(&text(value.json()));
            }
            '}' => return Err("`format()`: a lone `}` (write `}}` for a `}`)".to_owned()),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(f: Func, args: &[Json]) -> Result<Json, String> {
        let vals: Vec<Val> = args.iter().cloned().map(Val::Json).collect();
        call(f, &vals)
    }

    #[test]
    fn every_function() {
        assert_eq!(
            run(Func::Contains, &[json!("abc"), json!("b")]),
            Ok(json!(true))
        );
        assert_eq!(
            run(Func::Contains, &[json!("abc"), json!("B")]),
            Ok(json!(false))
        );
        assert_eq!(
            run(Func::Contains, &[json!([1, "x"]), json!(1.0)]),
            Ok(json!(true))
        );
        assert_eq!(
            run(Func::Contains, &[json!(["1"]), json!(1)]),
            Ok(json!(false))
        );
        assert_eq!(
            run(Func::Contains, &[json!(null), json!(1)]),
            Ok(json!(false))
        );
        assert!(run(Func::Contains, &[json!({}), json!(1)]).is_err());
        assert_eq!(
            run(Func::StartsWith, &[json!("abc"), json!("ab")]),
            Ok(json!(true))
        );
        assert_eq!(
            run(Func::EndsWith, &[json!("abc"), json!("bc")]),
            Ok(json!(true))
        );
        assert_eq!(
            run(Func::EndsWith, &[json!("abc"), json!("x")]),
            Ok(json!(false))
        );
        assert!(run(Func::StartsWith, &[json!("abc"), json!(1)]).is_err());
        assert_eq!(run(Func::Length, &[json!("héé")]), Ok(json!(3)));
        assert_eq!(run(Func::Length, &[json!([1, 2])]), Ok(json!(2)));
        assert_eq!(run(Func::Length, &[json!({"a": 1})]), Ok(json!(1)));
        assert!(run(Func::Length, &[json!(3)]).is_err());
        assert_eq!(
            run(Func::FromJson, &[json!("{\"a\":[1]}")]),
            Ok(json!({"a": [1]}))
        );
        assert!(
            run(Func::FromJson, &[json!("{nope")])
                .unwrap_err()
                .contains("not JSON")
        );
        assert_eq!(
            run(Func::ToJson, &[json!({"a": [1]})]),
            Ok(json!("{\"a\":[1]}"))
        );
        assert_eq!(
            run(
                Func::Format,
                &[json!("{0} of {1} {{x}}"), json!(1), json!("two")]
            ),
            Ok(json!("1 of two {x}"))
        );
        assert!(
            run(Func::Format, &[json!("{2}"), json!(1)])
                .unwrap_err()
                .contains("1 value follow")
        );
        assert!(run(Func::Format, &[json!("{x}")]).is_err());
        assert!(run(Func::Format, &[json!("a } b")]).is_err());
        assert_eq!(
            run(Func::Join, &[json!(["a", 1, true])]),
            Ok(json!("a,1,true"))
        );
        assert_eq!(
            run(Func::Join, &[json!(["a", "b"]), json!(" | ")]),
            Ok(json!("a | b"))
        );
        assert!(run(Func::Join, &[json!(3)]).is_err());
    }

    #[test]
    fn names_and_arity() {
        assert_eq!(Func::lookup("startswith"), Some(Func::StartsWith));
        assert_eq!(Func::lookup("fromJson"), Some(Func::FromJson));
        assert_eq!(Func::lookup("cancelled"), None);
        assert_eq!(Func::StartsWith.arity_error(2), None);
        assert_eq!(
            Func::StartsWith.arity_error(1).as_deref(),
            Some("`startsWith()` takes 2 arguments, found 1")
        );
        assert_eq!(
            Func::Join.arity_error(3).as_deref(),
            Some("`join()` takes 1 or 2 arguments, found 3")
        );
        assert_eq!(
            Func::Format.arity_error(0).as_deref(),
            Some("`format()` takes at least 1 argument, found 0")
        );
        assert_eq!(Func::Always.arity_error(0), None);
        assert!(Func::Always.is_status() && !Func::Join.is_status());
    }
}
