//! The payloads of the ledger events that start and end a run, built once so
//! that every backend writes the same bytes (the hash chain covers them, and
//! `weft store copy` compares them).

use serde_json::{Value, json};

use crate::ledger::EventKind;
use crate::types::{FailDecision, NewRun, RunRecord, RunStatus, StepEnd, TaskRecord};

/// The `run-created` payload of `run`, submitted as `new`, whose initial
/// tasks got `task_ids` (in `new.initial_tasks` order); `origin` (e.g. the
/// schedule that fired it) under `"origin"` when given.
pub fn run_created_payload(
    run: &RunRecord,
    new: &NewRun,
    task_ids: &[u64],
    origin: Option<Value>,
) -> Value {
    let tasks: Vec<Value> = new
        .initial_tasks
        .iter()
        .zip(task_ids)
        .map(|(nt, tid)| {
            json!({"task": tid, "step": nt.step_id, "pool": nt.pool, "priority": nt.priority})
        })
        .collect();
    let mut payload = json!({
        "flow_id": run.flow_id, "flow_version": run.flow_version, "tenant": run.tenant,
        "input": run.input, "priority": run.priority,
        "idempotency_key": new.idempotency_key.as_ref().map(|(k, _)| k),
        "tasks": tasks,
    });
    if let (Some(origin), Value::Object(map)) = (origin, &mut payload) {
        map.insert("origin".into(), origin);
    }
    if let (Some(at), Value::Object(map)) = (new.not_before, &mut payload) {
        map.insert("not_before".into(), json!(at));
    }
    payload
}

/// The event that ends a run with `status` (`run-succeeded` with its output,
/// `run-failed` with its error, `run-cancelled` with its reason) and the
/// tasks the end cancelled.
pub fn run_end_event(
    status: RunStatus,
    output: &Option<Value>,
    error: &Option<String>,
    cancelled: &[u64],
) -> (EventKind, Value) {
    let (kind, mut payload) = match status {
        RunStatus::Succeeded => (EventKind::RunSucceeded, json!({ "output": output })),
        RunStatus::Failed => (EventKind::RunFailed, json!({ "error": error })),
        _ => (EventKind::RunCancelled, json!({ "reason": error })),
    };
    if let Value::Object(map) = &mut payload {
        map.insert("cancelled_tasks".into(), json!(cancelled));
    }
    (kind, payload)
}

/// How a step of a DAG ended, as [`step_end_event`] records it.
#[derive(Debug, Clone, Copy)]
pub enum StepEndRef<'a> {
    /// It ran and gave this output.
    Output(&'a Value),
    /// It was skipped, or failed while its run goes on.
    Other(&'a StepEnd),
}

/// The ledger event of `task`'s step ending, with `next` the tasks it made
/// ready: `step-succeeded` (its output), `step-skipped` (the reason) or
/// `step-failed` (the error and a `fail-step` decision).
pub fn step_end_event(task: &TaskRecord, end: StepEndRef<'_>, next: &[u64]) -> (EventKind, Value) {
    let (kind, mut payload) = match end {
        StepEndRef::Output(output) => (EventKind::StepSucceeded, json!({ "output": output })),
        StepEndRef::Other(StepEnd::Skipped { reason }) => {
            (EventKind::StepSkipped, json!({ "reason": reason }))
        }
        StepEndRef::Other(StepEnd::Failed {
            error,
            reason,
            decided_by,
        }) => {
            let decision = FailDecision::FailStep {
                reason: reason.clone(),
            };
            let mut payload = json!({ "error": error, "decision": decision });
            if let (Some(by), Some(map)) = (decided_by, payload.as_object_mut()) {
                map.insert("decided_by".into(), json!(by));
            }
            (EventKind::StepFailed, payload)
        }
    };
    if let Some(map) = payload.as_object_mut() {
        map.insert("task".into(), json!(task.id));
        map.insert("step".into(), json!(task.step_id));
        map.insert("attempt".into(), json!(task.attempt));
        map.insert("next".into(), json!(next));
    }
    (kind, payload)
}
