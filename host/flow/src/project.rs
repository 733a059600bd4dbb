//! The project config, `weft.yaml`: plugins, models, defaults, state folder,
//! tenants and API tokens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;
use weft_core::{Money, MoneyError, PluginKind};

use crate::common::{AuthoredDefaults, RetryPolicy, decode_defaults};
use crate::decode::{Ctx, check_name};
use crate::diagnostic::{Diagnostics, Location, did_you_mean};
use crate::error::LoadError;
use crate::id_prefix::{IdPrefixDecl, PrefixFromPath, decode_id_prefix};
use crate::model_net::{ModelNet, decode_model_net};
use crate::plugin_use::{PluginRole, PluginUse, check_plugin};
use crate::pools::{DEFAULT_POOL, PoolDecl, Pools, check_pool, decode_auto_assign, decode_pools};
use crate::tenants::{AuthDecl, SeenHashes, TenantDecl, decode_auth, decode_tenants};
use crate::yaml::{self, location};

const TOP_KEYS: &[&str] = &[
    "id_prefix",
    "plugins",
    "models",
    "defaults",
    "state",
    "tenants",
    "auth",
    "search",
    "pools",
    "auto_assign",
    "idempotency",
    "limits",
    "store",
    "ledger",
];
const IDEMPOTENCY_KEYS: &[&str] = &["ttl"];

/// How long an idempotency key names its run when weft.yaml does not say
/// (`idempotency: { ttl: 24h }`).
pub const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
const PLUGIN_KEYS: &[&str] = &["path", "kind", "config"];
const MODEL_KEYS: &[&str] = &[
    "adapter",
    "config",
    "price",
    "pool",
    "allowed_hosts",
    "api_key_env",
    "timeouts",
    "circuit",
];
const PRICE_KEYS: &[&str] = &["input_per_million_usd", "output_per_million_usd"];

/// A plugin declared in `weft.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginDecl {
    /// Its name, used by `uses:`, `strategy:`, `pool:` and model `adapter:`.
    pub name: String,
    /// The `.wasm` file, resolved against the folder of `weft.yaml`.
    pub path: PathBuf,
    /// The kind `weft.yaml` says it is.
    pub kind: PluginKind,
    /// `config:` as JSON (`{}` when absent).
    pub config: Json,
    /// Where the plugin is declared (its name in `weft.yaml`).
    pub location: Location,
    /// Where its `kind:` is written.
    pub kind_location: Location,
}

/// The price of a model per million tokens (`input_per_million_usd`,
/// `output_per_million_usd` in `weft.yaml`), to the micro-dollar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Price {
    /// Per million input tokens.
    pub input_per_million: Money,
    /// Per million output tokens.
    pub output_per_million: Money,
}

/// A model declared in `weft.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDecl {
    /// Its name, used by a step's `model:`.
    pub name: String,
    /// The model plugin that talks to the provider.
    pub adapter: String,
    /// `config:` as JSON, passed to the adapter (`{}` when absent).
    pub config: Json,
    /// The price, if given.
    pub price: Option<Price>,
    /// Hosts its adapter may reach, its API key variable, timeouts, circuit.
    pub net: ModelNet,
    /// The pool its steps run in (unless a step names one).
    pub pool: Option<String>,
    /// Where the model is declared.
    pub location: Location,
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
    pub fn parse(file: &str, source: &str, base_dir: &Path) -> Result<Self, Diagnostics> {
        let mut ctx = Ctx::new(file);
        let config = match yaml::parse(file, source) {
            Ok(root) => decode(&mut ctx, &root, base_dir),
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
            id_prefix: "weft".to_owned(),
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
            pools: Pools::new(),
            auto_assign: Vec::new(),
            limits: crate::limits::Limits::default(),
        }
        .with_default_pool()
    }

    fn with_default_pool(mut self) -> Self {
        let default = PoolDecl::implied_default(&self);
        self.pools.entry(DEFAULT_POOL.into()).or_insert(default);
        self
    }

    /// The pool named `name` (`default` always exists).
    pub fn pool(&self, name: &str) -> Option<&PoolDecl> {
        self.pools.get(name)
    }

    /// The pool the steps of `model` run in, if it has one (its `pool:`, else
    /// the first `auto_assign.by_model` glob matching its name).
    pub fn model_pool(&self, model: &str) -> Option<String> {
        crate::pools::model_pool(self, model)
    }

    /// Whether any API token is declared (tenant, admin or worker): the daemon
    /// then requires one on every request.
    pub fn declares_tokens(&self) -> bool {
        !self.auth.admin_tokens.is_empty()
            || !self.auth.worker_tokens.is_empty()
            || self.tenants.values().any(|t| !t.tokens.is_empty())
    }
}

fn decode(ctx: &mut Ctx<'_>, root: &yaml::Node, base: &Path) -> Option<ProjectConfig> {
    let fields = ctx.map(root, "", TOP_KEYS, root.pos)?;
    let mut project = ProjectConfig::empty(ctx.file);
    project.base_dir = base.to_owned();
    project.state_dir = base.join(".weft");
    if let Some(n) = ctx.required(&fields, "id_prefix", "the prefix of run ids, e.g. `acme`") {
        match decode_id_prefix(ctx, n, "id_prefix") {
            Some(IdPrefixDecl::Fixed(prefix)) => project.id_prefix = prefix,
            Some(IdPrefixDecl::FromPath(rule)) => {
                if let Some(default) = &rule.default {
                    project.id_prefix.clone_from(default);
                }
                project.id_prefix_from_path = Some(rule);
            }
            None => {}
        }
    }
    if let Some((key, n)) = fields.entry("idempotency")
        && let Some(f) = ctx.map(n, "idempotency", IDEMPOTENCY_KEYS, key.pos)
        && let Some(ttl) = f.get("ttl")
        && let Some(ttl) = ctx.duration(ttl, "idempotency.ttl")
    {
        project.idempotency_ttl = ttl.value;
    }
    if let Some((key, n)) = fields.entry("limits") {
        project.limits = crate::limits::decode_limits(ctx, n, key.pos);
    }
    if let Some(n) = fields.get("plugins") {
        for (key, value) in ctx.entries(n, "plugins").unwrap_or_default() {
            if let Some(p) = decode_plugin(ctx, key, value, base) {
                project.plugins.insert(p.name.clone(), p);
            }
        }
    }
    project.pools.clear();
    decode_pools(ctx, &mut project, fields.get("pools"));
    if let Some((key, n)) = fields.entry("auto_assign") {
        project.auto_assign = decode_auto_assign(ctx, &project, n, key.pos);
    }
    let mut authored = AuthoredDefaults::default();
    if let Some((key, n)) = fields.entry("defaults") {
        authored = decode_defaults(ctx, n, key.pos, false);
    }
    if let Some(n) = fields.get("models") {
        for (key, value) in ctx.entries(n, "models").unwrap_or_default() {
            if let Some(m) = decode_model(ctx, &mut project, key, value) {
                project.models.insert(m.name.clone(), m);
            }
        }
    }
    if let Some(n) = fields.get("state")
        && let Some(s) = ctx.string(n, "state")
    {
        project.state_dir = base.join(s.value);
    }
    let mut seen = SeenHashes::default();
    if let Some(n) = fields.get("tenants") {
        project.tenants = decode_tenants(ctx, &project, n, &mut seen);
    }
    if let Some((key, n)) = fields.entry("auth") {
        project.auth = decode_auth(ctx, key.pos, n, &mut seen);
    }
    if let Some(n) = fields.get("search") {
        project.search = crate::search_decl::decode_search(ctx, n, base);
    }
    if let Some(n) = fields.get("store") {
        project.store = crate::store_decl::decode_store(ctx, n);
    }
    if let Some((key, n)) = fields.entry("ledger") {
        project.ledger = crate::ledger_decl::decode_ledger(ctx, n, key.pos, base);
    }
    project.defaults.timeout = authored.timeout.map(|t| t.value);
    if let Some(retry) = authored.retry {
        let role = PluginRole::RetryStrategy {
            defaulted: !retry.explicit,
        };
        if let Some(u) = check_plugin(ctx, &project, &retry.policy.strategy, retry.pos, role) {
            project.plugin_uses.push(u);
        }
        project.defaults.retry = Some(retry.policy);
    }
    if let Some(pool) = authored.pool {
        check_pool(ctx, &project, &pool);
        project.defaults.pool = Some(pool.value);
    }
    Some(project)
}

fn decode_plugin(
    ctx: &mut Ctx<'_>,
    key: &yaml::Key,
    node: &yaml::Node,
    base: &Path,
) -> Option<PluginDecl> {
    let path = format!("plugins.{}", key.name);
    if let Err(why) = check_name(&key.name, 64) {
        let d = ctx
            .at(
                key.pos,
                format!("invalid plugin name `{}`: {why}", key.name),
            )
            .expected("expected lowercase letters, digits, `-` or `_`");
        ctx.push(d);
    }
    let fields = ctx.map(node, &path, PLUGIN_KEYS, key.pos)?;
    let file = ctx.required(&fields, "path", "the `.wasm` file, relative to weft.yaml");
    let file = file.and_then(|n| ctx.string(n, &fields.child("path")));
    if let Some(f) = &file
        && Path::new(&f.value).is_absolute()
    {
        let d = ctx
            .at(f.pos, format!("absolute plugin path `{}`", f.value))
            .expected("expected a path relative to the folder of weft.yaml")
            .help("relative paths keep a project movable, e.g. `plugins/dist/echo.wasm`");
        ctx.push(d);
    }
    let kind_node = ctx.required(&fields, "kind", "step, model, retry or pool");
    let kind = kind_node.and_then(|n| {
        ctx.choice(
            n,
            &fields.child("kind"),
            &["step", "model", "retry", "pool"],
        )
    });
    let kind_pos = kind.as_ref().map(|k| k.pos);
    let kind = kind.and_then(|k| k.value.parse::<PluginKind>().ok());
    let config = match fields.get("config") {
        Some(n) => ctx.object(n, &fields.child("config"))?,
        None => Json::Object(serde_json::Map::new()),
    };
    let (file, kind, kind_pos) = (file?, kind?, kind_pos?);
    Some(PluginDecl {
        name: key.name.clone(),
        path: base.join(&file.value),
        kind,
        config,
        location: location(ctx.file, key.pos),
        kind_location: location(ctx.file, kind_pos),
    })
}

fn decode_model(
    ctx: &mut Ctx<'_>,
    project: &mut ProjectConfig,
    key: &yaml::Key,
    node: &yaml::Node,
) -> Option<ModelDecl> {
    let path = format!("models.{}", key.name);
    let fields = ctx.map(node, &path, MODEL_KEYS, key.pos)?;
    let adapter = ctx.required(&fields, "adapter", "the name of a model plugin");
    let adapter = adapter.and_then(|n| ctx.name(n, &fields.child("adapter"), 64));
    if let Some(a) = &adapter
        && let Some(u) = check_plugin(ctx, project, &a.value, a.pos, PluginRole::ModelAdapter)
    {
        project.plugin_uses.push(u);
    }
    let config = match fields.get("config") {
        Some(n) => ctx.object(n, &fields.child("config")),
        None => Some(Json::Object(serde_json::Map::new())),
    };
    let mut pool = None;
    if let Some(n) = fields.get("pool")
        && let Some(p) = ctx.name(n, &fields.child("pool"), 64)
    {
        check_pool(ctx, project, &p);
        pool = Some(p.value);
    }
    let mut price = None;
    if let Some((pkey, n)) = fields.entry("price") {
        let ppath = fields.child("price");
        if let Some(pf) = ctx.map(n, &ppath, PRICE_KEYS, pkey.pos) {
            let mut p = Price::default();
            for (name, slot) in [
                (PRICE_KEYS[0], &mut p.input_per_million),
                (PRICE_KEYS[1], &mut p.output_per_million),
            ] {
                let Some(v) = ctx.required(&pf, name, "US dollars per million tokens") else {
                    continue;
                };
                let amount = match v.value {
                    yaml::Value::Int(i) => i as f64,
                    yaml::Value::Float(f) => f,
                    _ => {
                        ctx.wrong_type(v, &pf.child(name), "a number of dollars, 0 or more");
                        continue;
                    }
                };
                match Money::from_usd(amount) {
                    Ok(m) => *slot = m,
                    Err(e) => {
                        let why = match e {
                            MoneyError::Negative(_) => "negative price".to_owned(),
                            e => format!("invalid price ({e})"),
                        };
                        let d = ctx
                            .at(v.pos, format!("{why} for `{}`", pf.child(name)))
                            .expected("expected a number of dollars, 0 or more");
                        ctx.push(d);
                    }
                }
            }
            price = Some(p);
        }
    }
    let net = decode_model_net(ctx, &fields);
    Some(ModelDecl {
        name: key.name.clone(),
        adapter: adapter?.value,
        config: config?,
        price,
        net,
        pool,
        location: location(ctx.file, key.pos),
    })
}

/// "did you mean" among the models of `project`.
pub(crate) fn suggest_model(project: &ProjectConfig, name: &str) -> Option<String> {
    did_you_mean(name, project.models.keys().map(String::as_str))
}
