//! A step that ends without an output of its own: skipped by its condition,
//! or failed for good while its run goes on to the steps that run after a
//! failure (`if: failure()` / `always()`). The store ends the task and
//! decides fan-in in one transaction (`end_step`), as for a success.

use weft_store_api::{Advance, FailDecision, Lease, RunRecord, StepEnd};

use super::{RunLifecycle, TaskOutcome};
use crate::progress::ProgressEvent;

impl RunLifecycle {
    /// Records that `lease`'s step of `run` ended as `end`, enqueues what
    /// that made ready (`advance`), and ends the run if it was the last.
    pub async fn step_ended(
        &self,
        lease: &Lease,
        run: &RunRecord,
        end: StepEnd,
        advance: Advance,
    ) -> TaskOutcome {
        let end = match end {
            StepEnd::Failed {
                error,
                reason,
                decided_by,
            } => StepEnd::Failed {
                error: crate::caps::cap_message(&self.limits, &error).into_owned(),
                reason: crate::caps::cap_message(&self.limits, &reason).into_owned(),
                decided_by,
            },
            skipped => skipped,
        };
        let now = self.clock.now_ms();
        let done = match self
            .store
            .end_step(lease.task, lease.token, end.clone(), advance, now)
            .await
        {
            Ok(done) => done,
            Err(e) => return self.refused(lease, e),
        };
        let run_finished = done.run_output.is_some() || done.run_failed;
        // The step's event comes before the run's end, as for a success.
        let outcome = match end {
            StepEnd::Skipped { reason } => {
                self.events.emit(ProgressEvent::StepSkipped {
                    run: lease.run.clone(),
                    flow: run.flow_id.clone(),
                    step: lease.step.clone(),
                    reason,
                });
                TaskOutcome::Skipped { run_finished }
            }
            StepEnd::Failed { error, reason, .. } => {
                let decision = FailDecision::FailStep { reason };
                self.events.emit(ProgressEvent::StepFailed {
                    run: lease.run.clone(),
                    flow: run.flow_id.clone(),
                    step: lease.step.clone(),
                    attempt: lease.attempt,
                    error,
                    decision: decision.clone(),
                    time_ms: now,
                });
                TaskOutcome::Failed { decision }
            }
        };
        // The slot this task held is free, and each new task wants a worker.
        self.wakeups.tasks_ready(done.enqueued.len() + 1);
        self.ended_by(run, &done).await;
        outcome
    }
}
