//! `GET /v1/changes`: a long poll that answers once the store has changed, for
//! pages that stay current (the console's runs list) without polling.
//!
//! It says only how far the store's change feed has come, never what changed,
//! so that a tenant token learns nothing of other tenants' runs: the caller
//! reads again what it shows (its own runs) when the head moves on.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// Query of `GET /v1/changes`.
#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    /// The head the caller has seen.
    after: Option<u64>,
    /// Wait up to this many seconds (at most 300) for the head to pass `after`.
    wait: Option<u64>,
}

/// `GET /v1/changes?after=HEAD&wait=SECONDS`: `{"head"}`, the newest change's
/// seq; with `wait`, answered when it is above `after` or the wait is over.
pub async fn changes(
    State(state): State<AppState>,
    Query(q): Query<ChangesQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = state.engine.store();
    // Subscribed before the head is read: a commit in between still wakes us.
    let mut commits = store.commits();
    let mut head = store.change_head().await?;
    if let (Some(secs), Some(after)) = (q.wait, q.after) {
        let deadline = tokio::time::Instant::now() + crate::wait::wait_secs(secs)?;
        while head <= after {
            match tokio::time::timeout_at(deadline, commits.changed()).await {
                Ok(Ok(())) => head = store.change_head().await?,
                // The wait is over, or the store is closing: answer as it is.
                Ok(Err(_)) | Err(_) => break,
            }
        }
    }
    Ok(Json(json!({ "head": head })))
}
