//! [`LocalClient`]: weft on the state folder. The store opens on the first
//! call that needs it (with the errors `weft runs …` always gave: no
//! `weft.redb` yet, a file a daemon holds); operations that the engine owns
//! (a purge that ends a run, a resume, a swap, the pools) open an engine on
//! that store ([`super::local_engine`]).

use std::time::Duration;

use anyhow::{Result, bail};
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;
use weft_engine::Engine;
use weft_index::{SearchRequest, SearchResults};
use weft_server::{costs_json, queue_stats_json};
use weft_store_api::{
    DeadLetter, HeadSignature, LedgerEvent, LockAcquire, LockRecord, NextTask, RunFilter,
    RunRecord, VerifyReport,
};

use super::state_store::StateStore;
use super::{EventsPage, Outcome, Resuming, RunView, ShowProgress, Swap, WeftClient};
use crate::cli::StateArgs;
use crate::commands::state::now_ms;

/// How often a wait for a run's next event looks at the store.
const POLL: Duration = Duration::from_millis(250);

/// weft on the state folder `--state` (or the project's) names.
pub(crate) struct LocalClient {
    /// The flags the store is found with.
    pub(super) args: StateArgs,
    /// The store, once opened.
    pub(super) state: OnceCell<StateStore>,
    /// The engine on the store, once an operation needed it.
    pub(super) engine: OnceCell<Engine>,
}

impl LocalClient {
    /// A client of the state folder `args` name; nothing is opened yet.
    pub(crate) fn new(args: StateArgs) -> Self {
        Self {
            args,
            state: OnceCell::new(),
            engine: OnceCell::new(),
        }
    }

    /// The store, opened on first use; a state folder without a store yet is
    /// an error.
    pub(super) async fn state(&self) -> Result<&StateStore> {
        self.state
            .get_or_try_init(|| StateStore::open(&self.args))
            .await
    }

    /// The store, created with its folder if there is none yet (locks need no
    /// run).
    pub(super) async fn state_or_create(&self) -> Result<&StateStore> {
        self.state
            .get_or_try_init(|| StateStore::open_or_create(&self.args))
            .await
    }
}

#[async_trait]
impl WeftClient for LocalClient {
    async fn place(&self) -> Result<String> {
        Ok(self.state().await?.place.clone())
    }

    async fn run(&self, id: &str) -> Result<RunRecord> {
        self.state().await?.run(id).await
    }

    async fn run_view(&self, id: &str) -> Result<RunView> {
        let state = self.state().await?;
        let run = state.run(id).await?;
        let tasks = state.store.tasks_of(&run.id).await?;
        let outputs = state.store.step_outputs(&run.id).await?;
        let dead = state
            .store
            .dlq_list()
            .await?
            .into_iter()
            .filter(|d| d.run == run.id)
            .collect();
        Ok(RunView {
            run,
            tasks,
            outputs,
            dead,
        })
    }

    async fn runs_list(&self, limit: usize, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        Ok(self.state().await?.store.runs_list(limit, filter).await?)
    }

    async fn run_events(&self, id: &str, after: u64, wait_secs: u64) -> Result<EventsPage> {
        let state = self.state().await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_secs);
        loop {
            let Some(page) = state.store.run_events(id, after).await? else {
                // The error that names the state folder and a close id.
                state.run(id).await?;
                bail!("no run `{id}` in {}", state.place);
            };
            let final_ = page.run.status.is_final();
            if !page.events.is_empty() || final_ || tokio::time::Instant::now() >= deadline {
                return Ok(EventsPage {
                    events: page.events,
                    status: page.run.status,
                    open_tasks: page.open_tasks,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn ledger(&self, id: &str) -> Result<Vec<LedgerEvent>> {
        let state = self.state().await?;
        let run = state.run(id).await?;
        Ok(state.store.ledger(&run.id).await?)
    }

    async fn verify(&self, id: &str) -> Result<VerifyReport> {
        let state = self.state().await?;
        let run = state.run(id).await?;
        Ok(state.store.verify(&run.id).await?)
    }

    async fn head_signatures(&self, id: &str) -> Result<Option<Vec<HeadSignature>>> {
        Ok(Some(self.state().await?.store.head_signatures(id).await?))
    }

    async fn artifacts(&self, id: &str) -> Result<(String, Map<String, Value>)> {
        let state = self.state().await?;
        let run = state.run(id).await?;
        let mut artifacts = Map::new();
        for key in state.store.artifact_list(&run.id).await? {
            let value = state
                .store
                .artifact_get(&run.id, &key)
                .await?
                .unwrap_or(Value::Null);
            artifacts.insert(key, value);
        }
        Ok((run.id, artifacts))
    }

    async fn artifact(&self, id: &str, key: &str) -> Result<Value> {
        let state = self.state().await?;
        let run = state.run(id).await?;
        if let Some(value) = state.store.artifact_get(&run.id, key).await? {
            return Ok(value);
        }
        let keys = state.store.artifact_list(&run.id).await?;
        if keys.is_empty() {
            bail!("run `{}` has no artifact `{key}`; it has none", run.id);
        }
        bail!(
            "run `{}` has no artifact `{key}`; it has {}",
            run.id,
            keys.join(", ")
        )
    }

    async fn resume_begin(&self, id: &str) -> Result<Resuming> {
        self.begin_resume(id).await
    }

    async fn resume_follow(&self, resuming: &Resuming, show: &ShowProgress) -> Result<Outcome> {
        self.follow_resume(resuming, show).await
    }

    async fn dlq_list(&self, _: Option<u64>, _: Option<usize>) -> Result<Vec<DeadLetter>> {
        Ok(self.state().await?.store.dlq_list().await?)
    }

    async fn dlq_purge(&self, task: u64) -> Result<()> {
        self.store_engine().await?.dlq_purge(task).await?;
        Ok(())
    }

    async fn dlq_requeue(&self, task: u64) -> Result<()> {
        Ok(self.store_engine().await?.dlq_requeue(task).await?)
    }

    async fn cancel(&self, id: &str, reason: Option<&str>) -> Result<RunRecord> {
        // The id as the store names it (a unique prefix, a suggestion).
        let run = self.state().await?.run(id).await?;
        let engine = self.store_engine().await?;
        engine.cancel(&run.id, reason).await?;
        engine
            .store()
            .run_get(&run.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("run `{}` is gone after its cancel", run.id))
    }

    fn runs_requeued(&self) -> bool {
        false
    }

    async fn queue_stats(&self) -> Result<Value> {
        let stats = self.state().await?.store.queue_stats(now_ms()).await?;
        Ok(queue_stats_json(&stats))
    }

    async fn queue_next(
        &self,
        pool: Option<&str>,
        project: Option<&str>,
    ) -> Result<Option<NextTask>> {
        let store = &self.state().await?.store;
        Ok(store.queue_next(pool, project, now_ms()).await?)
    }

    async fn costs(&self, since: &str, tenant: Option<&str>) -> Result<Value> {
        let rows = self.state().await?.store.costs(since, tenant).await?;
        Ok(costs_json(since, &rows))
    }

    async fn pools(&self, pool: Option<&str>) -> Result<Value> {
        let engine = self.project_engine().await?;
        let mut pools = engine.pools_status().await?;
        let now = engine.now_ms();
        let circuits = engine.circuits();
        if let Some(name) = pool {
            pools.retain(|p| p.name == name);
            if pools.is_empty() {
                bail!("unknown pool `{name}` (see `weft pools` for the declared ones)");
            }
        }
        Ok(json!({ "now_ms": now, "pools": pools, "circuits": circuits }))
    }

    async fn swap(&self, swap: Swap<'_>) -> Result<Value> {
        self.swap_in(swap).await
    }

    async fn lock_acquire(&self, key: &str, owner: &str, ttl_ms: u64) -> Result<LockAcquire> {
        let store = &self.state_or_create().await?.store;
        Ok(store.lock_acquire(key, owner, ttl_ms, now_ms()).await?)
    }

    async fn lock_release(&self, key: &str, token: u64) -> Result<(String, u64)> {
        let store = &self.state_or_create().await?.store;
        let lock = store.lock_release(key, token, now_ms()).await?;
        Ok((lock.owner, lock.token))
    }

    async fn locks(&self) -> Result<Vec<LockRecord>> {
        let store = &self.state_or_create().await?.store;
        Ok(store.locks_list(now_ms()).await?)
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        self.search_here(request).await
    }

    async fn index_rebuild(&self) -> Result<Value> {
        self.rebuild_here().await
    }

    async fn index_status(&self) -> Result<Value> {
        self.index_status_here().await
    }

    async fn close(&self) {
        if let Some(engine) = self.engine.get() {
            engine.store().close().await;
        } else if let Some(state) = self.state.get() {
            state.store.close().await;
        }
    }
}
