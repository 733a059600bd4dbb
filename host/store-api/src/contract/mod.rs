//! The store contract: what every backend (the embedded redb store, PostgreSQL)
//! does, split by role. The engine, the server, the index and the CLI hold an
//! `Arc<dyn Store>` and never name a backend.
//!
//! Rules every method keeps (see `docs/storage.md`, "The contract"):
//! - Every time argument (`now`) is ms since the Unix epoch, passed in by the
//!   caller: a backend never reads a clock, so tests and simulations control time.
//! - A write resolves only once it is durable (except where [`WorkerSite::InProcess`]
//!   allows a backend to skip the sync), and a refusal writes nothing.
//! - Fenced operations (`complete`, `fail`, `renew`) are refused with
//!   [`crate::StoreError::StaleToken`] once their lease was handed on or ran out.

mod copy;
mod costs;
mod feed;
mod ledger;
mod locks;
mod queue;
mod runs;
mod schedules;

pub use copy::CopyStore;
pub use costs::CostStore;
pub use feed::ChangeFeed;
pub use ledger::LedgerStore;
pub use locks::LockStore;
pub use queue::QueueStore;
pub use runs::RunStore;
pub use schedules::ScheduleStore;

use crate::types::WriterStats;

/// Where the worker that holds a lease runs. A backend may commit a lease (or
/// its renewal) for a worker in its own process without waiting for the disk: a
/// crash that loses the lease also ends the worker holding it, and the lease's
/// fencing token is never handed out again. A remote worker outlives such a
/// crash, so its lease is always durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerSite {
    /// A worker task of this process.
    InProcess,
    /// A worker in another process (`weft worker`, over the API).
    Remote,
}

/// A store shared by everything in a process: what the engine, the server,
/// the index and the CLI hold.
pub type SharedStore = std::sync::Arc<dyn Store>;

/// A whole store: every role, plus what the process needs to drive it.
#[async_trait::async_trait]
pub trait Store:
    RunStore + QueueStore + LedgerStore + ScheduleStore + LockStore + CostStore + ChangeFeed + CopyStore
{
    /// What this store is, for logs and `weft daemon`'s first line (e.g.
    /// `redb .weft/weft.redb`); never a password.
    fn describe(&self) -> String;

    /// A receiver that changes after every commit: wait on it
    /// (`changed().await`) to look at the store again once something was
    /// written, instead of polling.
    fn commits(&self) -> tokio::sync::watch::Receiver<u64>;

    /// A watch that moves after commits of *other* processes only (several
    /// daemons on one database), so that an engine looks at the queue after
    /// those too: a task another daemon made ready wakes nobody here
    /// otherwise. `None`: only this process writes (an embedded store).
    fn foreign_commits(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    /// The ids of runs that ended (succeeded, failed, cancelled) in commits
    /// of any process, as they commit, where the backend can say so without
    /// reading (PostgreSQL: a notification sent with the commit). `None`: only
    /// this process ends runs (an embedded store), and its engine reports
    /// them. A receiver that lags or a notification lost with a dropped
    /// connection misses ends: a waiter must still look at the run itself
    /// when its wait is over.
    fn run_ends(&self) -> Option<tokio::sync::broadcast::Receiver<String>> {
        None
    }

    /// Commits and operations since the store was opened (shows group commit
    /// at work).
    fn writer_stats(&self) -> WriterStats;

    /// Stops taking writes after those already taken, and waits for them. An
    /// embedded store releases its file once the last handle is dropped.
    async fn close(&self);
}
