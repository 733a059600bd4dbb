//! Stage 1 of `weft.yaml`: the node tree → each section as written
//! ([`AuthoredProject`]), every bad key and type recorded and decoding going
//! on. A section is decoded on its own: no name in it is looked up in another
//! section here (that is `project_validate`'s job).

use std::path::Path;
use std::time::Duration;

use crate::common::{AuthoredDefaults, decode_defaults};
use crate::decode::{Ctx, Spanned};
use crate::id_prefix::{IdPrefixDecl, decode_id_prefix};
use crate::ledger_decl::{LedgerDecl, decode_ledger};
use crate::limits::{Limits, decode_limits};
use crate::model_decl::{AuthoredModel, decode_models};
use crate::plugin_decl::{Plugins, decode_plugins};
use crate::pools::{AuthoredPool, decode_auto_assign, decode_pools};
use crate::search_decl::{SearchDecl, decode_search};
use crate::store_decl::{StoreDecl, decode_store};
use crate::tenants::{AuthoredAuth, AuthoredTenant, decode_auth, decode_tenants};
use crate::yaml;

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

/// `weft.yaml` as written, section by section; `None` or empty where a section
/// is absent or was wrong (already reported).
#[derive(Debug, Default)]
pub(crate) struct AuthoredProject {
    /// `id_prefix:`.
    pub id_prefix: Option<IdPrefixDecl>,
    /// `idempotency.ttl`.
    pub idempotency_ttl: Option<Duration>,
    /// `limits:`.
    pub limits: Limits,
    /// `plugins:`: final as decoded, since a plugin names nothing else.
    pub plugins: Plugins,
    /// `pools:`, in file order.
    pub pools: Vec<AuthoredPool>,
    /// `auto_assign.by_model`: (model name glob, pool), in file order.
    pub auto_assign: Vec<(String, Spanned<String>)>,
    /// `defaults:`.
    pub defaults: AuthoredDefaults,
    /// `models:`, in file order.
    pub models: Vec<AuthoredModel>,
    /// `state:`, as written.
    pub state: Option<String>,
    /// `tenants:`, in file order.
    pub tenants: Vec<AuthoredTenant>,
    /// `auth:`.
    pub auth: AuthoredAuth,
    /// `search:`.
    pub search: SearchDecl,
    /// `store:`.
    pub store: StoreDecl,
    /// `ledger:`.
    pub ledger: LedgerDecl,
}

/// Decodes every section of `weft.yaml`'s root node; `base` is the folder of
/// `weft.yaml`, against which written paths are resolved. `None` only when
/// the root is not a mapping.
pub(crate) fn decode(ctx: &mut Ctx<'_>, root: &yaml::Node, base: &Path) -> Option<AuthoredProject> {
    let fields = ctx.map(root, "", TOP_KEYS, root.pos)?;
    let mut out = AuthoredProject::default();
    if let Some(n) = ctx.required(&fields, "id_prefix", "the prefix of run ids, e.g. `acme`") {
        out.id_prefix = decode_id_prefix(ctx, n, "id_prefix");
    }
    if let Some((key, n)) = fields.entry("idempotency")
        && let Some(f) = ctx.map(n, "idempotency", IDEMPOTENCY_KEYS, key.pos)
        && let Some(ttl) = f.get("ttl")
    {
        out.idempotency_ttl = ctx.duration(ttl, "idempotency.ttl").map(|t| t.value);
    }
    if let Some((key, n)) = fields.entry("limits") {
        out.limits = decode_limits(ctx, n, key.pos);
    }
    if let Some(n) = fields.get("plugins") {
        out.plugins = decode_plugins(ctx, n, base);
    }
    if let Some(n) = fields.get("pools") {
        out.pools = decode_pools(ctx, n);
    }
    if let Some((key, n)) = fields.entry("auto_assign") {
        out.auto_assign = decode_auto_assign(ctx, n, key.pos);
    }
    if let Some((key, n)) = fields.entry("defaults") {
        out.defaults = decode_defaults(ctx, n, key.pos, false);
    }
    if let Some(n) = fields.get("models") {
        out.models = decode_models(ctx, n);
    }
    if let Some(n) = fields.get("state") {
        out.state = ctx.string(n, "state").map(|s| s.value);
    }
    if let Some(n) = fields.get("tenants") {
        out.tenants = decode_tenants(ctx, n);
    }
    if let Some((key, n)) = fields.entry("auth") {
        out.auth = decode_auth(ctx, key.pos, n);
    }
    if let Some(n) = fields.get("search") {
        out.search = decode_search(ctx, n, base);
    }
    if let Some(n) = fields.get("store") {
        out.store = decode_store(ctx, n);
    }
    if let Some((key, n)) = fields.entry("ledger") {
        out.ledger = decode_ledger(ctx, n, key.pos, base);
    }
    Some(out)
}
