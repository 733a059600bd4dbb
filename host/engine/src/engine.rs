//! [`Engine`]: opening a project's store, runtime and plugins, and submitting runs.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use weft_store_api::SharedStore;

use serde_json::Value;
use tokio::sync::mpsc;
use weft_flow::{CompiledFlow, Diagnostics, ProjectConfig};
use weft_runtime::{Runtime, RuntimeConfig};
use weft_store_api::{NewRun, NewTask, StoreError, Submitted};

use crate::catalog::Catalog;
use crate::circuit::{CircuitSnapshot, Circuits};
use crate::claims::AdmissionClaims;
use crate::error::EngineError;
use crate::events::Observer;
use crate::lifecycle::RunLifecycle;
use crate::model_policy::{ModelOutcome, ModelRequests};
use crate::options::{EngineOptions, SubmitOptions};
use crate::plugins;
use crate::progress::ProgressEvent;
use crate::retry_hint::RetryHints;
use crate::shared::Inner;
use crate::swaps::Swaps;
use crate::wakeups::Wakeups;

/// The pool a step runs in when neither it nor any default names one.
pub const DEFAULT_POOL: &str = weft_flow::DEFAULT_POOL;

/// The idempotency key stored for `key` sent by `tenant` (the engine's own
/// tenant included): `tenant:<tenant>:<key>`. Tenant names have no `:`, so keys
/// of different tenants never meet, and no key a caller sends can be one of the
/// scheduler's `cron:` fire keys (which are stored as they are).
pub fn tenant_idempotency_key(tenant: &str, key: &str) -> String {
    format!("tenant:{tenant}:{key}")
}

/// The weft engine: a store, a Wasm runtime with every plugin the flows use,
/// and (once started) a pool of workers executing the runs' steps. Cheap to
/// clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("catalog", &self.inner.catalog())
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the engine with the default options; see [`Engine::open_with`].
    pub async fn open(
        project: ProjectConfig,
        flows: Vec<CompiledFlow>,
        state_dir: &Path,
    ) -> Result<Self, EngineError> {
        Self::open_with(project, flows, state_dir, EngineOptions::default()).await
    }

    /// Opens the store `store:` of weft.yaml names (by default the embedded
    /// one at `<state_dir>/weft.redb`; see [`crate::open_store`]), a runtime whose component
    /// cache is `<state_dir>/cache`, and loads every plugin the project and
    /// `flows` reference as the kind it is used as. A plugin that is not of that
    /// kind is an error naming the plugin, its file and the place that uses it.
    pub async fn open_with(
        project: ProjectConfig,
        flows: Vec<CompiledFlow>,
        state_dir: &Path,
        options: EngineOptions,
    ) -> Result<Self, EngineError> {
        std::fs::create_dir_all(state_dir).map_err(|source| EngineError::StateDir {
            path: state_dir.to_owned(),
            source,
        })?;
        let store =
            crate::store_open::open_store(&project.store, state_dir, options.store_wait).await?;
        Self::open_on(project, flows, state_dir, options, store).await
    }

    /// [`Engine::open_with`] on a store the caller opened (the simulator's
    /// store on a simulated disk); `store:` of weft.yaml is not looked at.
    /// `state_dir` still holds the component cache and swapped components.
    pub async fn open_on(
        project: ProjectConfig,
        flows: Vec<CompiledFlow>,
        state_dir: &Path,
        options: EngineOptions,
        store: SharedStore,
    ) -> Result<Self, EngineError> {
        let signer = crate::head_signing::load_signer(&project)?;
        let defaults = RuntimeConfig::default();
        // Each worker may hold a step instance and, while the step waits on a
        // model call or its failure on the retry strategy, one more; an agent
        // step waiting on a tool that waits on a model call holds three.
        let per_workers = u32::try_from(options.workers.max(1).saturating_mul(3))
            .unwrap_or(u32::MAX)
            .saturating_add(16);
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(state_dir.join("cache")),
            max_live_instances: defaults.max_live_instances.max(per_workers),
            ..defaults
        })
        .map_err(EngineError::Runtime)?;
        let plugins = plugins::load_all(&runtime, &project, &flows).await?;
        let catalog = RwLock::new(Arc::new(Catalog::new(flows, plugins)));
        let wakeups = Arc::new(Wakeups::default());
        let lifecycle = RunLifecycle::new(
            Arc::clone(&store),
            Arc::clone(&options.clock),
            Arc::clone(&wakeups),
            signer,
            project.limits,
        );
        let engine = Self {
            inner: Arc::new(Inner {
                project,
                catalog,
                store,
                runtime,
                options,
                lifecycle,
                wakeups,
                adapter_calls: AtomicU64::new(0),
                circuits: Circuits::default(),
                model_requests: ModelRequests::default(),
                charges: crate::charges::Charges::default(),
                retry_hints: RetryHints::default(),
                starts: AtomicU64::new(0),
                budgets: Arc::default(),
                call_caps: crate::call_caps::CallCapHits::default(),
                claims: AdmissionClaims::default(),
                swaps: Swaps::new(state_dir.join("components")),
            }),
        };
        engine.restore_swaps().await?;
        if engine.inner.options.lease_reaper {
            crate::lease_reaper::spawn(&engine.inner);
        }
        if let Some(foreign) = engine.inner.store.foreign_commits() {
            crate::commit_relay::spawn(&engine.inner.wakeups, foreign);
        }
        if let Some(ends) = engine.inner.store.run_ends() {
            crate::commit_relay::spawn_run_ends(&engine.inner, ends);
        }
        Ok(engine)
    }

    /// Loads every plugin the project and `flows` reference as the kind it is
    /// used as, and reports each reference whose component is not of that kind
    /// (with the file:line of the reference). Used by `weft validate`.
    pub async fn check_plugins(
        runtime: &Runtime,
        project: &ProjectConfig,
        flows: &[CompiledFlow],
    ) -> Diagnostics {
        plugins::check_plugins(runtime, project, flows).await
    }

    /// Submits a run of `flow_id` for the engine's tenant at priority 0; see
    /// [`Engine::submit_with`].
    pub async fn submit(
        &self,
        flow_id: &str,
        input: Value,
        idempotency_key: Option<String>,
    ) -> Result<Submitted, EngineError> {
        let options = SubmitOptions {
            idempotency_key,
            ..SubmitOptions::default()
        };
        self.submit_with(flow_id, input, options).await
    }

    /// Submits a run of `flow_id`. The input is checked against the flow's
    /// `inputs:` (defaults filled in) and the run is stored with its initial
    /// steps as ready tasks. With an idempotency key that still names a run,
    /// that run is returned with `created: false`.
    /// Keys are per tenant, stored as [`tenant_idempotency_key`] (also the
    /// engine's own tenant's, so that no caller can pre-empt a cron fire).
    pub async fn submit_with(
        &self,
        flow_id: &str,
        input: Value,
        options: SubmitOptions,
    ) -> Result<Submitted, EngineError> {
        let inner = &self.inner;
        let catalog = inner.catalog();
        let flow = catalog
            .flow(flow_id)
            .ok_or_else(|| EngineError::UnknownFlow(flow_id.to_owned()))?;
        let tenant = options.tenant.filter(|t| *t != inner.options.tenant);
        let tenant_name = tenant.as_deref().unwrap_or(&inner.options.tenant);
        crate::capabilities::check_flow(&inner.project, tenant_name, flow)?;
        let mut new = self.new_run(flow, input, None)?;
        let options_key = options.idempotency_key.clone();
        new.idempotency_key = options.idempotency_key.map(|key| {
            (
                tenant_idempotency_key(tenant_name, &key),
                self.idempotency_ttl_ms(),
            )
        });
        if let Some(tenant) = tenant {
            new.tenant = tenant;
        }
        new.priority = match options.priority {
            0 => self.priority_from_input(&new),
            given => given,
        };
        for task in &mut new.initial_tasks {
            task.priority = new.priority;
        }
        if let Some(at) = options.not_before {
            let ahead = at.saturating_sub(inner.now());
            if ahead > crate::options::MAX_START_DELAY_MS {
                return Err(EngineError::StartTooLate {
                    days: ahead / 86_400_000,
                    max_days: crate::options::MAX_START_DELAY_MS / 86_400_000,
                });
            }
            new.not_before = Some(at);
        }
        // The store checks the `on_exhausted: fail` pools in the submit's
        // transaction, so that concurrent submits through any daemon cannot
        // both take the last place.
        let strict = self.strict_pools(&new.initial_tasks);
        match inner.lifecycle.submit(new, &strict).await {
            // Name the key as the caller sent it, not as it is stored.
            Err(StoreError::IdempotencyConflict { run, .. }) => {
                Err(StoreError::IdempotencyConflict {
                    key: options_key.unwrap_or_default(),
                    run,
                }
                .into())
            }
            Err(e) => Err(e.into()),
            Ok(submitted) => Ok(submitted),
        }
    }

    /// The run to store for `flow` with `input` (checked against the flow's
    /// `inputs:`, defaults filled in) and `(idempotency key, ttl ms)`.
    pub(crate) fn new_run(
        &self,
        flow: &CompiledFlow,
        input: Value,
        idempotency_key: Option<(String, u64)>,
    ) -> Result<NewRun, EngineError> {
        let input = flow
            .check_input(&input)
            .map_err(|source| EngineError::Input {
                flow: flow.id.clone(),
                source,
            })?;
        Ok(NewRun {
            flow_id: flow.id.clone(),
            flow_version: flow.version.to_string(),
            tenant: self.inner.options.tenant.clone(),
            input,
            priority: 0,
            idempotency_key,
            id_prefix: flow.id_prefix.clone(),
            not_before: None,
            initial_tasks: flow
                .initial_steps()
                .map(|s| NewTask {
                    step_id: s.id.clone(),
                    pool: s.pool.clone().unwrap_or_else(|| DEFAULT_POOL.into()),
                    priority: 0,
                })
                .collect(),
        })
    }

    /// Wakes every waiting worker so that it looks at the queue again, the
    /// scheduler so that it looks at the schedules again, and the lease reaper
    /// so that it hands back the leases that ran out (call it after moving a
    /// manual clock).
    pub fn wake(&self) {
        self.inner.wakeups.everyone();
    }

    /// How long (ms) an idempotency key given to a submit names its run:
    /// [`EngineOptions::idempotency_ttl_ms`], else weft.yaml's
    /// `idempotency.ttl`.
    pub fn idempotency_ttl_ms(&self) -> u64 {
        let inner = &self.inner;
        inner.options.idempotency_ttl_ms.unwrap_or_else(|| {
            u64::try_from(inner.project.idempotency_ttl.as_millis()).unwrap_or(u64::MAX)
        })
    }

    /// The engine's clock: ms since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.inner.now()
    }

    /// The store (for reading runs, ledgers, dead letters).
    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// The Wasm runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// The project config.
    pub fn project(&self) -> &ProjectConfig {
        &self.inner.project
    }

    /// The flow with id `id`, as currently loaded.
    pub fn flow(&self, id: &str) -> Option<Arc<CompiledFlow>> {
        self.inner.catalog().flow(id).cloned()
    }

    /// The current flows and plugins (a snapshot: a later
    /// [`Engine::replace_flows`] does not change it).
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner.catalog()
    }

    /// Replaces the flows the engine serves with `flows`, loading every plugin
    /// they and `weft.yaml` use first (a plugin whose file changed is loaded
    /// anew). On an error nothing changes. Tasks already running finish with
    /// the flow they started with; the next task of a run uses the new version.
    pub async fn replace_flows(&self, flows: Vec<CompiledFlow>) -> Result<(), EngineError> {
        let inner = &self.inner;
        let plugins = plugins::load_all(&inner.runtime, &inner.project, &flows).await?;
        let catalog = Arc::new(Catalog::new(flows, plugins));
        *inner
            .catalog
            .write()
            .unwrap_or_else(PoisonError::into_inner) = catalog;
        inner.wakeups.schedules_changed();
        Ok(())
    }

    /// Calls `observer` with every progress event, synchronously, before any
    /// subscriber receives it (metrics use this, so that whoever waits for an
    /// event sees the metrics that count it). Keep it quick: it runs on the
    /// worker that emits.
    pub fn observe(&self, observer: Observer) {
        self.inner.lifecycle.events().observe(observer);
    }

    /// Every flow the engine serves, sorted by id.
    pub fn flows(&self) -> Vec<Arc<CompiledFlow>> {
        self.inner.catalog().flows().into_iter().cloned().collect()
    }

    /// How many times a model adapter has been called since `open` (journaled
    /// answers served from the store are not counted).
    pub fn adapter_calls(&self) -> u64 {
        self.inner.adapter_calls.load(Ordering::SeqCst)
    }

    /// Each model's circuit breaker that has seen a call, by model name, as of
    /// the engine's clock.
    pub fn circuits(&self) -> Vec<CircuitSnapshot> {
        self.inner.circuits.snapshot(self.inner.now())
    }

    /// Model requests since `open`, as (model, outcome, count), sorted.
    /// Journal replays are not requests.
    pub fn model_requests(&self) -> Vec<(String, ModelOutcome, u64)> {
        self.inner.model_requests.snapshot()
    }

    /// A channel that receives every progress event from now on.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<ProgressEvent> {
        self.inner.lifecycle.events().subscribe()
    }

    /// How many event subscribers ([`Engine::subscribe`]) are held, those
    /// whose receiver is gone but not yet pruned included.
    pub fn subscriber_count(&self) -> usize {
        self.inner.lifecycle.events().subscriber_count()
    }
}
