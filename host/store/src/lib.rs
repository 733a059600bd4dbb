//! The durable store of weft, on redb.
//!
//! One [`Store`] handle (cheap to clone) fronts one redb file. Every write goes
//! to a single writer thread that applies all pending operations in one
//! transaction, commits it with `Durability::Immediate` and only then answers
//! the callers (group commit). Reads open their own MVCC snapshot.
//!
//! What is kept: runs, tasks with a ready queue (pool, priority, ready time),
//! delayed tasks, leases with per-task fencing tokens, a hash-chained ledger per
//! run, a journal of model calls, idempotency keys with a TTL, dead letters and
//! artifacts, the state of cron schedules (a fire's run is submitted and its
//! schedule advanced in one transaction), and the operators' locks (a TTL and
//! a fencing token each). See `docs/storage.md` for the tables
//! and the commit protocol.

mod canonical;
mod changes;
mod check;
mod check_walk;
mod costs;
mod error;
mod guard;
mod idempotency;
mod ledger;
mod lock_types;
mod locks;
mod ops;
mod pool_view;
mod queue_next;
mod read;
mod repair;
mod run_events;
mod run_id;
mod schedule_types;
mod schedules;
mod store;
mod swaps;
pub mod tables;
mod types;
mod verify_run;
mod writer;

pub use canonical::event_bytes as canonical_event_bytes;
pub use changes::Change;
pub use check::{CheckReport, PageCheck, TableRows, Walk, Walked, check_file};
pub use costs::{Charge, CostRow};
pub use error::StoreError;
pub use ledger::{BadEvent, EventKind, LedgerEvent, VerifyReport, chain_hash};
pub use lock_types::{LockAcquire, LockRecord, MAX_LOCK_KEY, MAX_LOCK_OWNER};
pub use pool_view::{PoolTask, PoolView, ViewLimits};
pub use queue_next::NextTask;
pub use repair::{RepairOutcome, RepairReport, repair_file};
pub use run_events::RunEvents;
pub use run_id::{utc_date, utc_datetime};
pub use schedule_types::{
    FiredRun, ScheduleFired, ScheduleId, ScheduleState, ScheduleTick, ScheduledRun,
};
pub use store::Store;
pub use swaps::{Override, Swap};
pub use types::{
    Advance, Counters, DeadLetter, FailDecision, Lease, LeaseRecord, NewRun, NewTask,
    NextCandidate, NextLease, Purged, QueueStats, RunCost, RunFilter, RunOutcome, RunRecord,
    RunStatus, StepCompleted, Submitted, TaskRecord, TaskState, ToolCall, WriterStats,
};
