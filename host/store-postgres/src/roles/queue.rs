//! [`QueueStore`] on PostgreSQL. Leases for `WorkerSite::InProcess` are
//! committed durably like every other write (PostgreSQL has no cheaper
//! commit to offer that would still be seen by other processes).

use serde_json::Value;
use weft_store_api::{
    Advance, Counters, DeadLetter, FailDecision, Lease, LeaseTry, NewTask, NextLease, NextTask,
    PoolCap, PoolView, Purged, QueueStats, QueueStore, RunOutcome, StepCompleted, StepEnd,
    StoreError, ViewLimits, WorkerSite,
};

use crate::ops::{advance, finish, misc, queue};
use crate::reads::{self, pools};
use crate::store::PgStore;
use crate::tx::{read_tx, write_tx};

#[async_trait::async_trait]
impl QueueStore for PgStore {
    async fn lease(
        &self,
        owner: &str,
        pools: Option<&[String]>,
        lease_ms: u64,
        _site: WorkerSite,
        now: u64,
    ) -> Result<Option<Lease>, StoreError> {
        write_tx!(self, t => queue::lease(&t, owner, pools, lease_ms, now).await)
    }

    async fn lease_task(
        &self,
        owner: &str,
        task: u64,
        admitted_by: &str,
        lease_ms: u64,
        _site: WorkerSite,
        cap: PoolCap,
        now: u64,
    ) -> Result<LeaseTry, StoreError> {
        write_tx!(self, t => queue::lease_task(&t, owner, task, admitted_by, lease_ms, cap, now).await)
    }

    async fn renew(
        &self,
        task: u64,
        token: u64,
        lease_ms: u64,
        _site: WorkerSite,
        now: u64,
    ) -> Result<u64, StoreError> {
        write_tx!(self, t => queue::renew(&t, task, token, lease_ms, now).await)
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
        write_tx!(self, t => finish::complete(&t, task, token, &output, &next, outcome.as_ref(), now).await)
    }

    async fn complete_step(
        &self,
        task: u64,
        token: u64,
        output: Value,
        advance: Advance,
        now: u64,
    ) -> Result<StepCompleted, StoreError> {
        write_tx!(self, t => advance::complete_step(&t, task, token, &output, &advance, now).await)
    }

    async fn end_step(
        &self,
        task: u64,
        token: u64,
        end: StepEnd,
        advance: Advance,
        now: u64,
    ) -> Result<StepCompleted, StoreError> {
        write_tx!(self, t => advance::end_step(&t, task, token, &end, &advance, now).await)
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
        write_tx!(self, t => async {
            let done = advance::complete_step(&t, task, token, &output, &advance, now).await?;
            let lease = queue::lease(&t, &next.owner, next.pools.as_deref(), next.lease_ms, now).await?;
            Ok::<_, StoreError>((done, lease))
        }.await)
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
        write_tx!(self, t => finish::fail(&t, task, token, error, &decision, decided_by, now).await)
    }

    async fn promote_and_expire(&self, now: u64) -> Result<u64, StoreError> {
        write_tx!(self, t => async {
            queue::promote_due(&t, now).await?;
            queue::expire_due(&t, now).await
        }.await)
    }

    async fn expire_leases(&self, now: u64) -> Result<u64, StoreError> {
        write_tx!(self, t => queue::expire_due(&t, now).await)
    }

    async fn next_due(&self) -> Result<Option<u64>, StoreError> {
        read_tx!(self, t => reads::next_due(&t).await)
    }

    async fn next_lease_expiry(&self) -> Result<Option<u64>, StoreError> {
        read_tx!(self, t => reads::next_lease_expiry(&t).await)
    }

    async fn queue_next(
        &self,
        pool: Option<&str>,
        project: Option<&str>,
        now: u64,
    ) -> Result<Option<NextTask>, StoreError> {
        read_tx!(self, t => pools::queue_next(&t, pool, project, now).await)
    }

    async fn pool_view(
        &self,
        pool: &str,
        limits: ViewLimits,
        now: u64,
    ) -> Result<PoolView, StoreError> {
        read_tx!(self, t => pools::pool_view(&t, pool, limits, now).await)
    }

    async fn ready_pools(&self) -> Result<Vec<String>, StoreError> {
        read_tx!(self, t => pools::ready_pools(&t).await)
    }

    async fn busy_pools(&self, now: u64) -> Result<Vec<String>, StoreError> {
        read_tx!(self, t => pools::busy_pools(&t, now).await)
    }

    async fn queue_stats(&self, now: u64) -> Result<QueueStats, StoreError> {
        read_tx!(self, t => pools::queue_stats(&t, now).await)
    }

    async fn counters(&self) -> Result<Counters, StoreError> {
        read_tx!(self, t => reads::counters(&t).await)
    }

    async fn dlq_list(&self) -> Result<Vec<DeadLetter>, StoreError> {
        read_tx!(self, t => reads::dlq_list(&t).await)
    }

    async fn dlq_requeue(&self, task: u64, now: u64) -> Result<(), StoreError> {
        write_tx!(self, t => misc::dlq_requeue(&t, task, now).await)
    }

    async fn dlq_purge(&self, task: u64, now: u64) -> Result<Purged, StoreError> {
        write_tx!(self, t => misc::dlq_purge(&t, task, now).await)
    }
}
