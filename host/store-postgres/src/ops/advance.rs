//! Completing a step of a DAG: the store decides, under the run's row lock,
//! which steps became ready and whether the run is done. Two parallel steps
//! completing together are decided one after the other (the second waits
//! for the first's commit and then sees its output), so a join step is
//! enqueued exactly once.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use weft_store_api::{
    Advance, NewTask, RunStatus, StepCompleted, StepEnd, StepEndRef, StoreError, TaskState,
    step_end_event,
};

use crate::conv::from_text;
use crate::ops::common::{check_new_tasks, create_tasks, finish_run};
use crate::ops::finish::record_end;
use crate::ops::ledger;
use crate::ops::records::put_run;
use crate::tx::Tx;

/// Completes a leased task of a DAG run (see `QueueStore::complete_step`).
pub(crate) async fn complete_step(
    t: &Tx<'_>,
    task_id: u64,
    token: u64,
    output: &Value,
    advance: &Advance,
    now: u64,
) -> Result<StepCompleted, StoreError> {
    advance_step(t, task_id, token, StepEndRef::Output(output), advance, now).await
}

/// Ends a leased task of a DAG run without an output of its own (see
/// `QueueStore::end_step`).
pub(crate) async fn end_step(
    t: &Tx<'_>,
    task_id: u64,
    token: u64,
    end: &StepEnd,
    advance: &Advance,
    now: u64,
) -> Result<StepCompleted, StoreError> {
    advance_step(t, task_id, token, StepEndRef::Other(end), advance, now).await
}

async fn advance_step(
    t: &Tx<'_>,
    task_id: u64,
    token: u64,
    ending: StepEndRef<'_>,
    advance: &Advance,
    now: u64,
) -> Result<StepCompleted, StoreError> {
    let candidates: Vec<NewTask> = advance.candidates.iter().map(|c| c.task.clone()).collect();
    check_new_tasks(&candidates)?;
    let (output, state, error) = match ending {
        StepEndRef::Output(output) => (output, TaskState::Done, None),
        StepEndRef::Other(StepEnd::Skipped { .. }) => (&Value::Null, TaskState::Skipped, None),
        StepEndRef::Other(StepEnd::Failed { error, .. }) => {
            (&Value::Null, TaskState::Failed, Some(error.as_str()))
        }
    };
    // Locks the task, then the run: every completion of this run waits here.
    let (task, mut run) = record_end(t, task_id, token, output, state, error, now).await?;
    if let StepEndRef::Other(StepEnd::Failed { reason, .. }) = ending {
        run.error.get_or_insert_with(|| reason.clone());
    }

    let has_task: BTreeSet<String> = t
        .rows(
            "SELECT step_id FROM tasks WHERE run_id = $1",
            &[&task.run_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let outputs = outputs_of(t, &task.run_id).await?;
    let mut ready: Vec<NewTask> = Vec::new();
    for candidate in &advance.candidates {
        let step = &candidate.task.step_id;
        if has_task.contains(step) || ready.iter().any(|r| &r.step_id == step) {
            continue;
        }
        if candidate.needs.iter().all(|n| outputs.contains_key(n)) {
            // A run's later steps keep the priority it was submitted with.
            let mut next = candidate.task.clone();
            next.priority = next.priority.max(run.priority);
            ready.push(next);
        }
    }
    let next_ids = create_tasks(t, &task.run_id, &run.tenant, &ready, now).await?;
    let (kind, payload) = step_end_event(&task, ending, &next_ids);
    ledger::append(t, &task.run_id, now, kind, payload).await?;

    let done = !advance.all_steps.is_empty()
        && next_ids.is_empty()
        && advance.all_steps.iter().all(|s| outputs.contains_key(s));
    if done {
        if let Some(error) = run.error.clone() {
            finish_run(t, run, RunStatus::Failed, None, Some(error), now).await?;
            return Ok(StepCompleted {
                enqueued: next_ids,
                run_output: None,
                run_failed: true,
            });
        }
        let run_output = run_output(&outputs, &advance.final_steps);
        finish_run(
            t,
            run,
            RunStatus::Succeeded,
            Some(run_output.clone()),
            None,
            now,
        )
        .await?;
        return Ok(StepCompleted {
            enqueued: next_ids,
            run_output: Some(run_output),
            run_failed: false,
        });
    }
    run.updated_ms = now;
    put_run(t, &run).await?;
    Ok(StepCompleted {
        enqueued: next_ids,
        run_output: None,
        run_failed: false,
    })
}

/// Step id → output of every completed step of `run` (this one's included).
async fn outputs_of(t: &Tx<'_>, run: &str) -> Result<Map<String, Value>, StoreError> {
    let mut out = Map::new();
    for r in t
        .rows(
            "SELECT step_id, value FROM step_outputs WHERE run_id = $1",
            &[&run],
        )
        .await?
    {
        out.insert(r.get(0), from_text(r.get(1))?);
    }
    Ok(out)
}

/// One final step: its output. Several: an object of their outputs by step id.
fn run_output(outputs: &Map<String, Value>, final_steps: &[String]) -> Value {
    if let [only] = final_steps {
        return outputs.get(only).cloned().unwrap_or(Value::Null);
    }
    let mut map = Map::new();
    for step in final_steps {
        map.insert(
            step.clone(),
            outputs.get(step).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(map)
}
