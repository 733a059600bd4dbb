//! Fenced completion and failure of a task, and cancelling a run.

use serde_json::{Value, json};
use weft_store_api::{
    DeadLetter, EventKind, FailDecision, NewTask, RunOutcome, RunRecord, RunStatus, StoreError,
    TaskRecord, TaskState,
};

use crate::conv::{i, to_text};
use crate::ops::common::{check_fence, check_new_tasks, create_tasks, ensure_open, finish_run};
use crate::ops::ledger;
use crate::ops::records::{get_run, put_run, put_task};
use crate::tx::Tx;

/// The fenced start of every completion: checks the token (locking the
/// task), locks the run and checks it is open, marks the task done and
/// stores the step's output.
pub(crate) async fn record_output(
    t: &Tx<'_>,
    task_id: u64,
    token: u64,
    output: &Value,
    now: u64,
) -> Result<(TaskRecord, RunRecord), StoreError> {
    record_end(t, task_id, token, output, TaskState::Done, None, now).await
}

/// [`record_output`] for a task that ends in `state` (done, skipped, or
/// failed with its run going on) with `error`.
pub(crate) async fn record_end(
    t: &Tx<'_>,
    task_id: u64,
    token: u64,
    output: &Value,
    state: TaskState,
    error: Option<&str>,
    now: u64,
) -> Result<(TaskRecord, RunRecord), StoreError> {
    let (mut task, _) = check_fence(t, task_id, token, "complete", now).await?;
    let run = get_run(t, &task.run_id, true).await?;
    ensure_open(&run)?;
    task.state = state;
    if let Some(error) = error {
        task.error = Some(error.to_owned());
    }
    put_task(t, &task, None).await?;
    t.exec(
        "INSERT INTO step_outputs (run_id, step_id, value) VALUES ($1, $2, $3) \
         ON CONFLICT (run_id, step_id) DO UPDATE SET value = EXCLUDED.value",
        &[&task.run_id, &task.step_id, &to_text(output)?],
    )
    .await?;
    Ok((task, run))
}

/// Completes a leased task: stores its output, enqueues `next`, finishes the
/// run if `outcome` says so.
pub(crate) async fn complete(
    t: &Tx<'_>,
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
    let (task, mut run) = record_output(t, task_id, token, output, now).await?;
    let next_ids = create_tasks(t, &task.run_id, &run.tenant, next, now).await?;
    let payload = json!({
        "task": task.id, "step": task.step_id, "attempt": task.attempt,
        "output": output, "next": next_ids,
    });
    ledger::append(t, &task.run_id, now, EventKind::StepSucceeded, payload).await?;
    match outcome {
        Some(RunOutcome::Succeeded { output }) => {
            finish_run(
                t,
                run,
                RunStatus::Succeeded,
                Some(output.clone()),
                None,
                now,
            )
            .await
        }
        Some(RunOutcome::Failed { error }) => {
            finish_run(t, run, RunStatus::Failed, None, Some(error.clone()), now).await
        }
        None => {
            run.updated_ms = now;
            put_run(t, &run).await
        }
    }
}

/// Fails a leased task and applies `decision`.
pub(crate) async fn fail(
    t: &Tx<'_>,
    task_id: u64,
    token: u64,
    error: &str,
    decision: &FailDecision,
    decided_by: Option<&str>,
    now: u64,
) -> Result<(), StoreError> {
    let (mut task, _) = check_fence(t, task_id, token, "fail", now).await?;
    let mut run = get_run(t, &task.run_id, true).await?;
    ensure_open(&run)?;
    task.error = Some(error.to_owned());
    let mut payload = json!({
        "task": task.id, "step": task.step_id, "attempt": task.attempt,
        "error": error, "decision": decision,
    });
    if let (Some(by), Some(map)) = (decided_by, payload.as_object_mut()) {
        map.insert("decided_by".into(), json!(by));
    }
    ledger::append(t, &task.run_id, now, EventKind::StepFailed, payload).await?;
    match decision {
        FailDecision::Retry { at_ms } => {
            task.attempt += 1;
            task.state = TaskState::Delayed;
            task.ready_at = *at_ms;
            put_task(t, &task, None).await?;
            let payload = json!({
                "task": task.id, "step": task.step_id, "attempt": task.attempt, "at_ms": at_ms,
            });
            ledger::append(t, &task.run_id, now, EventKind::StepRetryScheduled, payload).await?;
            run.updated_ms = now;
            put_run(t, &run).await?;
        }
        FailDecision::DeadLetter { reason } => {
            task.state = TaskState::Dead;
            put_task(t, &task, None).await?;
            let letter = DeadLetter {
                task: task.id,
                run: task.run_id.clone(),
                step: task.step_id.clone(),
                reason: reason.clone(),
                time_ms: now,
            };
            t.exec(
                "INSERT INTO dead_letters (task_id, run_id, step_id, reason, time_ms) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &i(letter.task),
                    &letter.run,
                    &letter.step,
                    &letter.reason,
                    &i(letter.time_ms),
                ],
            )
            .await?;
            let payload = json!({"task": task.id, "step": task.step_id, "reason": reason});
            ledger::append(t, &task.run_id, now, EventKind::StepDeadLettered, payload).await?;
            run.updated_ms = now;
            put_run(t, &run).await?;
        }
        FailDecision::FailRun { reason } => {
            task.state = TaskState::Failed;
            put_task(t, &task, None).await?;
            finish_run(t, run, RunStatus::Failed, None, Some(reason.clone()), now).await?;
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
pub(crate) async fn cancel(
    t: &Tx<'_>,
    run_id: &str,
    reason: &str,
    now: u64,
) -> Result<(), StoreError> {
    let run = get_run(t, run_id, true).await?;
    ensure_open(&run)?;
    finish_run(
        t,
        run,
        RunStatus::Cancelled,
        None,
        Some(reason.to_owned()),
        now,
    )
    .await
}
