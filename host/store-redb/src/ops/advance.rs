//! Completing a step of a DAG: the store, not the caller, decides inside the
//! completion's transaction which steps became ready and whether the run is done.
//!
//! Two parallel steps that complete at the same time are applied one after the
//! other by the single writer; the second sees the first's output, so a join
//! step is enqueued exactly once (never missed, never doubled).

use crate::db::OrDb;
use std::collections::BTreeSet;

use redb::ReadableTable;
use serde_json::{Map, Value, json};

use crate::ledger::{self, EventKind};
use crate::ops::common::{
    check_new_tasks, create_tasks, finish_run, get_task, put_run, task_ids_of,
};
use crate::ops::finish::record_output;
use crate::tables::Tables;
use weft_store_api::StoreError;
use weft_store_api::{Advance, NewTask, RunStatus, StepCompleted};

/// Completes a leased task of a DAG run: stores its output, enqueues each
/// candidate whose needs all have outputs and that has no task yet, and finishes
/// the run (succeeded) once every step of `advance.all_steps` has an output.
pub fn complete_step(
    t: &mut Tables<'_>,
    task_id: u64,
    token: u64,
    output: &Value,
    advance: &Advance,
    now: u64,
) -> Result<StepCompleted, StoreError> {
    let candidates: Vec<NewTask> = advance.candidates.iter().map(|c| c.task.clone()).collect();
    check_new_tasks(&candidates)?;
    let (task, mut run) = record_output(t, task_id, token, output, now)?;

    let mut has_task = BTreeSet::new();
    for id in task_ids_of(&t.run_tasks, &task.run_id)? {
        has_task.insert(get_task(t, id)?.step_id);
    }
    let mut ready = Vec::new();
    for candidate in &advance.candidates {
        let step = &candidate.task.step_id;
        if has_task.contains(step) || ready.iter().any(|r: &NewTask| &r.step_id == step) {
            continue;
        }
        if all_have_outputs(t, &task.run_id, &candidate.needs)? {
            // A run's later steps keep the priority it was submitted with.
            let mut next = candidate.task.clone();
            next.priority = next.priority.max(run.priority);
            ready.push(next);
        }
    }
    let next_ids = create_tasks(t, &task.run_id, &run.tenant, &ready, now)?;
    let payload = json!({
        "task": task.id, "step": task.step_id, "attempt": task.attempt,
        "output": output, "next": next_ids,
    });
    ledger::append(t, &task.run_id, now, EventKind::StepSucceeded, payload)?;

    let done = !advance.all_steps.is_empty()
        && next_ids.is_empty()
        && all_have_outputs(t, &task.run_id, &advance.all_steps)?;
    if done {
        let run_output = run_output(t, &task.run_id, &advance.final_steps)?;
        finish_run(
            t,
            run,
            RunStatus::Succeeded,
            Some(run_output.clone()),
            None,
            now,
        )?;
        return Ok(StepCompleted {
            enqueued: next_ids,
            run_output: Some(run_output),
        });
    }
    run.updated_ms = now;
    put_run(t, &run)?;
    Ok(StepCompleted {
        enqueued: next_ids,
        run_output: None,
    })
}

fn output_of(t: &Tables<'_>, run: &str, step: &str) -> Result<Option<Value>, StoreError> {
    let text: Option<String> = t
        .step_outputs
        .get((run, step))
        .db()?
        .map(|g| g.value().to_owned());
    Ok(text.map(|s| serde_json::from_str(&s)).transpose()?)
}

fn all_have_outputs(t: &Tables<'_>, run: &str, steps: &[String]) -> Result<bool, StoreError> {
    for step in steps {
        if t.step_outputs.get((run, step.as_str())).db()?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One final step: its output. Several: an object of their outputs by step id.
fn run_output(t: &Tables<'_>, run: &str, final_steps: &[String]) -> Result<Value, StoreError> {
    if let [only] = final_steps {
        return Ok(output_of(t, run, only)?.unwrap_or(Value::Null));
    }
    let mut map = Map::new();
    for step in final_steps {
        map.insert(
            step.clone(),
            output_of(t, run, step)?.unwrap_or(Value::Null),
        );
    }
    Ok(Value::Object(map))
}
