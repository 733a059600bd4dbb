//! `GET /v1/runs/{id}/artifacts[/{key}]`: what a run's steps stored with
//! `artifact-put`.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::runs::visible_run;

/// A 404 unless run `id` exists.
/// `GET /v1/runs/{id}/artifacts`: every artifact, by key.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    visible_run(&state, &caller, &id).await?;
    let store = state.engine.store();
    let mut artifacts = Map::new();
    for key in store.artifact_list(&id).await? {
        let value = store.artifact_get(&id, &key).await?.unwrap_or(Value::Null);
        artifacts.insert(key, value);
    }
    Ok(Json(json!({ "run_id": id, "artifacts": artifacts })))
}

/// `GET /v1/runs/{id}/artifacts/{key}`: one artifact; 404 names the keys there are.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    visible_run(&state, &caller, &id).await?;
    let store = state.engine.store();
    match store.artifact_get(&id, &key).await? {
        Some(value) => Ok(Json(json!({ "run_id": id, "key": key, "value": value }))),
        None => {
            let keys = store.artifact_list(&id).await?;
            let there = if keys.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has {}", keys.join(", "))
            };
            Err(ApiError::NotFound(format!(
                "run `{id}` has no artifact `{key}`; {there}"
            )))
        }
    }
}
