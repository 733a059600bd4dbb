//! `/healthz` (liveness) and `/readyz` (readiness), unauthenticated so that a
//! load balancer or a Kubernetes probe can call them.
//!
//! The daemon serves HTTP only once its store is open and its flows are
//! loaded, so an answer from `/healthz` already means "started". `/readyz`
//! also reads the store, and answers 503 while the store cannot be reached
//! (a PostgreSQL store whose database is down), so that traffic goes to a
//! daemon that can serve it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

/// A run id no run has: reading it costs the store one indexed lookup.
const PROBE_RUN: &str = "readyz-probe";

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 200 with `{"ready": true, …}` when a read of the store
/// succeeds; 503 with `{"ready": false, "store": "<why>"}` when it does not.
/// The body also says how many flows are served and how many flow files are
/// not served as written (those do not make the daemon unready: it serves
/// every other flow).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let flows = state.engine.flows().len();
    let flow_errors = state.flows.borrow().errors.len();
    match state.engine.store().run_get(PROBE_RUN).await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({
                "ready": true,
                "store": "ok",
                "flows": flows,
                "flow_errors": flow_errors,
            })),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "ready": false,
                "store": e.to_string(),
                "flows": flows,
                "flow_errors": flow_errors,
            })),
        ),
    }
}
