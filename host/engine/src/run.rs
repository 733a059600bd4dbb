//! The operations on one run the server and the CLI call: driving it
//! in-process (`weft run`, `weft runs resume`), cancelling it, and the
//! dead-letter queue's purge and requeue. Each change goes through the run
//! lifecycle (`lifecycle.rs`), which records it, reports it and wakes who
//! must be woken.

use serde::Serialize;
use weft_store_api::{Purged, RunRecord, TaskState};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::progress::ProgressEvent;

/// A lease of a run's task that has not run out yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldLease {
    /// The task.
    pub task: u64,
    /// Its step.
    pub step: String,
    /// The worker holding it.
    pub owner: String,
    /// When it runs out (ms since the Unix epoch).
    pub expires_ms: u64,
}

impl Engine {
    /// Cancels run `run_id`, which has not finished: its open tasks are
    /// dropped, its steps running in this process are stopped at once (a
    /// remote worker's at its next lease renewal, which is refused), and the
    /// end is reported as every end of a run is. `reason` is kept as the
    /// run's error (`cancelled: <reason>`) and in its `run-cancelled` event.
    pub async fn cancel(&self, run_id: &str, reason: Option<&str>) -> Result<(), EngineError> {
        Ok(self.inner.lifecycle.cancel(run_id, reason).await?)
    }

    /// Drops dead-lettered task `task` for good. Its run, if still open,
    /// fails in the same commit (its step will never have an output), and
    /// that end is reported as every end of a run is.
    pub async fn dlq_purge(&self, task: u64) -> Result<Purged, EngineError> {
        Ok(self.inner.lifecycle.dlq_purge(task).await?)
    }

    /// Puts dead-lettered task `task` back in the ready queue (its next
    /// attempt) and wakes a waiting worker to take it.
    pub async fn dlq_requeue(&self, task: u64) -> Result<(), EngineError> {
        Ok(self.inner.lifecycle.dlq_requeue(task).await?)
    }

    /// Runs the workers until run `run_id` has finished, or until none of its
    /// tasks is open any more (its remaining steps are dead-lettered: the run
    /// stays `running` until an operator requeues or purges them). `progress`
    /// gets every event of this run. Returns the run record at that point.
    pub async fn run_to_completion(
        &self,
        run_id: &str,
        mut progress: impl FnMut(ProgressEvent),
    ) -> Result<RunRecord, EngineError> {
        let mut events = self.subscribe();
        let workers = self.start();
        let result = loop {
            match self.settled(run_id).await {
                Ok(Some(run)) => break Ok(run),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
            match events.recv().await {
                Some(event) if event.run() == run_id => progress(event),
                Some(_) => {}
                None => break self.record(run_id).await,
            }
        };
        // A worker commits before it emits, so the store can show the run settled
        // while the events of its last step are still on their way; once the
        // workers have stopped, every event they will send is in the channel.
        workers.shutdown().await;
        while let Ok(event) = events.try_recv() {
            if event.run() == run_id {
                progress(event);
            }
        }
        result
    }

    /// Continues an interrupted run: leases that have expired are handed back
    /// at once, those still held by a dead worker come back when they expire;
    /// then as [`Engine::run_to_completion`].
    pub async fn resume(
        &self,
        run_id: &str,
        progress: impl FnMut(ProgressEvent),
    ) -> Result<RunRecord, EngineError> {
        self.inner.lifecycle.expire_leases().await?;
        self.run_to_completion(run_id, progress).await
    }

    /// The leases of `run_id`'s tasks that have not run out at the engine's
    /// clock, by task: what [`Engine::resume`] has to wait for (a worker that
    /// died holding one; its task comes back when the lease runs out).
    pub async fn held_leases(&self, run_id: &str) -> Result<Vec<HeldLease>, EngineError> {
        let store = &self.inner.store;
        let now = self.inner.now();
        let mut held = Vec::new();
        for task in store.tasks_of(run_id).await? {
            if task.state != TaskState::Leased {
                continue;
            }
            if let Some(lease) = store.lease_of(task.id).await?
                && lease.expires_at > now
            {
                held.push(HeldLease {
                    task: task.id,
                    step: task.step_id,
                    owner: lease.owner,
                    expires_ms: lease.expires_at,
                });
            }
        }
        Ok(held)
    }

    async fn record(&self, run_id: &str) -> Result<RunRecord, EngineError> {
        self.inner
            .store
            .run_get(run_id)
            .await?
            .ok_or_else(|| EngineError::UnknownRun(run_id.to_owned()))
    }

    /// The run if it has finished or has no open task left.
    async fn settled(&self, run_id: &str) -> Result<Option<RunRecord>, EngineError> {
        let run = self.record(run_id).await?;
        if run.status.is_final() {
            return Ok(Some(run));
        }
        let open = self
            .inner
            .store
            .tasks_of(run_id)
            .await?
            .iter()
            .any(|t| t.state.is_open());
        Ok((!open).then_some(run))
    }
}
