//! A tenant's capabilities and budget in `weft.yaml`:
//!
//! ```yaml
//! tenants:
//!   acme:
//!     capabilities:
//!       plugins: [prompt, "json-*"]   # step plugins its flows may use
//!       models: ["gpt-4o*"]           # models its steps may call
//!       hosts: [api.openai.com]       # outbound hosts its model calls may reach
//!     budget_usd_daily: 5.00
//!     on_budget_exceeded: fail        # or `wait` (until 00:00 UTC)
//! ```
//!
//! A list that is absent leaves that kind unrestricted; an empty list allows
//! nothing. Globs: `*` matches any run of characters, `?` one character.
//!
//! Decoded here as written (`AuthoredCapabilities`); a plugin or model named
//! without a wildcard is checked against `weft.yaml`'s by the validation of
//! `weft.yaml` (`project_validate`).

use weft_core::Money;

use crate::decode::{Ctx, Fields, Spanned};
use crate::glob::glob_match;
use crate::yaml;

const CAPABILITY_KEYS: &[&str] = &["plugins", "models", "hosts"];

/// What a tenant's runs may use. `None` in a field: unrestricted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Globs over plugin names (step plugins in `uses:`, and the adapters of
    /// the models it calls are not checked here: see `models`).
    pub plugins: Option<Vec<String>>,
    /// Globs over model names.
    pub models: Option<Vec<String>>,
    /// Outbound host rules its model calls may reach, as written (intersected
    /// with the model adapter's own allow-list).
    pub hosts: Option<Vec<String>>,
}

impl Capabilities {
    /// Whether plugin `name` is allowed.
    pub fn allows_plugin(&self, name: &str) -> bool {
        allows(self.plugins.as_deref(), name)
    }

    /// Whether model `name` is allowed.
    pub fn allows_model(&self, name: &str) -> bool {
        allows(self.models.as_deref(), name)
    }
}

/// What a tenant's step is told to do when a model call would overspend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBudgetExceeded {
    /// The step fails permanently and so does its run (the default).
    #[default]
    Fail,
    /// The task waits until the next UTC day (00:00 UTC) and runs again then.
    Wait,
}

fn allows(globs: Option<&[String]>, name: &str) -> bool {
    globs.is_none_or(|globs| globs.iter().any(|g| glob_match(g, name)))
}

/// `tenants.<t>.capabilities` as written: the plugin and model globs not yet
/// checked against what `weft.yaml` declares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuthoredCapabilities {
    /// The dotted path of the mapping, e.g. `tenants.acme.capabilities`.
    pub path: String,
    /// `plugins:`.
    pub plugins: Option<Vec<Spanned<String>>>,
    /// `models:`.
    pub models: Option<Vec<Spanned<String>>>,
    /// `hosts:`, each a valid host rule.
    pub hosts: Option<Vec<String>>,
}

/// Decodes `tenants.<t>.capabilities`.
pub(crate) fn decode_capabilities(
    ctx: &mut Ctx<'_>,
    node: &yaml::Node,
    path: &str,
    key_pos: yaml::Pos,
) -> Option<AuthoredCapabilities> {
    let fields = ctx.map(node, path, CAPABILITY_KEYS, key_pos)?;
    let plugins = glob_list(ctx, &fields, "plugins");
    let models = glob_list(ctx, &fields, "models");
    let hosts = fields
        .get("hosts")
        .map(|n| host_list(ctx, n, &fields.child("hosts")));
    Some(AuthoredCapabilities {
        path: path.to_owned(),
        plugins,
        models,
        hosts,
    })
}

fn glob_list(ctx: &mut Ctx<'_>, fields: &Fields<'_>, key: &str) -> Option<Vec<Spanned<String>>> {
    let node = fields.get(key)?;
    Some(ctx.string_list(node, &fields.child(key)))
}

/// Host rules: host names, optionally with a leading `*.` for subdomains.
fn host_list(ctx: &mut Ctx<'_>, node: &yaml::Node, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for item in ctx.string_list(node, path) {
        // The same rules as a model's `allowed_hosts`: the host intersects the
        // two at each call, so both must mean the same thing.
        if let Err(e) = item.value.parse::<weft_core::HostRule>() {
            let d = ctx
                .at(item.pos, format!("invalid host rule in `{path}`: {e}"))
                .expected("expected `host`, `host:port`, `[v6]:port` or `*.domain`")
                .help("e.g. `api.openai.com`, `localhost:11434`, `*.openai.azure.com`");
            ctx.push(d);
            continue;
        }
        out.push(item.value);
    }
    out
}

/// Decodes `tenants.<t>.budget_usd_daily`.
pub(crate) fn decode_budget(ctx: &mut Ctx<'_>, node: &yaml::Node, path: &str) -> Option<Money> {
    let usd = match node.value {
        yaml::Value::Int(i) => i as f64,
        yaml::Value::Float(f) => f,
        _ => {
            ctx.wrong_type(node, path, "a number of US dollars, e.g. `5.00`");
            return None;
        }
    };
    if !(0.0..=1e9).contains(&usd) {
        let d = ctx
            .at(node.pos, format!("`{path}` is {usd}, out of range"))
            .expected("expected US dollars from 0 to 1000000000");
        ctx.push(d);
        return None;
    }
    // In range, so this cannot fail; an error would still be reported.
    match Money::from_usd(usd) {
        Ok(m) => Some(m),
        Err(e) => {
            let d = ctx
                .at(node.pos, format!("`{path}`: {e}"))
                .expected("expected US dollars from 0 to 1000000000");
            ctx.push(d);
            None
        }
    }
}

/// Decodes `tenants.<t>.on_budget_exceeded`.
pub(crate) fn decode_on_exceeded(
    ctx: &mut Ctx<'_>,
    node: &yaml::Node,
    path: &str,
) -> Option<OnBudgetExceeded> {
    let s = ctx.choice(node, path, &["fail", "wait"])?;
    Some(if s.value == "wait" {
        OnBudgetExceeded::Wait
    } else {
        OnBudgetExceeded::Fail
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_lists_allow_everything_and_empty_ones_nothing() {
        let open = Capabilities::default();
        assert!(open.allows_plugin("x") && open.allows_model("y"));
        let closed = Capabilities {
            plugins: Some(vec![]),
            models: Some(vec!["m*".into()]),
            hosts: None,
        };
        assert!(!closed.allows_plugin("x"));
        assert!(closed.allows_model("mock") && !closed.allows_model("gpt"));
    }
}
