//! `/v1/locks...`: the operators' locks (a named mutex with a time to live and
//! a fencing token; see `weft_store_api::Store::lock_acquire`).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use weft_store_api::LockAcquire;

use crate::AppState;
use crate::error::ApiError;

/// The body of `POST /v1/locks/{key}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcquireBody {
    /// Who takes the lock.
    pub owner: String,
    /// How long it holds unless renewed, in ms.
    pub ttl_ms: u64,
}

/// `POST /v1/locks/{key}`: 200 with the token, or 409 naming the holder.
pub async fn acquire(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Result<Json<AcquireBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::BadRequest(format!(
            "{} (expected {{\"owner\": NAME, \"ttl_ms\": N}})",
            e.body_text()
        ))
    })?;
    let engine = &state.engine;
    let answer = engine
        .store()
        .lock_acquire(&key, &body.owner, body.ttl_ms, engine.now_ms())
        .await?;
    Ok(match answer {
        LockAcquire::Acquired { lock, renewed } => {
            let mut view = json!(lock);
            view["renewed"] = json!(renewed);
            Json(view).into_response()
        }
        LockAcquire::Held { owner, expires_ms } => {
            let body = json!({
                "error": format!("lock `{key}` is held by {owner} until {expires_ms} (ms since the epoch)"),
                "key": key,
                "held_by": owner,
                "expires_ms": expires_ms,
            });
            (StatusCode::CONFLICT, Json(body)).into_response()
        }
    })
}

/// Query of `DELETE /v1/locks/{key}`.
#[derive(Debug, Deserialize)]
pub struct ReleaseQuery {
    /// The token the acquire answered.
    token: u64,
}

/// `DELETE /v1/locks/{key}?token=T`: 200, or 409 when the lock is not held or
/// the token is not the holder's.
pub async fn release(
    State(state): State<AppState>,
    Path(key): Path<String>,
    query: Result<Query<ReleaseQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::BadRequest(format!(
            "{} (expected ?token=N, the token the acquire answered)",
            e.body_text()
        ))
    })?;
    let engine = &state.engine;
    let lock = engine
        .store()
        .lock_release(&key, query.token, engine.now_ms())
        .await?;
    Ok(Json(json!({
        "key": lock.key,
        "owner": lock.owner,
        "token": lock.token,
        "released": true,
    })))
}

/// `GET /v1/locks`: the locks held now, by key.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let engine = &state.engine;
    let locks = engine.store().locks_list(engine.now_ms()).await?;
    Ok(Json(json!({ "locks": locks })))
}
