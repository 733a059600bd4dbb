//! Fenced completion and failure of a task, and cancelling a run.

use crate::db::OrDb;
use serde_json::{Value, json};

use crate::ledger::{self, EventKind};
use crate::ops::common::{
    check_fence, check_new_tasks, create_tasks, ensure_open, finish_run, get_run, put_run,
    put_task, unindex,
};
use crate::tables::{Tables, encode};
use weft_store_api::StoreError;
use weft_store_api::{
    DeadLetter, FailDecision, NewTask, RunOutcome, RunRecord, RunStatus, TaskRecord, TaskState,
};

/// The fenced start of every completion: checks the lease's token and that the
/// run is open, marks the task done and stores the step's output. Returns the
/// task and its run.
pub fn record_output(
    t: &mut Tables<'_>,
    task_id: u64,
    token: u64,
    output: &Value,
    now: u64,
) -> Result<(TaskRecord, RunRecord), StoreError> {
    record_end(t, task_id, token, output, TaskState::Done, now)
}

/// [`record_output`] for a task that ends in `state` (done, skipped, or
/// failed with its run going on).
pub fn record_end(
    t: &mut Tables<'_>,
    task_id: u64,
    token: u64,
    output: &Value,
    state: TaskState,
    now: u64,
) -> Result<(TaskRecord, RunRecord), StoreError> {
    let (mut task, _) = check_fence(t, task_id, token, "complete", now)?;
    let run = get_run(t, &task.run_id)?;
    ensure_open(&run)?;
    unindex(t, &task)?;
    task.state = state;
    put_task(t, &task)?;
    let output_text = serde_json::to_string(output)?;
    t.step_outputs
        .insert(
            (task.run_id.as_str(), task.step_id.as_str()),
            output_text.as_str(),
        )
        .db()?;
    Ok((task, run))
}

/// Completes a leased task: stores the step output, enqueues `next`, finishes the
/// run if `outcome` says so, all in the caller's transaction.
pub fn complete(
    t: &mut Tables<'_>,
    task_id: u64,
    token: u64,
    output: &Value,
    next: &[NewTask],
    outcome: Option<&RunOutcome>,
    now: u64,
) -> Result<(), StoreError> {
    if outcome.is_some() && !next.is_empty() {
        return Err(StoreError::Invalid(
            "a completion that finishes the run cannot enqueue next tasks".into(),
        ));
    }
    check_new_tasks(next)?;
    let (task, mut run) = record_output(t, task_id, token, output, now)?;
    let next_ids = create_tasks(t, &task.run_id, &run.tenant, next, now)?;
    let payload = json!({
        "task": task.id, "step": task.step_id, "attempt": task.attempt,
        "output": output, "next": next_ids,
    });
    ledger::append(t, &task.run_id, now, EventKind::StepSucceeded, payload)?;
    match outcome {
        Some(RunOutcome::Succeeded { output }) => {
            finish_run(
                t,
                run,
                RunStatus::Succeeded,
                Some(output.clone()),
                None,
                now,
            )?;
        }
        Some(RunOutcome::Failed { error }) => {
            finish_run(t, run, RunStatus::Failed, None, Some(error.clone()), now)?;
        }
        None => {
            run.updated_ms = now;
            put_run(t, &run)?;
        }
    }
    Ok(())
}

/// Fails a leased task and applies `decision`; `decided_by` (the retry
/// strategy component's sha256) goes into the `step-failed` ledger event.
pub fn fail(
    t: &mut Tables<'_>,
    task_id: u64,
    token: u64,
    error: &str,
    decision: &FailDecision,
    decided_by: Option<&str>,
    now: u64,
) -> Result<(), StoreError> {
    let (mut task, _) = check_fence(t, task_id, token, "fail", now)?;
    let mut run = get_run(t, &task.run_id)?;
    ensure_open(&run)?;

    unindex(t, &task)?;
    task.error = Some(error.to_owned());
    let mut payload = json!({
        "task": task.id, "step": task.step_id, "attempt": task.attempt,
        "error": error, "decision": decision,
    });
    if let (Some(by), Some(map)) = (decided_by, payload.as_object_mut()) {
        map.insert("decided_by".into(), json!(by));
    }
    ledger::append(t, &task.run_id, now, EventKind::StepFailed, payload)?;
    match decision {
        FailDecision::Retry { at_ms } => {
            task.attempt += 1;
            task.state = TaskState::Delayed;
            task.ready_at = *at_ms;
            t.delayed.insert((*at_ms, task.id), ()).db()?;
            put_task(t, &task)?;
            let payload = json!({
                "task": task.id, "step": task.step_id, "attempt": task.attempt, "at_ms": at_ms,
            });
            ledger::append(t, &task.run_id, now, EventKind::StepRetryScheduled, payload)?;
            run.updated_ms = now;
            put_run(t, &run)?;
        }
        FailDecision::DeadLetter { reason } => {
            task.state = TaskState::Dead;
            put_task(t, &task)?;
            let letter = DeadLetter {
                task: task.id,
                run: task.run_id.clone(),
                step: task.step_id.clone(),
                reason: reason.clone(),
                time_ms: now,
            };
            t.dead_letters
                .insert(task.id, encode(&letter)?.as_slice())
                .db()?;
            let payload = json!({"task": task.id, "step": task.step_id, "reason": reason});
            ledger::append(t, &task.run_id, now, EventKind::StepDeadLettered, payload)?;
            run.updated_ms = now;
            put_run(t, &run)?;
        }
        FailDecision::FailRun { reason } => {
            task.state = TaskState::Failed;
            put_task(t, &task)?;
            finish_run(t, run, RunStatus::Failed, None, Some(reason.clone()), now)?;
        }
        FailDecision::FailStep { .. } => {
            return Err(StoreError::Invalid(
                "a step that fails while its run goes on ends through end_step".into(),
            ));
        }
    }
    Ok(())
}

/// Cancels a run that has not finished; its open tasks are dropped.
pub fn cancel(
    t: &mut Tables<'_>,
    run_id: &str,
    reason: String,
    now: u64,
) -> Result<(), StoreError> {
    let run = get_run(t, run_id)?;
    ensure_open(&run)?;
    finish_run(t, run, RunStatus::Cancelled, None, Some(reason), now)
}
