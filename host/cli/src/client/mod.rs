//! One way for commands to reach weft: the [`WeftClient`] trait, implemented
//! on the state folder ([`local::LocalClient`]: the store, and an engine opened
//! on it where an operation needs the engine) and on a running daemon
//! ([`daemon::DaemonApi`]: its HTTP API, over TCP or its Unix socket, through
//! the transport of [`http`], which the commands that only talk to a daemon
//! use directly).
//!
//! A command calls [`open`] once with its `--state`/`--daemon` flags, then asks
//! the client for what it shows and prints it: the choice between local state
//! and a daemon is made here, not in each command. The methods answer with the
//! store's domain types (`weft_store_api`), or, where the daemon's answer is
//! itself the view a command prints (queue figures, costs, pools, swap
//! reports), with that JSON, which the local side builds with the same
//! functions the daemon uses.

use std::collections::BTreeMap;

use anyhow::Result;
use async_trait::async_trait;
use serde_json::{Map, Value};
use weft_core::SwapTarget;
use weft_engine::{HeldLease, ProgressEvent};
use weft_index::{SearchRequest, SearchResults};
use weft_store_api::{
    DeadLetter, HeadSignature, LedgerEvent, LockAcquire, LockRecord, NextTask, RunFilter,
    RunRecord, RunStatus, TaskRecord, VerifyReport,
};

use self::http::DaemonClient;
use crate::cli::StateArgs;

pub(crate) mod daemon;
mod daemon_follow;
pub(crate) mod http;
pub(crate) use self::daemon_follow::FOLLOW_WAIT_SECS;
pub(crate) mod local;
mod local_engine;
mod local_search;
mod state_store;
mod unix_transport;

pub(crate) use self::daemon::DaemonApi;
pub(crate) use self::local::LocalClient;
pub(crate) use self::state_store::StateStore;

/// A run with its tasks, step outputs and dead letters (`weft runs status`).
pub(crate) struct RunView {
    /// The run.
    pub run: RunRecord,
    /// Its tasks.
    pub tasks: Vec<TaskRecord>,
    /// Each step's output, by step id.
    pub outputs: BTreeMap<String, Value>,
    /// Its dead-lettered tasks.
    pub dead: Vec<DeadLetter>,
}

/// A run's ledger events after a seq, with its status and open tasks from the
/// same snapshot.
pub(crate) struct EventsPage {
    /// The events after the seq asked for, oldest first.
    pub events: Vec<LedgerEvent>,
    /// The run's status.
    pub status: RunStatus,
    /// The run's ready, delayed or leased tasks.
    pub open_tasks: u64,
}

/// A run being resumed: where, what it waits for, and where to follow it from.
pub(crate) struct Resuming {
    /// The run's id.
    pub run: String,
    /// Where it runs, for the `resuming run …` line: `(FLOW)` locally, `on the
    /// daemon at URL` through a daemon.
    pub place: String,
    /// The leases of dead workers the run waits for.
    pub held: Vec<HeldLease>,
    /// The time the leases' expiry is counted from.
    pub now_ms: u64,
    /// The last ledger seq when the resume began.
    pub after: u64,
    /// Whether the run can go on by itself (not finished, an open task).
    pub moving: bool,
}

/// A run that has finished or cannot go on, with what `weft run` and `weft
/// runs resume` report of it.
pub(crate) struct Outcome {
    /// The run.
    pub run: RunRecord,
    /// Its ledger's verification.
    pub verify: VerifyReport,
    /// Its dead letters.
    pub dead: Vec<DeadLetter>,
}

/// Shows one step's progress (as `weft run` does).
pub(crate) type ShowProgress = dyn Fn(&ProgressEvent) + Send + Sync;

/// A component to swap in.
pub(crate) struct Swap<'a> {
    /// What it replaces.
    pub target: &'a SwapTarget,
    /// The name it goes by, if it has a valid one.
    pub name: Option<String>,
    /// The component's bytes.
    pub wasm: &'a [u8],
    /// Its configuration, if any.
    pub config: Option<Value>,
}

/// weft as the commands see it: the state folder's, or a daemon's.
#[async_trait]
pub(crate) trait WeftClient: Send + Sync {
    /// Where the runs are, for messages: the state folder (or database), or
    /// the daemon's URL.
    async fn place(&self) -> Result<String>;

    /// The run `id`.
    async fn run(&self, id: &str) -> Result<RunRecord>;

    /// The run `id` with its tasks, outputs and dead letters.
    async fn run_view(&self, id: &str) -> Result<RunView>;

    /// Up to `limit` runs that `filter` admits (its flow and status), newest
    /// first.
    async fn runs_list(&self, limit: usize, filter: &RunFilter) -> Result<Vec<RunRecord>>;

    /// The events of run `id` after seq `after`; with `wait_secs`, waits up
    /// to that long for one while the run has not finished.
    async fn run_events(&self, id: &str, after: u64, wait_secs: u64) -> Result<EventsPage>;

    /// Every event of run `id`'s ledger.
    async fn ledger(&self, id: &str) -> Result<Vec<LedgerEvent>>;

    /// Recomputes run `id`'s hash chain.
    async fn verify(&self, id: &str) -> Result<VerifyReport>;

    /// The signed heads of run `id`'s ledger; `None` where they cannot be
    /// read (the daemon's API does not serve them).
    async fn head_signatures(&self, id: &str) -> Result<Option<Vec<HeadSignature>>>;

    /// Run `id`'s id as the store has it, and every artifact by key.
    async fn artifacts(&self, id: &str) -> Result<(String, Map<String, Value>)>;

    /// The value of run `id`'s artifact `key`.
    async fn artifact(&self, id: &str, key: &str) -> Result<Value>;

    /// Starts resuming run `id`: expired leases come back at once.
    async fn resume_begin(&self, id: &str) -> Result<Resuming>;

    /// Follows the run `resume_begin` started until it finishes or cannot go
    /// on, showing each step's progress; then its run record, verification
    /// and dead letters.
    async fn resume_follow(&self, resuming: &Resuming, show: &ShowProgress) -> Result<Outcome>;

    /// The dead letters (those since `since_ms`, the `limit` most recent,
    /// where the side filters; the caller filters again).
    async fn dlq_list(
        &self,
        since_ms: Option<u64>,
        limit: Option<usize>,
    ) -> Result<Vec<DeadLetter>>;

    /// Drops dead-lettered task `task` for good (its run, if still open,
    /// fails and its end is reported as any run's end).
    async fn dlq_purge(&self, task: u64) -> Result<()>;

    /// Puts dead-lettered task `task` back in the ready queue.
    async fn dlq_requeue(&self, task: u64) -> Result<()>;

    /// Cancels run `id` (`reason` kept as its error): its open tasks are
    /// dropped and its running steps stopped; the run as it ended.
    async fn cancel(&self, id: &str, reason: Option<&str>) -> Result<RunRecord>;

    /// Whether requeued tasks run again by themselves (a daemon's workers take
    /// them); locally `weft runs resume` continues the run.
    fn runs_requeued(&self) -> bool;

    /// The queue figures, as `GET /v1/queue/stats` shows them.
    async fn queue_stats(&self) -> Result<Value>;

    /// The task the next lease would take (in `pool`, among project
    /// `project`'s runs): a peek.
    async fn queue_next(
        &self,
        pool: Option<&str>,
        project: Option<&str>,
    ) -> Result<Option<NextTask>>;

    /// The cost table since UTC day `since` (empty: all), of `tenant` if
    /// given, as `GET /v1/costs` shows it.
    async fn costs(&self, since: &str, tenant: Option<&str>) -> Result<Value>;

    /// The pools (or only `pool`), with the time and the model circuits, as
    /// `GET /v1/pools` shows them.
    async fn pools(&self, pool: Option<&str>) -> Result<Value>;

    /// Swaps a component in; the swap report as `PUT …/policy` shows it.
    async fn swap(&self, swap: Swap<'_>) -> Result<Value>;

    /// Takes (or renews) lock `key` for `owner` for `ttl_ms`.
    async fn lock_acquire(&self, key: &str, owner: &str, ttl_ms: u64) -> Result<LockAcquire>;

    /// Releases lock `key` held with `token`; its owner and token.
    async fn lock_release(&self, key: &str, token: u64) -> Result<(String, u64)>;

    /// The locks held now.
    async fn locks(&self) -> Result<Vec<LockRecord>>;

    /// The runs (or steps) `request` finds, best or newest first.
    async fn search(&self, request: &SearchRequest) -> Result<SearchResults>;

    /// Builds the search index anew; what it indexed, as
    /// `POST /v1/index/rebuild` shows it.
    async fn index_rebuild(&self) -> Result<Value>;

    /// How far the search index is, as `GET /v1/index` shows it.
    async fn index_status(&self) -> Result<Value>;

    /// Lets go of what the client holds (the store, waiting for its writes).
    async fn close(&self);
}

/// The client `args` name: the daemon of `--daemon`/`$WEFT_DAEMON`, else the
/// state folder of `--state` (or the project's).
pub(crate) fn open(args: &StateArgs) -> Box<dyn WeftClient> {
    match DaemonClient::from_flag(args.daemon.as_deref()) {
        Some(daemon) => Box::new(DaemonApi::new(daemon)),
        None => Box::new(LocalClient::new(args.clone())),
    }
}

/// [`open`], and then `body` with the client; the client is closed whether
/// `body` succeeded or not (for commands that write).
pub(crate) async fn with_client<T>(
    args: &StateArgs,
    body: impl AsyncFnOnce(&dyn WeftClient) -> Result<T>,
) -> Result<T> {
    let client = open(args);
    let result = body(client.as_ref()).await;
    client.close().await;
    result
}
