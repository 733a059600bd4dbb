//! Pieces shared by flow files and `weft.yaml`: retry policies and `defaults`
//! (as written, and `weft.yaml`'s as checked).

use std::time::Duration;

use serde_json::Value as Json;

use crate::decode::{Ctx, Spanned};
use crate::yaml::{Node, Pos, Value};

/// The retry strategy used when a `retry:` block names none.
pub const DEFAULT_RETRY_STRATEGY: &str = "exp-backoff";

/// The step timeout used when neither the step, the flow nor `weft.yaml` sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A retry policy: the retry plugin to ask and the config passed to it.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// The retry plugin's name in `weft.yaml` (default `exp-backoff`).
    pub strategy: String,
    /// Every other key of the `retry:` block, as a JSON object.
    pub config: Json,
}

/// Project-wide defaults for steps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectDefaults {
    /// Step timeout when the flow sets none.
    pub timeout: Option<Duration>,
    /// Retry policy when the flow sets none.
    pub retry: Option<RetryPolicy>,
    /// Pool (a name under `pools:`) when the flow sets none.
    pub pool: Option<String>,
}

/// A retry block as written, with where its strategy was named.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuthoredRetry {
    pub policy: RetryPolicy,
    /// Where the strategy was named, or the `retry:` block when defaulted.
    pub pos: Pos,
    /// Whether `strategy:` was written.
    pub explicit: bool,
}

/// `defaults:` as written in a flow or in `weft.yaml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AuthoredDefaults {
    pub timeout: Option<Spanned<Duration>>,
    pub retry: Option<AuthoredRetry>,
    pub pool: Option<Spanned<String>>,
    pub model: Option<Spanned<String>>,
}

/// Decode a `retry:` block: `strategy` plus free config keys.
/// `at` is the `retry` key, where a defaulted strategy is reported.
pub(crate) fn decode_retry(
    ctx: &mut Ctx<'_>,
    node: &Node,
    path: &str,
    at: Pos,
) -> Option<AuthoredRetry> {
    let Value::Map(entries) = &node.value else {
        ctx.wrong_type(
            node,
            path,
            "a mapping such as `{ strategy: exp-backoff, max_attempts: 3 }`",
        );
        return None;
    };
    let mut config = serde_json::Map::new();
    let mut strategy = None;
    for (key, value) in entries {
        if key.name == "strategy" {
            strategy = ctx.name(value, &format!("{path}.strategy"), 64);
        } else {
            config.insert(key.name.clone(), value.to_json());
        }
    }
    let explicit = strategy.is_some();
    let (name, pos) = match strategy {
        Some(s) => (s.value, s.pos),
        None => (DEFAULT_RETRY_STRATEGY.to_owned(), at),
    };
    Some(AuthoredRetry {
        policy: RetryPolicy {
            strategy: name,
            config: Json::Object(config),
        },
        pos,
        explicit,
    })
}

/// Decode `defaults:`; `allow_model` says whether `model` is one of its keys.
pub(crate) fn decode_defaults(
    ctx: &mut Ctx<'_>,
    node: &Node,
    at: Pos,
    allow_model: bool,
) -> AuthoredDefaults {
    let keys: &[&str] = if allow_model {
        &["timeout", "retry", "pool", "model"]
    } else {
        &["timeout", "retry", "pool"]
    };
    let mut out = AuthoredDefaults::default();
    let Some(fields) = ctx.map(node, "defaults", keys, at) else {
        return out;
    };
    if let Some(n) = fields.get("timeout") {
        out.timeout = ctx.duration(n, "defaults.timeout");
    }
    if let Some((key, n)) = fields.entry("retry") {
        out.retry = decode_retry(ctx, n, "defaults.retry", key.pos);
    }
    if let Some(n) = fields.get("pool") {
        out.pool = ctx.name(n, "defaults.pool", 64);
    }
    if allow_model && let Some(n) = fields.get("model") {
        out.model = ctx.string(n, "defaults.model");
    }
    out
}
