//! `/v1/queue/stats`, `/v1/queue/next` and `/v1/dlq...`: the queue and its
//! dead letters.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::{AppState, views};

/// `GET /v1/queue/stats`.
pub async fn stats(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let engine = &state.engine;
    let stats = engine.store().queue_stats(engine.now_ms()).await?;
    Ok(Json(views::queue_stats(&stats)))
}

/// Query of `GET /v1/queue/next`.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    /// Only this pool (default: every pool).
    pool: Option<String>,
    /// Only the runs whose id has this prefix (default: every run).
    project: Option<String>,
}

/// `GET /v1/queue/next[?pool=P][&project=X]`: the task the next lease would
/// take (among the runs whose id has prefix `X`), or `null`; a peek that
/// leases and changes nothing.
pub async fn next(
    State(state): State<AppState>,
    Query(q): Query<NextQuery>,
) -> Result<Json<Value>, ApiError> {
    let engine = &state.engine;
    let pool = q.pool.as_deref().filter(|p| !p.is_empty());
    let project = q.project.as_deref().filter(|p| !p.is_empty());
    let next = engine
        .store()
        .queue_next(pool, project, engine.now_ms())
        .await?;
    Ok(Json(json!({ "next": next })))
}

/// Query of `GET /v1/dlq`.
#[derive(Debug, Deserialize)]
pub struct DlqQuery {
    /// Only those dead-lettered at this time (ms since the Unix epoch) or later.
    since_ms: Option<u64>,
    /// Only the this many most recent.
    limit: Option<usize>,
}

/// `GET /v1/dlq[?since_ms=T][&limit=N]`: every dead letter (of those
/// dead-lettered since `T`, the `N` most recent), in task order.
pub async fn dlq_list(
    State(state): State<AppState>,
    Query(q): Query<DlqQuery>,
) -> Result<Json<Value>, ApiError> {
    let letters = state.engine.store().dlq_list().await?;
    let letters = weft_store_api::DeadLetter::recent(letters, q.since_ms, q.limit);
    Ok(Json(json!({ "dead_letters": letters })))
}

/// `POST /v1/dlq/{task}/requeue`: the task runs again (next attempt).
pub async fn dlq_requeue(
    State(state): State<AppState>,
    Path(task): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    state.engine.dlq_requeue(task).await?;
    Ok(Json(json!({ "task": task, "requeued": true })))
}

/// `DELETE /v1/dlq/{task}`: drops the dead letter; its run, if still open,
/// fails (its step will never have an output), with its end reported as any
/// run's (`Engine::dlq_purge`).
pub async fn dlq_purge(
    State(state): State<AppState>,
    Path(task): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let purged = state.engine.dlq_purge(task).await?;
    let run_status = match purged.run_ended {
        Some(status) => status,
        None => state
            .engine
            .store()
            .run_get(&purged.run)
            .await?
            .map_or(weft_store_api::RunStatus::Failed, |r| r.status),
    };
    Ok(Json(json!({
        "task": task,
        "purged": true,
        "run_id": purged.run,
        "step": purged.step,
        "run_status": run_status,
        "run_ended": purged.run_ended.is_some(),
    })))
}
