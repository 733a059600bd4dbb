//! Prometheus metrics: queue gauges read from the store at each scrape, counters
//! and histograms fed by the engine's progress events.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use prometheus::{
    CounterVec, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use weft_core::Money;
use weft_engine::{Engine, ProgressEvent};
use weft_store_api::{FailDecision, Store};

use crate::AppState;
use crate::live_workers::LiveWorkers;

/// Seconds buckets for step and run durations: 1 ms to 10 min.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 600.0,
];

/// The name of every metric [`Metrics`] exports (docs/api.md lists them; the
/// Grafana dashboard and the alert rules in docs/ use only these).
pub const METRIC_NAMES: &[&str] = &[
    "weft_queue_depth",
    "weft_queue_inflight",
    "weft_queue_delayed",
    "weft_queue_lag_seconds",
    "weft_dlq_size",
    "weft_workers_live",
    "weft_runs_total",
    "weft_tasks_enqueued_total",
    "weft_tasks_completed_total",
    "weft_tasks_failed_total",
    "weft_retries_total",
    "weft_dlq_total",
    "weft_tasks_redelivered_total",
    "weft_stale_token_refusals_total",
    "weft_idempotency_hits_total",
    "weft_schedule_fires_total",
    "weft_step_duration_seconds",
    "weft_run_duration_seconds",
    "weft_cost_usd_total",
    "weft_model_requests_total",
    "weft_circuit_open",
    "weft_pool_active",
    "weft_pool_queued",
    "weft_store_commits_total",
    "weft_store_durable_commits_total",
    "weft_store_operations_total",
];

/// Every metric the daemon exports, in one registry.
pub struct Metrics {
    registry: Registry,
    queue_depth: IntGaugeVec,
    queue_inflight: IntGauge,
    queue_delayed: IntGauge,
    queue_lag: Gauge,
    dlq_size: IntGauge,
    workers_live: IntGauge,
    live_workers: LiveWorkers,
    runs: IntCounterVec,
    tasks_enqueued: IntCounter,
    tasks_completed: IntCounterVec,
    tasks_failed: IntCounterVec,
    retries: IntCounterVec,
    dead_lettered: IntCounterVec,
    redelivered: IntCounter,
    stale_refusals: IntCounter,
    idempotency_hits: IntCounter,
    schedule_fires: IntCounter,
    step_duration: HistogramVec,
    run_duration: HistogramVec,
    cost_usd: CounterVec,
    model_requests: IntCounterVec,
    circuit_open: IntGaugeVec,
    pool_active: IntGaugeVec,
    pool_queued: IntGaugeVec,
    store_commits: IntCounter,
    store_durable_commits: IntCounter,
    store_operations: IntCounter,
    /// Events being counted: a scrape waits for them (see [`Metrics::follow`]).
    counting: Counting,
}

/// The progress events whose counting (it reads the run from the store) has
/// not finished yet.
#[derive(Default)]
struct Counting {
    pending: std::sync::atomic::AtomicUsize,
    settled: tokio::sync::Notify,
}

impl Counting {
    /// Resolves once no event taken before this call is still being counted.
    async fn settled(&self) {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Why the registry could not be built (a metric defined twice: a bug).
#[derive(Debug, thiserror::Error)]
#[error("metrics registry: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

fn register<T: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: T,
) -> Result<T, MetricsError> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
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
        let r = Registry::new_custom(None, Some(labels))?;
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let histogram = |name: &str, help: &str| {
            let opts = HistogramOpts::new(name, help).buckets(DURATION_BUCKETS.to_vec());
            HistogramVec::new(opts, &["flow"])
        };
        Ok(Self {
            counting: Counting::default(),
            queue_depth: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("weft_queue_depth", "Tasks ready to run, per pool."),
                    &["pool"],
                )?,
            )?,
            queue_inflight: register(
                &r,
                IntGauge::new("weft_queue_inflight", "Tasks leased to a worker.")?,
            )?,
            queue_delayed: register(
                &r,
                IntGauge::new("weft_queue_delayed", "Tasks waiting for a retry back-off.")?,
            )?,
            queue_lag: register(
                &r,
                Gauge::new("weft_queue_lag_seconds", "Age of the oldest ready task.")?,
            )?,
            dlq_size: register(
                &r,
                IntGauge::new(
                    "weft_dlq_size",
                    "Dead-lettered tasks waiting for an operator.",
                )?,
            )?,
            live_workers: LiveWorkers::default(),
            workers_live: register(
                &r,
                IntGauge::new(
                    "weft_workers_live",
                    "Workers taking tasks from this daemon.",
                )?,
            )?,
            runs: register(
                &r,
                counter(
                    "weft_runs_total",
                    "Runs finished, by flow and status.",
                    &["flow", "status"],
                )?,
            )?,
            tasks_enqueued: register(
                &r,
                IntCounter::new(
                    "weft_tasks_enqueued_total",
                    "Tasks created: one per step of each run; retries and redeliveries reuse theirs (store lifetime).",
                )?,
            )?,
            tasks_completed: register(
                &r,
                counter(
                    "weft_tasks_completed_total",
                    "Step attempts that succeeded.",
                    &["flow"],
                )?,
            )?,
            tasks_failed: register(
                &r,
                counter(
                    "weft_tasks_failed_total",
                    "Step attempts that failed.",
                    &["flow"],
                )?,
            )?,
            retries: register(
                &r,
                counter(
                    "weft_retries_total",
                    "Failed attempts scheduled for a retry.",
                    &["flow"],
                )?,
            )?,
            dead_lettered: register(
                &r,
                counter("weft_dlq_total", "Tasks dead-lettered.", &["flow"])?,
            )?,
            redelivered: register(
                &r,
                IntCounter::new(
                    "weft_tasks_redelivered_total",
                    "Tasks handed out again after their lease expired (store lifetime).",
                )?,
            )?,
            stale_refusals: register(
                &r,
                IntCounter::new(
                    "weft_stale_token_refusals_total",
                    "Completions refused for a stale fencing token (store lifetime).",
                )?,
            )?,
            idempotency_hits: register(
                &r,
                IntCounter::new(
                    "weft_idempotency_hits_total",
                    "Submissions answered with the run their idempotency key already named.",
                )?,
            )?,
            schedule_fires: register(
                &r,
                IntCounter::new(
                    "weft_schedule_fires_total",
                    "Runs created by cron schedules, manual triggers included (store lifetime).",
                )?,
            )?,
            step_duration: register(
                &r,
                histogram(
                    "weft_step_duration_seconds",
                    "Duration of successful step attempts.",
                )?,
            )?,
            run_duration: register(
                &r,
                histogram(
                    "weft_run_duration_seconds",
                    "Duration of finished runs, from submission.",
                )?,
            )?,
            cost_usd: register(
                &r,
                CounterVec::new(
                    Opts::new(
                        "weft_cost_usd_total",
                        "US dollars charged for model calls (from the store's totals).",
                    ),
                    &["tenant", "pool", "model"],
                )?,
            )?,
            model_requests: register(
                &r,
                counter(
                    "weft_model_requests_total",
                    "Model calls that reached the engine's adapter path, by model and outcome (journal replays excluded).",
                    &["model", "outcome"],
                )?,
            )?,
            circuit_open: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "weft_circuit_open",
                        "1 while a model's circuit breaker is open (calls fail fast), else 0.",
                    ),
                    &["model"],
                )?,
            )?,
            pool_active: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("weft_pool_active", "Tasks running in the pool now."),
                    &["pool"],
                )?,
            )?,
            pool_queued: register(
                &r,
                IntGaugeVec::new(
                    Opts::new("weft_pool_queued", "Tasks waiting for a slot of the pool."),
                    &["pool"],
                )?,
            )?,
            store_commits: register(
                &r,
                IntCounter::new(
                    "weft_store_commits_total",
                    "Write transactions the store committed since the daemon started.",
                )?,
            )?,
            store_durable_commits: register(
                &r,
                IntCounter::new(
                    "weft_store_durable_commits_total",
                    "Of those, the ones synced to disk.",
                )?,
            )?,
            store_operations: register(
                &r,
                IntCounter::new(
                    "weft_store_operations_total",
                    "Store operations acknowledged; divided by commits, how well group commit batches.",
                )?,
            )?,
            registry: r,
        })
    }

    /// The name of every registered metric family (labelled families too,
    /// before any label set exists).
    pub fn family_names(&self) -> Vec<String> {
        self.registry
            .gather()
            .iter()
            .map(|f| f.name().to_owned())
            .chain(self.labelled_families())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    fn labelled_families(&self) -> Vec<String> {
        use prometheus::core::Collector;
        let collectors: [&dyn Collector; 13] = [
            &self.cost_usd,
            &self.queue_depth,
            &self.pool_active,
            &self.pool_queued,
            &self.runs,
            &self.tasks_completed,
            &self.tasks_failed,
            &self.retries,
            &self.dead_lettered,
            &self.step_duration,
            &self.run_duration,
            &self.model_requests,
            &self.circuit_open,
        ];
        collectors
            .iter()
            .flat_map(|c| c.desc().into_iter().map(|d| d.fq_name.clone()))
            .collect()
    }

    /// Counts a submission answered by its idempotency key.
    pub fn idempotency_hit(&self) {
        self.idempotency_hits.inc();
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

    /// Counts `engine`'s progress events from now on, as they are emitted.
    pub fn follow(self: &Arc<Self>, engine: &Engine) {
        let metrics = Arc::clone(self);
        // The store, not the engine: the engine keeps its observers alive.
        let store = engine.store().clone();
        engine.observe(Arc::new(move |event| {
            if !Self::counts(event) {
                return;
            }
            // The emitting worker must not wait on the store: count in a task
            // of its own, which a scrape waits for (so an event emitted before
            // a scrape began is in it).
            metrics.counting.pending.fetch_add(1, Ordering::SeqCst);
            let (metrics, store, event) = (Arc::clone(&metrics), Arc::clone(&store), event.clone());
            tokio::spawn(async move {
                metrics.observe(&*store, &event).await;
                if metrics.counting.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
                    metrics.counting.settled.notify_waiters();
                }
            });
        }));
    }

    /// Whether `event` is one the metrics count.
    fn counts(event: &ProgressEvent) -> bool {
        matches!(
            event,
            ProgressEvent::StepSucceeded { .. }
                | ProgressEvent::StepFailed { .. }
                | ProgressEvent::RunFinished { .. }
        )
    }

    async fn observe(&self, store: &dyn Store, event: &ProgressEvent) {
        let run = match store.run_get(event.run()).await {
            Ok(Some(run)) => run,
            _ => return,
        };
        let flow = run.flow_id.as_str();
        match event {
            ProgressEvent::StepSucceeded { elapsed_ms, .. } => {
                self.tasks_completed.with_label_values(&[flow]).inc();
                self.step_duration
                    .with_label_values(&[flow])
                    .observe(*elapsed_ms as f64 / 1000.0);
            }
            ProgressEvent::StepFailed { decision, .. } => {
                self.tasks_failed.with_label_values(&[flow]).inc();
                match decision {
                    FailDecision::Retry { .. } => self.retries.with_label_values(&[flow]).inc(),
                    FailDecision::DeadLetter { .. } => {
                        self.dead_lettered.with_label_values(&[flow]).inc();
                    }
                    FailDecision::FailRun { .. } => {}
                }
            }
            ProgressEvent::RunFinished { status, .. } => {
                self.runs.with_label_values(&[flow, status.as_str()]).inc();
                let secs = run.updated_ms.saturating_sub(run.created_ms) as f64 / 1000.0;
                self.run_duration.with_label_values(&[flow]).observe(secs);
            }
            _ => {}
        }
    }

    /// Reads the queue figures from the store and renders every metric in the
    /// Prometheus text format.
    pub async fn render(&self, engine: &Engine) -> Result<String, String> {
        self.counting.settled().await;
        let store = engine.store();
        let stats = store
            .queue_stats(engine.now_ms())
            .await
            .map_err(|e| e.to_string())?;
        self.queue_depth.reset();
        for (pool, n) in &stats.ready_by_pool {
            self.queue_depth
                .with_label_values(&[pool.as_str()])
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let pools = engine.pools_status().await.map_err(|e| e.to_string())?;
        self.pool_active.reset();
        self.pool_queued.reset();
        for pool in &pools {
            let name = [pool.name.as_str()];
            self.pool_active
                .with_label_values(&name)
                .set(gauge(pool.active));
            self.pool_queued
                .with_label_values(&name)
                .set(gauge(pool.queued));
        }
        self.queue_inflight.set(gauge(stats.inflight));
        self.queue_delayed.set(gauge(stats.delayed));
        self.dlq_size.set(gauge(stats.dlq));
        self.queue_lag.set(
            stats
                .oldest_ready_age_ms
                .map_or(0.0, |ms| ms as f64 / 1000.0),
        );
        self.workers_live
            .set(i64::try_from(self.live_workers.count()).unwrap_or(i64::MAX));
        let writer = store.writer_stats();
        catch_up(&self.store_commits, writer.commits);
        catch_up(&self.store_durable_commits, writer.durable_commits);
        catch_up(&self.store_operations, writer.ops);
        let counters = store.counters().await.map_err(|e| e.to_string())?;
        catch_up(&self.redelivered, counters.redelivered);
        catch_up(&self.stale_refusals, counters.stale_refusals);
        catch_up(&self.schedule_fires, counters.schedule_fires);
        catch_up(&self.tasks_enqueued, counters.tasks_created);
        self.catch_up_costs(store.as_ref()).await?;
        for (model, outcome, n) in engine.model_requests() {
            let c = self
                .model_requests
                .with_label_values(&[model.as_str(), outcome.as_str()]);
            catch_up(&c, n);
        }
        for c in engine.circuits() {
            let open = c.state == weft_engine::CircuitState::Open;
            self.circuit_open
                .with_label_values(&[c.model.as_str()])
                .set(i64::from(open));
        }
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .map_err(|e| e.to_string())
    }
}

impl Metrics {
    /// Raises `weft_cost_usd_total` to the store's all-time totals per
    /// (tenant, pool, model), so it survives restarts.
    async fn catch_up_costs(&self, store: &dyn Store) -> Result<(), String> {
        let mut totals: std::collections::BTreeMap<(String, String, String), Money> =
            std::collections::BTreeMap::new();
        for row in store.costs("", None).await.map_err(|e| e.to_string())? {
            let total = totals.entry((row.tenant, row.pool, row.model)).or_default();
            *total = total.saturating_add(Money::from_micros(row.micro_usd));
        }
        for ((tenant, pool, model), total) in totals {
            let counter =
                self.cost_usd
                    .with_label_values(&[tenant.as_str(), pool.as_str(), model.as_str()]);
            let usd = total.as_usd();
            let seen = counter.get();
            if usd > seen {
                counter.inc_by(usd - seen);
            }
        }
        Ok(())
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

/// Raises a counter that mirrors a persistent store counter to its value.
fn catch_up(counter: &IntCounter, value: u64) {
    let seen = counter.get();
    if value > seen {
        counter.inc_by(value - seen);
    }
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
            format!("cannot read the store: {e}\n"),
        ),
    }
}
