//! [`QueueStore`]: the ready queue, leases with fencing tokens, and the
//! dead-letter queue.

use serde_json::Value;

use super::WorkerSite;
use crate::admission::{LeaseTry, PoolCap};
use crate::error::StoreError;
use crate::types::{
    Advance, Counters, DeadLetter, FailDecision, Lease, NewTask, NextLease, Purged, QueueStats,
    RunOutcome, StepCompleted, StepEnd,
};
use crate::views::{NextTask, PoolView, ViewLimits};

/// Handing tasks to workers and taking their results.
///
/// A lease carries a fencing token, greater than every token handed out for
/// the task before; `renew`, `complete*` and `fail` present it, and a token
/// whose lease was handed on, or has run out (`expires_at <= now`, reaped or
/// not), is refused with [`StoreError::StaleToken`] and the refusal recorded.
#[async_trait::async_trait]
pub trait QueueStore: Send + Sync {
    /// Leases the best ready task (highest priority, then oldest `ready_at`,
    /// then lowest id) of `pools` (all pools when `None`) to `owner` until
    /// `now + lease_ms`. Promotes due delayed tasks and expires stale leases
    /// first.
    async fn lease(
        &self,
        owner: &str,
        pools: Option<&[String]>,
        lease_ms: u64,
        site: WorkerSite,
        now: u64,
    ) -> Result<Option<Lease>, StoreError>;

    /// Leases task `task` (chosen by a pool policy) to `owner` if, in one
    /// transaction, it is ready now, its pool holds fewer than
    /// `cap.max_concurrent` live leases and the pool's token bucket (kept by
    /// the store, refilled with [`crate::TokenBucket::refilled`]) has a token,
    /// which the lease takes. This is the check that makes a pool's cap hold
    /// across processes; a refusal writes nothing. The `step-started` ledger
    /// event names the pool and `admitted_by`.
    #[allow(clippy::too_many_arguments)]
    async fn lease_task(
        &self,
        owner: &str,
        task: u64,
        admitted_by: &str,
        lease_ms: u64,
        site: WorkerSite,
        cap: PoolCap,
        now: u64,
    ) -> Result<LeaseTry, StoreError>;

    /// Extends a lease to `now + lease_ms` and returns the new expiry.
    async fn renew(
        &self,
        task: u64,
        token: u64,
        lease_ms: u64,
        site: WorkerSite,
        now: u64,
    ) -> Result<u64, StoreError>;

    /// Completes a leased task: the task is done, its output stored, `next`
    /// enqueued and the run finished if `outcome` is given, in one transaction.
    async fn complete(
        &self,
        task: u64,
        token: u64,
        output: Value,
        next: Vec<NewTask>,
        outcome: Option<RunOutcome>,
        now: u64,
    ) -> Result<(), StoreError>;

    /// Completes a leased task of a DAG run and decides, in the same
    /// transaction, which of `advance.candidates` became ready (every need has
    /// an output, no task for the step yet) and whether the run is done.
    /// Concurrent completions of parallel steps therefore enqueue a join step
    /// exactly once.
    async fn complete_step(
        &self,
        task: u64,
        token: u64,
        output: Value,
        advance: Advance,
        now: u64,
    ) -> Result<StepCompleted, StoreError>;

    /// Ends a leased task of a DAG run without an output of its own
    /// (`end`: skipped by its condition, or failed for good while the run
    /// goes on), then decides as [`QueueStore::complete_step`] does which of
    /// `advance.candidates` became ready and whether the run is done: the
    /// step's output is `null`, so it counts as ended for fan-in. A run that
    /// had a `StepEnd::Failed` ends failed, with the first one's reason.
    async fn end_step(
        &self,
        task: u64,
        token: u64,
        end: StepEnd,
        advance: Advance,
        now: u64,
    ) -> Result<StepCompleted, StoreError>;

    /// [`QueueStore::complete_step`], then, in the same transaction, leases the
    /// next ready task to `next.owner` (durably, since the completion is): a
    /// busy worker pays one commit per task.
    async fn complete_step_and_lease(
        &self,
        task: u64,
        token: u64,
        output: Value,
        advance: Advance,
        next: &NextLease,
        now: u64,
    ) -> Result<(StepCompleted, Option<Lease>), StoreError>;

    /// Fails a leased task and applies `decision`; the `step-failed` ledger
    /// event names `decided_by` (the retry strategy component's sha256) when
    /// given.
    async fn fail(
        &self,
        task: u64,
        token: u64,
        error: &str,
        decision: FailDecision,
        decided_by: Option<&str>,
        now: u64,
    ) -> Result<(), StoreError>;

    /// Promotes due delayed tasks and hands expired leases back (a crash loses
    /// nothing that the next call does not redo); returns how many leases it
    /// handed back.
    async fn promote_and_expire(&self, now: u64) -> Result<u64, StoreError>;

    /// Hands every expired lease's task back to the queue (durably); returns
    /// how many.
    async fn expire_leases(&self, now: u64) -> Result<u64, StoreError>;

    /// The earliest time (ms) at which a delayed task becomes due or a lease
    /// expires, if any: when a waiting worker should look again.
    async fn next_due(&self) -> Result<Option<u64>, StoreError>;

    /// When the first lease that has not been handed back runs out (ms), if
    /// any task is leased.
    async fn next_lease_expiry(&self) -> Result<Option<u64>, StoreError>;

    /// The task the next `lease` of `pool` (every pool when `None`) at `now`
    /// would hand out, or `None` when nothing is ready; among the runs whose id
    /// has the prefix `project` when given. Writes nothing.
    async fn queue_next(
        &self,
        pool: Option<&str>,
        project: Option<&str>,
        now: u64,
    ) -> Result<Option<NextTask>, StoreError>;

    /// The running and queued tasks of `pool` at `now` (leases that ran out do
    /// not count as running). Writes nothing.
    async fn pool_view(
        &self,
        pool: &str,
        limits: ViewLimits,
        now: u64,
    ) -> Result<PoolView, StoreError>;

    /// The pools that have a task in the ready queue, sorted.
    async fn ready_pools(&self) -> Result<Vec<String>, StoreError>;

    /// The pools that have a queued task or a live lease, sorted.
    async fn busy_pools(&self, now: u64) -> Result<Vec<String>, StoreError>;

    /// Queue depth per pool, inflight, delayed, DLQ size, oldest ready age.
    async fn queue_stats(&self, now: u64) -> Result<QueueStats, StoreError>;

    /// Persistent counters (stale-token refusals, redeliveries, schedule fires).
    async fn counters(&self) -> Result<Counters, StoreError>;

    /// Every dead-lettered task.
    async fn dlq_list(&self) -> Result<Vec<DeadLetter>, StoreError>;

    /// Puts a dead-lettered task back in the ready queue (attempt + 1).
    async fn dlq_requeue(&self, task: u64, now: u64) -> Result<(), StoreError>;

    /// Drops a task from the dead-letter queue for good; a run still open
    /// fails with it (see [`Purged::run_ended`]).
    async fn dlq_purge(&self, task: u64, now: u64) -> Result<Purged, StoreError>;
}
