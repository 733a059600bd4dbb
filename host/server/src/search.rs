//! `GET /v1/search` (tenants and admins) and `/v1/index…` (admins): search over
//! runs with the keyword index (see `docs/search.md`).
//!
//! A tenant's search is always narrowed to its own tenant, whatever its query
//! says; an admin may narrow with `tenant=`. Each search first applies the
//! store changes the live indexer has not committed yet, so that it sees every
//! run committed before it.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use weft_index::{IndexError, SearchIndex, SearchRequest, Sort};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The query string of `GET /v1/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// The query (see docs/search.md).
    #[serde(default)]
    pub q: String,
    /// `true` for semantic search.
    #[serde(default)]
    pub semantic: bool,
    /// Only this flow.
    pub flow: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this tenant (admins; a tenant's own is forced).
    pub tenant: Option<String>,
    /// Submitted since (`7d`, a date, RFC 3339, ms).
    pub since: Option<String>,
    /// Submitted before.
    pub until: Option<String>,
    /// `score` (default) or `time`.
    pub sort: Option<String>,
    /// Step outcomes instead of runs.
    #[serde(default)]
    pub steps: bool,
    /// At most this many hits (default 20, at most 1000).
    pub limit: Option<usize>,
}

fn index_of(state: &AppState) -> Result<Arc<SearchIndex>, ApiError> {
    state.search.clone().ok_or_else(|| {
        ApiError::Internal(
            "search is off: this daemon could not open its search index (see its log)".into(),
        )
    })
}

fn api_error(e: IndexError) -> ApiError {
    match e {
        IndexError::Query(_) | IndexError::BadTime { .. } | IndexError::SemanticUnavailable(_) => {
            ApiError::BadRequest(e.to_string())
        }
        other => ApiError::Internal(other.to_string()),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `GET /v1/search?q=…`: `{"mode": "keyword", "hits": [...]}`.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let sort = match p.sort.as_deref() {
        None | Some("score") => Sort::Score,
        Some("time") => Sort::Time,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "unknown sort `{other}`: use `score` or `time`"
            )));
        }
    };
    let tenant = match caller.tenant() {
        Some(own) => Some(own.to_owned()),
        None => p.tenant,
    };
    let request = SearchRequest {
        query: p.q,
        semantic: p.semantic,
        tenant,
        flow: p.flow,
        status: p.status,
        since: p.since,
        until: p.until,
        sort,
        steps: p.steps,
        limit: p.limit.unwrap_or(20).clamp(1, 1000),
    };
    let index = index_of(&state)?;
    // Indexing and searching are CPU work: off the async workers, with the
    // store's reads driven from the blocking thread.
    let runtime = tokio::runtime::Handle::current();
    let results = tokio::task::spawn_blocking(move || {
        runtime.block_on(async {
            // A semantic hit is shown from its keyword document: both must be current.
            if request.semantic {
                index.catch_up().await?;
            } else {
                index.catch_up_keyword().await?;
            }
            index.search(&request, now_ms())
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(api_error)?;
    Ok(Json(json!(results)))
}

/// `GET /v1/index`: the index's seq against the store's head.
pub async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let index = index_of(&state)?;
    let status = index.status().await.map_err(api_error)?;
    Ok(Json(json!(status)))
}

/// `POST /v1/index/rebuild`: empties the index and indexes every run again.
pub async fn rebuild(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let index = index_of(&state)?;
    let runtime = tokio::runtime::Handle::current();
    let done = tokio::task::spawn_blocking(move || runtime.block_on(index.rebuild()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(api_error)?;
    Ok(Json(json!(done)))
}
