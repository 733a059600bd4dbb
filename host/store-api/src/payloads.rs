//! The payloads of the ledger events that start and end a run, built once so
//! that every backend writes the same bytes (the hash chain covers them, and
//! `weft store copy` compares them).

use serde_json::{Value, json};

use crate::ledger::EventKind;
use crate::types::{NewRun, RunRecord, RunStatus};

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
