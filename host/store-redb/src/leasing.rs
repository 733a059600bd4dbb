//! [`QueueStore`] on redb: leases, completions and failures go through the
//! writer; a lease or renewal for a worker in this process is a volatile
//! commit (no fsync; see `writer`'s module docs).

use serde_json::Value;
use weft_store_api::{
    Advance, Counters, DeadLetter, FailDecision, Lease, LeaseTry, NewTask, NextLease, NextTask,
    PoolCap, PoolView, Purged, QueueStats, QueueStore, RunOutcome, StepCompleted, StepEnd,
    StoreError, ViewLimits, WorkerSite,
};

use crate::ops::{advance, finish, misc, queue};
use crate::store::RedbStore;
use crate::tables::Tables;
use crate::{pool_view, queue_next, read};

impl RedbStore {
    /// Runs a lease-shaped `op`: durably for a remote worker, volatile for
    /// one in this process.
    async fn write_for<T, F>(&self, site: WorkerSite, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        match site {
            WorkerSite::Remote => self.write(op).await,
            WorkerSite::InProcess => self.write_volatile(op).await,
        }
    }
}

#[async_trait::async_trait]
impl QueueStore for RedbStore {
    async fn lease(
        &self,
        owner: &str,
        pools: Option<&[String]>,
        lease_ms: u64,
        site: WorkerSite,
        now: u64,
    ) -> Result<Option<Lease>, StoreError> {
        let ask = self.ask(owner, pools, lease_ms);
        self.write_for(site, move |t| queue::lease(t, &ask, now))
            .await
    }

    async fn lease_task(
        &self,
        owner: &str,
        task: u64,
        admitted_by: &str,
        lease_ms: u64,
        site: WorkerSite,
        cap: PoolCap,
        now: u64,
    ) -> Result<LeaseTry, StoreError> {
        let ask = self.ask(owner, None, lease_ms);
        let by = admitted_by.to_owned();
        self.write_for(site, move |t| {
            queue::lease_task(t, &ask, task, &by, cap, now)
        })
        .await
    }

    async fn renew(
        &self,
        task: u64,
        token: u64,
        lease_ms: u64,
        site: WorkerSite,
        now: u64,
    ) -> Result<u64, StoreError> {
        self.write_for(site, move |t| queue::renew(t, task, token, lease_ms, now))
            .await
    }

    async fn complete(
        &self,
        task: u64,
        token: u64,
        output: Value,
        next: Vec<NewTask>,
        outcome: Option<RunOutcome>,
        now: u64,
    ) -> Result<(), StoreError> {
        self.write(move |t| finish::complete(t, task, token, &output, &next, outcome.as_ref(), now))
            .await
    }

    async fn complete_step(
        &self,
        task: u64,
        token: u64,
        output: Value,
        advance: Advance,
        now: u64,
    ) -> Result<StepCompleted, StoreError> {
        self.write(move |t| advance::complete_step(t, task, token, &output, &advance, now))
            .await
    }

    async fn end_step(
        &self,
        task: u64,
        token: u64,
        end: StepEnd,
        advance: Advance,
        now: u64,
    ) -> Result<StepCompleted, StoreError> {
        self.write(move |t| advance::end_step(t, task, token, &end, &advance, now))
            .await
    }

    async fn complete_step_and_lease(
        &self,
        task: u64,
        token: u64,
        output: Value,
        advance: Advance,
        next: &NextLease,
        now: u64,
    ) -> Result<(StepCompleted, Option<Lease>), StoreError> {
        let ask = self.ask(&next.owner, next.pools.as_deref(), next.lease_ms);
        self.write(move |t| {
            let done = advance::complete_step(t, task, token, &output, &advance, now)?;
            let lease = queue::lease(t, &ask, now)?;
            Ok((done, lease))
        })
        .await
    }

    async fn fail(
        &self,
        task: u64,
        token: u64,
        error: &str,
        decision: FailDecision,
        decided_by: Option<&str>,
        now: u64,
    ) -> Result<(), StoreError> {
        let (error, by) = (error.to_owned(), decided_by.map(str::to_owned));
        self.write(move |t| finish::fail(t, task, token, &error, &decision, by.as_deref(), now))
            .await
    }

    async fn promote_and_expire(&self, now: u64) -> Result<u64, StoreError> {
        self.write_volatile(move |t| {
            queue::promote_due(t, now)?;
            queue::expire_due(t, now)
        })
        .await
    }

    async fn expire_leases(&self, now: u64) -> Result<u64, StoreError> {
        self.write(move |t| queue::expire_due(t, now)).await
    }

    async fn next_due(&self) -> Result<Option<u64>, StoreError> {
        self.read(read::next_due)
    }

    async fn next_lease_expiry(&self) -> Result<Option<u64>, StoreError> {
        self.read(read::next_lease_expiry)
    }

    async fn queue_next(
        &self,
        pool: Option<&str>,
        project: Option<&str>,
        now: u64,
    ) -> Result<Option<NextTask>, StoreError> {
        self.read(|rt| queue_next::queue_next(rt, pool, project, now))
    }

    async fn pool_view(
        &self,
        pool: &str,
        limits: ViewLimits,
        now: u64,
    ) -> Result<PoolView, StoreError> {
        self.read(|rt| pool_view::pool_view(rt, pool, limits, now))
    }

    async fn ready_pools(&self) -> Result<Vec<String>, StoreError> {
        self.read(pool_view::ready_pools)
    }

    async fn busy_pools(&self, now: u64) -> Result<Vec<String>, StoreError> {
        self.read(|rt| pool_view::busy_pools(rt, now))
    }

    async fn queue_stats(&self, now: u64) -> Result<QueueStats, StoreError> {
        self.read(|rt| read::queue_stats(rt, now))
    }

    async fn counters(&self) -> Result<Counters, StoreError> {
        self.read(read::counters)
    }

    async fn dlq_list(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.read(read::dlq_list)
    }

    async fn dlq_requeue(&self, task: u64, now: u64) -> Result<(), StoreError> {
        self.write(move |t| misc::dlq_requeue(t, task, now)).await
    }

    async fn dlq_purge(&self, task: u64, now: u64) -> Result<Purged, StoreError> {
        self.write(move |t| misc::dlq_purge(t, task, now)).await
    }
}
