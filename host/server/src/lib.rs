//! The weft daemon's API: the engine served over HTTP/JSON on TCP and on a Unix
//! socket, and its Prometheus metrics.
//!
//! [`router`] builds the API ([`docs/api.md`](../../docs/api.md) lists every
//! endpoint); [`Auth`] resolves each request's [`Caller`] from its bearer token
//! and [`guard`] keeps each group of routes to the roles it admits ([`Access`]);
//! [`Metrics`] keeps the Prometheus registry up to date from the engine's progress
//! events and the store's queue figures; [`serve_tcp`] and [`serve_unix`] serve a
//! router until a shutdown future resolves.

mod access;
mod artifacts;
mod auth;
mod changes;
mod cluster;
mod console;
mod costs;
mod departures;
mod error;
mod flows;
mod health;
mod live_workers;
mod locks;
mod metrics;
mod pools;
mod queue;
mod run_ends;
mod run_events;
mod runs;
mod schedules;
mod search;
mod serve;
mod views;
mod wait;
mod worker;
mod workers;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post, put};
use tokio::sync::watch;
use weft_engine::{Engine, FlowStatus};

pub use access::{Access, guard};
pub use auth::{Auth, Caller, Role};
pub use cluster::{
    DaemonInfo, Member, PRESENCE_PREFIX, PRESENCE_TTL_MS, Presence, members as cluster_members,
};
pub use costs::costs_json;
pub use departures::Departures;
pub use error::ApiError;
pub use metrics::{
    METRIC_DECLS, METRIC_NAMES, MetricDecl, MetricKind, Metrics, MetricsError, host_name,
};
pub use serve::{ServeError, bind_unix, serve_tcp, serve_unix};
pub use views::queue_stats as queue_stats_json;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The engine the API serves.
    pub engine: Engine,
    /// The metrics registry (also served at `/metrics`).
    pub metrics: Arc<Metrics>,
    /// How requests are authenticated.
    pub auth: Arc<Auth>,
    /// Remote workers that said they are stopping.
    pub departures: Arc<Departures>,
    /// The status of the watched flows folder (see `FlowWatcher::status`); a
    /// daemon that watches nothing gives a channel holding the default.
    pub flows: watch::Receiver<FlowStatus>,
    /// The search index (`GET /v1/search`); `None` answers those endpoints 500.
    pub search: Option<Arc<weft_index::SearchIndex>>,
    /// This daemon's presence in the store (`GET /v1/cluster` names it).
    pub presence: Option<Arc<Presence>>,
}

impl AppState {
    /// The state of an API serving `engine`, with `metrics`, `auth`, and the
    /// status of its flows folder.
    pub fn new(
        engine: Engine,
        metrics: Arc<Metrics>,
        auth: Arc<Auth>,
        flows: watch::Receiver<FlowStatus>,
    ) -> Self {
        Self {
            engine,
            metrics,
            auth,
            departures: Arc::default(),
            flows,
            search: None,
            presence: None,
        }
    }

    /// The same state, announced in the store as `presence`.
    pub fn with_presence(mut self, presence: Arc<Presence>) -> Self {
        self.presence = Some(presence);
        self
    }

    /// The same state serving searches from `index`.
    pub fn with_search(mut self, index: Arc<weft_index::SearchIndex>) -> Self {
        self.search = Some(index);
        self
    }
}

/// The API router: `/v1/...` endpoints, `/metrics`, `/healthz`, `/readyz`, and
/// the web console at `/` (its pages and files need no token; everything they
/// show comes from the API, signed in by the console's cookie).
///
/// Every route but `/healthz` and `/readyz` is behind the authentication layer (401 without a
/// valid token when auth is on); each group is behind the [`Access`] it admits
/// (403 for other roles). A new group goes through [`guard`] and is merged into
/// `api` below.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(guard(runs_routes(), Access::Tenants))
        .merge(guard(operator_routes(), Access::Admins))
        .merge(guard(worker_routes(), Access::Workers))
        .merge(guard(console::session_routes(), Access::AnyCaller))
        // Metrics carry every tenant's names and spend: operators' tokens
        // (worker, admin) only; a tenant token gets 403 (docs/api.md).
        .merge(guard(
            Router::new().route("/metrics", get(metrics::scrape)),
            Access::Workers,
        ))
        .layer(from_fn_with_state(
            Arc::clone(&state.auth),
            auth::authenticate,
        ));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(console::routes())
        .merge(api)
        .with_state(state)
}

/// Runs and flows: for tenants (their own runs) and admins.
fn runs_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/runs", post(runs::submit).get(runs::list))
        .route("/v1/runs/{id}", get(runs::get))
        .route("/v1/runs/{id}/events", get(run_events::events))
        .route("/v1/runs/{id}/artifacts", get(artifacts::list))
        .route("/v1/runs/{id}/artifacts/{key}", get(artifacts::get))
        .route("/v1/runs/{id}/resume", post(runs::resume))
        .route("/v1/runs/{id}/verify", get(runs::verify))
        .route("/v1/runs/{id}/cancel", post(runs::cancel))
        .route("/v1/flows", get(flows::list))
        .route("/v1/costs", get(costs::list))
        .route("/v1/search", get(search::search))
        .route("/v1/changes", get(changes::changes))
}

/// The queue, dead letters and schedules: for admins.
fn operator_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/queue/stats", get(queue::stats))
        .route("/v1/queue/next", get(queue::next))
        .route("/v1/locks", get(locks::list))
        .route(
            "/v1/locks/{*key}",
            post(locks::acquire).delete(locks::release),
        )
        .route("/v1/dlq", get(queue::dlq_list))
        .route("/v1/dlq/{task}/requeue", post(queue::dlq_requeue))
        .route("/v1/dlq/{task}", delete(queue::dlq_purge))
        .route("/v1/index", get(search::status))
        .route("/v1/workers", get(workers::list))
        .route("/v1/cluster", get(cluster::cluster))
        .route("/v1/index/rebuild", post(search::rebuild))
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
        .merge(pool_routes())
}

/// `weft pools`, `weft policy set`, `weft retry set` (in operator routes).
fn pool_routes() -> Router<AppState> {
    let swap_limit = axum::extract::DefaultBodyLimit::max(pools::MAX_COMPONENT_BYTES);
    Router::new()
        .route("/v1/pools", get(pools::list))
        .route("/v1/pools/{pool}/swaps", get(pools::pool_swaps))
        .route("/v1/flows/{flow}/swaps", get(pools::retry_swaps))
        .route(
            "/v1/pools/{pool}/policy",
            put(pools::set_policy).layer(swap_limit),
        )
        .route(
            "/v1/flows/{flow}/retry",
            put(pools::set_retry).layer(swap_limit),
        )
}

/// What `weft worker` processes use: for worker tokens and admins. Bodies up
/// to [`weft_core::worker_protocol::MAX_WORKER_BODY_BYTES`]: a complete report carries the
/// step's output, which may be as large as the in-process path accepts.
fn worker_routes() -> Router<AppState> {
    let body_limit =
        axum::extract::DefaultBodyLimit::max(weft_core::worker_protocol::MAX_WORKER_BODY_BYTES);
    Router::new()
        .route("/v1/worker/lease", post(worker::lease))
        .route("/v1/worker/leave", post(worker::leave))
        .route("/v1/worker/tasks/{task}/heartbeat", post(worker::heartbeat))
        .route("/v1/worker/tasks/{task}/complete", post(worker::complete))
        .route("/v1/worker/tasks/{task}/fail", post(worker::fail))
        .route("/v1/worker/tasks/{task}/model", post(worker::model))
        .route("/v1/worker/tasks/{task}/tool", post(worker::tool))
        .route(
            "/v1/worker/tasks/{task}/artifact-get",
            post(worker::artifact_get),
        )
        .route(
            "/v1/worker/tasks/{task}/artifact-put",
            post(worker::artifact_put),
        )
        .route("/v1/plugins/{sha256}", get(worker::plugin))
        .layer(body_limit)
}

/// A router serving only `/metrics` (for `--metrics-listen`), without
/// authentication: the operator chose where that address is reachable.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::scrape))
        .with_state(state)
}
