//! The components swapped in at run time, by what they serve: a pool's
//! policy or a flow's retry strategy (`swap.rs` swaps them; admission and
//! the retry decision ask here which component serves).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value;
use weft_core::SwapTarget;
use weft_flow::{PoolDecl, ProjectConfig};
use weft_runtime::Plugin;

use crate::args::plugin_config;
use crate::catalog::Catalog;

/// What `admitted_by` says when no policy component chose (none configured,
/// or it failed and priority order decided).
pub const PRIORITY_ORDER: &str = "host:priority-order";

/// A component that replaced the configured one, and its config.
#[derive(Clone)]
pub(crate) struct Active {
    pub plugin: Arc<Plugin>,
    pub config: Option<Value>,
    /// What the swap called it, if anything.
    pub name: Option<String>,
}

/// The overrides in force.
pub(crate) struct Swaps {
    dir: PathBuf,
    pools: RwLock<HashMap<String, Active>>,
    retries: RwLock<HashMap<String, Active>>,
}

/// The policy a pool's admission asks, with its config.
pub(crate) struct PolicyChoice {
    pub plugin: Arc<Plugin>,
    pub config: Value,
    /// Its name: the one the swap gave (else the weft.yaml plugin with the
    /// same component), or the `policy:` weft.yaml names.
    pub name: Option<String>,
}

fn read<T: Clone>(map: &RwLock<HashMap<String, T>>, key: &str) -> Option<T> {
    map.read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key)
        .cloned()
}

impl Swaps {
    /// No overrides yet; components are kept in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            pools: RwLock::new(HashMap::new()),
            retries: RwLock::new(HashMap::new()),
        }
    }

    /// The policy of `pool`: its override, else the `policy:` weft.yaml names
    /// (with the plugin's config and the pool's `policy_config` over it).
    pub fn policy_for(
        &self,
        project: &ProjectConfig,
        catalog: &Catalog,
        pool: &PoolDecl,
    ) -> Option<PolicyChoice> {
        let base = || {
            let name = pool.policy.as_deref()?;
            Some(plugin_config(project, name, &pool.policy_config))
        };
        if let Some(a) = read(&self.pools, &pool.name) {
            let config = a
                .config
                .or_else(base)
                .unwrap_or(Value::Object(Default::default()));
            let name = a
                .name
                .or_else(|| catalog.plugin_named_by_hash(a.plugin.sha256()));
            return Some(PolicyChoice {
                plugin: a.plugin,
                config,
                name,
            });
        }
        let name = pool.policy.as_deref()?;
        let plugin = Arc::clone(catalog.plugin(name)?);
        Some(PolicyChoice {
            plugin,
            config: base().unwrap_or(Value::Null),
            name: Some(name.to_owned()),
        })
    }

    /// The sha256 of the policy component that serves `pool` now.
    pub fn policy_sha(
        &self,
        project: &ProjectConfig,
        catalog: &Catalog,
        pool: &PoolDecl,
    ) -> String {
        self.policy_for(project, catalog, pool).map_or_else(
            || PRIORITY_ORDER.to_owned(),
            |c| c.plugin.sha256().to_owned(),
        )
    }

    /// The retry strategy swapped in for `flow`, with its config if one was
    /// given.
    pub fn retry_for(&self, flow: &str) -> Option<(Arc<Plugin>, Option<Value>)> {
        read(&self.retries, flow).map(|a| (a.plugin, a.config))
    }

    /// Where swapped-in components are kept (`<sha256>.wasm`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `active` serves `target` from now on.
    pub fn put(&self, target: &SwapTarget, active: Active) {
        let (map, name) = match target {
            SwapTarget::Pool(name) => (&self.pools, name),
            SwapTarget::Retry(name) => (&self.retries, name),
        };
        map.write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone(), active);
    }
}
