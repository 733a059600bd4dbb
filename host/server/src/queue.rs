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
    let stats = engine.store().queue_stats(engine.now_ms())?;
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
        .queue_next_of(pool, project, engine.now_ms())?;
    Ok(Json(json!({ "next": next })))
}

/// `GET /v1/dlq`: every dead letter.
pub async fn dlq_list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let letters = state.engine.store().dlq_list()?;
    Ok(Json(json!({ "dead_letters": letters })))
}

/// `POST /v1/dlq/{task}/requeue`: the task runs again (next attempt).
pub async fn dlq_requeue(
    State(state): State<AppState>,
    Path(task): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let engine = &state.engine;
    engine.store().dlq_requeue(task, engine.now_ms()).await?;
    engine.wake();
    Ok(Json(json!({ "task": task, "requeued": true })))
}

/// `DELETE /v1/dlq/{task}`: drops the dead letter; its run fails.
pub async fn dlq_purge(
    State(state): State<AppState>,
    Path(task): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let engine = &state.engine;
    engine.store().dlq_purge(task, engine.now_ms()).await?;
    Ok(Json(json!({ "task": task, "purged": true })))
}
