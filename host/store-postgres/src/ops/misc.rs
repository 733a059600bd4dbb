//! The model-call journal, tool calls, artifacts, the dead-letter queue and
//! component swaps.

use serde_json::{Value, json};
use weft_store_api::{EventKind, Purged, RunStatus, StoreError, Swap, TaskState, ToolCall};

use crate::conv::{i, to_text};
use crate::ops::common::{ensure_open, finish_run, make_ready};
use crate::ops::ledger;
use crate::ops::records::{get_run, get_task};
use crate::tx::Tx;

/// Journals a model call's answer; the first answer for a key wins (the
/// primary key decides). Returns whether this call stored it.
pub(crate) async fn journal_put(
    t: &Tx<'_>,
    run: &str,
    step: &str,
    index: u32,
    value: &Value,
    now: u64,
) -> Result<bool, StoreError> {
    get_run(t, run, false).await?;
    let n = t
        .exec(
            "INSERT INTO journal (run_id, step_id, idx, value) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (run_id, step_id, idx) DO NOTHING",
            &[&run, &step, &i64::from(index), &to_text(value)?],
        )
        .await?;
    if n == 0 {
        return Ok(false);
    }
    let payload = json!({"step": step, "index": index});
    ledger::append(t, run, now, EventKind::ModelCallJournaled, payload).await?;
    Ok(true)
}

/// Records a tool call of a step in the run's ledger.
pub(crate) async fn tool_called(
    t: &Tx<'_>,
    run: &str,
    call: &ToolCall,
    now: u64,
) -> Result<(), StoreError> {
    get_run(t, run, false).await?;
    let payload = json!({
        "step": call.step,
        "index": call.index,
        "plugin": call.plugin,
        "sha256": call.sha256,
        "ok": call.error.is_none(),
        "error": call.error,
    });
    ledger::append(t, run, now, EventKind::ToolCalled, payload).await?;
    Ok(())
}

/// Writes (or overwrites) an artifact of a run.
pub(crate) async fn artifact_put(
    t: &Tx<'_>,
    run: &str,
    key: &str,
    value: &Value,
    now: u64,
) -> Result<(), StoreError> {
    get_run(t, run, false).await?;
    if key.is_empty() {
        return Err(StoreError::Invalid(
            "an artifact key must not be empty".into(),
        ));
    }
    let text = to_text(value)?;
    t.exec(
        "INSERT INTO artifacts (run_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value",
        &[&run, &key, &text],
    )
    .await?;
    let payload = json!({"key": key, "bytes": text.len()});
    ledger::append(t, run, now, EventKind::ArtifactPut, payload).await?;
    Ok(())
}

/// Puts a dead-lettered task back in the ready queue with attempt + 1.
pub(crate) async fn dlq_requeue(t: &Tx<'_>, task_id: u64, now: u64) -> Result<(), StoreError> {
    let (mut task, _) = get_task(t, task_id, true).await?;
    let lettered = t
        .row(
            "SELECT 1 FROM dead_letters WHERE task_id = $1",
            &[&i(task_id)],
        )
        .await?
        .is_some();
    if task.state != TaskState::Dead || !lettered {
        return Err(StoreError::NotDeadLettered {
            task: task_id,
            state: task.state,
        });
    }
    let run = get_run(t, &task.run_id, true).await?;
    ensure_open(&run)?;
    t.exec(
        "DELETE FROM dead_letters WHERE task_id = $1",
        &[&i(task_id)],
    )
    .await?;
    task.attempt += 1;
    let payload = json!({"task": task.id, "step": task.step_id, "attempt": task.attempt});
    let run_id = task.run_id.clone();
    make_ready(t, task, now).await?;
    ledger::append(t, &run_id, now, EventKind::TaskRequeued, payload).await?;
    Ok(())
}

/// Drops a task from the dead-letter queue for good; a run still open fails
/// with it in the same transaction.
pub(crate) async fn dlq_purge(t: &Tx<'_>, task_id: u64, now: u64) -> Result<Purged, StoreError> {
    let (task, _) = get_task(t, task_id, true).await?;
    let Some(letter) = t
        .wrows(
            "DELETE FROM dead_letters WHERE task_id = $1 RETURNING reason",
            &[&i(task_id)],
        )
        .await?
        .first()
        .map(|r| r.get::<_, String>(0))
    else {
        return Err(StoreError::NotDeadLettered {
            task: task_id,
            state: task.state,
        });
    };
    let payload = json!({"task": task.id, "step": task.step_id});
    ledger::append(t, &task.run_id, now, EventKind::TaskPurged, payload).await?;
    let run = get_run(t, &task.run_id, true).await?;
    let run_ended = if run.status.is_final() {
        None
    } else {
        let reason = format!(
            "step `{}` (task {}) was purged from the dead-letter queue; it had been dead-lettered: {}",
            task.step_id, task.id, letter
        );
        finish_run(t, run, RunStatus::Failed, None, Some(reason), now).await?;
        Some(RunStatus::Failed)
    };
    Ok(Purged {
        task: task.id,
        run: task.run_id,
        step: task.step_id,
        run_ended,
    })
}

/// Stores the override and appends the `component-swapped` event.
pub(crate) async fn record_swap(t: &Tx<'_>, swap: &Swap, now: u64) -> Result<u64, StoreError> {
    if !swap.stream.starts_with('@') {
        return Err(StoreError::Invalid(format!(
            "a swap's ledger stream must start with `@` (got `{}`)",
            swap.stream
        )));
    }
    t.exec(
        "INSERT INTO overrides (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&swap.key, &serde_json::to_string(&swap.new)?],
    )
    .await?;
    let mut payload = json!({
        "key": swap.key, "old_sha256": swap.old_sha256,
        "new_sha256": swap.new.sha256, "config": swap.new.config,
    });
    if let Some(name) = &swap.new.name {
        payload["name"] = json!(name);
    }
    ledger::append(t, &swap.stream, now, EventKind::ComponentSwapped, payload).await
}
