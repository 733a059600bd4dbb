//! `pools:` and `auto_assign:` in `weft.yaml`: named pools of concurrency with
//! their limits and policy plugin, and which model's steps go to which pool.
//!
//! Decoded here as written (`AuthoredPool`); their policy plugins and the
//! pools `auto_assign` names are checked once the plugins and pools are known,
//! by the validation of `weft.yaml` (`project_validate`).

use std::collections::BTreeMap;

use serde_json::Value as Json;
use weft_core::Money;

use crate::decode::{Ctx, Spanned};
use crate::diagnostic::Location;
use crate::plugin_decl::Plugins;
use crate::yaml::{self, Pos};

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
    pub cost_limit_daily_usd: Option<Money>,
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
    /// The `default` pool as it is when `weft.yaml` does not declare it, with
    /// `policy` (see [`default_policy`]).
    pub(crate) fn implied(policy: Option<String>) -> Self {
        Self {
            name: DEFAULT_POOL.into(),
            policy,
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

/// `priority-fifo` when `plugins` declares it as a pool plugin: the policy of a
/// pool that names none.
pub(crate) fn default_policy(plugins: &Plugins) -> Option<String> {
    plugins
        .values()
        .any(|p| p.kind == weft_core::PluginKind::Pool && p.name == DEFAULT_POLICY)
        .then(|| DEFAULT_POLICY.to_owned())
}

/// A pool's `policy:` as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AuthoredPolicy {
    /// No `policy:`: the [`default_policy`], if there is one.
    Unwritten,
    /// `policy:` names a plugin (not yet checked).
    Named(Spanned<String>),
    /// `policy:` is written but not a name (already reported): no policy.
    Invalid,
}

/// A pool as written: everything but its policy is final.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuthoredPool {
    /// The pool, with `policy: None` until its policy is checked.
    pub decl: PoolDecl,
    /// Where its name is written (a defaulted policy is reported there).
    pub pos: Pos,
    /// Its `policy:`.
    pub policy: AuthoredPolicy,
}

/// Decodes `pools:`, in file order (the implied `default` is added when the
/// pools are checked).
pub(crate) fn decode_pools(ctx: &mut Ctx<'_>, node: &yaml::Node) -> Vec<AuthoredPool> {
    ctx.decode_entries(node, "pools", decode_pool)
}

fn decode_pool(ctx: &mut Ctx<'_>, key: &yaml::Key, node: &yaml::Node) -> Option<AuthoredPool> {
    let path = format!("pools.{}", key.name);
    if let Err(why) = crate::decode::check_name(&key.name, 64) {
        let d = ctx
            .at(key.pos, format!("invalid pool name `{}`: {why}", key.name))
            .expected("expected lowercase letters, digits, `-` or `_`");
        ctx.push(d);
    }
    let fields = ctx.map(node, &path, POOL_KEYS, key.pos)?;
    let policy = match fields.get("policy") {
        Some(n) => match ctx.name(n, &fields.child("policy"), 64) {
            Some(name) => AuthoredPolicy::Named(name),
            None => AuthoredPolicy::Invalid,
        },
        None => AuthoredPolicy::Unwritten,
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
        Some(n) => money(ctx, n, &fields.child("cost_limit_daily_usd")),
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
    let decl = PoolDecl {
        name: key.name.clone(),
        policy: None,
        policy_config,
        max_concurrent,
        cost_limit_daily_usd,
        rate_limit,
        on_exhausted,
        priority_field,
        location: Some(yaml::location(ctx.file, key.pos)),
    };
    Some(AuthoredPool {
        decl,
        pos: key.pos,
        policy,
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

/// A number of dollars, 0 or more, as [`Money`].
fn money(ctx: &mut Ctx<'_>, n: &yaml::Node, path: &str) -> Option<Money> {
    let usd = number(ctx, n, path)?;
    match Money::from_usd(usd) {
        Ok(m) => Some(m),
        Err(e) => {
            let d = ctx
                .at(n.pos, format!("`{path}` is not an amount of money ({e})"))
                .expected("expected a number of dollars, 0 or more");
            ctx.push(d);
            None
        }
    }
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

/// Decodes `auto_assign: { by_model: { "glob": pool } }`: (glob, pool) in file
/// order, the pools not yet checked.
pub(crate) fn decode_auto_assign(
    ctx: &mut Ctx<'_>,
    node: &yaml::Node,
    at: Pos,
) -> Vec<(String, Spanned<String>)> {
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
            out.push((key.name.clone(), pool));
        }
    }
    out
}

/// Pools by name, for [`crate::ProjectConfig::pools`].
pub type Pools = BTreeMap<String, PoolDecl>;
