//! Helpers shared by the write operations: counters, new tasks, the ready
//! queue, fencing and finishing a run (as redb's `ops::common`).

use serde_json::{Value, json};
use weft_store_api::{
    EventKind, LeaseRecord, NewTask, RunRecord, RunStatus, StoreError, TaskRecord, TaskState,
};

use crate::conv::{i, i32w, u};
use crate::ops::ledger;
use crate::ops::records::{TASK_COLS, get_task, put_run, put_task, task_from};
use crate::tx::Tx;

/// Counter: fenced operations refused.
pub(crate) const STALE_REFUSALS: &str = "stale_refusals";
/// Counter: tasks redelivered after their lease expired.
pub(crate) const REDELIVERED: &str = "redelivered";

/// Adds `by` to a counter and returns the new value (the row stays locked
/// until the commit).
pub(crate) async fn bump(t: &Tx<'_>, name: &str, by: u64) -> Result<u64, StoreError> {
    let rows = t
        .wrows(
            "INSERT INTO counters (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value \
             RETURNING value",
            &[&name, &i(by)],
        )
        .await?;
    Ok(rows.first().map_or(0, |r| u(r.get(0))))
}

/// Checks tasks to enqueue before anything is written.
pub(crate) fn check_new_tasks(tasks: &[NewTask]) -> Result<(), StoreError> {
    for task in tasks {
        if task.step_id.is_empty() || task.pool.is_empty() {
            return Err(StoreError::Invalid(format!(
                "a task needs a step id and a pool (got step {:?}, pool {:?})",
                task.step_id, task.pool
            )));
        }
    }
    Ok(())
}

/// Creates tasks of `run` in the ready queue; returns their ids.
pub(crate) async fn create_tasks(
    t: &Tx<'_>,
    run: &str,
    tenant: &str,
    tasks: &[NewTask],
    now: u64,
) -> Result<Vec<u64>, StoreError> {
    let mut ids = Vec::with_capacity(tasks.len());
    for new in tasks {
        let rows = t
            .wrows(
                "INSERT INTO tasks (id, run_id, step_id, attempt, pool, priority, ready_at, state, \
                 last_token, tenant) VALUES (nextval('task_ids'), $1, $2, 1, $3, $4, $5, 'ready', \
                 0, $6) RETURNING id",
                &[
                    &run,
                    &new.step_id,
                    &new.pool,
                    &i32w(new.priority),
                    &i(now),
                    &tenant,
                ],
            )
            .await?;
        ids.push(rows.first().map_or(0, |r| u(r.get(0))));
    }
    Ok(ids)
}

/// Puts a task into the ready queue with `ready_at` (its lease, if any, gone).
pub(crate) async fn make_ready(
    t: &Tx<'_>,
    mut task: TaskRecord,
    ready_at: u64,
) -> Result<(), StoreError> {
    task.state = TaskState::Ready;
    task.ready_at = ready_at;
    put_task(t, &task, None).await
}

/// Checks a fencing token, as redb's `check_fence`: `token` holds the task
/// when it is `leased`, its lease has that token and has not run out. A
/// lease that ran out is handed back first. Every refusal is recorded
/// (ledger event + counter) and answered with [`StoreError::StaleToken`].
/// The task's row is locked.
pub(crate) async fn check_fence(
    t: &Tx<'_>,
    task_id: u64,
    token: u64,
    op: &str,
    now: u64,
) -> Result<(TaskRecord, LeaseRecord), StoreError> {
    let (mut task, lease) = get_task(t, task_id, true).await?;
    let mut expired_at = None;
    if task.state == TaskState::Leased {
        match lease {
            Some(lease) if lease.expires_at <= now => {
                crate::ops::queue::expire_one(t, task.clone(), Some(&lease), now).await?;
                task = get_task(t, task_id, false).await?.0;
                if lease.token == token {
                    expired_at = Some(lease.expires_at);
                }
            }
            Some(lease) if lease.token == token => return Ok((task, lease)),
            _ => {}
        }
    }
    bump(t, STALE_REFUSALS, 1).await?;
    let payload = json!({
        "task": task.id, "step": task.step_id, "op": op,
        "presented": token, "current": task.last_token, "state": task.state.as_str(),
        "lease_expired_at": expired_at,
    });
    ledger::append(t, &task.run_id, now, EventKind::StaleTokenRefused, payload).await?;
    Err(StoreError::StaleToken {
        task: task.id,
        presented: token,
        current: task.last_token,
        state: task.state,
        lease_expired_at: expired_at,
    })
}

/// Finishes a run (locked by the caller): sets its final status, cancels its
/// open tasks and appends the run's final ledger event.
pub(crate) async fn finish_run(
    t: &Tx<'_>,
    mut run: RunRecord,
    status: RunStatus,
    output: Option<Value>,
    error: Option<String>,
    now: u64,
) -> Result<(), StoreError> {
    let rows = t
        .rows(
            &format!(
                "SELECT {TASK_COLS} FROM tasks WHERE run_id = $1 \
                 AND state IN ('ready', 'delayed', 'leased') ORDER BY id FOR UPDATE"
            ),
            &[&run.id],
        )
        .await?;
    let mut cancelled = Vec::new();
    for row in &rows {
        let (mut task, _) = task_from(row)?;
        task.state = TaskState::Cancelled;
        put_task(t, &task, None).await?;
        cancelled.push(task.id);
    }
    let (kind, payload) = weft_store_api::run_end_event(status, &output, &error, &cancelled);
    run.status = status;
    run.output = output;
    run.error = error;
    run.updated_ms = now;
    put_run(t, &run).await?;
    ledger::append(t, &run.id, now, kind, payload).await?;
    Ok(())
}

/// Refuses a change to a finished run.
pub(crate) fn ensure_open(run: &RunRecord) -> Result<(), StoreError> {
    if run.status.is_final() {
        return Err(StoreError::RunFinished {
            run: run.id.clone(),
            status: run.status,
        });
    }
    Ok(())
}
