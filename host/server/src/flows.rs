//! `GET /v1/flows`: the flows the daemon serves, the flow files it does not
//! serve as written, and a long poll on changes to both.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// Query of `GET /v1/flows`.
#[derive(Debug, Deserialize)]
pub struct FlowsQuery {
    /// Answer once the status revision is above this (default with `wait`:
    /// the revision current when the request arrives).
    after: Option<u64>,
    /// Wait up to this many seconds (at most 300; more is a `400`) for that.
    wait: Option<u64>,
}

/// `GET /v1/flows[?after=REVISION&wait=SECONDS]`: the flows served (with the
/// file each comes from), the errors of the files not served as written, the
/// generation of the flow set and the status revision. With `wait`, answers
/// when the revision passes `after` or the wait is over.
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<FlowsQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut status = state.flows.clone();
    if let Some(secs) = q.wait {
        let after = q.after.unwrap_or_else(|| status.borrow().revision);
        let wait = crate::wait::wait_secs(secs)?;
        // A watcher that is gone cannot change anything: answer at once.
        let _ = tokio::time::timeout(wait, status.wait_for(|s| s.revision > after)).await;
    }
    // The status is published after its flows are swapped in, so the engine
    // serves at least this generation when it is read second.
    let current = status.borrow().clone();
    let flows: Vec<Value> = state
        .engine
        .flows()
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "version": f.version,
                "file": f.file,
                "steps": f.steps.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
                "graph": f.steps.iter().map(|s| json!({
                    "id": s.id, "uses": s.uses, "needs": s.needs, "pool": s.pool, "with": s.with,
                })).collect::<Vec<_>>(),
                "schedules": f.schedules.iter().map(|s| s.cron.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let errors: Vec<Value> = current
        .errors
        .iter()
        .map(|e| json!({ "file": e.file, "message": e.message }))
        .collect();
    Ok(Json(json!({
        "flows": flows,
        "errors": errors,
        "generation": current.generation,
        "revision": current.revision,
        "reloaded_ms": current.reloaded_ms,
    })))
}
