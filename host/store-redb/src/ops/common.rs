//! Helpers shared by the write operations: records in and out, queue indexes,
//! counters, fencing and finishing a run.

use crate::db::OrDb;
use redb::ReadableTable;
use serde_json::{Value, json};

use crate::ledger::{self, EventKind};
use crate::ops::ready_index;
use crate::tables::{Tables, decode, encode};
use weft_store_api::StoreError;
use weft_store_api::{LeaseRecord, NewTask, RunRecord, RunStatus, TaskRecord, TaskState};

/// Counter: next task id.
pub const NEXT_TASK_ID: &str = "next_task_id";
/// Counter: fenced operations refused.
pub const STALE_REFUSALS: &str = "stale_refusals";
/// Counter: tasks redelivered after their lease expired.
pub const REDELIVERED: &str = "redelivered";

/// Loads a run.
pub fn get_run(t: &Tables<'_>, id: &str) -> Result<RunRecord, StoreError> {
    match t.runs.get(id).db()? {
        Some(g) => decode(g.value()),
        None => Err(StoreError::RunNotFound(id.to_owned())),
    }
}

/// Stores a run.
pub fn put_run(t: &mut Tables<'_>, run: &RunRecord) -> Result<(), StoreError> {
    t.runs
        .insert(run.id.as_str(), encode(run)?.as_slice())
        .db()?;
    Ok(())
}

/// Loads a task.
pub fn get_task(t: &Tables<'_>, id: u64) -> Result<TaskRecord, StoreError> {
    match t.tasks.get(id).db()? {
        Some(g) => decode(g.value()),
        None => Err(StoreError::TaskNotFound(id)),
    }
}

/// Stores a task.
pub fn put_task(t: &mut Tables<'_>, task: &TaskRecord) -> Result<(), StoreError> {
    t.tasks.insert(task.id, encode(task)?.as_slice()).db()?;
    Ok(())
}

/// Adds `by` to a counter and returns the new value.
pub fn bump(t: &mut Tables<'_>, name: &str, by: u64) -> Result<u64, StoreError> {
    let now = t.counters.get(name).db()?.map_or(0, |g| g.value());
    let next = now.saturating_add(by);
    t.counters.insert(name, next).db()?;
    Ok(next)
}

/// Checks tasks to enqueue before anything is written.
pub fn check_new_tasks(tasks: &[NewTask]) -> Result<(), StoreError> {
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
pub fn create_tasks(
    t: &mut Tables<'_>,
    run: &str,
    tenant: &str,
    tasks: &[NewTask],
    now: u64,
) -> Result<Vec<u64>, StoreError> {
    let mut ids = Vec::with_capacity(tasks.len());
    for new in tasks {
        let id = bump(t, NEXT_TASK_ID, 1)?;
        let task = TaskRecord {
            id,
            run_id: run.to_owned(),
            step_id: new.step_id.clone(),
            attempt: 1,
            pool: new.pool.clone(),
            priority: new.priority,
            ready_at: now,
            state: TaskState::Ready,
            last_token: 0,
            error: None,
            tenant: tenant.to_owned(),
        };
        t.run_tasks.insert((run, id), ()).db()?;
        make_ready(t, task, now)?;
        ids.push(id);
    }
    Ok(ids)
}

/// Moves task `id` from wherever it is indexed to the delayed set, due at
/// `at` (a run that waits to start).
pub fn delay_task(t: &mut Tables<'_>, id: u64, at: u64) -> Result<(), StoreError> {
    let mut task = get_task(t, id)?;
    unindex(t, &task)?;
    task.state = TaskState::Delayed;
    task.ready_at = at;
    t.delayed.insert((at, id), ()).db()?;
    put_task(t, &task)
}

/// Puts a task (not in any index) into the ready queue with `ready_at`.
pub fn make_ready(
    t: &mut Tables<'_>,
    mut task: TaskRecord,
    ready_at: u64,
) -> Result<(), StoreError> {
    task.state = TaskState::Ready;
    task.ready_at = ready_at;
    ready_index::insert(t, &mut task)?;
    put_task(t, &task)
}

/// Takes a task out of whichever index its state puts it in (ready queue,
/// delayed set, or lease tables).
pub fn unindex(t: &mut Tables<'_>, task: &TaskRecord) -> Result<(), StoreError> {
    match task.state {
        TaskState::Ready => ready_index::remove(t, task)?,
        TaskState::Delayed => {
            t.delayed.remove((task.ready_at, task.id)).db()?;
        }
        TaskState::Leased => {
            let lease = t
                .leases
                .remove(task.id)
                .db()?
                .map(|g| decode::<LeaseRecord>(g.value()));
            if let Some(lease) = lease {
                t.lease_expiry.remove((lease?.expires_at, task.id)).db()?;
            }
            crate::ops::pool_leases::remove(t, &task.pool, task.id)?;
        }
        TaskState::Done
        | TaskState::Dead
        | TaskState::Failed
        | TaskState::Cancelled
        | TaskState::Skipped => {}
    }
    Ok(())
}

/// Checks a fencing token. `token` holds the task's lease when the task is
/// `leased`, its lease has that token, and the lease has not run out
/// (`expires_at > now`). A lease that ran out is handed back first (as the next
/// `lease` would: `lease-expired`, the task `ready` again), whoever asks and
/// whether or not anyone else has leased the task since: the worker that held
/// it may have been paused past its expiry while another one was about to
/// take the task. Every refusal is recorded (ledger event + counter) and
/// answered with [`StoreError::StaleToken`].
pub fn check_fence(
    t: &mut Tables<'_>,
    task_id: u64,
    token: u64,
    op: &str,
    now: u64,
) -> Result<(TaskRecord, LeaseRecord), StoreError> {
    let mut task = get_task(t, task_id)?;
    let mut expired_at = None;
    if task.state == TaskState::Leased {
        let lease = t
            .leases
            .get(task_id)
            .db()?
            .map(|g| decode::<LeaseRecord>(g.value()));
        match lease.transpose()? {
            Some(lease) if lease.expires_at <= now => {
                crate::ops::queue::expire_one(t, lease.expires_at, task_id, now)?;
                task = get_task(t, task_id)?;
                if lease.token == token {
                    expired_at = Some(lease.expires_at);
                }
            }
            Some(lease) if lease.token == token => return Ok((task, lease)),
            _ => {}
        }
    }
    bump(t, STALE_REFUSALS, 1)?;
    let payload = json!({
        "task": task.id, "step": task.step_id, "op": op,
        "presented": token, "current": task.last_token, "state": task.state.as_str(),
        "lease_expired_at": expired_at,
    });
    ledger::append(t, &task.run_id, now, EventKind::StaleTokenRefused, payload)?;
    Err(StoreError::StaleToken {
        task: task.id,
        presented: token,
        current: task.last_token,
        state: task.state,
        lease_expired_at: expired_at,
    })
}

/// The ids of a run's tasks.
pub fn task_ids_of(
    table: &impl ReadableTable<(&'static str, u64), ()>,
    run: &str,
) -> Result<Vec<u64>, StoreError> {
    let mut ids = Vec::new();
    for entry in table.range((run, 0u64)..=(run, u64::MAX)).db()? {
        ids.push(entry.db()?.0.value().1);
    }
    Ok(ids)
}

/// Finishes a run: sets its final status, cancels its open tasks and appends the
/// run's final ledger event.
pub fn finish_run(
    t: &mut Tables<'_>,
    mut run: RunRecord,
    status: RunStatus,
    output: Option<Value>,
    error: Option<String>,
    now: u64,
) -> Result<(), StoreError> {
    let mut cancelled = Vec::new();
    for id in task_ids_of(&t.run_tasks, &run.id)? {
        let mut task = get_task(t, id)?;
        if task.state.is_open() {
            unindex(t, &task)?;
            task.state = TaskState::Cancelled;
            put_task(t, &task)?;
            cancelled.push(id);
        }
    }
    let (kind, payload) = weft_store_api::run_end_event(status, &output, &error, &cancelled);
    run.status = status;
    run.output = output;
    run.error = error;
    run.updated_ms = now;
    put_run(t, &run)?;
    ledger::append(t, &run.id, now, kind, payload)?;
    Ok(())
}

/// Refuses a change to a finished run.
pub fn ensure_open(run: &RunRecord) -> Result<(), StoreError> {
    if run.status.is_final() {
        return Err(StoreError::RunFinished {
            run: run.id.clone(),
            status: run.status,
        });
    }
    Ok(())
}
