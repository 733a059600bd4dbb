//! `GET /v1/workers`: who takes tasks now and what each runs, for the console's
//! workers page and for operators.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// `GET /v1/workers`: `{"in_process", "remote": [slot…], "in_process_running":
/// [task…]}`. A remote slot is `{"owner", "worker", "seen_ms_ago", "running"}`
/// (the task it was handed and has not reported, or `null`), for every slot
/// heard from in the last 90 s. `in_process_running` are the tasks holding a
/// live lease that no remote slot holds: the daemon's own workers run them.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let live = state.metrics.live_workers();
    let slots = live.slots();
    let remote_tasks: HashSet<u64> = slots
        .iter()
        .filter_map(|s| s.running.as_ref().map(|r| r.task))
        .collect();
    let mut in_process_running = Vec::new();
    for pool in state.engine.pools_status().await? {
        for t in pool.running {
            if !remote_tasks.contains(&t.task) {
                in_process_running.push(json!({
                    "task": t.task, "run": t.run, "flow": t.flow, "step": t.step,
                    "tenant": t.tenant, "pool": pool.name, "since_ms": t.since_ms,
                }));
            }
        }
    }
    Ok(Json(json!({
        "in_process": live.in_process(),
        "remote": slots,
        "in_process_running": in_process_running,
    })))
}
