//! A flow's `inputs:`: declared names, types, defaults; checking a run's input.

use std::fmt;

use serde_json::Value as Json;

use crate::decode::{Ctx, check_name};
use crate::diagnostic::{closest, did_you_mean, one_of};
use crate::yaml::{Key, Node, Pos, Value};

const KEYS: &[&str] = &["type", "required", "default", "description"];
const TYPES: &[&str] = &["string", "number", "integer", "boolean", "object", "array"];

/// The JSON type of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    /// A JSON string.
    String,
    /// Any JSON number.
    Number,
    /// A JSON number without a fraction.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
}

impl InputType {
    /// The name used in flow files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => Self::String,
            "number" => Self::Number,
            "integer" => Self::Integer,
            "boolean" => Self::Boolean,
            "object" => Self::Object,
            "array" => Self::Array,
            _ => return None,
        })
    }

    /// Whether `value` is of this type.
    pub fn matches(self, value: &Json) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Number => value.is_number(),
            Self::Integer => value.is_i64() || value.is_u64(),
            Self::Boolean => value.is_boolean(),
            Self::Object => value.is_object(),
            Self::Array => value.is_array(),
        }
    }
}

impl fmt::Display for InputType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// Its name, read by templates as `input.<name>`.
    pub name: String,
    /// Its type.
    pub ty: InputType,
    /// Whether a run must give it (an input with a default is never missing).
    pub required: bool,
    /// The value used when a run does not give it.
    pub default: Option<Json>,
    /// What it is for.
    pub description: Option<String>,
}

/// A run input that does not fit the flow's `inputs:`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The input is not a JSON object.
    #[error("the run input must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type given.
        found: String,
    },
    /// Something is wrong with one or more fields.
    #[error("invalid run input: {}", .0.join("; "))]
    Fields(Vec<String>),
}

/// Decode `inputs:`.
pub(crate) fn decode(ctx: &mut Ctx<'_>, node: &Node) -> Vec<InputSpec> {
    let Some(entries) = ctx.entries(node, "inputs") else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(key, value)| decode_one(ctx, key, value))
        .collect()
}

fn decode_one(ctx: &mut Ctx<'_>, key: &Key, node: &Node) -> Option<InputSpec> {
    let path = format!("inputs.{}", key.name);
    if let Err(why) = check_name(&key.name, 64) {
        let d = ctx
            .at(key.pos, format!("invalid input name `{}`: {why}", key.name))
            .expected("expected lowercase letters, digits, `-` or `_`");
        ctx.push(d);
    }
    let fields = ctx.map(node, &path, KEYS, key.pos)?;
    let ty = ctx
        .required(
            &fields,
            "type",
            "one of string, number, integer, boolean, object, array",
        )
        .and_then(|n| ctx.choice(n, &fields.child("type"), TYPES))
        .and_then(|s| InputType::parse(&s.value));
    let required = fields
        .get("required")
        .and_then(|n| ctx.boolean(n, &fields.child("required")))
        .unwrap_or(false);
    let description = fields
        .get("description")
        .and_then(|n| ctx.string(n, &fields.child("description")))
        .map(|s| s.value);
    let mut default = None;
    if let Some(n) = fields.get("default") {
        let value = n.to_json();
        if let Some(ty) = ty
            && !ty.matches(&value)
        {
            ctx.wrong_type(
                n,
                &fields.child("default"),
                &format!("a value of the input's type, {ty}"),
            );
        }
        if required {
            let d = ctx
                .at(
                    n.pos,
                    format!("input `{}` is required and has a default", key.name),
                )
                .expected("expected either `required: true` or a `default`")
                .help("an input with a default is never missing; remove `required: true`");
            ctx.push(d);
        }
        default = Some(value);
    }
    Some(InputSpec {
        name: key.name.clone(),
        ty: ty?,
        required,
        default,
        description,
    })
}

/// Apply defaults to `input` and check it against `specs`.
pub fn check(specs: &[InputSpec], input: &Json) -> Result<Json, InputError> {
    let empty = serde_json::Map::new();
    let given = match input {
        Json::Object(map) => map,
        Json::Null => &empty,
        other => {
            return Err(InputError::NotAnObject {
                found: crate::render::json_kind(other).to_owned(),
            });
        }
    };
    let mut problems = Vec::new();
    let mut out = serde_json::Map::new();
    for spec in specs {
        match given.get(&spec.name) {
            Some(v) if spec.ty.matches(v) => {
                out.insert(spec.name.clone(), v.clone());
            }
            Some(v) => problems.push(format!(
                "`{}` must be {} {}, found {}",
                spec.name,
                if spec.ty == InputType::Integer
                    || spec.ty == InputType::Object
                    || spec.ty == InputType::Array
                {
                    "an"
                } else {
                    "a"
                },
                spec.ty,
                crate::render::json_kind(v)
            )),
            None => match &spec.default {
                Some(d) => {
                    out.insert(spec.name.clone(), d.clone());
                }
                None if spec.required => problems.push(format!("`{}` is required", spec.name)),
                None => {}
            },
        }
    }
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    for key in given.keys() {
        if !names.contains(&key.as_str()) {
            let hint = match closest(key, names.iter().copied()) {
                Some(c) => format!(" (did you mean `{c}`?)"),
                None if names.is_empty() => " (the flow declares no inputs)".to_owned(),
                None => format!(" (expected one of {})", one_of(&names)),
            };
            problems.push(format!("unknown input `{key}`{hint}"));
        }
    }
    if problems.is_empty() {
        Ok(Json::Object(out))
    } else {
        Err(InputError::Fields(problems))
    }
}

/// Check a run input written in a flow file (a schedule's `input:`), reporting
/// each problem where it is; `at` is where a missing input is reported.
pub(crate) fn check_node(ctx: &mut Ctx<'_>, specs: &[InputSpec], at: Pos, node: Option<&Node>) {
    let entries: &[(Key, Node)] = match node.map(|n| &n.value) {
        Some(Value::Map(entries)) => entries,
        _ => &[],
    };
    for spec in specs {
        let given = entries.iter().find(|(k, _)| k.name == spec.name);
        match given {
            Some((_, v)) if !spec.ty.matches(&v.to_json()) => {
                ctx.wrong_type(
                    v,
                    &format!("input.{}", spec.name),
                    &format!("a value of type {}", spec.ty),
                );
            }
            None if spec.required && spec.default.is_none() => {
                let d = ctx
                    .at(at, format!("missing required input `{}`", spec.name))
                    .expected(format!(
                        "expected `{}` ({}) in the schedule's `input:`",
                        spec.name, spec.ty
                    ));
                ctx.push(d);
            }
            _ => {}
        }
    }
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    for (key, _) in entries {
        if !names.contains(&key.name.as_str()) {
            let expected = if names.is_empty() {
                "expected no input: the flow declares no `inputs:`".to_owned()
            } else {
                format!("expected one of the flow's inputs: {}", one_of(&names))
            };
            let d = ctx
                .at(key.pos, format!("unknown input `{}`", key.name))
                .expected(expected)
                .maybe_help(did_you_mean(&key.name, names.iter().copied()));
            ctx.push(d);
        }
    }
}

/// "did you mean" among declared input names.
pub(crate) fn suggest(specs: &[InputSpec], name: &str) -> Option<String> {
    did_you_mean(name, specs.iter().map(|s| s.name.as_str()))
}
