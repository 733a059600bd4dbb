//! Small values the store hands out: change-feed entries, charges and cost
//! rows, a run with its newest events, the next task of a queue, a pool's view,
//! and the components swapped in at run time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ledger::LedgerEvent;
use crate::types::{RunRecord, TaskState};

/// One entry of the change feed: the run whose ledger grew at `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Global, gap-free, increasing from 1.
    pub seq: u64,
    /// The run that changed.
    pub run_id: String,
}

/// What one model call costs, charged with its journaled answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The UTC day (`yyyy-mm-dd`) it counts for: the day its budget was
    /// checked, even if the answer came after midnight.
    pub day: String,
    /// The task's pool.
    pub pool: String,
    /// The model (its name in `weft.yaml`).
    pub model: String,
    /// Input tokens the adapter reported.
    pub input_tokens: u64,
    /// Output tokens the adapter reported.
    pub output_tokens: u64,
    /// The cost in micro-dollars.
    pub micro_usd: u64,
    /// The budget reservation the charge replaces (released with it).
    pub reservation: Option<u64>,
}

/// One row of the cost table: a (UTC day, tenant, pool, model) total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostRow {
    /// UTC day, `yyyy-mm-dd`.
    pub day: String,
    /// The tenant of the runs.
    pub tenant: String,
    /// The pool of the tasks.
    pub pool: String,
    /// The model.
    pub model: String,
    /// Model calls charged.
    pub calls: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Micro-dollars.
    pub micro_usd: u64,
}

/// A run and its newest ledger events, consistent with each other: every event
/// of a change that `run` and `open_tasks` show is in `events` (or before
/// `after`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvents {
    /// The run.
    pub run: RunRecord,
    /// Its tasks that are ready, delayed or leased.
    pub open_tasks: u64,
    /// Its ledger events with `seq > after`, oldest first.
    pub events: Vec<LedgerEvent>,
    /// The seq of its last ledger event (0: none yet).
    pub last_seq: u64,
}

impl RunEvents {
    /// Whether the run can go on without an operator: it has not finished and
    /// has an open task (a run whose last open step was dead-lettered has none).
    pub fn is_moving(&self) -> bool {
        !self.run.status.is_final() && self.open_tasks > 0
    }
}

/// The task that would be leased next, as [`QueueStore::queue_next`](crate::QueueStore::queue_next) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextTask {
    /// The task.
    pub task: u64,
    /// Its run.
    pub run: String,
    /// The run's flow.
    pub flow: String,
    /// Its step.
    pub step: String,
    /// Its pool.
    pub pool: String,
    /// Its priority (higher first).
    pub priority: u32,
    /// The attempt the lease would run (1-based).
    pub attempt: u32,
    /// Since when it has been ready (ms since the Unix epoch): its `ready_at`,
    /// or, for a task whose lease has expired, `now` (it is handed back then).
    pub ready_since_ms: u64,
    /// `now - ready_since_ms`.
    pub lag_ms: u64,
    /// Its state as stored: `ready`; `delayed` for a retry whose time has come;
    /// `leased` for a task whose lease has run out (the next lease promotes or
    /// hands back both before it picks).
    pub state: TaskState,
}

/// A task of a pool, running or queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolTask {
    /// The task.
    pub task: u64,
    /// Its run.
    pub run: String,
    /// The run's flow.
    pub flow: String,
    /// Its step.
    pub step: String,
    /// The run's tenant.
    pub tenant: String,
    /// Its priority (higher first).
    pub priority: u32,
    /// Running: when its lease was handed out; queued: when it became ready
    /// (ms since the Unix epoch).
    pub since_ms: u64,
}

/// How many candidates a view gathers, and how far it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewLimits {
    /// At most this many queued tasks are returned.
    pub candidates: usize,
    /// At most this many of them per tenant, so that a tenant queued behind a
    /// flood still shows up among the candidates.
    pub per_tenant: usize,
    /// At most this many queue entries are read (a bound on the number of
    /// tenants looked at, never reached by the depth of one tenant's queue).
    pub scan: usize,
}

/// A pool as [`QueueStore::pool_view`](crate::QueueStore::pool_view) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PoolView {
    /// Tasks holding a lease that has not run out, oldest first.
    pub running: Vec<PoolTask>,
    /// Queued tasks in lease order (priority, then ready time): the first of
    /// every tenant with work, then more, up to `limits.candidates` in all and
    /// `limits.per_tenant` per tenant.
    pub queued: Vec<PoolTask>,
    /// How many tasks are in the pool's ready queue (all of them).
    pub queued_total: u64,
    /// The pool's token bucket as last written (`None` before its first
    /// rate-limited lease); refill it to now with
    /// [`TokenBucket::refilled`](crate::TokenBucket::refilled).
    #[serde(default)]
    pub bucket: Option<crate::TokenBucket>,
}

impl PoolView {
    /// Running tasks per tenant.
    pub fn active_by_tenant(&self) -> BTreeMap<String, u32> {
        let mut out = BTreeMap::new();
        for t in &self.running {
            *out.entry(t.tenant.clone()).or_insert(0) += 1;
        }
        out
    }
}

/// A component that replaces the one `weft.yaml` names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// The component's SHA-256 (hex); its bytes are kept by the caller under
    /// this name.
    pub sha256: String,
    /// The config it is called with (`None`: the one `weft.yaml` gives).
    pub config: Option<Value>,
    /// When it was swapped in (ms since the Unix epoch).
    pub swapped_ms: u64,
    /// What to call it (e.g. `fair-share`, from the file swapped in); `None`
    /// for an override stored before names were kept, or swapped in unnamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A swap to record: `key` (`pool:<name>` or `retry:<flow>`) gets `new`; the
/// ledger stream `stream` (`@pool:<name>`, `@retry:<flow>`) records it with the
/// sha256 it replaces.
#[derive(Debug, Clone)]
pub struct Swap {
    /// The override's key.
    pub key: String,
    /// The ledger stream to record the swap in.
    pub stream: String,
    /// The sha256 of the component in use before (from `weft.yaml` or an
    /// earlier swap).
    pub old_sha256: String,
    /// The new component.
    pub new: Override,
}
