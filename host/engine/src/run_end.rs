//! Where every end of a run goes through.
//!
//! A run ends in the store, in the transaction of what ended it: the completion
//! of its last step (succeeded), a failure whose decision fails the run, a
//! cancel, or the purge of a dead letter (a step without an output can never
//! let the run succeed, so it fails). Whichever it was, the engine then calls
//! [`Inner::run_ended`] — and only it emits [`ProgressEvent::RunFinished`]:
//! observers count it (`weft_runs_total`, `weft_run_duration_seconds`) before
//! subscribers hear of it (a `GET /v1/runs/{id}?wait=` long-poll, `weft run`),
//! and idle workers are woken, since the run's leased tasks were cancelled
//! and their pool slots are free.

use weft_store_api::{Purged, RunStatus};

use crate::engine::{Engine, Inner};
use crate::error::EngineError;
use crate::progress::ProgressEvent;

impl Inner {
    /// Run `run` has ended with `status`; the store has committed it. Its
    /// ledger head is signed (if the engine has a key) before anyone hears of
    /// the end, so a waiter that sees the run finished finds the head signed.
    pub(crate) async fn run_ended(&self, run: &str, status: RunStatus) {
        self.sign_head(run).await;
        self.emit(ProgressEvent::RunFinished {
            run: run.to_owned(),
            status,
        });
        // One idle worker, not all of them: the end freed at most the slot
        // of the task that ended it, and waking every idle worker on every
        // run's end had them all look at the queue at once (measured with
        // two daemons: most of the daemons' CPU).
        self.notify.notify_one();
    }
}

impl Engine {
    /// Cancels run `run_id`, which has not finished: its open tasks are
    /// dropped (a worker still running one has its result refused), and the
    /// end is reported as every end of a run is ([`Inner::run_ended`]).
    pub async fn cancel(&self, run_id: &str) -> Result<(), EngineError> {
        let inner = &self.inner;
        inner.store.cancel(run_id, inner.now()).await?;
        inner.run_ended(run_id, RunStatus::Cancelled).await;
        Ok(())
    }

    /// Drops dead-lettered task `task` for good. Its run, if still open,
    /// fails in the same commit (its step will never have an output), and
    /// that end is reported as every end of a run is.
    pub async fn dlq_purge(&self, task: u64) -> Result<Purged, EngineError> {
        let inner = &self.inner;
        let purged = inner.store.dlq_purge(task, inner.now()).await?;
        if let Some(status) = purged.run_ended {
            inner.run_ended(&purged.run, status).await;
        }
        Ok(purged)
    }

    /// Puts dead-lettered task `task` back in the ready queue (its next
    /// attempt) and wakes a waiting worker to take it.
    pub async fn dlq_requeue(&self, task: u64) -> Result<(), EngineError> {
        let inner = &self.inner;
        inner.store.dlq_requeue(task, inner.now()).await?;
        inner.notify.notify_waiters();
        Ok(())
    }
}
