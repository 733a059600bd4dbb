//! A model's network settings in `weft.yaml`: which hosts its adapter may
//! reach, where its API key comes from, its HTTP timeouts and its circuit
//! breaker.
//!
//! ```yaml
//! models:
//!   gpt:
//!     adapter: openai-compat
//!     config: { endpoint: "https://api.openai.com/v1", model: gpt-4o-mini }
//!     allowed_hosts: [api.openai.com]
//!     api_key_env: OPENAI_API_KEY
//!     timeouts: { connect: 10s, first_byte: 120s, between_bytes: 30s }
//!     circuit: { failures: 5, cool_down: 30s }
//! ```

use std::time::Duration;

use weft_core::HostRule;

use crate::decode::{Ctx, Fields};
use crate::yaml;

/// The keys of a model's `timeouts:`.
const TIMEOUT_KEYS: &[&str] = &["connect", "first_byte", "between_bytes"];
/// The keys of a model's `circuit:`.
const CIRCUIT_KEYS: &[&str] = &["failures", "cool_down"];

/// HTTP timeouts of a model's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelTimeouts {
    /// To open a connection (default 10 s).
    pub connect: Duration,
    /// From the request to the first byte of the answer (default 120 s).
    pub first_byte: Duration,
    /// Between two chunks of the answer (default 30 s).
    pub between_bytes: Duration,
}

impl Default for ModelTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(120),
            between_bytes: Duration::from_secs(30),
        }
    }
}

/// A model's circuit breaker: after `failures` transient failures in a row
/// calls fail at once for `cool_down`, then one trial call decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitConfig {
    /// Consecutive transient failures that open the circuit (default 5).
    pub failures: u32,
    /// How long it stays open before a trial call (default 30 s).
    pub cool_down: Duration,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        Self {
            failures: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// A model's network settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelNet {
    /// `allowed_hosts:`: the hosts the adapter may reach (none by default).
    pub allowed_hosts: Vec<HostRule>,
    /// `api_key_env:`: the environment variable holding the API key, read
    /// when a call is made (unset then: the call fails, naming it).
    pub api_key_env: Option<String>,
    /// `timeouts:`.
    pub timeouts: ModelTimeouts,
    /// `circuit:`.
    pub circuit: CircuitConfig,
}

/// Keys of a model's `config:` that hold a secret, which belongs in
/// `api_key_env` instead.
const SECRET_KEYS: &[&str] = &[
    "api_key",
    "apikey",
    "key",
    "token",
    "authorization",
    "secret",
    "password",
];

/// Reads the network keys of the model mapping `fields`.
pub(crate) fn decode_model_net(ctx: &mut Ctx<'_>, fields: &Fields<'_>) -> ModelNet {
    let mut net = ModelNet::default();
    if let Some(yaml::Node {
        value: yaml::Value::Map(entries),
        ..
    }) = fields.get("config")
    {
        for (key, _) in entries {
            if SECRET_KEYS.contains(&key.name.to_ascii_lowercase().as_str()) {
                let d = ctx
                    .at(
                        key.pos,
                        format!(
                            "a secret in `{}.{}`: an adapter's config is given to the plugin as it is",
                            fields.child("config"),
                            key.name
                        ),
                    )
                    .expected("expected no API key or token in `config:`")
                    .help("put the key in an environment variable and name it: `api_key_env: NAME`");
                ctx.push(d);
            }
        }
    }
    if let Some(n) = fields.get("allowed_hosts") {
        let path = fields.child("allowed_hosts");
        for s in ctx.string_list(n, &path) {
            match s.value.parse::<HostRule>() {
                Ok(rule) => net.allowed_hosts.push(rule),
                Err(e) => {
                    let d = ctx
                        .at(s.pos, format!("invalid entry in `{path}`: {e}"))
                        .expected("expected `host`, `host:port`, `[v6]:port` or `*.domain`")
                        .help("e.g. `api.openai.com`, `localhost:11434`, `*.openai.azure.com`");
                    ctx.push(d);
                }
            }
        }
    }
    if let Some(n) = fields.get("api_key_env")
        && let Some(s) = ctx.string(n, &fields.child("api_key_env"))
    {
        let valid = !s.value.is_empty()
            && !s.value.starts_with(|c: char| c.is_ascii_digit())
            && s.value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            net.api_key_env = Some(s.value);
        } else {
            let d = ctx
                .at(
                    s.pos,
                    format!("invalid environment variable name `{}`", s.value),
                )
                .expected("expected the NAME of the variable holding the key (letters, digits, `_`), not the key itself")
                .help("e.g. `api_key_env: OPENAI_API_KEY`");
            ctx.push(d);
        }
    }
    if let Some((key, n)) = fields.entry("timeouts") {
        let path = fields.child("timeouts");
        if let Some(t) = ctx.map(n, &path, TIMEOUT_KEYS, key.pos) {
            for (name, slot) in [
                ("connect", &mut net.timeouts.connect),
                ("first_byte", &mut net.timeouts.first_byte),
                ("between_bytes", &mut net.timeouts.between_bytes),
            ] {
                if let Some(v) = t.get(name) {
                    positive_duration(ctx, v, &t.child(name), slot);
                }
            }
        }
    }
    if let Some((key, n)) = fields.entry("circuit") {
        let path = fields.child("circuit");
        if let Some(c) = ctx.map(n, &path, CIRCUIT_KEYS, key.pos) {
            if let Some(v) = c.get("failures")
                && let Some(i) = ctx.integer(v, &c.child("failures"), 1, 1_000_000)
            {
                net.circuit.failures = u32::try_from(i).unwrap_or(u32::MAX);
            }
            if let Some(v) = c.get("cool_down") {
                positive_duration(ctx, v, &c.child("cool_down"), &mut net.circuit.cool_down);
            }
        }
    }
    net
}

fn positive_duration(ctx: &mut Ctx<'_>, node: &yaml::Node, path: &str, slot: &mut Duration) {
    if let Some(d) = ctx.duration(node, path) {
        if d.value.is_zero() {
            let diag = ctx
                .at(d.pos, format!("`{path}` must be longer than 0"))
                .expected("expected a duration such as `30s`");
            ctx.push(diag);
        } else {
            *slot = d.value;
        }
    }
}
