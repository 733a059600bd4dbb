//! The model-call journal, artifacts and the dead-letter queue.

use crate::db::OrDb;
use redb::ReadableTable;
use serde_json::{Value, json};

use crate::ledger::{self, EventKind};
use crate::ops::common::{ensure_open, finish_run, get_run, get_task, make_ready};
use crate::tables::{Tables, decode};
use weft_store_api::StoreError;
use weft_store_api::{DeadLetter, Purged, RunStatus, TaskState, ToolCall};

/// Journals a model call's answer; the first answer for a key wins. Returns
/// whether this call stored it (false: an answer was already journaled).
pub fn journal_put(
    t: &mut Tables<'_>,
    run: &str,
    step: &str,
    index: u32,
    value: &Value,
    now: u64,
) -> Result<bool, StoreError> {
    get_run(t, run)?;
    if t.journal.get((run, step, index)).db()?.is_some() {
        return Ok(false);
    }
    let text = serde_json::to_string(value)?;
    t.journal.insert((run, step, index), text.as_str()).db()?;
    let payload = json!({"step": step, "index": index});
    ledger::append(t, run, now, EventKind::ModelCallJournaled, payload)?;
    Ok(true)
}

/// Records a tool call of a step in the run's ledger.
pub fn tool_called(
    t: &mut Tables<'_>,
    run: &str,
    call: &ToolCall,
    now: u64,
) -> Result<(), StoreError> {
    get_run(t, run)?;
    let payload = json!({
        "step": call.step,
        "index": call.index,
        "plugin": call.plugin,
        "sha256": call.sha256,
        "ok": call.error.is_none(),
        "error": call.error,
    });
    ledger::append(t, run, now, EventKind::ToolCalled, payload)?;
    Ok(())
}

/// Writes (or overwrites) an artifact of a run.
pub fn artifact_put(
    t: &mut Tables<'_>,
    run: &str,
    key: &str,
    value: &Value,
    now: u64,
) -> Result<(), StoreError> {
    get_run(t, run)?;
    if key.is_empty() {
        return Err(StoreError::Invalid(
            "an artifact key must not be empty".into(),
        ));
    }
    let text = serde_json::to_string(value)?;
    t.artifacts.insert((run, key), text.as_str()).db()?;
    let payload = json!({"key": key, "bytes": text.len()});
    ledger::append(t, run, now, EventKind::ArtifactPut, payload)?;
    Ok(())
}

/// Puts a dead-lettered task back in the ready queue with attempt + 1.
pub fn dlq_requeue(t: &mut Tables<'_>, task_id: u64, now: u64) -> Result<(), StoreError> {
    let mut task = get_task(t, task_id)?;
    if task.state != TaskState::Dead || t.dead_letters.get(task_id).db()?.is_none() {
        return Err(StoreError::NotDeadLettered {
            task: task_id,
            state: task.state,
        });
    }
    let run = get_run(t, &task.run_id)?;
    ensure_open(&run)?;
    t.dead_letters.remove(task_id).db()?;
    task.attempt += 1;
    let payload = json!({"task": task.id, "step": task.step_id, "attempt": task.attempt});
    let run_id = task.run_id.clone();
    make_ready(t, task, now)?;
    ledger::append(t, &run_id, now, EventKind::TaskRequeued, payload)?;
    Ok(())
}

/// Drops a task from the dead-letter queue for good (it stays `dead`, with a
/// `task-purged` event). Its step will never have an output, so a run that is
/// still open can never succeed: the purge fails it in the same transaction
/// (`run-failed` with the reason, its other open tasks cancelled), instead of
/// leaving it `running` with nothing left to do.
pub fn dlq_purge(t: &mut Tables<'_>, task_id: u64, now: u64) -> Result<Purged, StoreError> {
    let task = get_task(t, task_id)?;
    let Some(letter) = t
        .dead_letters
        .remove(task_id)
        .db()?
        .map(|g| decode::<DeadLetter>(g.value()))
        .transpose()?
    else {
        return Err(StoreError::NotDeadLettered {
            task: task_id,
            state: task.state,
        });
    };
    let payload = json!({"task": task.id, "step": task.step_id});
    ledger::append(t, &task.run_id, now, EventKind::TaskPurged, payload)?;
    let run = get_run(t, &task.run_id)?;
    let run_ended = if run.status.is_final() {
        None
    } else {
        let reason = format!(
            "step `{}` (task {}) was purged from the dead-letter queue; it had been dead-lettered: {}",
            task.step_id, task.id, letter.reason
        );
        finish_run(t, run, RunStatus::Failed, None, Some(reason), now)?;
        Some(RunStatus::Failed)
    };
    Ok(Purged {
        task: task.id,
        run: task.run_id,
        step: task.step_id,
        run_ended,
    })
}
