//! Every metric the daemon exports, declared once: its name, help text, kind
//! and labels. The registry, the typed handles ([`Families`]), [`METRIC_NAMES`]
//! and [`METRIC_DECLS`] are all derived from the one list in this file, so a
//! metric cannot be named in one place and forgotten in another.

use prometheus::core::Collector;
use prometheus::{
    CounterVec, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry,
};

use super::MetricsError;

/// Seconds buckets for step and run durations: 1 ms to 10 min.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 600.0,
];

/// What Prometheus calls a metric's type (docs/api.md's "type" column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up (resets when the daemon restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets (durations, in seconds).
    Histogram,
}

impl MetricKind {
    /// `counter`, `gauge` or `histogram`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// One exported metric, as declared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDecl {
    /// The family's name (`weft_…`).
    pub name: &'static str,
    /// Its `# HELP` text.
    pub help: &'static str,
    /// Its type.
    pub kind: MetricKind,
    /// Its labels, in order (the daemon's `instance` is added to every one).
    pub labels: &'static [&'static str],
}

/// A metric type the declarations may use: how it is built from its
/// declaration.
pub(crate) trait Family: Collector + Clone + Sized + 'static {
    /// The type Prometheus shows.
    const KIND: MetricKind;
    /// The metric `decl` declares.
    fn build(decl: &MetricDecl) -> Result<Self, MetricsError>;
}

/// A metric without labels: `decl` must declare none.
fn unlabelled(decl: &MetricDecl) -> Result<Opts, MetricsError> {
    if decl.labels.is_empty() {
        Ok(Opts::new(decl.name, decl.help))
    } else {
        Err(MetricsError::Declaration(decl.name))
    }
}

macro_rules! unlabelled_family {
    ($($ty:ty => $kind:ident),* $(,)?) => {$(
        impl Family for $ty {
            const KIND: MetricKind = MetricKind::$kind;
            fn build(decl: &MetricDecl) -> Result<Self, MetricsError> {
                Ok(<$ty>::with_opts(unlabelled(decl)?)?)
            }
        }
    )*};
}

macro_rules! labelled_family {
    ($($ty:ty => $kind:ident),* $(,)?) => {$(
        impl Family for $ty {
            const KIND: MetricKind = MetricKind::$kind;
            fn build(decl: &MetricDecl) -> Result<Self, MetricsError> {
                Ok(<$ty>::new(Opts::new(decl.name, decl.help), decl.labels)?)
            }
        }
    )*};
}

unlabelled_family!(IntGauge => Gauge, Gauge => Gauge, IntCounter => Counter);
labelled_family!(IntGaugeVec => Gauge, IntCounterVec => Counter, CounterVec => Counter);

impl Family for HistogramVec {
    const KIND: MetricKind = MetricKind::Histogram;
    fn build(decl: &MetricDecl) -> Result<Self, MetricsError> {
        let opts = HistogramOpts::new(decl.name, decl.help).buckets(DURATION_BUCKETS.to_vec());
        Ok(Self::new(opts, decl.labels)?)
    }
}

/// Builds the metric `decl` declares and registers it in `registry`.
fn register<T: Family>(registry: &Registry, decl: &MetricDecl) -> Result<T, MetricsError> {
    let metric = T::build(decl)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

/// Declares every metric: `field: Type = "name", "help", [labels];` gives the
/// handle `Families::field`, one [`METRIC_DECLS`] entry and one
/// [`METRIC_NAMES`] entry, in this order.
macro_rules! declare_metrics {
    ($($field:ident: $ty:ty = $name:literal, $help:literal, [$($label:literal),*];)*) => {
        /// Every metric [`crate::Metrics`] exports, in declaration order.
        pub const METRIC_DECLS: &[MetricDecl] = &[$(MetricDecl {
            name: $name,
            help: $help,
            kind: <$ty as Family>::KIND,
            labels: &[$($label),*],
        }),*];

        /// The name of every metric [`crate::Metrics`] exports (docs/api.md
        /// lists them; the Grafana dashboard and the alert rules in docs/ use
        /// only these).
        pub const METRIC_NAMES: &[&str] = &[$($name),*];

        /// The typed handle of every declared metric.
        pub(crate) struct Families {
            $(#[doc = $help] pub $field: $ty,)*
        }

        impl Families {
            /// Every declared metric, built and registered in `registry`.
            pub fn register(registry: &Registry) -> Result<Self, MetricsError> {
                Ok(Self {$($field: register(registry, &MetricDecl {
                    name: $name,
                    help: $help,
                    kind: <$ty as Family>::KIND,
                    labels: &[$($label),*],
                })?,)*})
            }

            /// Every handle, in declaration order.
            pub fn collectors(&self) -> Vec<&dyn Collector> {
                vec![$(&self.$field),*]
            }
        }
    };
}

declare_metrics! {
    queue_depth: IntGaugeVec = "weft_queue_depth", "Tasks ready to run, per pool.", ["pool"];
    queue_inflight: IntGauge = "weft_queue_inflight", "Tasks leased to a worker.", [];
    queue_delayed: IntGauge = "weft_queue_delayed", "Tasks waiting for a retry back-off.", [];
    queue_lag: Gauge = "weft_queue_lag_seconds", "Age of the oldest ready task.", [];
    dlq_size: IntGauge = "weft_dlq_size", "Dead-lettered tasks waiting for an operator.", [];
    workers_live: IntGauge = "weft_workers_live", "Workers taking tasks from this daemon.", [];
    runs: IntCounterVec = "weft_runs_total", "Runs finished, by flow and status.", ["flow", "status"];
    tasks_enqueued: IntCounter = "weft_tasks_enqueued_total",
        "Tasks created: one per step of each run; retries and redeliveries reuse theirs (store lifetime).", [];
    tasks_completed: IntCounterVec = "weft_tasks_completed_total", "Step attempts that succeeded.", ["flow"];
    tasks_failed: IntCounterVec = "weft_tasks_failed_total", "Step attempts that failed.", ["flow"];
    retries: IntCounterVec = "weft_retries_total", "Failed attempts scheduled for a retry.", ["flow"];
    dead_lettered: IntCounterVec = "weft_dlq_total", "Tasks dead-lettered.", ["flow"];
    steps_skipped: IntCounterVec = "weft_steps_skipped_total",
        "Steps not run: their condition (if:) said so, or a step they need did not succeed.", ["flow"];
    redelivered: IntCounter = "weft_tasks_redelivered_total",
        "Tasks handed out again after their lease expired (store lifetime).", [];
    stale_refusals: IntCounter = "weft_stale_token_refusals_total",
        "Completions refused for a stale fencing token (store lifetime).", [];
    idempotency_hits: IntCounter = "weft_idempotency_hits_total",
        "Submissions answered with the run their idempotency key already named.", [];
    schedule_fires: IntCounter = "weft_schedule_fires_total",
        "Runs created by cron schedules, manual triggers included (store lifetime).", [];
    step_duration: HistogramVec = "weft_step_duration_seconds", "Duration of successful step attempts.", ["flow"];
    run_duration: HistogramVec = "weft_run_duration_seconds", "Duration of finished runs, from submission.", ["flow"];
    cost_usd: CounterVec = "weft_cost_usd_total",
        "US dollars charged for model calls (from the store's totals).", ["tenant", "pool", "model"];
    model_requests: IntCounterVec = "weft_model_requests_total",
        "Model calls that reached the engine's adapter path, by model and outcome (journal replays excluded).",
        ["model", "outcome"];
    circuit_open: IntGaugeVec = "weft_circuit_open",
        "1 while a model's circuit breaker is open (calls fail fast), else 0.", ["model"];
    pool_active: IntGaugeVec = "weft_pool_active", "Tasks running in the pool now.", ["pool"];
    pool_queued: IntGaugeVec = "weft_pool_queued", "Tasks waiting for a slot of the pool.", ["pool"];
    store_commits: IntCounter = "weft_store_commits_total",
        "Write transactions the store committed since the daemon started.", [];
    store_durable_commits: IntCounter = "weft_store_durable_commits_total", "Of those, the ones synced to disk.", [];
    store_operations: IntCounter = "weft_store_operations_total",
        "Store operations acknowledged; divided by commits, how well group commit batches.", [];
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use prometheus::Registry;

    use super::{Families, METRIC_DECLS};

    /// Each handle is the metric its declaration describes: name, help and
    /// labels, in declaration order.
    #[test]
    fn each_handle_is_built_from_its_declaration() {
        let families = Families::register(&Registry::new()).unwrap();
        let built: Vec<_> = families
            .collectors()
            .into_iter()
            .flat_map(|c| c.desc().into_iter().cloned().collect::<Vec<_>>())
            .collect();
        assert_eq!(built.len(), METRIC_DECLS.len());
        for (desc, decl) in built.iter().zip(METRIC_DECLS) {
            assert_eq!(desc.fq_name, decl.name);
            assert_eq!(desc.help, decl.help, "{}", decl.name);
            assert_eq!(desc.variable_labels, decl.labels, "{}", decl.name);
        }
    }
}
