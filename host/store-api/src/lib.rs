//! The store contract of weft.
//!
//! What a store keeps — runs, tasks with a ready queue, leases with per-task
//! fencing tokens, a hash-chained ledger per run, a journal of model calls,
//! idempotency keys, dead letters, artifacts, cron schedule state, the
//! operators' locks, costs and a change feed — as plain domain types, and what
//! a store does as async traits split by role ([`RunStore`], [`QueueStore`],
//! [`LedgerStore`], [`ScheduleStore`], [`LockStore`], [`CostStore`],
//! [`ChangeFeed`], all in one [`Store`]). No backend type appears here: the
//! embedded redb store (`weft-store-redb`) is one implementation, and everything
//! above the store holds an `Arc<dyn Store>`. `docs/storage.md` states the
//! contract in words.

mod admission;
mod canonical;
mod contract;
mod copy;
mod error;
mod head_check;
mod head_sign;
mod ledger;
mod locks;
mod payloads;
mod run_check;
mod run_id;
mod schedules;
mod types;
mod views;

pub use admission::{
    BudgetAsk, BudgetReply, LeaseTry, Limited, MICRO_TOKENS, PoolCap, RateCap, StrictPool,
    TokenBucket,
};
pub use canonical::{event_bytes as canonical_event_bytes, push_value as canonical_value};
pub use contract::{
    ChangeFeed, CopyStore, CostStore, LedgerStore, LockStore, QueueStore, RunStore, ScheduleStore,
    SharedStore, Store, WorkerSite,
};
pub use copy::{
    CopyCounters, DaySeq, DayTotal, JournalEntry, RunExport, StoreExport, StreamExport, TaskExport,
};
pub use error::StoreError;
pub use head_check::{HeadCheck, HeadCheckError, check_heads};
pub use head_sign::{
    HEAD_DOMAIN, HeadSignature, KeyError, LedgerPublicKey, LedgerSigner, PUBLIC_KEY_LABEL,
    SIGNING_KEY_LABEL, head_message,
};
pub use ledger::{
    BadEvent, EventKind, LedgerEvent, MaybeEvent, VerifyReport, chain_hash, verify_events,
};
pub use locks::{LockAcquire, LockRecord, MAX_LOCK_KEY, MAX_LOCK_OWNER};
pub use payloads::{StepEndRef, run_created_payload, run_end_event, step_end_event};
pub use run_check::check_against_run;
pub use run_id::{check_prefix, format_id, prefix_of, random_suffix, utc_date, utc_datetime};
pub use schedules::{
    FiredRun, ScheduleFired, ScheduleId, ScheduleState, ScheduleTick, ScheduledRun,
};
pub use types::{
    Advance, Counters, DeadLetter, FailDecision, Lease, LeaseRecord, MAX_CANCEL_REASON, NewRun,
    NewTask, NextCandidate, NextLease, Purged, QueueStats, RunCost, RunCursor, RunFilter,
    RunOutcome, RunRecord, RunStatus, StepCompleted, StepEnd, Submitted, TaskRecord, TaskState,
    ToolCall, WriterStats, cancel_reason,
};
pub use views::{
    Change, Charge, CostRow, NextTask, Override, PoolTask, PoolView, RunEvents, Swap, ViewLimits,
};

/// The contract's traits, imported anonymously: `use weft_store_api::prelude::*;`
/// puts every role's methods in scope on an `Arc<dyn Store>` (or any backend)
/// without taking a name.
pub mod prelude {
    pub use crate::{
        ChangeFeed as _, CopyStore as _, CostStore as _, LedgerStore as _, LockStore as _,
        QueueStore as _, RunStore as _, ScheduleStore as _, Store as _,
    };
}
