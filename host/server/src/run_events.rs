//! `GET /v1/runs/{id}/events`: a run's ledger, or its events after a seq, with
//! a long-poll (`wait`) that answers as soon as a new event is committed.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use weft_store_api::RunEvents;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::runs::visible_run;

/// Query of `GET /v1/runs/{id}/events`.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Only events with a greater seq (default 0: all).
    after: Option<u64>,
    /// When there is none yet and the run has not finished, wait up to this
    /// many seconds (at most 300; more is a `400`) for one.
    wait: Option<u64>,
}

/// `GET /v1/runs/{id}/events[?after=SEQ&wait=SECONDS]`: the run's events after
/// `after`, its status, open tasks and last seq, all from one snapshot.
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    visible_run(&state, &caller, &id).await?;
    let store = state.engine.store();
    let after = q.after.unwrap_or(0);
    let wait = crate::wait::wait_secs(q.wait.unwrap_or(0))?;
    let deadline = Instant::now() + wait;
    // Subscribe before looking, so that a commit between the look and the
    // wait is not missed.
    let mut commits = store.commits();
    loop {
        let page = store
            .run_events(&id, after)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no run `{id}`")))?;
        let answer_now =
            !page.events.is_empty() || page.run.status.is_final() || Instant::now() >= deadline;
        if answer_now {
            return Ok(Json(view(page)));
        }
        match tokio::time::timeout_at(deadline, commits.changed()).await {
            // Something was committed, or the wait is over: look again.
            Ok(Ok(())) | Err(_) => {}
            // The store is closing: answer what there is.
            Ok(Err(_)) => return Ok(Json(view(page))),
        }
    }
}

/// The JSON answer.
fn view(page: RunEvents) -> Value {
    json!({
        "run_id": page.run.id,
        "status": page.run.status,
        "open_tasks": page.open_tasks,
        "last_seq": page.last_seq,
        "events": page.events,
    })
}
