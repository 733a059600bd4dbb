//! [`RunStore`]: submitting runs and reading them back.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::admission::StrictPool;
use crate::error::StoreError;
use crate::types::{LeaseRecord, NewRun, RunFilter, RunRecord, Submitted, TaskRecord};
use crate::views::RunEvents;

/// Submitting, cancelling and reading runs, their tasks, outputs and artifacts,
/// and the idempotency keys that name them.
#[async_trait::async_trait]
pub trait RunStore: Send + Sync + std::fmt::Debug {
    /// Submits a run with its first tasks; an idempotency key still alive
    /// returns the run it names with `created: false` (the same flow and
    /// input) or is refused with [`StoreError::IdempotencyConflict`].
    async fn submit_run(&self, new: NewRun, now: u64) -> Result<Submitted, StoreError> {
        self.submit_run_capped(new, &[], now).await
    }

    /// [`RunStore::submit_run`], refused with [`StoreError::PoolExhausted`]
    /// (writing nothing) when a new run's first task would enter one of
    /// `strict` that already holds `max_concurrent` running plus queued
    /// tasks. The check and the insert are one transaction, and submits into
    /// one strict pool are serialised, so concurrent submits through any
    /// number of processes never pass it. An idempotency hit is answered as
    /// usual, full pool or not.
    async fn submit_run_capped(
        &self,
        new: NewRun,
        strict: &[StrictPool],
        now: u64,
    ) -> Result<Submitted, StoreError>;

    /// Cancels a run that has not finished: its open tasks are cancelled,
    /// its error and its `run-cancelled` event's `reason` are
    /// [`cancel_reason`](crate::cancel_reason)`(reason)`.
    async fn cancel(&self, run: &str, reason: Option<&str>, now: u64) -> Result<(), StoreError>;

    /// One run.
    async fn run_get(&self, id: &str) -> Result<Option<RunRecord>, StoreError>;

    /// Up to `limit` runs matching `filter`, newest first.
    async fn runs_list(
        &self,
        limit: usize,
        filter: &RunFilter,
    ) -> Result<Vec<RunRecord>, StoreError>;

    /// Every run id, oldest submission first (for rebuilding an index).
    async fn run_ids(&self) -> Result<Vec<String>, StoreError>;

    /// One task.
    async fn task_get(&self, id: u64) -> Result<Option<TaskRecord>, StoreError>;

    /// The tasks of a run, by id.
    async fn tasks_of(&self, run: &str) -> Result<Vec<TaskRecord>, StoreError>;

    /// A task's current lease.
    async fn lease_of(&self, task: u64) -> Result<Option<LeaseRecord>, StoreError>;

    /// Step id → output of every completed step of a run.
    async fn step_outputs(&self, run: &str) -> Result<BTreeMap<String, Value>, StoreError>;

    /// Run `run`, its open task count and its ledger events after seq `after`,
    /// from one snapshot; `None` when there is no such run.
    async fn run_events(&self, run: &str, after: u64) -> Result<Option<RunEvents>, StoreError>;

    /// Writes an artifact of a run.
    async fn artifact_put(
        &self,
        run: &str,
        key: &str,
        value: Value,
        now: u64,
    ) -> Result<(), StoreError>;

    /// One artifact.
    async fn artifact_get(&self, run: &str, key: &str) -> Result<Option<Value>, StoreError>;

    /// The artifact keys of a run.
    async fn artifact_list(&self, run: &str) -> Result<Vec<String>, StoreError>;

    /// The run idempotency key `key` names and until when (ms), expired or
    /// not, while the key is stored.
    async fn idempotency_get(&self, key: &str) -> Result<Option<(String, u64)>, StoreError>;

    /// How many idempotency keys are stored (expired ones not purged yet
    /// included).
    async fn idempotency_count(&self) -> Result<u64, StoreError>;

    /// Removes at most `limit` idempotency keys that have run out at `now`,
    /// oldest first; returns how many. A purged key changes nothing a submit
    /// sees (an expired key is taken over anyway). Call it again while it
    /// returns `limit`.
    async fn purge_idempotency(&self, now: u64, limit: usize) -> Result<usize, StoreError>;
}
