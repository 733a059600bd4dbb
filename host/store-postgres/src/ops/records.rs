//! Rows in and out: runs and tasks (with their lease) as the contract's records.

use tokio_postgres::Row;
use weft_store_api::{
    LeaseRecord, RunCost, RunRecord, RunStatus, StoreError, TaskRecord, TaskState,
};

use crate::conv::{from_text, i, i32w, to_text, u, u32n};
use crate::tx::Tx;

/// The columns of `runs`, in [`run_from`]'s order.
pub(crate) const RUN_COLS: &str = "id, flow_id, flow_version, tenant, status, input, output, \
    error, created_ms, updated_ms, priority, cost_calls, cost_input_tokens, cost_output_tokens, \
    cost_micro_usd";

/// The columns of `tasks`, in [`task_from`]'s order.
pub(crate) const TASK_COLS: &str = "id, run_id, step_id, attempt, pool, priority, ready_at, \
    state, last_token, error, tenant, lease_owner, lease_token, lease_expires_at, leased_at";

/// A run status from its stored name.
pub(crate) fn run_status(s: &str) -> Result<RunStatus, StoreError> {
    Ok(match s {
        "queued" => RunStatus::Queued,
        "running" => RunStatus::Running,
        "succeeded" => RunStatus::Succeeded,
        "failed" => RunStatus::Failed,
        "cancelled" => RunStatus::Cancelled,
        other => return Err(StoreError::Corrupt(format!("unknown run status {other:?}"))),
    })
}

/// A task state from its stored name.
pub(crate) fn task_state(s: &str) -> Result<TaskState, StoreError> {
    Ok(match s {
        "ready" => TaskState::Ready,
        "delayed" => TaskState::Delayed,
        "leased" => TaskState::Leased,
        "done" => TaskState::Done,
        "dead" => TaskState::Dead,
        "failed" => TaskState::Failed,
        "cancelled" => TaskState::Cancelled,
        "skipped" => TaskState::Skipped,
        other => return Err(StoreError::Corrupt(format!("unknown task state {other:?}"))),
    })
}

/// A run from a row of [`RUN_COLS`].
pub(crate) fn run_from(r: &Row) -> Result<RunRecord, StoreError> {
    let output: Option<String> = r.get(6);
    Ok(RunRecord {
        id: r.get(0),
        flow_id: r.get(1),
        flow_version: r.get(2),
        tenant: r.get(3),
        status: run_status(r.get(4))?,
        input: from_text(r.get(5))?,
        output: output.as_deref().map(from_text).transpose()?,
        error: r.get(7),
        created_ms: u(r.get(8)),
        updated_ms: u(r.get(9)),
        priority: u32n(r.get(10)),
        cost: RunCost {
            calls: u(r.get(11)),
            input_tokens: u(r.get(12)),
            output_tokens: u(r.get(13)),
            micro_usd: u(r.get(14)),
        },
    })
}

/// A task and its lease from a row of [`TASK_COLS`].
pub(crate) fn task_from(r: &Row) -> Result<(TaskRecord, Option<LeaseRecord>), StoreError> {
    let task = TaskRecord {
        id: u(r.get(0)),
        run_id: r.get(1),
        step_id: r.get(2),
        attempt: u32n(r.get(3)),
        pool: r.get(4),
        priority: u32n(r.get(5)),
        ready_at: u(r.get(6)),
        state: task_state(r.get(7))?,
        last_token: u(r.get(8)),
        error: r.get(9),
        tenant: r.get(10),
    };
    let owner: Option<String> = r.get(11);
    let lease = match (
        owner,
        r.get::<_, Option<i64>>(12),
        r.get::<_, Option<i64>>(13),
    ) {
        (Some(owner), Some(token), Some(expires_at)) => Some(LeaseRecord {
            owner,
            token: u(token),
            expires_at: u(expires_at),
            leased_at: u(r.get::<_, Option<i64>>(14).unwrap_or(0)),
        }),
        _ => None,
    };
    Ok((task, lease))
}

/// A run, locked for this transaction when `lock`.
pub(crate) async fn get_run(t: &Tx<'_>, id: &str, lock: bool) -> Result<RunRecord, StoreError> {
    let sql = if lock {
        format!("SELECT {RUN_COLS} FROM runs WHERE id = $1 FOR UPDATE")
    } else {
        format!("SELECT {RUN_COLS} FROM runs WHERE id = $1")
    };
    match t.row(&sql, &[&id]).await? {
        Some(r) => run_from(&r),
        None => Err(StoreError::RunNotFound(id.to_owned())),
    }
}

/// A task and its lease, locked for this transaction when `lock`.
pub(crate) async fn get_task(
    t: &Tx<'_>,
    id: u64,
    lock: bool,
) -> Result<(TaskRecord, Option<LeaseRecord>), StoreError> {
    let sql = if lock {
        format!("SELECT {TASK_COLS} FROM tasks WHERE id = $1 FOR UPDATE")
    } else {
        format!("SELECT {TASK_COLS} FROM tasks WHERE id = $1")
    };
    match t.row(&sql, &[&i(id)]).await? {
        Some(r) => task_from(&r),
        None => Err(StoreError::TaskNotFound(id)),
    }
}

/// Inserts a new run.
pub(crate) async fn insert_run(t: &Tx<'_>, run: &RunRecord) -> Result<(), StoreError> {
    t.exec(
        &format!(
            "INSERT INTO runs ({RUN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15)"
        ),
        &[
            &run.id,
            &run.flow_id,
            &run.flow_version,
            &run.tenant,
            &run.status.as_str(),
            &to_text(&run.input)?,
            &run.output.as_ref().map(to_text).transpose()?,
            &run.error,
            &i(run.created_ms),
            &i(run.updated_ms),
            &i32w(run.priority),
            &i(run.cost.calls),
            &i(run.cost.input_tokens),
            &i(run.cost.output_tokens),
            &i(run.cost.micro_usd),
        ],
    )
    .await?;
    Ok(())
}

/// Stores what changes of a run: status, output, error, updated time, cost.
pub(crate) async fn put_run(t: &Tx<'_>, run: &RunRecord) -> Result<(), StoreError> {
    if run.status.is_final() {
        t.ended(&run.id);
    }
    t.exec(
        "UPDATE runs SET status = $2, output = $3, error = $4, updated_ms = $5, cost_calls = $6, \
         cost_input_tokens = $7, cost_output_tokens = $8, cost_micro_usd = $9 WHERE id = $1",
        &[
            &run.id,
            &run.status.as_str(),
            &run.output.as_ref().map(to_text).transpose()?,
            &run.error,
            &i(run.updated_ms),
            &i(run.cost.calls),
            &i(run.cost.input_tokens),
            &i(run.cost.output_tokens),
            &i(run.cost.micro_usd),
        ],
    )
    .await?;
    Ok(())
}

/// Stores a task with its lease (`None`: no lease).
pub(crate) async fn put_task(
    t: &Tx<'_>,
    task: &TaskRecord,
    lease: Option<&LeaseRecord>,
) -> Result<(), StoreError> {
    t.exec(
        "UPDATE tasks SET attempt = $2, ready_at = $3, state = $4, last_token = $5, error = $6, \
         lease_owner = $7, lease_token = $8, lease_expires_at = $9, leased_at = $10 WHERE id = $1",
        &[
            &i(task.id),
            &i32w(task.attempt),
            &i(task.ready_at),
            &task.state.as_str(),
            &i(task.last_token),
            &task.error,
            &lease.map(|l| l.owner.as_str()),
            &lease.map(|l| i(l.token)),
            &lease.map(|l| i(l.expires_at)),
            &lease.map(|l| i(l.leased_at)),
        ],
    )
    .await?;
    Ok(())
}
