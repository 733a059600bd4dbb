//! `/v1/worker/...` and `/v1/plugins/{sha256}`: what `weft worker` processes
//! use to lease tasks, report on them and fetch the plugins they run.
//!
//! The bodies are [`weft_core::worker_protocol`]'s types. A request whose
//! lease is not the task's current one answers 409 (and a stale complete,
//! fail or heartbeat is recorded in the run's ledger and the
//! `weft_stale_token_refusals_total` counter).

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use weft_core::worker_protocol::{
    ArtifactRequest, ArtifactResponse, CompleteRequest, FailRequest, HeartbeatRequest,
    HeartbeatResponse, LeaseRequest, LeaseResponse, LeaveRequest, ModelCallRequest,
    ModelCallResponse, ReportResponse, ToolCallRequest, ToolCallResponse,
};

use crate::AppState;
use crate::error::ApiError;

/// A JSON body, or why axum could not read it.
type JsonBody<T> = Result<Json<T>, JsonRejection>;

/// The body, or a 400 saying what is wrong with it.
fn body<T: DeserializeOwned>(body: JsonBody<T>) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// `POST /v1/worker/lease`: the next ready task of the asked pools, waiting
/// up to `wait_ms` (long poll); `{"task": null}` when none came.
pub async fn lease(
    State(state): State<AppState>,
    req: JsonBody<LeaseRequest>,
) -> Result<Json<LeaseResponse>, ApiError> {
    let ask = body(req)?;
    state.metrics.worker_seen(&ask.owner);
    if state.departures.has_left(&ask.worker) {
        return Ok(Json(LeaseResponse { task: None }));
    }
    let cancelled = state.departures.wait(&ask.worker);
    let task = state.engine.lease_remote(&ask, cancelled).await?;
    state
        .metrics
        .live_workers()
        .leased(&ask.worker, &ask.owner, task.as_ref());
    Ok(Json(LeaseResponse { task }))
}

/// `POST /v1/worker/leave`: the worker is stopping; its waiting lease requests
/// answer with no task now.
pub async fn leave(
    State(state): State<AppState>,
    req: JsonBody<LeaveRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let req = body(req)?;
    state.departures.leave(&req.worker);
    Ok(Json(
        serde_json::json!({ "worker": req.worker, "left": true }),
    ))
}

/// `POST /v1/worker/tasks/{task}/heartbeat`: extend the lease.
pub async fn heartbeat(
    State(state): State<AppState>,
    Path(task): Path<u64>,
    req: JsonBody<HeartbeatRequest>,
) -> Result<Json<HeartbeatResponse>, ApiError> {
    let req = body(req)?;
    state.metrics.worker_seen(&req.owner);
    let expires_ms = state
        .engine
        .heartbeat(task, req.token, req.lease_ms)
        .await?;
    Ok(Json(HeartbeatResponse { expires_ms }))
}

/// `POST /v1/worker/tasks/{task}/complete`: the step succeeded.
pub async fn complete(
    State(state): State<AppState>,
    Path(task): Path<u64>,
    req: JsonBody<CompleteRequest>,
) -> Result<Json<ReportResponse>, ApiError> {
    let req = body(req)?;
    let report = state.engine.complete_remote(task, req).await?;
    state.metrics.live_workers().reported(task);
    Ok(Json(report))
}

/// `POST /v1/worker/tasks/{task}/fail`: the attempt failed.
pub async fn fail(
    State(state): State<AppState>,
    Path(task): Path<u64>,
    req: JsonBody<FailRequest>,
) -> Result<Json<ReportResponse>, ApiError> {
    let req = body(req)?;
    let report = state.engine.fail_remote(task, req).await?;
    state.metrics.live_workers().reported(task);
    Ok(Json(report))
}

/// `POST /v1/worker/tasks/{task}/model`: a model call of the running step.
pub async fn model(
    State(state): State<AppState>,
    Path(task): Path<u64>,
    req: JsonBody<ModelCallRequest>,
) -> Result<Json<ModelCallResponse>, ApiError> {
    let req = body(req)?;
    let result = state.engine.model_call_remote(task, &req).await?;
    Ok(Json(ModelCallResponse { result }))
}

/// `POST /v1/worker/tasks/{task}/tool`: a `call-tool` of the running step,
/// run here in the daemon.
pub async fn tool(
    State(state): State<AppState>,
    Path(task): Path<u64>,
    req: JsonBody<ToolCallRequest>,
) -> Result<Json<ToolCallResponse>, ApiError> {
    let req = body(req)?;
    let result = state.engine.tool_call_remote(task, &req).await?;
    Ok(Json(ToolCallResponse { result }))
}

/// `POST /v1/worker/tasks/{task}/artifact-get`.
pub async fn artifact_get(
    State(state): State<AppState>,
    Path(task): Path<u64>,
    req: JsonBody<ArtifactRequest>,
) -> Result<Json<ArtifactResponse>, ApiError> {
    let req = body(req)?;
    let value = state
        .engine
        .artifact_get_remote(task, req.token, &req.key)
        .await?;
    Ok(Json(ArtifactResponse { value }))
}

/// `POST /v1/worker/tasks/{task}/artifact-put`: 400 when the value is not JSON.
pub async fn artifact_put(
    State(state): State<AppState>,
    Path(task): Path<u64>,
    req: JsonBody<ArtifactRequest>,
) -> Result<Json<ArtifactResponse>, ApiError> {
    let req = body(req)?;
    let Some(value) = req.value else {
        return Err(ApiError::BadRequest("an artifact-put needs `value`".into()));
    };
    state
        .engine
        .artifact_put_remote(task, req.token, &req.key, &value)
        .await?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(ArtifactResponse { value: None }))
}

/// `GET /v1/plugins/{sha256}`: a loaded plugin's component (`application/wasm`).
pub async fn plugin(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    let component = state.engine.plugin_component(&sha256)?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no loaded plugin has the component sha256 {sha256}"
        ))
    })?;
    let headers = [
        (header::CONTENT_TYPE, "application/wasm".to_owned()),
        (
            header::HeaderName::from_static("x-weft-plugin"),
            component.name,
        ),
    ];
    Ok((headers, Body::from(component.bytes)).into_response())
}
