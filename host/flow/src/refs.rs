//! Names that point at a declaration of `weft.yaml` (a plugin, a pool, a
//! model), checked against [`Declared`]: what `weft.yaml` declares, seen
//! without [`crate::ProjectConfig`], so that `weft.yaml`'s own validation and
//! a flow's use the same checks and the same messages.

use weft_core::PluginKind;

use crate::decode::{Ctx, Spanned};
use crate::diagnostic::{closest, did_you_mean, one_of};
use crate::plugin_decl::{PluginDecl, Plugins};
use crate::plugin_use::{PluginRole, PluginUse};
use crate::yaml::{Pos, location};

/// What `weft.yaml` declares, as far as a reference can see: its plugins, and
/// the names of its pools and models (sorted; empty until they are decided).
pub(crate) struct Declared<'a> {
    /// The `weft.yaml` file, as named in messages.
    pub file: &'a str,
    /// Plugins by name.
    pub plugins: &'a Plugins,
    /// Names of the pools, sorted (with `default`).
    pub pools: Vec<&'a str>,
    /// Names of the models, sorted.
    pub models: Vec<&'a str>,
}

impl<'a> Declared<'a> {
    /// The plugins of `file`, and no pools or models yet.
    pub fn new(file: &'a str, plugins: &'a Plugins) -> Self {
        Self {
            file,
            plugins,
            pools: Vec::new(),
            models: Vec::new(),
        }
    }

    /// These declarations, with the pools `names`.
    pub fn with_pools(self, names: impl Iterator<Item = &'a String>) -> Self {
        let mut pools: Vec<&str> = names.map(String::as_str).collect();
        pools.sort_unstable();
        Self { pools, ..self }
    }

    /// These declarations, with the models `names`.
    pub fn with_models(self, names: impl Iterator<Item = &'a String>) -> Self {
        let mut models: Vec<&str> = names.map(String::as_str).collect();
        models.sort_unstable();
        Self { models, ..self }
    }

    fn plugin(&self, name: &str) -> Option<&'a PluginDecl> {
        self.plugins.get(name)
    }

    fn plugin_names(&self, kind: PluginKind) -> Vec<&'a str> {
        let plugins: &'a Plugins = self.plugins;
        plugins
            .values()
            .filter(|p| p.kind == kind)
            .map(|p| p.name.as_str())
            .collect()
    }
}

/// Check that `name` is a plugin of the kind `role` needs; record an error if not.
/// Returns the use when the plugin exists (even with the wrong kind, so that the
/// caller still sees it).
pub(crate) fn check_plugin(
    ctx: &mut Ctx<'_>,
    declared: &Declared<'_>,
    name: &str,
    pos: Pos,
    role: PluginRole,
) -> Option<PluginUse> {
    let want = role.expected_kind();
    let file = declared.file;
    let Some(decl) = declared.plugin(name) else {
        let same_kind = declared.plugin_names(want);
        let expected = if same_kind.is_empty() {
            format!("expected a {want} plugin, but {file} declares none")
        } else {
            format!("expected a {want} plugin: {}", one_of(&same_kind))
        };
        let any = declared.plugins.keys().map(String::as_str);
        let near = closest(name, same_kind.iter().copied()).or_else(|| closest(name, any));
        let d = if let PluginRole::RetryStrategy { defaulted: true } = role {
            let fix = match same_kind.first() {
                Some(first) => format!("name one: `strategy: {first}`"),
                None => format!("declare `{name}` under `plugins:` in {file}"),
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
                None => format!("declare it under `plugins:` in {file}"),
            };
            ctx.at(pos, format!("unknown plugin `{name}` for {role}"))
                .expected(expected)
                .help(help)
        };
        ctx.push(d);
        return None;
    };
    if decl.kind != want {
        let same_kind = declared.plugin_names(want);
        let declared_at = format!(
            "`{name}` is declared with `kind: {}` at {}",
            decl.kind, decl.kind_location
        );
        let d = ctx
            .at(
                pos,
                format!(
                    "plugin `{name}` is a {} plugin, but {role} needs a {want} plugin",
                    decl.kind
                ),
            )
            .expected(format!("expected a {want} plugin"))
            .help(if same_kind.is_empty() {
                declared_at
            } else {
                format!("{declared_at}; {want} plugins: {}", one_of(&same_kind))
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

/// Records an error unless `name` is a declared pool (or `default`).
pub(crate) fn check_pool(ctx: &mut Ctx<'_>, declared: &Declared<'_>, name: &Spanned<String>) {
    if declared.pools.contains(&name.value.as_str()) {
        return;
    }
    let help = match declared.plugin(&name.value) {
        Some(p) if p.kind == PluginKind::Pool => Some(format!(
            "`pool:` names a pool, and `{0}` is a pool policy plugin: declare a pool that uses it, e.g. `pools: {{ {0}: {{ policy: {0} }} }}` in {1}",
            name.value, declared.file
        )),
        _ => did_you_mean(&name.value, declared.pools.iter().copied()),
    };
    let d = ctx
        .at(name.pos, format!("unknown pool `{}`", name.value))
        .expected(format!(
            "expected a pool declared under `pools:` in {}: {}",
            declared.file,
            one_of(&declared.pools)
        ))
        .maybe_help(help);
    ctx.push(d);
}

/// Records an error unless `m` names a declared model, saying so when it names
/// a plugin instead.
pub(crate) fn check_model(ctx: &mut Ctx<'_>, declared: &Declared<'_>, m: &Spanned<String>) {
    if declared.models.contains(&m.value.as_str()) {
        return;
    }
    let file = declared.file;
    let expected = if declared.models.is_empty() {
        format!("expected a model, but {file} declares none under `models:`")
    } else {
        format!(
            "expected a model declared in {file}: {}",
            one_of(&declared.models)
        )
    };
    let (message, help) = match declared.plugin(&m.value) {
        Some(p) => (
            format!("`{}` is a {} plugin, not a model", m.value, p.kind),
            Some(format!(
                "a step's `model` names an entry of `models:` in {file}, whose `adapter` is a model plugin"
            )),
        ),
        None => (
            format!("unknown model `{}`", m.value),
            did_you_mean(&m.value, declared.models.iter().copied()),
        ),
    };
    let d = ctx.at(m.pos, message).expected(expected).maybe_help(help);
    ctx.push(d);
}
