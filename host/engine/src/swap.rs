//! Hot swap: replacing a pool's policy or a flow's retry strategy component
//! while the engine runs.
//!
//! A new component is loaded and checked against its world first; a wrong one
//! is refused and the old one stays. An accepted one is written to
//! `<state>/components/<sha256>.wasm`, stored as an override (so it comes back
//! after a restart) and recorded in the ledger stream `@pool:<name>` or
//! `@retry:<flow>` with the old and new sha256, then serves the next decision.
//! The swap of a policy takes the admission lock, so no admission straddles it.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use weft_core::{PluginKind, SwapTarget};
use weft_runtime::Plugin;
use weft_store_api::{Override, Swap};

use crate::admission::pool_decl;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::shared::Inner;
use crate::swaps::Active;

/// What a swap did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwapReport {
    /// What was swapped: `pool:<name>` or `retry:<flow>`.
    pub key: String,
    /// The sha256 of the component that served before (or
    /// `host:priority-order` / `none` when there was none).
    pub old_sha256: String,
    /// The new component's sha256.
    pub new_sha256: String,
    /// What the new component is called, when the swap named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The ledger stream the swap is recorded in.
    pub stream: String,
    /// The swap event's seq in that stream.
    pub seq: u64,
}

impl Engine {
    /// Swaps `wasm` in for what `target` names (a pool's policy, a flow's
    /// retry strategy), calling it `name`: [`Engine::set_pool_policy_named`]
    /// or [`Engine::set_retry_strategy_named`].
    pub async fn swap_component(
        &self,
        target: &SwapTarget,
        name: Option<String>,
        wasm: &[u8],
        config: Option<Value>,
    ) -> Result<SwapReport, EngineError> {
        match target {
            SwapTarget::Pool(pool) => self.set_pool_policy_named(pool, name, wasm, config).await,
            SwapTarget::Retry(flow) => {
                self.set_retry_strategy_named(flow, name, wasm, config)
                    .await
            }
        }
    }

    /// Replaces the policy component of `pool` with `wasm` (called with
    /// `config`, else the pool's configured one). See the module docs.
    pub async fn set_pool_policy(
        &self,
        pool: &str,
        wasm: &[u8],
        config: Option<Value>,
    ) -> Result<SwapReport, EngineError> {
        self.set_pool_policy_named(pool, None, wasm, config).await
    }

    /// [`Engine::set_pool_policy`], calling the component `name` (what `weft
    /// pools` shows; e.g. the stem of the file swapped in). Without a name it
    /// is called as the weft.yaml plugin with the same component, if any.
    pub async fn set_pool_policy_named(
        &self,
        pool: &str,
        name: Option<String>,
        wasm: &[u8],
        config: Option<Value>,
    ) -> Result<SwapReport, EngineError> {
        let inner = &self.inner;
        if inner.project.pool(pool).is_none() {
            return Err(EngineError::UnknownPool(pool.to_owned()));
        }
        let target = SwapTarget::Pool(pool.to_owned());
        check_swap_name(&target, name.as_deref())?;
        let plugin = load(inner, &target, wasm, PluginKind::Pool).await?;
        // No admission between the old policy's last decision and the record.
        let _guard = inner.claims.lock().await;
        let old = inner
            .swaps
            .policy_sha(&inner.project, &inner.catalog(), &pool_decl(inner, pool));
        let recorded = Recorded {
            target,
            old_sha256: old,
            name,
        };
        record(inner, recorded, plugin, wasm, config).await
    }

    /// Replaces the retry strategy of every step of `flow` with `wasm` (called
    /// with `config`, else the step's `retry:` keys). See the module docs.
    pub async fn set_retry_strategy(
        &self,
        flow: &str,
        wasm: &[u8],
        config: Option<Value>,
    ) -> Result<SwapReport, EngineError> {
        self.set_retry_strategy_named(flow, None, wasm, config)
            .await
    }

    /// [`Engine::set_retry_strategy`], calling the component `name` in the
    /// swap's record.
    pub async fn set_retry_strategy_named(
        &self,
        flow: &str,
        name: Option<String>,
        wasm: &[u8],
        config: Option<Value>,
    ) -> Result<SwapReport, EngineError> {
        let inner = &self.inner;
        let Some(compiled) = inner.catalog().flow(flow).cloned() else {
            return Err(EngineError::UnknownFlow(flow.to_owned()));
        };
        let target = SwapTarget::Retry(flow.to_owned());
        check_swap_name(&target, name.as_deref())?;
        let plugin = load(inner, &target, wasm, PluginKind::Retry).await?;
        let old = match inner.swaps.retry_for(flow) {
            Some((p, _)) => p.sha256().to_owned(),
            None => compiled
                .steps
                .iter()
                .find_map(|s| s.retry.as_ref())
                .and_then(|r| {
                    inner
                        .catalog()
                        .plugin(&r.strategy)
                        .map(|p| p.sha256().to_owned())
                })
                .unwrap_or_else(|| "none".to_owned()),
        };
        let recorded = Recorded {
            target,
            old_sha256: old,
            name,
        };
        record(inner, recorded, plugin, wasm, config).await
    }

    /// Loads the overrides stored by earlier swaps (at open). One whose file is
    /// gone or no longer loads is logged and skipped: weft.yaml's serves.
    pub(crate) async fn restore_swaps(&self) -> Result<(), EngineError> {
        let inner = &self.inner;
        for (key, o) in inner.store.overrides().await? {
            let (target, kind) = match SwapTarget::from_key(&key) {
                Some(t @ SwapTarget::Pool(_)) => (t, PluginKind::Pool),
                Some(t @ SwapTarget::Retry(_)) => (t, PluginKind::Retry),
                None => continue,
            };
            let path = inner.swaps.dir().join(format!("{}.wasm", o.sha256));
            let loaded = match std::fs::read(&path) {
                Ok(bytes) => inner
                    .runtime
                    .load(&key, &bytes, kind)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot read {}: {e}", path.display())),
            };
            match loaded {
                Ok(plugin) => {
                    inner.swaps.put(
                        &target,
                        Active {
                            plugin,
                            config: o.config,
                            name: o.name,
                        },
                    );
                }
                Err(e) => {
                    tracing::error!("the component swapped in for `{key}` is not restored: {e}")
                }
            }
        }
        Ok(())
    }
}

/// The longest name a swapped-in component may be given.
pub const MAX_SWAP_NAME: usize = 64;

/// Whether `name` may name a swapped-in component: 1 to [`MAX_SWAP_NAME`]
/// letters, digits, `-`, `_` or `.`.
pub fn valid_swap_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_SWAP_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn check_swap_name(target: &SwapTarget, name: Option<&str>) -> Result<(), EngineError> {
    match name {
        Some(n) if !valid_swap_name(n) => Err(EngineError::SwapRefused {
            what: target.key(),
            reason: format!(
                "invalid name `{n}`: expected 1 to {MAX_SWAP_NAME} letters, digits, `-`, `_` or `.`"
            ),
        }),
        _ => Ok(()),
    }
}

/// Loads `wasm` as a `kind` plugin; a component of another world is refused
/// with the runtime's message.
async fn load(
    inner: &Inner,
    target: &SwapTarget,
    wasm: &[u8],
    kind: PluginKind,
) -> Result<Arc<Plugin>, EngineError> {
    inner
        .runtime
        .load(&target.key(), wasm, kind)
        .await
        .map_err(|e| EngineError::SwapRefused {
            what: target.key(),
            reason: e.to_string(),
        })
}

/// What a swap records besides the component: what it serves, the sha256 it
/// replaces and the component's name.
struct Recorded {
    target: SwapTarget,
    old_sha256: String,
    name: Option<String>,
}

/// Keeps the component's bytes, stores the override and records the swap,
/// then serves the component from the next decision on.
async fn record(
    inner: &Inner,
    recorded: Recorded,
    plugin: Arc<Plugin>,
    wasm: &[u8],
    config: Option<Value>,
) -> Result<SwapReport, EngineError> {
    let Recorded {
        target,
        old_sha256,
        name,
    } = recorded;
    let (key, stream) = (target.key(), target.stream());
    let sha = plugin.sha256().to_owned();
    let dir = inner.swaps.dir();
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join(format!("{sha}.wasm")), wasm))
        .map_err(|source| EngineError::StateDir {
            path: dir.to_owned(),
            source,
        })?;
    let swap = Swap {
        key: key.clone(),
        stream: stream.clone(),
        old_sha256: old_sha256.clone(),
        new: Override {
            sha256: sha.clone(),
            config: config.clone(),
            swapped_ms: inner.now(),
            name: name.clone(),
        },
    };
    let seq = inner.store.record_swap(swap, inner.now()).await?;
    inner.swaps.put(
        &target,
        Active {
            plugin,
            config,
            name: name.clone(),
        },
    );
    Ok(SwapReport {
        key,
        old_sha256,
        new_sha256: sha,
        name,
        stream,
        seq,
    })
}
