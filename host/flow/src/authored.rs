//! Stage 2: a flow file's node tree → the flow as authored, with the position of
//! everything the semantic checks in [`crate::validate`] may complain about.

use std::time::Duration;

use crate::common::{AuthoredDefaults, AuthoredRetry, decode_defaults, decode_retry};
use crate::decode::{Ctx, Spanned};
use crate::id_prefix::{IdPrefixDecl, decode_id_prefix};
use crate::inputs::{self, InputSpec};
use crate::schedule::{self, Schedule};
use crate::yaml::{Key, Node, Pos, Value};

/// Keys of a flow file.
pub const FLOW_KEYS: &[&str] = &[
    "id",
    "version",
    "description",
    "inputs",
    "steps",
    "defaults",
    "schedule",
    "id_prefix",
];

/// Keys of a step.
pub const STEP_KEYS: &[&str] = &[
    "uses",
    "with",
    "needs",
    "if",
    "timeout",
    "retry",
    "pool",
    "model",
    "max_model_calls",
    "max_tool_calls",
];

/// A flow as written.
pub(crate) struct AuthoredFlow {
    pub id: Option<Spanned<String>>,
    pub version: u32,
    pub description: Option<String>,
    pub inputs: Vec<InputSpec>,
    pub steps: Vec<AuthoredStep>,
    pub defaults: AuthoredDefaults,
    /// Each schedule, where its `input:` is, and the `input:` node.
    pub schedules: Vec<(Schedule, Pos, Option<Node>)>,
    /// `id_prefix:`, when the flow sets its own.
    pub id_prefix: Option<IdPrefixDecl>,
    /// Whether `id_prefix:` is written but wrong (already reported).
    pub id_prefix_bad: bool,
}

/// A step as written.
pub(crate) struct AuthoredStep {
    pub id: String,
    pub pos: Pos,
    pub uses: Option<Spanned<String>>,
    pub with: Option<Node>,
    pub needs: Vec<Spanned<String>>,
    /// `if:`, as written (checked in [`crate::validate`]).
    pub condition: Option<Spanned<String>>,
    pub timeout: Option<Spanned<Duration>>,
    pub retry: Option<AuthoredRetry>,
    pub pool: Option<Spanned<String>>,
    pub model: Option<Spanned<String>>,
    pub max_model_calls: Option<u32>,
    pub max_tool_calls: Option<u32>,
}

/// Decode a flow file's root node. Returns `None` only when the root is not a
/// mapping; every other problem is recorded in `ctx` and decoding goes on.
pub(crate) fn decode(ctx: &mut Ctx<'_>, root: &Node) -> Option<AuthoredFlow> {
    let fields = ctx.map(root, "", FLOW_KEYS, root.pos)?;
    let id = ctx
        .required(&fields, "id", "the flow's name, e.g. `support-triage`")
        .and_then(|n| ctx.name(n, "id", 64));
    let version = fields
        .get("version")
        .and_then(|n| ctx.integer(n, "version", 1, i64::from(u32::MAX)))
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(1);
    let description = fields
        .get("description")
        .and_then(|n| ctx.string(n, "description"))
        .map(|s| s.value);
    let inputs = fields
        .get("inputs")
        .map(|n| inputs::decode(ctx, n))
        .unwrap_or_default();
    let defaults = match fields.entry("defaults") {
        Some((key, n)) => decode_defaults(ctx, n, key.pos, true),
        None => AuthoredDefaults::default(),
    };
    let mut steps = Vec::new();
    if let Some(n) = ctx.required(&fields, "steps", "a mapping of step id to step") {
        match &n.value {
            Value::Map(entries) if !entries.is_empty() => {
                steps = entries
                    .iter()
                    .filter_map(|(key, value)| decode_step(ctx, key, value))
                    .collect();
            }
            Value::Map(_) | Value::Null => {
                let d = ctx
                    .at(fields.at, "a flow without steps")
                    .expected("expected at least one step under `steps:`");
                ctx.push(d);
            }
            _ => ctx.wrong_type(n, "steps", "a mapping of step id to step"),
        }
    }
    let mut id_prefix = None;
    let mut id_prefix_bad = false;
    if let Some(n) = fields.get("id_prefix") {
        id_prefix = decode_id_prefix(ctx, n, "id_prefix");
        id_prefix_bad = id_prefix.is_none();
    }
    let mut schedules = Vec::new();
    if let Some(n) = fields.get("schedule") {
        match &n.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some((s, at, input)) =
                        schedule::decode(ctx, item, &format!("schedule[{i}]"))
                    {
                        schedules.push((s, at, input.cloned()));
                    }
                }
            }
            _ => ctx.wrong_type(n, "schedule", "a list of `- cron: ...` entries"),
        }
    }
    Some(AuthoredFlow {
        id,
        version,
        description,
        inputs,
        steps,
        defaults,
        schedules,
        id_prefix,
        id_prefix_bad,
    })
}

fn decode_step(ctx: &mut Ctx<'_>, key: &Key, node: &Node) -> Option<AuthoredStep> {
    let path = format!("steps.{}", key.name);
    if let Err(why) = crate::decode::check_name(&key.name, 64) {
        let d = ctx
            .at(key.pos, format!("invalid step id `{}`: {why}", key.name))
            .expected("expected lowercase letters, digits, `-` or `_`, at most 64 characters");
        ctx.push(d);
    }
    let fields = ctx.map(node, &path, STEP_KEYS, key.pos)?;
    let uses = ctx
        .required(
            &fields,
            "uses",
            "the name of a step plugin declared in weft.yaml",
        )
        .and_then(|n| ctx.string(n, &fields.child("uses")));
    let with = match fields.get("with") {
        Some(n) if matches!(n.value, Value::Map(_) | Value::Null) => Some(n.clone()),
        Some(n) => {
            ctx.wrong_type(n, &fields.child("with"), "a mapping of the step's input");
            None
        }
        None => None,
    };
    let needs = fields
        .get("needs")
        .map(|n| ctx.string_list(n, &fields.child("needs")))
        .unwrap_or_default();
    let condition = fields
        .get("if")
        .and_then(|n| ctx.string(n, &fields.child("if")));
    let timeout = fields
        .get("timeout")
        .and_then(|n| ctx.duration(n, &fields.child("timeout")));
    let retry = fields
        .entry("retry")
        .and_then(|(key, n)| decode_retry(ctx, n, &fields.child("retry"), key.pos));
    let pool = fields
        .get("pool")
        .and_then(|n| ctx.string(n, &fields.child("pool")));
    let model = fields
        .get("model")
        .and_then(|n| ctx.string(n, &fields.child("model")));
    let cap = |ctx: &mut Ctx<'_>, name: &str| {
        fields
            .get(name)
            .and_then(|n| ctx.integer(n, &fields.child(name), 0, crate::compiled::MAX_CALLS_CAP))
            .and_then(|v| u32::try_from(v).ok())
    };
    let max_model_calls = cap(ctx, "max_model_calls");
    let max_tool_calls = cap(ctx, "max_tool_calls");
    Some(AuthoredStep {
        id: key.name.clone(),
        pos: key.pos,
        uses,
        with,
        needs,
        condition,
        timeout,
        retry,
        pool,
        model,
        max_model_calls,
        max_tool_calls,
    })
}
