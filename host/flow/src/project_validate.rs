//! Stage 2 of `weft.yaml`: the sections as written → checked against each
//! other, in one place that sees them all ([`validate`]). Every name that
//! points into another section (a pool's policy plugin, a model's adapter and
//! pool, `auto_assign`'s pools, `defaults`, tenants' capabilities) is looked up
//! here, and every token hash is checked once across the file.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::capabilities::{AuthoredCapabilities, Capabilities};
use crate::common::{AuthoredDefaults, ProjectDefaults};
use crate::decode::{Ctx, Spanned, child_path};
use crate::diagnostic::did_you_mean;
use crate::id_prefix::IdPrefixDecl;
use crate::ledger_decl::LedgerDecl;
use crate::limits::Limits;
use crate::model_decl::{AuthoredModel, ModelDecl};
use crate::plugin_decl::Plugins;
use crate::plugin_use::{PluginRole, PluginUse};
use crate::pools::{AuthoredPolicy, AuthoredPool, DEFAULT_POOL, PoolDecl, Pools, default_policy};
use crate::project_authored::AuthoredProject;
use crate::refs::{Declared, check_plugin, check_pool};
use crate::search_decl::SearchDecl;
use crate::store_decl::StoreDecl;
use crate::tenants::{AuthDecl, AuthoredAuth, AuthoredTenant, TenantDecl};
use crate::tokens::SeenTokens;
use crate::yaml::location;

/// `weft.yaml` with every reference checked: what [`crate::ProjectConfig`] is
/// built from (defaults not yet applied to the sections that name nothing).
#[derive(Debug)]
pub(crate) struct ValidatedProject {
    /// `id_prefix:`.
    pub id_prefix: Option<IdPrefixDecl>,
    /// `idempotency.ttl`.
    pub idempotency_ttl: Option<Duration>,
    /// `limits:`.
    pub limits: Limits,
    /// Plugins by name.
    pub plugins: Plugins,
    /// Pools by name, with `default` and each pool's policy decided.
    pub pools: Pools,
    /// `auto_assign.by_model`: (model name glob, pool), in file order.
    pub auto_assign: Vec<(String, String)>,
    /// Models by name (those whose adapter and config were written right).
    pub models: BTreeMap<String, ModelDecl>,
    /// Step defaults.
    pub defaults: ProjectDefaults,
    /// `state:`, as written.
    pub state: Option<String>,
    /// Tenants by name, with their admitted tokens.
    pub tenants: BTreeMap<String, TenantDecl>,
    /// Admin and worker tokens.
    pub auth: AuthDecl,
    /// `search:`.
    pub search: SearchDecl,
    /// `store:`.
    pub store: StoreDecl,
    /// `ledger:`.
    pub ledger: LedgerDecl,
    /// Every plugin `weft.yaml` names: pool policies, then model adapters, then
    /// the default retry strategy.
    pub plugin_uses: Vec<PluginUse>,
}

/// Checks the sections of `authored` against each other, recording problems in
/// `ctx`. The order is the order of what refers to what: plugins name nothing;
/// pools name plugins; `auto_assign`, models and `defaults` name plugins and
/// pools; tenants name plugins and models, and their tokens come before
/// `auth:`'s in the check that each hash is used once.
pub(crate) fn validate(ctx: &mut Ctx<'_>, authored: AuthoredProject) -> ValidatedProject {
    let file = ctx.file;
    let mut uses = Vec::new();
    let plugins = authored.plugins;
    let pools = check_pools(
        ctx,
        &Declared::new(file, &plugins),
        authored.pools,
        &mut uses,
    );
    let declared = Declared::new(file, &plugins).with_pools(pools.keys());
    let auto_assign = check_auto_assign(ctx, &declared, authored.auto_assign);
    let models = check_models(ctx, &declared, authored.models, &mut uses);
    let defaults = check_defaults(ctx, &declared, authored.defaults, &mut uses);
    let declared = declared.with_models(models.keys());
    let mut tokens = SeenTokens::default();
    let tenants = check_tenants(ctx, &declared, authored.tenants, &mut tokens);
    let auth = check_auth(ctx, authored.auth, &mut tokens);
    ValidatedProject {
        id_prefix: authored.id_prefix,
        idempotency_ttl: authored.idempotency_ttl,
        limits: authored.limits,
        plugins,
        pools,
        auto_assign,
        models,
        defaults,
        state: authored.state,
        tenants,
        auth,
        search: authored.search,
        store: authored.store,
        ledger: authored.ledger,
        plugin_uses: uses,
    }
}

/// Each pool's policy plugin (its own, else [`default_policy`]), and the
/// implied `default` pool when `pools:` has none.
fn check_pools(
    ctx: &mut Ctx<'_>,
    declared: &Declared<'_>,
    authored: Vec<AuthoredPool>,
    uses: &mut Vec<PluginUse>,
) -> Pools {
    let mut pools = Pools::new();
    for AuthoredPool {
        mut decl,
        pos,
        policy,
    } in authored
    {
        decl.policy = match policy {
            AuthoredPolicy::Named(name) => {
                uses.extend(check_plugin(
                    ctx,
                    declared,
                    &name.value,
                    name.pos,
                    PluginRole::Pool,
                ));
                Some(name.value)
            }
            AuthoredPolicy::Unwritten => {
                let p = default_policy(declared.plugins);
                if let Some(name) = &p {
                    uses.extend(check_plugin(ctx, declared, name, pos, PluginRole::Pool));
                }
                p
            }
            AuthoredPolicy::Invalid => None,
        };
        pools.insert(decl.name.clone(), decl);
    }
    pools
        .entry(DEFAULT_POOL.into())
        .or_insert_with(|| PoolDecl::implied(default_policy(declared.plugins)));
    pools
}

/// `auto_assign.by_model`'s pools.
fn check_auto_assign(
    ctx: &mut Ctx<'_>,
    declared: &Declared<'_>,
    authored: Vec<(String, Spanned<String>)>,
) -> Vec<(String, String)> {
    authored
        .into_iter()
        .map(|(glob, pool)| {
            check_pool(ctx, declared, &pool);
            (glob, pool.value)
        })
        .collect()
}

/// Each model's adapter plugin and pool; a model whose adapter or config is
/// missing or wrong is left out.
fn check_models(
    ctx: &mut Ctx<'_>,
    declared: &Declared<'_>,
    authored: Vec<AuthoredModel>,
    uses: &mut Vec<PluginUse>,
) -> BTreeMap<String, ModelDecl> {
    let mut models = BTreeMap::new();
    for m in authored {
        if let Some(a) = &m.adapter {
            let role = PluginRole::ModelAdapter;
            uses.extend(check_plugin(ctx, declared, &a.value, a.pos, role));
        }
        if let Some(p) = &m.pool {
            check_pool(ctx, declared, p);
        }
        if let Some(decl) = m.into_decl(declared.file) {
            models.insert(decl.name.clone(), decl);
        }
    }
    models
}

/// `defaults:`: its retry strategy and its pool.
fn check_defaults(
    ctx: &mut Ctx<'_>,
    declared: &Declared<'_>,
    authored: AuthoredDefaults,
    uses: &mut Vec<PluginUse>,
) -> ProjectDefaults {
    let mut defaults = ProjectDefaults {
        timeout: authored.timeout.map(|t| t.value),
        ..ProjectDefaults::default()
    };
    if let Some(retry) = authored.retry {
        let role = PluginRole::RetryStrategy {
            defaulted: !retry.explicit,
        };
        uses.extend(check_plugin(
            ctx,
            declared,
            &retry.policy.strategy,
            retry.pos,
            role,
        ));
        defaults.retry = Some(retry.policy);
    }
    if let Some(pool) = authored.pool {
        check_pool(ctx, declared, &pool);
        defaults.pool = Some(pool.value);
    }
    defaults
}

/// Each tenant's capabilities and tokens.
fn check_tenants(
    ctx: &mut Ctx<'_>,
    declared: &Declared<'_>,
    authored: Vec<AuthoredTenant>,
    tokens: &mut SeenTokens,
) -> BTreeMap<String, TenantDecl> {
    let mut tenants = BTreeMap::new();
    for t in authored {
        let decl = TenantDecl {
            tokens: tokens.admit(ctx, t.tokens),
            capabilities: t.capabilities.map(|c| check_capabilities(ctx, declared, c)),
            budget_daily: t.budget_daily,
            on_budget_exceeded: t.on_budget_exceeded,
            location: location(declared.file, t.pos),
            name: t.name,
        };
        tenants.insert(decl.name.clone(), decl);
    }
    tenants
}

/// `auth:`'s tokens, after the tenants' (each hash once in the file).
fn check_auth(ctx: &mut Ctx<'_>, authored: AuthoredAuth, tokens: &mut SeenTokens) -> AuthDecl {
    let admin_tokens = authored
        .admin_tokens
        .map(|list| tokens.admit(ctx, list))
        .unwrap_or_default();
    let worker_tokens = authored
        .worker_tokens
        .map(|list| tokens.admit(ctx, list))
        .unwrap_or_default();
    AuthDecl {
        admin_tokens,
        worker_tokens,
    }
}

/// A tenant's plugin and model globs: a name without a wildcard must be
/// declared in `weft.yaml`, and is left out when it is not.
fn check_capabilities(
    ctx: &mut Ctx<'_>,
    declared: &Declared<'_>,
    authored: AuthoredCapabilities,
) -> Capabilities {
    let plugin_names: Vec<&str> = declared.plugins.keys().map(String::as_str).collect();
    let path = authored.path;
    let plugins = authored.plugins.map(|g| {
        check_globs(
            ctx,
            &child_path(&path, "plugins"),
            "plugin",
            g,
            &plugin_names,
        )
    });
    let models = authored.models.map(|g| {
        check_globs(
            ctx,
            &child_path(&path, "models"),
            "model",
            g,
            &declared.models,
        )
    });
    Capabilities {
        plugins,
        models,
        hosts: authored.hosts,
    }
}

fn check_globs(
    ctx: &mut Ctx<'_>,
    path: &str,
    kind: &str,
    globs: Vec<Spanned<String>>,
    names: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    for item in globs {
        let literal = !item.value.contains(['*', '?']);
        if literal && !names.contains(&item.value.as_str()) {
            let d = ctx
                .at(
                    item.pos,
                    format!("`{path}` names unknown {kind} `{}`", item.value),
                )
                .expected(format!(
                    "expected a {kind} declared in weft.yaml, or a glob with `*` or `?`"
                ))
                .maybe_help(did_you_mean(&item.value, names.iter().copied()));
            ctx.push(d);
            continue;
        }
        out.push(item.value);
    }
    out
}
