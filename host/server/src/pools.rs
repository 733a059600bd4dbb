//! `/v1/pools...`: what each pool holds (`weft pools`), and the hot swap of a
//! pool's policy and a flow's retry strategy (`weft policy set`, `weft retry
//! set`). Admin only: a pool lists the runs of every tenant.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use weft_core::SwapTarget;

use crate::AppState;
use crate::error::ApiError;

/// The largest component a swap accepts (a componentize-py one is ~18 MB).
pub const MAX_COMPONENT_BYTES: usize = 64 * 1024 * 1024;

/// Query of `GET /v1/pools`.
#[derive(Debug, Deserialize)]
pub struct PoolsQuery {
    /// Only this pool.
    pool: Option<String>,
}

/// `GET /v1/pools[?pool=P]`: every pool (or `P`) with its limits, running and
/// waiting tasks, and the circuit breaker of every model called since the
/// daemon started; `now_ms` lets a client say how long each has been there.
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<PoolsQuery>,
) -> Result<Json<Value>, ApiError> {
    let engine = &state.engine;
    let mut pools = engine.pools_status().await?;
    if let Some(name) = q.pool.as_deref().filter(|p| !p.is_empty()) {
        pools.retain(|p| p.name == name);
        if pools.is_empty() {
            return Err(ApiError::NotFound(format!("unknown pool `{name}`")));
        }
    }
    let circuits = engine.circuits();
    Ok(Json(
        json!({ "now_ms": engine.now_ms(), "pools": pools, "circuits": circuits }),
    ))
}

/// Query of the swap endpoints.
#[derive(Debug, Deserialize)]
pub struct SwapQuery {
    /// The new component's config as JSON text (default: the configured one).
    config: Option<String>,
    /// What to call the component (`weft pools` shows it), e.g. `fair-share`.
    name: Option<String>,
}

fn name_of(q: &SwapQuery) -> Option<String> {
    q.name.clone().filter(|n| !n.is_empty())
}

fn config_of(q: &SwapQuery) -> Result<Option<Value>, ApiError> {
    q.config
        .as_deref()
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|e| ApiError::BadRequest(format!("`config` is not JSON: {e}")))
        })
        .transpose()
}

/// Swaps `body` in for `target` with the query's config and name.
async fn swap(
    state: &AppState,
    target: SwapTarget,
    q: &SwapQuery,
    body: &[u8],
) -> Result<Json<Value>, ApiError> {
    let config = config_of(q)?;
    let report = state
        .engine
        .swap_component(&target, name_of(q), body, config)
        .await?;
    Ok(Json(json!(report)))
}

/// `PUT /v1/pools/{pool}/policy[?config=JSON][&name=N]` with the component's bytes as
/// the body: the pool's next admission decision uses it. 400 (the old one
/// stays) when it is not a pool policy component.
pub async fn set_policy(
    State(state): State<AppState>,
    Path(pool): Path<String>,
    Query(q): Query<SwapQuery>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let answer = swap(&state, SwapTarget::Pool(pool), &q, &body).await?;
    state.engine.wake();
    Ok(answer)
}

/// `PUT /v1/flows/{flow}/retry[?config=JSON][&name=N]` with the component's bytes as
/// the body: the flow's next failed attempt is decided by it.
pub async fn set_retry(
    State(state): State<AppState>,
    Path(flow): Path<String>,
    Query(q): Query<SwapQuery>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    swap(&state, SwapTarget::Retry(flow), &q, &body).await
}

/// `GET /v1/pools/{pool}/swaps`: the ledger stream of the pool's policy swaps
/// (`@pool:P`), oldest first: `{"stream", "events": [event…]}` (`[]` when
/// nothing was ever swapped). `404` for a pool weft.yaml does not declare.
pub async fn pool_swaps(
    State(state): State<AppState>,
    Path(pool): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if state.engine.project().pool(&pool).is_none() {
        return Err(ApiError::NotFound(format!("no pool `{pool}` in weft.yaml")));
    }
    swap_stream(&state, SwapTarget::Pool(pool)).await
}

/// `GET /v1/flows/{flow}/swaps`: the same for the flow's retry strategy swaps
/// (`@retry:F`). `404` for a flow the daemon does not serve.
pub async fn retry_swaps(
    State(state): State<AppState>,
    Path(flow): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !state.engine.flows().iter().any(|f| f.id == flow) {
        return Err(ApiError::NotFound(format!("no flow `{flow}`")));
    }
    swap_stream(&state, SwapTarget::Retry(flow)).await
}

async fn swap_stream(state: &AppState, target: SwapTarget) -> Result<Json<Value>, ApiError> {
    let stream = target.stream();
    let events = state.engine.store().ledger(&stream).await?;
    Ok(Json(json!({ "stream": stream, "events": events })))
}
