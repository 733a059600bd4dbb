//! What a scrape reads: the queue figures and the persistent counters from the
//! store, each with a bounded query, and the engine's in-memory figures (model
//! requests, circuit breakers, the store writer's statistics).

use std::collections::BTreeSet;

use prometheus::IntCounter;
use weft_engine::{CircuitState, Engine};
use weft_store_api::{StoreError, ViewLimits};

use super::decls::Families;

/// A pool's view without any queued task listed: its live leases and the
/// count of its ready queue, nothing of the queue itself read.
const COUNTS_ONLY: ViewLimits = ViewLimits {
    candidates: 0,
    per_tenant: 0,
    scan: 0,
};

impl Families {
    /// Sets the queue gauges and raises the store's persistent counters.
    pub async fn read_store(&self, engine: &Engine) -> Result<(), StoreError> {
        let store = engine.store();
        let now = engine.now_ms();
        let stats = store.queue_stats(now).await?;
        self.queue_depth.reset();
        for (pool, n) in &stats.ready_by_pool {
            self.queue_depth
                .with_label_values(&[pool.as_str()])
                .set(gauge(*n));
        }
        self.queue_inflight.set(gauge(stats.inflight));
        self.queue_delayed.set(gauge(stats.delayed));
        self.dlq_size.set(gauge(stats.dlq));
        self.queue_lag.set(
            stats
                .oldest_ready_age_ms
                .map_or(0.0, |ms| ms as f64 / 1000.0),
        );
        self.read_pools(engine, now).await?;
        let counters = store.counters().await?;
        catch_up(&self.redelivered, counters.redelivered);
        catch_up(&self.stale_refusals, counters.stale_refusals);
        catch_up(&self.schedule_fires, counters.schedule_fires);
        catch_up(&self.tasks_enqueued, counters.tasks_created);
        Ok(())
    }

    /// `weft_pool_active` and `weft_pool_queued` of every declared pool and
    /// every other that holds tasks (the pools `weft pools` shows, with the
    /// same figures): per pool, its live leases and its ready-queue count,
    /// never its queued tasks.
    async fn read_pools(&self, engine: &Engine, now: u64) -> Result<(), StoreError> {
        let store = engine.store();
        let mut pools: BTreeSet<String> = engine.project().pools.keys().cloned().collect();
        pools.extend(store.busy_pools(now).await?);
        let mut figures = Vec::with_capacity(pools.len());
        for pool in pools {
            let view = store.pool_view(&pool, COUNTS_ONLY, now).await?;
            figures.push((pool, view.running.len() as u64, view.queued_total));
        }
        self.pool_active.reset();
        self.pool_queued.reset();
        for (pool, active, queued) in figures {
            let name = [pool.as_str()];
            self.pool_active.with_label_values(&name).set(gauge(active));
            self.pool_queued.with_label_values(&name).set(gauge(queued));
        }
        Ok(())
    }

    /// Raises the counters and sets the gauges the engine keeps in memory.
    pub fn read_engine(&self, engine: &Engine) {
        let writer = engine.store().writer_stats();
        catch_up(&self.store_commits, writer.commits);
        catch_up(&self.store_durable_commits, writer.durable_commits);
        catch_up(&self.store_operations, writer.ops);
        for (model, outcome, n) in engine.model_requests() {
            let c = self
                .model_requests
                .with_label_values(&[model.as_str(), outcome.as_str()]);
            catch_up(&c, n);
        }
        for c in engine.circuits() {
            let open = c.state == CircuitState::Open;
            self.circuit_open
                .with_label_values(&[c.model.as_str()])
                .set(i64::from(open));
        }
    }
}

/// A count as a gauge's value.
fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Raises a counter that mirrors a persistent store counter to its value.
fn catch_up(counter: &IntCounter, value: u64) {
    let seen = counter.get();
    if value > seen {
        counter.inc_by(value - seen);
    }
}
