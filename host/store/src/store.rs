//! [`Store`]: the cloneable handle. Writes go to the single writer and resolve
//! after their batch has committed durably; reads open their own MVCC snapshot.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableDatabase};

use crate::guard::GuardedDb;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;
use crate::ledger::{LedgerEvent, VerifyReport};
use crate::ops::queue::LeaseAsk;
use crate::ops::{advance, finish, misc, queue, submit};
use crate::read;
use crate::tables::{self, Tables};
use crate::types::{
    Advance, Counters, DeadLetter, FailDecision, Lease, LeaseRecord, NewRun, NewTask, NextLease,
    Purged, QueueStats, RunFilter, RunOutcome, RunRecord, StepCompleted, Submitted, TaskRecord,
    ToolCall, WriterStats,
};
use crate::writer::{self, Msg, Stats, TypedJob};

/// The durable store of weft. Cheap to clone; every clone talks to the same
/// writer thread. Every time argument (`now`) is ms since the Unix epoch, passed
/// in by the caller: the store never reads a clock.
#[derive(Clone)]
pub struct Store {
    db: Arc<GuardedDb>,
    /// The least fencing token this process hands out (see `LeaseAsk`).
    token_floor: u64,
    tx: mpsc::UnboundedSender<Msg>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("writer", &self.stats.snapshot())
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the database at `path` and starts its writer thread.
    /// redb recovers a database that was not closed cleanly while opening it.
    /// A damaged file is [`StoreError::Damaged`] naming it, never a panic
    /// (see `guard`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = GuardedDb::create(path.as_ref(), &Database::builder())?;
        let epoch = db.with(|db| {
            tables::create_all(db)?;
            tables::index_idempotency(db)?;
            tables::open_epoch(db)
        })?;
        let db = Arc::new(db);
        let stats = Arc::new(Stats::default());
        let tx = writer::spawn(Arc::clone(&db), Arc::clone(&stats))?;
        Ok(Self {
            db,
            token_floor: epoch.saturating_sub(1) << 32,
            tx,
            stats,
        })
    }

    /// Stops the writer after the jobs it already took and waits for it. The
    /// database file is released when the last clone of this handle is dropped.
    pub async fn close(self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Close(ack)).is_ok() {
            let _ = done.await;
        }
    }

    /// Commits and operations since `open` (shows group commit at work).
    pub fn writer_stats(&self) -> WriterStats {
        self.stats.snapshot()
    }

    /// A receiver that changes after every commit of the writer: wait on it
    /// (`changed().await`) to look at the store again once something was
    /// written, instead of polling.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.stats.watch_commits()
    }

    /// Runs `op` in the writer; resolves after its batch is durably committed.
    pub(crate) async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.send(op, true).await
    }

    /// Runs `op` in the writer; resolves after its batch is committed, which
    /// may be without fsync (leases: see `writer`'s module docs).
    async fn write_volatile<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.send(op, false).await
    }

    async fn send<T, F>(&self, op: F, durable: bool) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Fn(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (job, rx) = TypedJob::new(Box::new(op), durable);
        self.tx
            .send(Msg::Job(Box::new(job)))
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Runs `f` on a read transaction (a snapshot of the last commit).
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.db.with(|db| f(&db.begin_read()?))
    }

    /// Submits a run with its first tasks; an idempotency key still alive returns
    /// the run it names with `created: false`.
    pub async fn submit_run(&self, new: NewRun, now: u64) -> Result<Submitted, StoreError> {
        self.write(move |t| submit::submit_run(t, &new, now)).await
    }

    /// The lease request with this process's token floor.
    fn ask(&self, owner: &str, pools: Option<&[String]>, lease_ms: u64) -> LeaseAsk {
        LeaseAsk {
            owner: owner.to_owned(),
            pools: pools.map(<[String]>::to_vec),
            lease_ms,
            token_floor: self.token_floor,
        }
    }

    /// Leases the best ready task (highest priority, then oldest `ready_at`, then
    /// lowest id) of `pools` (all pools when `None`). Promotes due delayed tasks
    /// and expires stale leases first. Answers after a durable commit: for a
    /// worker in another process (see [`Store::lease_in_process`]).
    pub async fn lease(
        &self,
        owner: &str,
        pools: Option<&[String]>,
        lease_ms: u64,
        now: u64,
    ) -> Result<Option<Lease>, StoreError> {
        let ask = self.ask(owner, pools, lease_ms);
        self.write(move |t| queue::lease(t, &ask, now)).await
    }

    /// [`Store::lease`] for a worker in this process: the commit is volatile (no
    /// fsync). A crash can lose the lease, but it also ends the worker that
    /// held it, and the lease's fencing token is never handed out again.
    pub async fn lease_in_process(
        &self,
        owner: &str,
        pools: Option<&[String]>,
        lease_ms: u64,
        now: u64,
    ) -> Result<Option<Lease>, StoreError> {
        let ask = self.ask(owner, pools, lease_ms);
        self.write_volatile(move |t| queue::lease(t, &ask, now))
            .await
    }

    /// Extends a lease to `now + lease_ms` and returns the new expiry. A stale
    /// token, or a lease that has run out (`expires_at <= now`, reaped or not),
    /// is refused ([`StoreError::StaleToken`]) and recorded.
    pub async fn renew(
        &self,
        task: u64,
        token: u64,
        lease_ms: u64,
        now: u64,
    ) -> Result<u64, StoreError> {
        self.write(move |t| queue::renew(t, task, token, lease_ms, now))
            .await
    }

    /// [`Store::renew`] for a worker in this process: volatile, like
    /// [`Store::lease_in_process`].
    pub async fn renew_in_process(
        &self,
        task: u64,
        token: u64,
        lease_ms: u64,
        now: u64,
    ) -> Result<u64, StoreError> {
        self.write_volatile(move |t| queue::renew(t, task, token, lease_ms, now))
            .await
    }

    /// Completes a leased task (fenced by `token`): the task is done, its output
    /// stored, `next` enqueued and the run finished if `outcome` is given, in one
    /// transaction. A stale token, or a lease that has run out, is refused and
    /// recorded (see `ops::common::check_fence`).
    pub async fn complete(
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

    /// Completes a leased task of a DAG run (fenced by `token`) and lets the store
    /// decide, in the same transaction, which of `advance.candidates` became
    /// ready (every need has an output, no task for the step yet) and whether the
    /// run is done. Concurrent completions of parallel steps therefore enqueue a
    /// join step exactly once.
    pub async fn complete_step(
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

    /// [`Store::complete_step`], then, in the same transaction, leases the next
    /// ready task to `next.owner` (as [`Store::lease`]; durable, since the
    /// completion is): a busy worker pays one commit per task.
    pub async fn complete_step_and_lease(
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

    /// The earliest time (ms) at which a delayed task becomes due or a lease
    /// expires, if any: when a waiting worker should look again.
    pub fn next_due(&self) -> Result<Option<u64>, StoreError> {
        self.read(read::next_due)
    }

    /// Fails a leased task (fenced by `token`) and applies `decision`.
    pub async fn fail(
        &self,
        task: u64,
        token: u64,
        error: &str,
        decision: FailDecision,
        now: u64,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.write(move |t| finish::fail(t, task, token, &error, &decision, None, now))
            .await
    }

    /// [`Store::fail`], naming in the `step-failed` ledger event the retry
    /// strategy component (its sha256) that made `decision`.
    pub async fn fail_decided(
        &self,
        task: u64,
        token: u64,
        error: &str,
        decision: FailDecision,
        decided_by: &str,
        now: u64,
    ) -> Result<(), StoreError> {
        let (error, by) = (error.to_owned(), decided_by.to_owned());
        self.write(move |t| finish::fail(t, task, token, &error, &decision, Some(&by), now))
            .await
    }

    /// Leases task `task` (chosen by a pool policy) to `owner` if it is ready
    /// now; `None` if it is not any more. The `step-started` ledger event
    /// names the pool and `admitted_by`. `durable`: a worker in another
    /// process (see [`Store::lease`]); else volatile, as
    /// [`Store::lease_in_process`].
    pub async fn lease_task(
        &self,
        owner: &str,
        task: u64,
        admitted_by: &str,
        lease_ms: u64,
        durable: bool,
        now: u64,
    ) -> Result<Option<Lease>, StoreError> {
        let ask = self.ask(owner, None, lease_ms);
        let by = admitted_by.to_owned();
        let op =
            move |t: &mut crate::tables::Tables<'_>| queue::lease_task(t, &ask, task, &by, now);
        if durable {
            self.write(op).await
        } else {
            self.write_volatile(op).await
        }
    }

    /// Promotes due delayed tasks and hands expired leases back (volatile:
    /// a crash loses nothing that the next call does not redo); returns how
    /// many leases it handed back.
    pub async fn promote_and_expire(&self, now: u64) -> Result<u64, StoreError> {
        self.write_volatile(move |t| {
            queue::promote_due(t, now)?;
            queue::expire_due(t, now)
        })
        .await
    }

    /// When the first lease that has not been handed back runs out (ms), if
    /// any task is leased.
    pub fn next_lease_expiry(&self) -> Result<Option<u64>, StoreError> {
        self.read(read::next_lease_expiry)
    }

    /// Cancels a run that has not finished.
    pub async fn cancel(&self, run: &str, now: u64) -> Result<(), StoreError> {
        let run = run.to_owned();
        self.write(move |t| finish::cancel(t, &run, now)).await
    }

    /// Hands every expired lease's task back to the queue; returns how many.
    pub async fn expire_leases(&self, now: u64) -> Result<u64, StoreError> {
        self.write(move |t| queue::expire_due(t, now)).await
    }

    /// Journals a model call's answer (first answer wins); true if stored now.
    pub async fn journal_put(
        &self,
        run: &str,
        step: &str,
        index: u32,
        value: Value,
        now: u64,
    ) -> Result<bool, StoreError> {
        let (run, step) = (run.to_owned(), step.to_owned());
        self.write(move |t| misc::journal_put(t, &run, &step, index, &value, now))
            .await
    }

    /// Records a tool call of a step (`call-tool`) in the run's ledger.
    pub async fn tool_called(&self, run: &str, call: ToolCall, now: u64) -> Result<(), StoreError> {
        let run = run.to_owned();
        self.write(move |t| misc::tool_called(t, &run, &call, now))
            .await
    }

    /// Writes an artifact of a run.
    pub async fn artifact_put(
        &self,
        run: &str,
        key: &str,
        value: Value,
        now: u64,
    ) -> Result<(), StoreError> {
        let (run, key) = (run.to_owned(), key.to_owned());
        self.write(move |t| misc::artifact_put(t, &run, &key, &value, now))
            .await
    }

    /// Puts a dead-lettered task back in the ready queue (attempt + 1).
    pub async fn dlq_requeue(&self, task: u64, now: u64) -> Result<(), StoreError> {
        self.write(move |t| misc::dlq_requeue(t, task, now)).await
    }

    /// Drops a task from the dead-letter queue for good; a run still open
    /// fails with it (see [`Purged::run_ended`]).
    pub async fn dlq_purge(&self, task: u64, now: u64) -> Result<Purged, StoreError> {
        self.write(move |t| misc::dlq_purge(t, task, now)).await
    }

    /// One run.
    pub fn run_get(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.read(|rt| read::run_get(rt, id))
    }

    /// Up to `limit` runs matching `filter`, newest first.
    pub fn runs_list(
        &self,
        limit: usize,
        filter: &RunFilter,
    ) -> Result<Vec<RunRecord>, StoreError> {
        self.read(|rt| read::runs_list(rt, limit, filter))
    }

    /// One task.
    pub fn task_get(&self, id: u64) -> Result<Option<TaskRecord>, StoreError> {
        self.read(|rt| read::task_get(rt, id))
    }

    /// The tasks of a run, by id.
    pub fn tasks_of(&self, run: &str) -> Result<Vec<TaskRecord>, StoreError> {
        self.read(|rt| read::tasks_of(rt, run))
    }

    /// A task's current lease.
    pub fn lease_of(&self, task: u64) -> Result<Option<LeaseRecord>, StoreError> {
        self.read(|rt| read::lease_of(rt, task))
    }

    /// A run's ledger in order.
    pub fn ledger(&self, run: &str) -> Result<Vec<LedgerEvent>, StoreError> {
        self.read(|rt| read::ledger(rt, run))
    }

    /// Recomputes a run's hash chain; the report names the first bad seq.
    pub fn verify(&self, run: &str) -> Result<VerifyReport, StoreError> {
        self.read(|rt| read::verify(rt, run))
    }

    /// Step id → output of every completed step of a run.
    pub fn step_outputs(&self, run: &str) -> Result<BTreeMap<String, Value>, StoreError> {
        self.read(|rt| read::step_outputs(rt, run))
    }

    /// A journaled model call answer.
    pub fn journal_get(
        &self,
        run: &str,
        step: &str,
        index: u32,
    ) -> Result<Option<Value>, StoreError> {
        self.read(|rt| read::journal_get(rt, run, step, index))
    }

    /// One artifact.
    pub fn artifact_get(&self, run: &str, key: &str) -> Result<Option<Value>, StoreError> {
        self.read(|rt| read::artifact_get(rt, run, key))
    }

    /// The artifact keys of a run.
    pub fn artifact_list(&self, run: &str) -> Result<Vec<String>, StoreError> {
        self.read(|rt| read::artifact_list(rt, run))
    }

    /// Every dead-lettered task.
    pub fn dlq_list(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.read(read::dlq_list)
    }

    /// Queue depth per pool, inflight, delayed, DLQ size, oldest ready age.
    pub fn queue_stats(&self, now: u64) -> Result<QueueStats, StoreError> {
        self.read(|rt| read::queue_stats(rt, now))
    }

    /// Persistent counters (stale-token refusals, redeliveries, schedule fires).
    pub fn counters(&self) -> Result<Counters, StoreError> {
        self.read(read::counters)
    }
}
