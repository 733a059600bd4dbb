//! The weft daemon's API: the engine served over HTTP/JSON on TCP and on a Unix
//! socket, and its Prometheus metrics.
//!
//! [`router`] builds the API ([`docs/api.md`](../../docs/api.md) lists every
//! endpoint); [`Metrics`] keeps the Prometheus registry up to date from the
//! engine's progress events and the store's queue figures; [`serve_tcp`] and
//! [`serve_unix`] serve a router until a shutdown future resolves.

mod artifacts;
mod error;
mod locks;
mod metrics;
mod queue;
mod run_events;
mod runs;
mod schedules;
mod serve;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use weft_engine::Engine;

pub use error::ApiError;
pub use metrics::{METRIC_NAMES, Metrics, MetricsError};
pub use serve::{ServeError, bind_unix, serve_tcp, serve_unix};
pub use views::queue_stats as queue_stats_json;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The engine the API serves.
    pub engine: Engine,
    /// The metrics registry (also served at `/metrics`).
    pub metrics: Arc<Metrics>,
}

/// The API router: `/v1/...` endpoints, `/metrics` and `/healthz`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics::scrape))
        .route("/v1/runs", post(runs::submit).get(runs::list))
        .route("/v1/runs/{id}", get(runs::get))
        .route("/v1/runs/{id}/events", get(run_events::events))
        .route("/v1/runs/{id}/artifacts", get(artifacts::list))
        .route("/v1/runs/{id}/artifacts/{key}", get(artifacts::get))
        .route("/v1/runs/{id}/resume", post(runs::resume))
        .route("/v1/runs/{id}/verify", get(runs::verify))
        .route("/v1/runs/{id}/cancel", post(runs::cancel))
        .route("/v1/flows", get(runs::flows))
        .route("/v1/queue/stats", get(queue::stats))
        .route("/v1/queue/next", get(queue::next))
        .route("/v1/locks", get(locks::list))
        .route(
            "/v1/locks/{*key}",
            post(locks::acquire).delete(locks::release),
        )
        .route("/v1/dlq", get(queue::dlq_list))
        .route("/v1/dlq/{task}/requeue", post(queue::dlq_requeue))
        .route("/v1/dlq/{task}", axum::routing::delete(queue::dlq_purge))
        .route("/v1/schedules", get(schedules::list))
        .route("/v1/schedules/{flow}/{index}/pause", post(schedules::pause))
        .route(
            "/v1/schedules/{flow}/{index}/resume",
            post(schedules::resume),
        )
        .route(
            "/v1/schedules/{flow}/{index}/trigger",
            post(schedules::trigger),
        )
        .with_state(state)
}

/// A router serving only `/metrics` (for `--metrics-listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::scrape))
        .with_state(state)
}
