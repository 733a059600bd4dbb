//! `GET /v1/runs/{id}/artifacts[/{key}]`: what a run's steps stored with
//! `artifact-put`.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};
use weft_store::Store;

use crate::AppState;
use crate::error::ApiError;

/// A 404 unless run `id` exists.
fn ensure_run(store: &Store, id: &str) -> Result<(), ApiError> {
    match store.run_get(id)? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!("no run `{id}`"))),
    }
}

/// `GET /v1/runs/{id}/artifacts`: every artifact, by key.
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = state.engine.store();
    ensure_run(store, &id)?;
    let mut artifacts = Map::new();
    for key in store.artifact_list(&id)? {
        let value = store.artifact_get(&id, &key)?.unwrap_or(Value::Null);
        artifacts.insert(key, value);
    }
    Ok(Json(json!({ "run_id": id, "artifacts": artifacts })))
}

/// `GET /v1/runs/{id}/artifacts/{key}`: one artifact; 404 names the keys there are.
pub async fn get(
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let store = state.engine.store();
    ensure_run(store, &id)?;
    match store.artifact_get(&id, &key)? {
        Some(value) => Ok(Json(json!({ "run_id": id, "key": key, "value": value }))),
        None => {
            let keys = store.artifact_list(&id)?;
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
