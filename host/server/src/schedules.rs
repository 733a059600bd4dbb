//! `/v1/schedules...`: the flows' cron schedules, their state, pause, resume
//! and a manual trigger.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use weft_engine::{Fired, ScheduleInfo};
use weft_flow::Missed;

use crate::AppState;
use crate::error::ApiError;

fn missed(m: Missed) -> Value {
    match m {
        Missed::Skip => json!("skip"),
        Missed::CatchUp(n) => json!({ "catch-up": n }),
    }
}

fn info(s: &ScheduleInfo) -> Value {
    json!({
        "flow": s.flow,
        "index": s.index,
        "key": s.key,
        "cron": s.cron,
        "timezone": s.timezone,
        "missed": missed(s.missed),
        "paused": s.state.as_ref().is_some_and(|st| st.paused),
        "fires": s.state.as_ref().map_or(0, |st| st.fires),
        "last_fire_ms": s.state.as_ref().map(|st| st.last_fire_ms),
        "last_run": s.state.as_ref().and_then(|st| st.last_run.clone()),
        "next_fire_ms": s.next_fire_ms,
    })
}

fn fired(f: &Fired) -> Value {
    json!({
        "flow": f.flow,
        "index": f.index,
        "fire_ms": f.fire_ms,
        "idempotency_key": f.idempotency_key,
        "run_id": f.run_id,
        "created": f.created,
    })
}

/// `GET /v1/schedules`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all = state.engine.schedules_list().await?;
    Ok(Json(
        json!({ "schedules": all.iter().map(info).collect::<Vec<_>>() }),
    ))
}

/// `POST /v1/schedules/{flow}/{index}/pause`.
pub async fn pause(
    State(state): State<AppState>,
    Path((flow, index)): Path<(String, usize)>,
) -> Result<Json<Value>, ApiError> {
    let st = state.engine.schedules_pause(&flow, index).await?;
    Ok(Json(
        json!({ "flow": flow, "index": index, "paused": st.paused }),
    ))
}

/// `POST /v1/schedules/{flow}/{index}/resume`.
pub async fn resume(
    State(state): State<AppState>,
    Path((flow, index)): Path<(String, usize)>,
) -> Result<Json<Value>, ApiError> {
    let st = state.engine.schedules_resume(&flow, index).await?;
    Ok(Json(
        json!({ "flow": flow, "index": index, "paused": st.paused }),
    ))
}

/// `POST /v1/schedules/{flow}/{index}/trigger`: one run now.
pub async fn trigger(
    State(state): State<AppState>,
    Path((flow, index)): Path<(String, usize)>,
) -> Result<Json<Value>, ApiError> {
    let f = state.engine.schedules_trigger(&flow, index).await?;
    Ok(Json(fired(&f)))
}
