//! `/v1/runs...`: submit, list, read, verify, cancel and resume runs.
//!
//! A tenant's token submits runs for its tenant and sees only them: another
//! tenant's run answers exactly like a run that does not exist.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use weft_engine::{ProgressEvent, SubmitOptions};
use weft_store_api::{DeadLetter, RunCursor, RunFilter, RunRecord, RunStatus};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::{AppState, views};

/// The answer for a run that does not exist or that `caller` may not see.
fn no_run(id: &str) -> ApiError {
    ApiError::NotFound(format!("no run `{id}`"))
}

/// Run `id`, if it exists and `caller` may see it.
pub(crate) async fn visible_run(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<RunRecord, ApiError> {
    state
        .engine
        .store()
        .run_get(id)
        .await?
        .filter(|run| caller.may_see(&run.tenant))
        .ok_or_else(|| no_run(id))
}

/// The body of `POST /v1/runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// The flow id.
    pub flow: String,
    /// The run input (default `{}`).
    #[serde(default)]
    pub input: Option<Value>,
    /// Submitting the same key again answers the first run.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Higher runs first (default 0).
    #[serde(default)]
    pub priority: Option<u32>,
    /// Start no earlier than this RFC 3339 time (`2026-12-07T09:00:00Z`):
    /// the run waits, queued, holding no worker. A time past starts it now.
    #[serde(default)]
    pub not_before: Option<String>,
}

/// `not_before` as ms since the Unix epoch; a 400 that says what a time
/// must look like.
fn start_time(text: &str) -> Result<u64, ApiError> {
    let at = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
        ApiError::BadRequest(format!(
            "not_before: {text:?} is not an RFC 3339 time ({e}); expected e.g. \
             \"2026-12-07T09:00:00Z\" or \"2026-12-07T10:00:00+01:00\""
        ))
    })?;
    Ok(u64::try_from(at.timestamp_millis()).unwrap_or(0))
}

/// `POST /v1/runs`: 201 with the new run, 200 with the run an idempotency key
/// already names. A tenant's run belongs to its tenant; an admin's to the
/// engine's own.
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<SubmitBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let input = body.input.unwrap_or_else(|| json!({}));
    let not_before = body.not_before.as_deref().map(start_time).transpose()?;
    let options = SubmitOptions {
        idempotency_key: body.idempotency_key,
        tenant: caller.tenant().map(str::to_owned),
        priority: body.priority.unwrap_or(0),
        not_before,
    };
    let sub = state.engine.submit_with(&body.flow, input, options).await?;
    if !sub.created {
        state.metrics.idempotency_hit();
    }
    let status = if sub.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "run_id": sub.run_id, "created": sub.created })),
    ))
}

/// Query of `GET /v1/runs`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    flow: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
    /// Submitted at or after (ms since the Unix epoch).
    since_ms: Option<u64>,
    /// Submitted before.
    until_ms: Option<u64>,
    /// The `next` of the previous page.
    before: Option<String>,
}

/// `GET /v1/runs?flow=&status=&since_ms=&until_ms=&before=&limit=`: newest
/// first; a tenant's own only. `next` is the `before` of the following page
/// (`null` on the last one).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = match q.status {
        Some(s) => Some(
            serde_json::from_value::<RunStatus>(Value::String(s.clone())).map_err(|_| {
                ApiError::BadRequest(format!(
                    "unknown status `{s}` (expected queued, running, succeeded, failed or cancelled)"
                ))
            })?,
        ),
        None => None,
    };
    let before = match q.before.as_deref() {
        Some(text) => Some(RunCursor::decode(text).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`before={text}` is not a page cursor: pass the `next` of the previous page"
            ))
        })?),
        None => None,
    };
    let filter = RunFilter {
        tenant: caller.tenant().map(str::to_owned),
        flow_id: q.flow,
        status,
        since_ms: q.since_ms,
        until_ms: q.until_ms,
        before,
    };
    let limit = q.limit.unwrap_or(100).max(1);
    // One more than the page tells whether another page follows.
    let mut runs = state.engine.store().runs_list(limit + 1, &filter).await?;
    let next = if runs.len() > limit {
        runs.truncate(limit);
        runs.last().map(|r| RunCursor::of(r).encode())
    } else {
        None
    };
    Ok(Json(json!({ "runs": runs, "next": next })))
}

/// Query of `GET /v1/runs/{id}`.
#[derive(Debug, Deserialize)]
pub struct GetQuery {
    /// Wait up to this many seconds (at most 300; more is a `400`) for the
    /// run to finish.
    wait: Option<u64>,
}

/// `GET /v1/runs/{id}[?wait=SECONDS]`: the run, its tasks, its step outputs and
/// its dead letters (so that a tenant needs no `/v1/dlq`); with `wait`, answers when the run has finished or the wait is over.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<GetQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(secs) = q.wait {
        let wait = crate::wait::wait_secs(secs)?;
        visible_run(&state, &caller, &id).await?;
        wait_for_end(&state, &id, wait).await?;
    }
    let store = state.engine.store();
    let run = visible_run(&state, &caller, &id).await?;
    let tasks: Vec<Value> = store.tasks_of(&id).await?.iter().map(views::task).collect();
    let outputs = store.step_outputs(&id).await?;
    let dead: Vec<DeadLetter> = store
        .dlq_list()
        .await?
        .into_iter()
        .filter(|d| d.run == id)
        .collect();
    Ok(Json(json!({
        "run": run,
        "tasks": tasks,
        "outputs": outputs,
        "dead_letters": dead,
    })))
}

/// Returns when run `id` is final or `wait` has passed; a missing run is 404.
async fn wait_for_end(state: &AppState, id: &str, wait: Duration) -> Result<(), ApiError> {
    // Subscribe before looking, so that an end between the look and the wait
    // is not missed: to this engine's events, and to the ends that other
    // processes commit (several daemons on one database).
    let mut events = state.engine.subscribe();
    let store = state.engine.store();
    let there = crate::run_ends::ended_elsewhere(store, id);
    let run = store.run_get(id).await?.ok_or_else(|| no_run(id))?;
    if run.status.is_final() {
        return Ok(());
    }
    let here = async {
        while let Some(event) = events.recv().await {
            if matches!(&event, ProgressEvent::RunFinished { run, .. } if run == id) {
                return;
            }
        }
    };
    let ended = async {
        tokio::select! {
            () = here => {}
            () = there => {}
        }
    };
    let _ = tokio::time::timeout(wait, ended).await;
    Ok(())
}

/// `GET /v1/runs/{id}/verify`: recomputes the hash chain.
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    visible_run(&state, &caller, &id).await?;
    Ok(Json(views::verify(
        &state.engine.store().verify(&id).await?,
    )))
}

/// `POST /v1/runs/{id}/cancel`, with an optional body `{"reason": "…"}`:
/// through `Engine::cancel`, so that the end is reported as any run's (the
/// run-finished event: metrics, `?wait=`) and its running steps stop.
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let reason = cancel_reason(&body)?;
    visible_run(&state, &caller, &id).await?;
    state.engine.cancel(&id, reason.as_deref()).await?;
    let error = weft_store_api::cancel_reason(reason.as_deref());
    Ok(Json(
        json!({ "run_id": id, "status": "cancelled", "error": error }),
    ))
}

/// The `reason` of a cancel's body; none for an empty body. `400` for a body
/// that is not `{"reason": string}`.
fn cancel_reason(body: &[u8]) -> Result<Option<String>, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct CancelBody {
        reason: Option<String>,
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<CancelBody>(body)
        .map(|b| b.reason)
        .map_err(|e| {
            ApiError::BadRequest(format!("a cancel's body is `{{\"reason\": \"…\"}}`: {e}"))
        })
}

/// `POST /v1/runs/{id}/resume`: the daemon's workers already run every ready
/// task, so this hands back every lease that has run out (a worker that died
/// holding it) at once instead of at the next lease, and wakes the workers.
/// Dead-lettered steps stay where they are (`POST /v1/dlq/{task}/requeue`).
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let before = visible_run(&state, &caller, &id).await?;
    let engine = &state.engine;
    let store = engine.store();
    let redelivered = if before.status.is_final() {
        0
    } else {
        let handed_back = store.expire_leases(engine.now_ms()).await?;
        engine.wake();
        handed_back
    };
    let page = store
        .run_events(&id, u64::MAX)
        .await?
        .ok_or_else(|| no_run(&id))?;
    // What the run still waits for: leases not run out yet (a worker that
    // died holding one; its task comes back when it runs out).
    let now = engine.now_ms();
    let held: Vec<Value> = engine
        .held_leases(&id)
        .await?
        .into_iter()
        .map(|l| {
            json!({
                "task": l.task,
                "step": l.step,
                "owner": l.owner,
                "expires_ms": l.expires_ms,
                "expires_in_ms": l.expires_ms.saturating_sub(now),
            })
        })
        .collect();
    Ok(Json(json!({
        "run_id": id,
        "status": page.run.status,
        "open_tasks": page.open_tasks,
        "last_seq": page.last_seq,
        "leases_handed_back": redelivered,
        "leases_held": held,
    })))
}
