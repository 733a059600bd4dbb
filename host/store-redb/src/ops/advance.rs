//! Completing a step of a DAG: the store, not the caller, decides inside the
//! completion's transaction which steps became ready and whether the run is done.
//!
//! Two parallel steps that complete at the same time are applied one after the
//! other by the single writer; the second sees the first's output, so a join
//! step is enqueued exactly once (never missed, never doubled).

use crate::db::OrDb;
use std::collections::BTreeSet;

use redb::ReadableTable;
use serde_json::{Map, Value};

use crate::ledger;
use crate::ops::common::{
    check_new_tasks, create_tasks, finish_run, get_task, put_run, put_task, task_ids_of,
};
use crate::ops::finish::record_end;
use crate::tables::Tables;
use weft_store_api::StoreError;
use weft_store_api::{Advance, NewTask, RunStatus, StepCompleted, StepEnd, TaskState};

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
    advance_step(t, task_id, token, Ending::Output(output), advance, now)
}

/// Ends a leased task of a DAG run without an output of its own (see
/// `QueueStore::end_step`), and decides what became ready as
/// [`complete_step`] does.
pub fn end_step(
    t: &mut Tables<'_>,
    task_id: u64,
    token: u64,
    end: &StepEnd,
    advance: &Advance,
    now: u64,
) -> Result<StepCompleted, StoreError> {
    advance_step(t, task_id, token, Ending::Other(end), advance, now)
}

/// How the step being advanced past ended.
enum Ending<'a> {
    Output(&'a Value),
    Other(&'a StepEnd),
}

fn advance_step(
    t: &mut Tables<'_>,
    task_id: u64,
    token: u64,
    ending: Ending<'_>,
    advance: &Advance,
    now: u64,
) -> Result<StepCompleted, StoreError> {
    let candidates: Vec<NewTask> = advance.candidates.iter().map(|c| c.task.clone()).collect();
    check_new_tasks(&candidates)?;
    let (output, state) = match ending {
        Ending::Output(output) => (output, TaskState::Done),
        Ending::Other(StepEnd::Skipped { .. }) => (&Value::Null, TaskState::Skipped),
        Ending::Other(StepEnd::Failed { .. }) => (&Value::Null, TaskState::Failed),
    };
    let (mut task, mut run) = record_end(t, task_id, token, output, state, now)?;
    if let Ending::Other(StepEnd::Failed { error, reason, .. }) = ending {
        task.error = Some(error.clone());
        put_task(t, &task)?;
        run.error.get_or_insert_with(|| reason.clone());
    }

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
    let (kind, payload) = weft_store_api::step_end_event(&task, ending_payload(ending), &next_ids);
    ledger::append(t, &task.run_id, now, kind, payload)?;

    let done = !advance.all_steps.is_empty()
        && next_ids.is_empty()
        && all_have_outputs(t, &task.run_id, &advance.all_steps)?;
    if done {
        if let Some(error) = run.error.clone() {
            finish_run(t, run, RunStatus::Failed, None, Some(error), now)?;
            return Ok(StepCompleted {
                enqueued: next_ids,
                run_output: None,
                run_failed: true,
            });
        }
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
            run_failed: false,
        });
    }
    run.updated_ms = now;
    put_run(t, &run)?;
    Ok(StepCompleted {
        enqueued: next_ids,
        run_output: None,
        run_failed: false,
    })
}

fn ending_payload(ending: Ending<'_>) -> weft_store_api::StepEndRef<'_> {
    match ending {
        Ending::Output(output) => weft_store_api::StepEndRef::Output(output),
        Ending::Other(end) => weft_store_api::StepEndRef::Other(end),
    }
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
