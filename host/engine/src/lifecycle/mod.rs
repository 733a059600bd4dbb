//! The run lifecycle: the one place through which every change that starts,
//! advances, ends or cancels a run passes.
//!
//! Each operation records the change in the store (one transaction), then
//! emits its progress event and wakes who must be woken, in that order. A
//! run ends in the transaction of what ended it — the end of its last step
//! (succeeded; or failed, when a step before failed with its run going on to
//! the steps that run after a failure: see `ends.rs`), a failure whose
//! decision fails the run, a cancel, or the
//! purge of a dead letter (a step without an output can never let the run
//! succeed, so it fails) — and then [`RunLifecycle::run_ended`] alone signs
//! its ledger head and emits [`ProgressEvent::RunFinished`]: observers count
//! it (`weft_runs_total`) before subscribers hear of it (a `GET
//! /v1/runs/{id}?wait=` long-poll, `weft run`).
//!
//! The server and the CLI reach it through [`crate::Engine`]'s methods
//! (`submit_with`, `cancel`, `dlq_purge`, `dlq_requeue`, `resume`, the
//! remote-worker reports); workers through the task runner.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;
use weft_flow::Limits;
use weft_store_api::{
    Advance, FailDecision, Lease, LedgerSigner, NewRun, Purged, RunRecord, RunStatus, SharedStore,
    StepCompleted, StoreError, StrictPool, Submitted,
};

use crate::catalog::Unlocated;
use crate::clock::Clock;
use crate::events::RunEvents;
use crate::progress::ProgressEvent;
use crate::stops::RunStops;
use crate::wakeups::Wakeups;

mod ends;

/// What became of a task a worker executed.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// The step succeeded; `run_finished` if it was the run's last.
    Succeeded {
        /// Whether this completion finished the run.
        run_finished: bool,
    },
    /// The step did not run (its condition, or a need that did not
    /// succeed); `run_finished` if that ended the run.
    Skipped {
        /// Whether this ended the run.
        run_finished: bool,
    },
    /// The attempt failed and `decision` was applied.
    Failed {
        /// What the retry strategy (or the engine) decided.
        decision: FailDecision,
    },
    /// The lease was lost (expired and handed on, or the run finished) before
    /// the result could be recorded; the result was dropped.
    LeaseLost,
    /// The store could not record the result; the task comes back when its
    /// lease expires.
    StoreFailed(String),
}

/// Records, reports and wakes for every change of a run.
pub(crate) struct RunLifecycle {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    events: RunEvents,
    wakeups: Arc<Wakeups>,
    /// The stop signals of the runs whose steps run here.
    stops: RunStops,
    /// Signs ledger heads at run ends (`head_signing`), if a key is set.
    signer: Option<LedgerSigner>,
    /// The caps on stored error text.
    limits: Limits,
}

impl RunLifecycle {
    /// The lifecycle of runs in `store`.
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        wakeups: Arc<Wakeups>,
        signer: Option<LedgerSigner>,
        limits: Limits,
    ) -> Self {
        Self {
            store,
            clock,
            events: RunEvents::default(),
            wakeups,
            stops: RunStops::default(),
            signer,
            limits,
        }
    }

    /// Who hears of the events.
    pub fn events(&self) -> &RunEvents {
        &self.events
    }

    /// The stop signals of running steps' runs.
    pub fn stops(&self) -> &RunStops {
        &self.stops
    }

    /// Stores `new` (refused when one of the `strict` pools is full) and
    /// wakes one idle worker per root task of a run that was created.
    pub async fn submit(
        &self,
        new: NewRun,
        strict: &[StrictPool],
    ) -> Result<Submitted, StoreError> {
        let roots = new.initial_tasks.len();
        let now = self.clock.now_ms();
        let waits = new.not_before.is_some_and(|at| at > now);
        let submitted = self.store.submit_run_capped(new, strict, now).await?;
        if submitted.created && waits {
            // Idle workers look again at when the next delayed task is due.
            self.wakeups.queue_changed();
        } else if submitted.created {
            self.wakeups.tasks_ready(roots);
        }
        Ok(submitted)
    }

    /// Runs a schedule created, with `roots` ready tasks in all.
    pub fn scheduled(&self, roots: usize) {
        self.wakeups.tasks_ready(roots);
    }

    /// `lease`'s step of `run` starts (an in-process or a remote worker).
    pub fn step_started(&self, lease: &Lease, run: &RunRecord) {
        self.events.emit(ProgressEvent::StepStarted {
            run: lease.run.clone(),
            flow: run.flow_id.clone(),
            step: lease.step.clone(),
            attempt: lease.attempt,
        });
    }

    /// A model call of a running step was answered.
    pub fn model_called(&self, event: ProgressEvent) {
        debug_assert!(matches!(event, ProgressEvent::ModelCalled { .. }));
        self.events.emit(event);
    }

    /// Records `lease`'s step output and what it makes ready (`advance`),
    /// then — before waking anyone — lets the worker lease its next task
    /// (`next_lease`), so that no idle worker is woken for the task it takes
    /// itself. One idle worker is woken per other new task, and one for the
    /// slot this task freed if the worker took nothing.
    pub async fn step_succeeded<F, Fut>(
        &self,
        lease: &Lease,
        run: &RunRecord,
        output: Value,
        advance: Advance,
        elapsed_ms: u64,
        next_lease: F,
    ) -> (TaskOutcome, Option<Lease>)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<Lease>>,
    {
        let now = self.clock.now_ms();
        // Completions of many workers share one group commit; the slot is
        // freed by this commit, before any lease the store could make into it.
        let done = match self
            .store
            .complete_step(lease.task, lease.token, output, advance, now)
            .await
        {
            Ok(done) => done,
            Err(e) => return (self.refused(lease, e), None),
        };
        self.events.emit(ProgressEvent::StepSucceeded {
            run: lease.run.clone(),
            flow: run.flow_id.clone(),
            step: lease.step.clone(),
            attempt: lease.attempt,
            elapsed_ms,
        });
        let next = next_lease().await;
        let taken = next.as_ref().map(|l| l.task);
        let others = done.enqueued.iter().filter(|id| Some(**id) != taken);
        self.wakeups.tasks_ready(others.count());
        if taken.is_none() {
            self.wakeups.task_ready();
        }
        let run_finished = self.ended_by(run, &done).await;
        (TaskOutcome::Succeeded { run_finished }, next)
    }

    /// Records a failed attempt of `lease` (of `run`, `None` when the run is
    /// not in the store) and `decision` (`decided_by`: the sha256 of the
    /// retry strategy component that made it, if one did).
    pub async fn step_failed(
        &self,
        lease: &Lease,
        run: Option<&RunRecord>,
        error: &str,
        decision: FailDecision,
        decided_by: Option<&str>,
    ) -> TaskOutcome {
        let error = &*crate::caps::cap_message(&self.limits, error);
        let decision = crate::caps::cap_decision(&self.limits, decision);
        let now = self.clock.now_ms();
        let recorded = self
            .store
            .fail(
                lease.task,
                lease.token,
                error,
                decision.clone(),
                decided_by,
                now,
            )
            .await;
        // The slot this task held is free.
        self.wakeups.task_ready();
        if let Err(e) = recorded {
            return self.refused(lease, e);
        }
        self.events.emit(ProgressEvent::StepFailed {
            run: lease.run.clone(),
            flow: run.map(|r| r.flow_id.clone()).unwrap_or_default(),
            step: lease.step.clone(),
            attempt: lease.attempt,
            error: error.to_owned(),
            decision: decision.clone(),
            time_ms: now,
        });
        match &decision {
            FailDecision::Retry { .. } => self.wakeups.queue_changed(),
            FailDecision::FailRun { .. } => match run {
                Some(run) => self.run_ended(run, RunStatus::Failed).await,
                None => self.run_ended_unread(&lease.run, RunStatus::Failed).await,
            },
            // The store refuses it here: it goes through `step_ended`.
            FailDecision::DeadLetter { .. } | FailDecision::FailStep { .. } => {}
        }
        TaskOutcome::Failed { decision }
    }

    /// Dead-letters `lease`'s task, whose run, flow or step cannot be found
    /// (`unlocated` says which).
    pub async fn dead_letter_unlocated(&self, lease: &Lease, unlocated: Unlocated) -> TaskOutcome {
        let Unlocated { run, reason } = unlocated;
        let decision = FailDecision::DeadLetter {
            reason: reason.clone(),
        };
        self.step_failed(lease, run.as_ref(), &reason, decision, None)
            .await
    }

    /// Cancels run `run` (`reason`: why, kept as its error): its open tasks
    /// are dropped, and its steps running here are stopped (a remote worker's
    /// next renewal is refused).
    pub async fn cancel(&self, run: &str, reason: Option<&str>) -> Result<(), StoreError> {
        self.store.cancel(run, reason, self.clock.now_ms()).await?;
        self.run_ended_unread(run, RunStatus::Cancelled).await;
        Ok(())
    }

    /// Drops dead-lettered task `task` for good; its run, if still open,
    /// fails in the same commit.
    pub async fn dlq_purge(&self, task: u64) -> Result<Purged, StoreError> {
        let purged = self.store.dlq_purge(task, self.clock.now_ms()).await?;
        if let Some(status) = purged.run_ended {
            self.run_ended_unread(&purged.run, status).await;
        }
        Ok(purged)
    }

    /// Puts dead-lettered task `task` back in the ready queue.
    pub async fn dlq_requeue(&self, task: u64) -> Result<(), StoreError> {
        self.store.dlq_requeue(task, self.clock.now_ms()).await?;
        self.wakeups.queue_changed();
        Ok(())
    }

    /// Hands back every lease that has run out; how many were.
    pub async fn expire_leases(&self) -> Result<u64, StoreError> {
        let handed_back = self.store.expire_leases(self.clock.now_ms()).await?;
        if handed_back > 0 {
            self.wakeups.queue_changed();
        }
        Ok(handed_back)
    }

    /// Promotes the delayed tasks that are due and hands back the leases that
    /// ran out; how many changed.
    pub async fn promote_and_expire(&self) -> Result<u64, StoreError> {
        let changed = self.store.promote_and_expire(self.clock.now_ms()).await?;
        if changed > 0 {
            self.wakeups.queue_changed();
        }
        Ok(changed)
    }

    /// A report the store refused: the lease was stale (the result is
    /// dropped) or the store failed.
    fn refused(&self, lease: &Lease, e: StoreError) -> TaskOutcome {
        match e {
            StoreError::StaleToken { .. } | StoreError::RunFinished { .. } => {
                tracing::warn!(task = lease.task, "result dropped: {e}");
                // A refusal for a lease that had run out handed the task back
                // to the queue: a waiting worker takes it now.
                self.wakeups.queue_changed();
                TaskOutcome::LeaseLost
            }
            other => {
                tracing::error!(task = lease.task, "cannot record the result: {other}");
                TaskOutcome::StoreFailed(other.to_string())
            }
        }
    }

    /// Reports the end of `run` if the step `done` with ended it (failed,
    /// when a step before failed with its run going on); whether it did.
    async fn ended_by(&self, run: &RunRecord, done: &StepCompleted) -> bool {
        if done.run_output.is_some() {
            self.run_ended(run, RunStatus::Succeeded).await;
        } else if done.run_failed {
            self.run_ended(run, RunStatus::Failed).await;
        }
        done.run_output.is_some() || done.run_failed
    }

    /// Run `run` has ended with `status`; the store has committed it. Its
    /// ledger head is signed (if the engine has a key) before anyone hears of
    /// the end, so a waiter that sees the run finished finds the head signed.
    async fn run_ended(&self, run: &RunRecord, status: RunStatus) {
        self.report_end(&run.id, &run.flow_id, Some(run.created_ms), status)
            .await;
    }

    /// Signs the ended run's head, then emits its end and wakes a worker.
    async fn report_end(&self, run: &str, flow: &str, created_ms: Option<u64>, status: RunStatus) {
        // Its steps still running here would only have their results refused.
        self.stops.stop(run);
        self.sign_head(run).await;
        let now = self.clock.now_ms();
        self.events.emit(ProgressEvent::RunFinished {
            run: run.to_owned(),
            flow: flow.to_owned(),
            status,
            duration_ms: created_ms.map_or(0, |c| now.saturating_sub(c)),
        });
        // One idle worker, not all of them: the end freed at most the slot
        // of the task that ended it, and waking every idle worker on every
        // run's end had them all look at the queue at once (measured with
        // two daemons: most of the daemons' CPU).
        self.wakeups.task_ready();
    }

    /// [`Self::run_ended`] for an end an operator made (a cancel, a purge),
    /// where the caller holds no record of the run: it is read once. A run
    /// that cannot be read is reported with an unknown flow.
    async fn run_ended_unread(&self, run_id: &str, status: RunStatus) {
        match self.store.run_get(run_id).await {
            Ok(Some(run)) => self.run_ended(&run, status).await,
            Ok(None) | Err(_) => self.report_end(run_id, "", None, status).await,
        }
    }

    /// Signs the current head of `run`'s ledger, if this engine has a key.
    /// A failure is logged, not returned: the run has ended either way, and
    /// `weft runs verify --public-key` reports the head as unsigned.
    async fn sign_head(&self, run: &str) {
        let Some(signer) = &self.signer else {
            return;
        };
        let signed = async {
            let events = self.store.ledger(run).await?;
            let Some(head) = events.last() else {
                return Ok(());
            };
            let sig = signer
                .sign(run, head.seq, &head.hash, self.clock.now_ms())
                .map_err(|e| StoreError::Storage(Box::new(e)))?;
            self.store.put_head_signature(sig).await
        };
        if let Err(e) = signed.await {
            tracing::warn!(run, "signing the ledger head failed: {e}");
        }
    }
}
