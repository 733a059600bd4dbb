//! Step conditions (`if:`), decided when a step's task is handed out: every
//! step it needs has ended by then, so the decision reads final outputs and
//! statuses. A step that is not to run ends as skipped (its output `null`)
//! in the store's fan-in transaction, without reaching a worker.
//!
//! A flow without any `if:` can skip nothing (every step runs after its
//! needs succeeded, and a failure fails the run), so its tasks pass without
//! a store read.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use weft_flow::{CompiledFlow, CompiledStep, Decision, StepStatus};
use weft_store_api::{
    Advance, FailDecision, Lease, NewTask, NextCandidate, RunRecord, StepEnd, StoreError, TaskState,
};

use crate::engine::DEFAULT_POOL;
use crate::lifecycle::TaskOutcome;
use crate::shared::Inner;

/// What a step's condition says about its leased task.
pub(crate) enum Gate {
    /// Run it.
    Run,
    /// It was skipped (recorded); this is what became of the task.
    Ended(TaskOutcome),
    /// The condition could not be decided: the attempt fails with this text.
    Failed(String),
}

/// Decides `step`'s condition for `lease` and, when the step is not to run,
/// records it as skipped.
pub(crate) async fn gate(
    inner: &Arc<Inner>,
    lease: &Lease,
    run: &RunRecord,
    flow: &CompiledFlow,
    step: &CompiledStep,
) -> Gate {
    if !flow.steps.iter().any(|s| s.condition.is_some()) {
        return Gate::Run;
    }
    let (outputs, statuses) = match ended_steps(inner, &lease.run).await {
        Ok(found) => found,
        Err(e) => return Gate::Failed(format!("cannot read the run's steps: {e}")),
    };
    match flow.decide(&step.id, &run.input, &outputs, &statuses) {
        Ok(Decision::Run) => Gate::Run,
        Ok(Decision::Skip { reason }) => {
            let end = StepEnd::Skipped { reason };
            let outcome = inner
                .lifecycle
                .step_ended(lease, run, end, advance_of(flow, step))
                .await;
            Gate::Ended(outcome)
        }
        Err(e) => Gate::Failed(e.to_string()),
    }
}

/// The outputs of the steps of `run` that succeeded, and how each ended
/// step ended.
async fn ended_steps(
    inner: &Inner,
    run: &str,
) -> Result<(HashMap<String, Value>, HashMap<String, StepStatus>), StoreError> {
    let mut statuses = HashMap::new();
    for task in inner.store.tasks_of(run).await? {
        let status = match task.state {
            TaskState::Done => StepStatus::Succeeded,
            TaskState::Skipped => StepStatus::Skipped,
            TaskState::Failed => StepStatus::Failed,
            _ => continue,
        };
        statuses.insert(task.step_id, status);
    }
    let outputs = inner
        .store
        .step_outputs(run)
        .await?
        .into_iter()
        .filter(|(step, _)| statuses.get(step) == Some(&StepStatus::Succeeded))
        .collect();
    Ok((outputs, statuses))
}

/// What ending `step` may make ready: its dependents, each with its needs,
/// and what finishes the run.
pub(crate) fn advance_of(flow: &CompiledFlow, step: &CompiledStep) -> Advance {
    let candidates = step
        .dependents
        .iter()
        .filter_map(|id| flow.step(id))
        .map(|next| NextCandidate {
            task: NewTask {
                step_id: next.id.clone(),
                pool: next.pool.clone().unwrap_or_else(|| DEFAULT_POOL.into()),
                priority: 0,
            },
            needs: next.needs.clone(),
        })
        .collect();
    Advance {
        candidates,
        all_steps: flow.steps.iter().map(|s| s.id.clone()).collect(),
        final_steps: flow.final_steps().map(|s| s.id.clone()).collect(),
    }
}

/// Records a failed attempt and `decision`. A decision that gives up on the
/// step (fail the run, or dead-letter it) lets the run go on instead when
/// steps after this one still run after a failure (`if: failure()` or
/// `always()`): the step ends failed, fan-in goes on, and the run ends
/// failed once they have run. Such a step does not wait in the dead-letter
/// queue: its failure steps are what handles it.
pub(crate) async fn record_failure(
    inner: &Inner,
    lease: &Lease,
    located: Option<(&RunRecord, &CompiledFlow, &CompiledStep)>,
    error: &str,
    decision: FailDecision,
    decided_by: Option<&str>,
) -> TaskOutcome {
    let gives_up = match &decision {
        FailDecision::FailRun { reason } | FailDecision::DeadLetter { reason } => Some(reason),
        FailDecision::Retry { .. } | FailDecision::FailStep { .. } => None,
    };
    if let (Some(reason), Some((run, flow, step))) = (gives_up, located)
        && flow.has_failure_followers(&step.id)
    {
        let end = StepEnd::Failed {
            error: error.to_owned(),
            reason: reason.clone(),
            decided_by: decided_by.map(str::to_owned),
        };
        return inner
            .lifecycle
            .step_ended(lease, run, end, advance_of(flow, step))
            .await;
    }
    let run = located.map(|(run, _, _)| run);
    inner
        .lifecycle
        .step_failed(lease, run, error, decision, decided_by)
        .await
}
