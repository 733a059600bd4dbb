//! Prometheus metrics. Each metric is declared once (`metrics/decls.rs`);
//! counters and histograms of runs and steps are counted from the engine's
//! progress events as they are emitted (`metrics/events.rs`); the spend
//! starts from the store's totals and follows the engine's charges
//! (`metrics/costs.rs`); a scrape reads the queue gauges and the persistent
//! counters from the store with bounded queries (`metrics/gauges.rs`).

mod costs;
mod decls;
mod events;
mod gauges;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use prometheus::{Registry, TextEncoder};
use weft_engine::Engine;
use weft_store_api::StoreError;

pub use decls::{METRIC_DECLS, METRIC_NAMES, MetricDecl, MetricKind};

use crate::AppState;
use crate::live_workers::LiveWorkers;
use costs::CostSeed;
use decls::Families;

/// Every metric the daemon exports, in one registry.
pub struct Metrics {
    registry: Registry,
    families: Families,
    live_workers: LiveWorkers,
    costs: CostSeed,
}

/// Why the metrics could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The registry refused a metric (one defined twice: a bug).
    #[error("metrics registry: {0}")]
    Registry(#[from] prometheus::Error),
    /// A metric declared with labels its type cannot carry (a bug).
    #[error("metrics registry: {0} is declared with labels but its type has none")]
    Declaration(&'static str),
    /// The store could not be read.
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
}

impl Metrics {
    /// A registry with every metric at zero, labelled with this host's name
    /// as its `instance` (see [`Metrics::for_instance`]).
    pub fn new() -> Result<Self, MetricsError> {
        Self::for_instance(&host_name())
    }

    /// A registry with every metric at zero, each carrying the label
    /// `instance="<instance>"`, so that a dashboard can compare daemons.
    pub fn for_instance(instance: &str) -> Result<Self, MetricsError> {
        let labels =
            std::collections::HashMap::from([("instance".to_owned(), instance.to_owned())]);
        let registry = Registry::new_custom(None, Some(labels))?;
        Ok(Self {
            families: Families::register(&registry)?,
            registry,
            live_workers: LiveWorkers::default(),
            costs: CostSeed::default(),
        })
    }

    /// The name of every registered metric family (labelled families too,
    /// before any label set exists).
    pub fn family_names(&self) -> Vec<String> {
        self.registry
            .gather()
            .iter()
            .map(|f| f.name().to_owned())
            .chain(
                self.families
                    .collectors()
                    .into_iter()
                    .flat_map(|c| c.desc().into_iter().map(|d| d.fq_name.clone())),
            )
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Counts a submission answered by its idempotency key.
    pub fn idempotency_hit(&self) {
        self.families.idempotency_hits.inc();
    }

    /// Sets how many in-process workers the daemon runs.
    pub fn set_workers_live(&self, n: usize) {
        self.live_workers.set_in_process(n);
    }

    /// Notes that the remote worker slot `owner` asked for work or reported.
    pub fn worker_seen(&self, owner: &str) {
        self.live_workers.seen(owner);
    }

    /// The daemon's and the remote workers, as `GET /v1/workers` lists them.
    pub(crate) fn live_workers(&self) -> &LiveWorkers {
        &self.live_workers
    }

    /// Reads the store's cost totals once (what `weft_cost_usd_total` starts
    /// from), then counts `engine`'s progress events from now on, as they are
    /// emitted. Call it once, before the engine runs tasks (`weft daemon`
    /// does, before it starts workers or serves): a charge committed between
    /// this read and then would be counted twice.
    pub async fn follow(self: &Arc<Self>, engine: &Engine) -> Result<(), MetricsError> {
        self.costs.read(engine.store().as_ref(), engine).await?;
        let metrics = Arc::clone(self);
        engine.observe(Arc::new(move |event| metrics.families.count(event)));
        Ok(())
    }

    /// Reads the queue figures from the store and renders every metric in the
    /// Prometheus text format.
    pub async fn render(&self, engine: &Engine) -> Result<String, MetricsError> {
        let f = &self.families;
        f.read_store(engine).await?;
        f.read_engine(engine);
        self.costs.publish(f, engine);
        f.workers_live
            .set(i64::try_from(self.live_workers.count()).unwrap_or(i64::MAX));
        Ok(TextEncoder::new().encode_to_string(&self.registry.gather())?)
    }
}

/// The host name (`/proc/sys/kernel/hostname`), or `weft`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "weft".into())
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    match state.metrics.render(&state.engine).await {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{e}\n"),
        ),
    }
}
