//! `pools:` and `auto_assign:` in `weft.yaml`: named pools of concurrency with
//! their limits and policy plugin, and which model's steps go to which pool.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::decode::{Ctx, Spanned};
use crate::diagnostic::{Location, did_you_mean, one_of};
use crate::glob::glob_match;
use crate::plugin_use::{PluginRole, check_plugin};
use crate::project::ProjectConfig;
use crate::yaml::{self, Pos, location};

/// The pool every step runs in when nothing names another. Always present.
pub const DEFAULT_POOL: &str = "default";
/// The policy plugin a pool uses when it names none (if `weft.yaml` declares it).
pub const DEFAULT_POLICY: &str = "priority-fifo";
/// `max_concurrent` of a pool that sets none (and of an undeclared `default`).
pub const DEFAULT_MAX_CONCURRENT: u32 = 64;

const POOL_KEYS: &[&str] = &[
    "policy",
    "policy_config",
    "max_concurrent",
    "cost_limit_daily_usd",
    "rate_limit",
    "on_exhausted",
    "priority_field",
];
const RATE_KEYS: &[&str] = &["per_minute", "burst"];
const AUTO_KEYS: &[&str] = &["by_model"];

/// What happens to a task that would enter a pool with no free slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnExhausted {
    /// It waits in the queue (the default).
    #[default]
    Queue,
    /// It is refused: a submit into a full pool is an error (the later steps
    /// of an accepted run queue as usual).
    Fail,
}

/// A token bucket: `burst` tokens at most, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added per minute.
    pub per_minute: f64,
    /// The bucket's capacity (and its content at start).
    pub burst: u32,
}

/// A pool declared under `pools:` (or the implied `default`).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolDecl {
    /// Its name, used by a step's or a model's `pool:`.
    pub name: String,
    /// The pool policy plugin that picks among queued tasks; `None`: the host's
    /// own priority order (no `policy:` and no `priority-fifo` plugin declared).
    pub policy: Option<String>,
    /// `policy_config:` as JSON (`{}` when absent).
    pub policy_config: Json,
    /// At most this many of its tasks run at once.
    pub max_concurrent: u32,
    /// No task is admitted once the pool spent this much today (UTC).
    pub cost_limit_daily_usd: Option<f64>,
    /// How fast tasks may start.
    pub rate_limit: Option<RateLimit>,
    /// Queue or refuse when full.
    pub on_exhausted: OnExhausted,
    /// A run's priority is this field of its input when the submit gives none.
    pub priority_field: Option<String>,
    /// Where it is declared (`None` for the implied `default`).
    pub location: Option<Location>,
}

impl PoolDecl {
    /// The `default` pool as it is when `weft.yaml` does not declare it.
    pub fn implied_default(project: &ProjectConfig) -> Self {
        Self {
            name: DEFAULT_POOL.into(),
            policy: default_policy(project),
            policy_config: Json::Object(serde_json::Map::new()),
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            cost_limit_daily_usd: None,
            rate_limit: None,
            on_exhausted: OnExhausted::Queue,
            priority_field: None,
            location: None,
        }
    }
}

/// `priority-fifo` when `weft.yaml` declares it as a pool plugin.
fn default_policy(project: &ProjectConfig) -> Option<String> {
    project
        .plugin_names(weft_core::PluginKind::Pool)
        .any(|n| n == DEFAULT_POLICY)
        .then(|| DEFAULT_POLICY.to_owned())
}

/// Decodes `pools:` into `project.pools` (adding `default` if absent) and
/// records each policy plugin use.
pub(crate) fn decode_pools(
    ctx: &mut Ctx<'_>,
    project: &mut ProjectConfig,
    node: Option<&yaml::Node>,
) {
    if let Some(node) = node {
        for (key, value) in ctx.entries(node, "pools").unwrap_or_default() {
            if let Some(p) = decode_pool(ctx, project, key, value) {
                project.pools.insert(p.name.clone(), p);
            }
        }
    }
    if !project.pools.contains_key(DEFAULT_POOL) {
        let default = PoolDecl::implied_default(project);
        project.pools.insert(DEFAULT_POOL.into(), default);
    }
}

fn decode_pool(
    ctx: &mut Ctx<'_>,
    project: &mut ProjectConfig,
    key: &yaml::Key,
    node: &yaml::Node,
) -> Option<PoolDecl> {
    let path = format!("pools.{}", key.name);
    if let Err(why) = crate::decode::check_name(&key.name, 64) {
        let d = ctx
            .at(key.pos, format!("invalid pool name `{}`: {why}", key.name))
            .expected("expected lowercase letters, digits, `-` or `_`");
        ctx.push(d);
    }
    let fields = ctx.map(node, &path, POOL_KEYS, key.pos)?;
    let policy = match fields.get("policy") {
        Some(n) => {
            let name = ctx.name(n, &fields.child("policy"), 64);
            if let Some(name) = &name
                && let Some(u) = check_plugin(ctx, project, &name.value, name.pos, PluginRole::Pool)
            {
                project.plugin_uses.push(u);
            }
            name.map(|n| n.value)
        }
        None => {
            let p = default_policy(project);
            if let Some(name) = &p
                && let Some(u) = check_plugin(ctx, project, name, key.pos, PluginRole::Pool)
            {
                project.plugin_uses.push(u);
            }
            p
        }
    };
    let policy_config = match fields.get("policy_config") {
        Some(n) => ctx
            .object(n, &fields.child("policy_config"))
            .unwrap_or_else(|| Json::Object(serde_json::Map::new())),
        None => Json::Object(serde_json::Map::new()),
    };
    let max_concurrent = match fields.get("max_concurrent") {
        Some(n) => ctx
            .integer(n, &fields.child("max_concurrent"), 1, 1_000_000)
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(DEFAULT_MAX_CONCURRENT),
        None => DEFAULT_MAX_CONCURRENT,
    };
    let cost_limit_daily_usd = match fields.get("cost_limit_daily_usd") {
        Some(n) => number(ctx, n, &fields.child("cost_limit_daily_usd")),
        None => None,
    };
    let rate_limit = match fields.entry("rate_limit") {
        Some((k, n)) => decode_rate(ctx, n, &fields.child("rate_limit"), k.pos),
        None => None,
    };
    let on_exhausted = match fields.get("on_exhausted") {
        Some(n) => match ctx.choice(n, &fields.child("on_exhausted"), &["queue", "fail"]) {
            Some(s) if s.value == "fail" => OnExhausted::Fail,
            _ => OnExhausted::Queue,
        },
        None => OnExhausted::Queue,
    };
    let priority_field = match fields.get("priority_field") {
        Some(n) => ctx
            .string(n, &fields.child("priority_field"))
            .map(|s| s.value),
        None => None,
    };
    Some(PoolDecl {
        name: key.name.clone(),
        policy,
        policy_config,
        max_concurrent,
        cost_limit_daily_usd,
        rate_limit,
        on_exhausted,
        priority_field,
        location: Some(location(ctx.file, key.pos)),
    })
}

fn decode_rate(ctx: &mut Ctx<'_>, node: &yaml::Node, path: &str, at: Pos) -> Option<RateLimit> {
    let fields = ctx.map(node, path, RATE_KEYS, at)?;
    let per = ctx.required(&fields, "per_minute", "tasks started per minute, e.g. `60`");
    let per_minute = number(ctx, per?, &fields.child("per_minute"))?;
    if per_minute <= 0.0 {
        let d = ctx
            .at(
                per?.pos,
                format!("`{}` must be above 0", fields.child("per_minute")),
            )
            .expected("expected a positive number of tasks per minute");
        ctx.push(d);
        return None;
    }
    let burst = match fields.get("burst") {
        Some(n) => {
            u32::try_from(ctx.integer(n, &fields.child("burst"), 1, 1_000_000)?).unwrap_or(1)
        }
        None => 1,
    };
    Some(RateLimit { per_minute, burst })
}

fn number(ctx: &mut Ctx<'_>, n: &yaml::Node, path: &str) -> Option<f64> {
    let v = match n.value {
        yaml::Value::Int(i) => i as f64,
        yaml::Value::Float(f) => f,
        _ => {
            ctx.wrong_type(n, path, "a number, 0 or more");
            return None;
        }
    };
    if v < 0.0 || !v.is_finite() {
        let d = ctx
            .at(n.pos, format!("`{path}` must be 0 or more"))
            .expected("expected a number, 0 or more");
        ctx.push(d);
        return None;
    }
    Some(v)
}

/// Decodes `auto_assign: { by_model: { "glob": pool } }` (checked against the
/// declared pools, so decode `pools:` first).
pub(crate) fn decode_auto_assign(
    ctx: &mut Ctx<'_>,
    project: &ProjectConfig,
    node: &yaml::Node,
    at: Pos,
) -> Vec<(String, String)> {
    let Some(fields) = ctx.map(node, "auto_assign", AUTO_KEYS, at) else {
        return Vec::new();
    };
    let Some(by) = fields.get("by_model") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in ctx.entries(by, "auto_assign.by_model").unwrap_or_default() {
        let path = format!("auto_assign.by_model.{}", key.name);
        if let Some(pool) = ctx.string(value, &path) {
            check_pool(ctx, project, &pool);
            out.push((key.name.clone(), pool.value));
        }
    }
    out
}

/// Records an error unless `name` is a declared pool (or `default`).
pub(crate) fn check_pool(ctx: &mut Ctx<'_>, project: &ProjectConfig, name: &Spanned<String>) {
    if project.pools.contains_key(&name.value) {
        return;
    }
    let names: Vec<&str> = project.pools.keys().map(String::as_str).collect();
    let help = match project.plugin(&name.value) {
        Some(p) if p.kind == weft_core::PluginKind::Pool => Some(format!(
            "`pool:` names a pool, and `{0}` is a pool policy plugin: declare a pool that uses it, e.g. `pools: {{ {0}: {{ policy: {0} }} }}` in {1}",
            name.value, project.file
        )),
        _ => did_you_mean(&name.value, names.iter().copied()),
    };
    let d = ctx
        .at(name.pos, format!("unknown pool `{}`", name.value))
        .expected(format!(
            "expected a pool declared under `pools:` in {}: {}",
            project.file,
            one_of(&names)
        ))
        .maybe_help(help);
    ctx.push(d);
}

/// The pool of a model: its own `pool:`, else the first `auto_assign.by_model`
/// glob that matches its name.
pub(crate) fn model_pool(project: &ProjectConfig, model: &str) -> Option<String> {
    if let Some(p) = project.models.get(model).and_then(|m| m.pool.clone()) {
        return Some(p);
    }
    project
        .auto_assign
        .iter()
        .find(|(glob, _)| glob_match(glob, model))
        .map(|(_, pool)| pool.clone())
}

/// Pools by name, for [`ProjectConfig::pools`].
pub type Pools = BTreeMap<String, PoolDecl>;
