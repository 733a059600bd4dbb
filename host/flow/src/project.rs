//! The project config, `weft.yaml`: plugins, models, defaults, state folder,
//! tenants and API tokens — the type, what it answers, and the three stages
//! that build it ([`ProjectConfig::parse`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use weft_core::PluginKind;

use crate::capabilities::Capabilities;
use crate::decode::Ctx;
use crate::diagnostic::Diagnostics;
use crate::error::LoadError;
use crate::glob::glob_match;
use crate::id_prefix::{IdPrefixDecl, PrefixFromPath};
use crate::plugin_use::PluginUse;
use crate::pools::{DEFAULT_POOL, PoolDecl, Pools, default_policy};
use crate::project_validate::ValidatedProject;
use crate::refs::Declared;
use crate::tenants::{AuthDecl, TenantDecl};
use crate::{project_authored, project_validate, yaml};

pub use crate::common::ProjectDefaults;
pub use crate::model_decl::{ModelDecl, Price};
pub use crate::plugin_decl::PluginDecl;

/// How long an idempotency key names its run when weft.yaml does not say
/// (`idempotency: { ttl: 24h }`).
pub const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The run id prefix when `id_prefix:` gives none that can be used.
const FALLBACK_ID_PREFIX: &str = "weft";

/// A validated `weft.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectConfig {
    /// The file as named by the caller, e.g. `weft.yaml`.
    pub file: String,
    /// The folder `weft.yaml` is in; relative paths are resolved against it.
    pub base_dir: PathBuf,
    /// Prefix of run ids, e.g. `acme` in `acme-2026-11-22-004-x7m`: `id_prefix:`
    /// when it is written out; with `id_prefix: { from: path, ... }`, its
    /// `default:` (`weft` without one, never used: a flow the pattern does not
    /// match does not load then). A flow's own prefix is
    /// [`crate::CompiledFlow::id_prefix`].
    pub id_prefix: String,
    /// `id_prefix: { from: path, pattern, default }`: flows take their prefix
    /// from their file's path.
    pub id_prefix_from_path: Option<PrefixFromPath>,
    /// `idempotency.ttl`: how long a submitted idempotency key names its run
    /// (default [`DEFAULT_IDEMPOTENCY_TTL`]).
    pub idempotency_ttl: Duration,
    /// Plugins by name.
    pub plugins: BTreeMap<String, PluginDecl>,
    /// Models by name.
    pub models: BTreeMap<String, ModelDecl>,
    /// Step defaults.
    pub defaults: ProjectDefaults,
    /// The state folder (default `.weft` beside `weft.yaml`), resolved.
    pub state_dir: PathBuf,
    /// Every plugin reference in `weft.yaml` itself (model adapters, defaults).
    pub plugin_uses: Vec<PluginUse>,
    /// Tenants by name, with their API tokens.
    pub tenants: BTreeMap<String, TenantDecl>,
    /// Admin and worker API tokens.
    pub auth: AuthDecl,
    /// How the search index is kept (`search:`).
    pub search: crate::search_decl::SearchDecl,
    /// Which store backend holds the runs (`store:`; redb by default).
    pub store: crate::store_decl::StoreDecl,
    /// How run ledgers are anchored outside the store (`ledger:`).
    pub ledger: crate::ledger_decl::LedgerDecl,
    /// Pools by name; `default` is always there.
    pub pools: Pools,
    /// `auto_assign.by_model`: (model name glob, pool), in file order.
    pub auto_assign: Vec<(String, String)>,
    /// `limits:`: caps on artifacts, their keys and error messages.
    pub limits: crate::limits::Limits,
}

impl ProjectConfig {
    /// Read and validate `weft.yaml` at `path`.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let source = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        Self::parse(&path.display().to_string(), &source, &base).map_err(LoadError::Invalid)
    }

    /// Validate the text of a `weft.yaml`; `file` names it in errors and `base_dir`
    /// is the folder relative paths are resolved against.
    ///
    /// In stages: the YAML tree; each section as written
    /// (`project_authored`); the sections checked against each other
    /// (`project_validate`); the config built from them (`resolve`).
    /// A stage runs on what the one before could read, so an error in one
    /// section does not hide one in another.
    pub fn parse(file: &str, source: &str, base_dir: &Path) -> Result<Self, Diagnostics> {
        let mut ctx = Ctx::new(file);
        let config = match yaml::parse(file, source) {
            Ok(root) => project_authored::decode(&mut ctx, &root, base_dir)
                .map(|authored| project_validate::validate(&mut ctx, authored))
                .map(|validated| Self::resolve(file, base_dir, validated)),
            Err(errors) => {
                ctx.errors = errors;
                None
            }
        };
        let mut diags = Diagnostics(ctx.errors);
        diags.finish(file, source);
        match config {
            Some(c) if diags.is_empty() => Ok(c),
            _ => Err(diags),
        }
    }

    /// Stage 3: the config of a validated `weft.yaml`, with the defaults of what
    /// it does not say (prefix, idempotency TTL, state folder).
    fn resolve(file: &str, base: &Path, v: ValidatedProject) -> Self {
        let (id_prefix, id_prefix_from_path) = match v.id_prefix {
            Some(IdPrefixDecl::Fixed(prefix)) => (prefix, None),
            Some(IdPrefixDecl::FromPath(rule)) => {
                let prefix = rule.default.clone();
                (
                    prefix.unwrap_or_else(|| FALLBACK_ID_PREFIX.to_owned()),
                    Some(rule),
                )
            }
            None => (FALLBACK_ID_PREFIX.to_owned(), None),
        };
        Self {
            file: file.to_owned(),
            base_dir: base.to_owned(),
            id_prefix,
            id_prefix_from_path,
            idempotency_ttl: v.idempotency_ttl.unwrap_or(DEFAULT_IDEMPOTENCY_TTL),
            plugins: v.plugins,
            models: v.models,
            defaults: v.defaults,
            state_dir: base.join(v.state.as_deref().unwrap_or(".weft")),
            plugin_uses: v.plugin_uses,
            tenants: v.tenants,
            auth: v.auth,
            search: v.search,
            store: v.store,
            ledger: v.ledger,
            pools: v.pools,
            auto_assign: v.auto_assign,
            limits: v.limits,
        }
    }

    /// The plugin named `name`.
    pub fn plugin(&self, name: &str) -> Option<&PluginDecl> {
        self.plugins.get(name)
    }

    /// Names of the plugins of `kind`.
    pub fn plugin_names(&self, kind: PluginKind) -> impl Iterator<Item = &str> {
        self.plugins
            .values()
            .filter(move |p| p.kind == kind)
            .map(|p| p.name.as_str())
    }

    /// A project with no plugins and no models (for tests and tools).
    pub fn empty(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            base_dir: PathBuf::new(),
            id_prefix: FALLBACK_ID_PREFIX.to_owned(),
            id_prefix_from_path: None,
            idempotency_ttl: DEFAULT_IDEMPOTENCY_TTL,
            plugins: BTreeMap::new(),
            models: BTreeMap::new(),
            defaults: ProjectDefaults::default(),
            state_dir: PathBuf::from(".weft"),
            plugin_uses: Vec::new(),
            tenants: BTreeMap::new(),
            auth: AuthDecl::default(),
            search: crate::search_decl::SearchDecl::default(),
            store: crate::store_decl::StoreDecl::default(),
            ledger: crate::ledger_decl::LedgerDecl::default(),
            pools: Pools::from([(DEFAULT_POOL.into(), PoolDecl::implied(None))]),
            auto_assign: Vec::new(),
            limits: crate::limits::Limits::default(),
        }
    }

    /// What the project declares, as the checks of a flow's references see it.
    pub(crate) fn declared(&self) -> Declared<'_> {
        Declared::new(&self.file, &self.plugins)
            .with_pools(self.pools.keys())
            .with_models(self.models.keys())
    }

    /// The pool named `name` (`default` always exists).
    pub fn pool(&self, name: &str) -> Option<&PoolDecl> {
        self.pools.get(name)
    }

    /// The pool the steps of `model` run in, if it has one (its `pool:`, else
    /// the first `auto_assign.by_model` glob matching its name).
    pub fn model_pool(&self, model: &str) -> Option<String> {
        if let Some(p) = self.models.get(model).and_then(|m| m.pool.clone()) {
            return Some(p);
        }
        self.auto_assign
            .iter()
            .find(|(glob, _)| glob_match(glob, model))
            .map(|(_, pool)| pool.clone())
    }

    /// Whether any API token is declared (tenant, admin or worker): the daemon
    /// then requires one on every request.
    pub fn declares_tokens(&self) -> bool {
        !self.auth.admin_tokens.is_empty()
            || !self.auth.worker_tokens.is_empty()
            || self.tenants.values().any(|t| !t.tokens.is_empty())
    }

    /// The outbound host rules tenant `tenant`'s model calls are limited to
    /// (to intersect with the adapter's own allow-list); `None`: the tenant
    /// is undeclared or its `capabilities.hosts` is absent (unrestricted).
    pub fn tenant_hosts(&self, tenant: &str) -> Option<Vec<String>> {
        self.tenants
            .get(tenant)?
            .capabilities
            .as_ref()?
            .hosts
            .clone()
    }

    /// The capabilities of `tenant`; `None` (unrestricted) for a tenant that
    /// is not declared or declares none.
    pub fn tenant_capabilities(&self, tenant: &str) -> Option<&Capabilities> {
        self.tenants.get(tenant)?.capabilities.as_ref()
    }
}

impl PoolDecl {
    /// The `default` pool as it is when `weft.yaml` does not declare it: its
    /// policy is `priority-fifo` when `project` declares it as a pool plugin.
    pub fn implied_default(project: &ProjectConfig) -> Self {
        Self::implied(default_policy(&project.plugins))
    }
}
