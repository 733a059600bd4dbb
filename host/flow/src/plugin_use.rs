//! Places where a flow or `weft.yaml` names a plugin, checked against the kinds
//! `weft.yaml` declares, and handed to the caller so it can load each component and
//! report a component of the wrong kind at the line that named it.

use std::fmt;
use std::path::PathBuf;

use weft_core::PluginKind;

use crate::decode::Ctx;
use crate::diagnostic::{Location, closest, one_of};
use crate::project::ProjectConfig;
use crate::yaml::{Pos, location};

/// Why a plugin was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginRole {
    /// A step's `uses:`.
    Step,
    /// A `retry:` block's `strategy:`; `defaulted` when no strategy was written
    /// (a `retry:` block without `strategy:`, or a step for which nothing names
    /// a retry policy) and `exp-backoff` was assumed.
    RetryStrategy {
        /// The strategy was not written; the default was assumed.
        defaulted: bool,
    },
    /// A `pool:`.
    Pool,
    /// A model's `adapter:` in `weft.yaml`.
    ModelAdapter,
}

impl PluginRole {
    /// The kind of plugin this role needs.
    pub fn expected_kind(self) -> PluginKind {
        match self {
            Self::Step => PluginKind::Step,
            Self::RetryStrategy { .. } => PluginKind::Retry,
            Self::Pool => PluginKind::Pool,
            Self::ModelAdapter => PluginKind::Model,
        }
    }
}

impl fmt::Display for PluginRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Step => "`uses`",
            Self::RetryStrategy { .. } => "a retry strategy",
            Self::Pool => "`pool`",
            Self::ModelAdapter => "a model `adapter`",
        })
    }
}

/// One place a plugin is named, with what `weft.yaml` says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginUse {
    /// The plugin's name.
    pub plugin: String,
    /// Its `.wasm` file, resolved.
    pub path: PathBuf,
    /// The kind `weft.yaml` declares.
    pub declared: PluginKind,
    /// Why it was named here.
    pub role: PluginRole,
    /// Where it was named.
    pub location: Location,
}

impl PluginUse {
    /// The kind the component at `path` must be.
    pub fn expected_kind(&self) -> PluginKind {
        self.role.expected_kind()
    }
}

/// Check that `name` is a plugin of the kind `role` needs; record an error if not.
/// Returns the use when the plugin exists (even with the wrong kind, so that the
/// caller still sees it).
pub(crate) fn check_plugin(
    ctx: &mut Ctx<'_>,
    project: &ProjectConfig,
    name: &str,
    pos: Pos,
    role: PluginRole,
) -> Option<PluginUse> {
    let want = role.expected_kind();
    let Some(decl) = project.plugin(name) else {
        let same_kind: Vec<&str> = project.plugin_names(want).collect();
        let expected = if same_kind.is_empty() {
            format!(
                "expected a {want} plugin, but {} declares none",
                project.file
            )
        } else {
            format!("expected a {want} plugin: {}", one_of(&same_kind))
        };
        let any: Vec<&str> = project.plugins.keys().map(String::as_str).collect();
        let near = closest(name, same_kind.iter().copied()).or_else(|| closest(name, any));
        let d = if let PluginRole::RetryStrategy { defaulted: true } = role {
            let fix = match same_kind.first() {
                Some(first) => format!("name one: `strategy: {first}`"),
                None => format!("declare `{name}` under `plugins:` in {}", project.file),
            };
            ctx.at(
                pos,
                format!("`retry` names no `strategy`, and the default `{name}` is not declared"),
            )
            .expected(expected)
            .help(fix)
        } else {
            let help = match near {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("declare it under `plugins:` in {}", project.file),
            };
            ctx.at(pos, format!("unknown plugin `{name}` for {role}"))
                .expected(expected)
                .help(help)
        };
        ctx.push(d);
        return None;
    };
    if decl.kind != want {
        let mut d = ctx
            .at(
                pos,
                format!(
                    "plugin `{name}` is a {} plugin, but {role} needs a {want} plugin",
                    decl.kind
                ),
            )
            .expected(format!("expected a {want} plugin"));
        let same_kind: Vec<&str> = project.plugin_names(want).collect();
        d = d.help(if same_kind.is_empty() {
            format!(
                "`{name}` is declared with `kind: {}` at {}",
                decl.kind, decl.kind_location
            )
        } else {
            format!(
                "`{name}` is declared with `kind: {}` at {}; {want} plugins: {}",
                decl.kind,
                decl.kind_location,
                one_of(&same_kind)
            )
        });
        ctx.push(d);
    }
    Some(PluginUse {
        plugin: name.to_owned(),
        path: decl.path.clone(),
        declared: decl.kind,
        role,
        location: location(ctx.file, pos),
    })
}
