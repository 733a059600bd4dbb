//! Completing a step of a DAG: the store decides, under the run's row lock,
//! which steps became ready and whether the run is done. Two parallel steps
//! completing together are decided one after the other (the second waits
//! for the first's commit and then sees its output), so a join step is
//! enqueued exactly once.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use weft_store_api::{Advance, EventKind, NewTask, RunStatus, StepCompleted, StoreError};

use crate::conv::from_text;
use crate::ops::common::{check_new_tasks, create_tasks, finish_run};
use crate::ops::finish::record_output;
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
    let candidates: Vec<NewTask> = advance.candidates.iter().map(|c| c.task.clone()).collect();
    check_new_tasks(&candidates)?;
    // Locks the task, then the run: every completion of this run waits here.
    let (task, mut run) = record_output(t, task_id, token, output, now).await?;

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
    let payload = json!({
        "task": task.id, "step": task.step_id, "attempt": task.attempt,
        "output": output, "next": next_ids,
    });
    ledger::append(t, &task.run_id, now, EventKind::StepSucceeded, payload).await?;

    let done = !advance.all_steps.is_empty()
        && next_ids.is_empty()
        && advance.all_steps.iter().all(|s| outputs.contains_key(s));
    if done {
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
        });
    }
    run.updated_ms = now;
    put_run(t, &run).await?;
    Ok(StepCompleted {
        enqueued: next_ids,
        run_output: None,
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
