//! The records of a store copy (`weft store copy`): one run with everything
//! that belongs to it ([`RunExport`]), and what belongs to no run
//! ([`StoreExport`]). Ledger events travel exactly as stored — seq, time,
//! kind, payload, `prev_hash`, `hash` — and are never hashed again, so a
//! copied ledger verifies to the same head on the target.
//!
//! Not copied: a run's change-feed position (the target appends its own change
//! entry for every imported run, so its index can follow), budget
//! reservations and pool token buckets (they lapse within seconds), and the
//! store's own bookkeeping counters (open epochs, index-built markers).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;
use crate::ledger::LedgerEvent;
use crate::locks::LockRecord;
use crate::schedules::ScheduleState;
use crate::types::{DeadLetter, LeaseRecord, RunRecord, TaskRecord};
use crate::views::{CostRow, Override};

/// A task as copied: its record and, while it is `leased`, its lease (kept
/// as it was: it runs out on the target as it would have on the source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskExport {
    /// The task, with its id, state, attempt and last fencing token.
    pub task: TaskRecord,
    /// Its lease, if it holds one.
    pub lease: Option<LeaseRecord>,
}

/// One journaled model call answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The step.
    pub step: String,
    /// The call's index within the step.
    pub index: u32,
    /// The answer.
    pub value: Value,
}

/// A run and everything that belongs to it, as one backend stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunExport {
    /// The run record (with its cost).
    pub run: RunRecord,
    /// Every task of the run, by id.
    pub tasks: Vec<TaskExport>,
    /// The run's ledger, in seq order, verbatim.
    pub events: Vec<LedgerEvent>,
    /// The ledger head: last seq and its hash (hex); `None` without events.
    pub head: Option<(u64, String)>,
    /// The journal, by (step, index).
    pub journal: Vec<JournalEntry>,
    /// Step id → output.
    pub outputs: BTreeMap<String, Value>,
    /// Artifact key → value.
    pub artifacts: BTreeMap<String, Value>,
    /// Dead letters of the run's tasks, by task id.
    pub dead_letters: Vec<DeadLetter>,
    /// The idempotency key naming the run and until when (ms), if one is stored.
    pub idempotency: Option<(String, u64)>,
}

/// A ledger stream that is not a run (its id starts with `@`, e.g. the
/// component swaps of `@swaps`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamExport {
    /// The stream's id.
    pub id: String,
    /// Its events, verbatim.
    pub events: Vec<LedgerEvent>,
}

/// A (day, name) → micro-dollars total (a tenant's or a pool's day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotal {
    /// UTC day, `yyyy-mm-dd`.
    pub day: String,
    /// The tenant or pool.
    pub name: String,
    /// Micro-dollars charged.
    pub micro_usd: u64,
}

/// The last run sequence number of one id prefix on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySeq {
    /// The run-id prefix.
    pub prefix: String,
    /// UTC day, `yyyy-mm-dd`.
    pub day: String,
    /// The last sequence number handed out.
    pub seq: u64,
}

/// The counters a copy carries, so the target never hands out an id or a
/// token that a copied record holds, and its statistics go on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyCounters {
    /// The highest task id handed out.
    pub last_task_id: u64,
    /// The last lock fencing token handed out.
    pub lock_tokens: u64,
    /// Fenced operations refused.
    pub stale_refusals: u64,
    /// Tasks redelivered after their lease ran out.
    pub redelivered: u64,
    /// Runs submitted by schedules.
    pub schedule_fires: u64,
}

/// Everything a store keeps that belongs to no run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreExport {
    /// Every schedule's state.
    pub schedules: Vec<ScheduleState>,
    /// Every operator lock, live or not yet reaped.
    pub locks: Vec<LockRecord>,
    /// The (day, tenant, pool, model) cost rows.
    pub cost_rows: Vec<CostRow>,
    /// Micro-dollars charged per (day, tenant).
    pub tenant_days: Vec<DayTotal>,
    /// Micro-dollars charged per (day, pool).
    pub pool_days: Vec<DayTotal>,
    /// Run-id sequences per (prefix, day).
    pub day_seqs: Vec<DaySeq>,
    /// Components swapped in at run time, by key.
    pub overrides: Vec<(String, Override)>,
    /// Ledger streams that are not runs.
    pub streams: Vec<StreamExport>,
    /// Id and token counters.
    pub counters: CopyCounters,
}

impl RunExport {
    /// The id of the run.
    pub fn id(&self) -> &str {
        &self.run.id
    }

    /// The canonical JSON of this export, for comparing two exports byte for
    /// byte (a resumed copy meets runs it already imported).
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// What importing `self` over `existing` (the target's export of the
    /// same run id) does: `Ok` if they are byte-identical (a resumed copy:
    /// nothing to write), else [`StoreError::Invalid`] naming the run.
    pub fn check_resumed(&self, existing: &RunExport) -> Result<(), StoreError> {
        if existing.to_bytes()? == self.to_bytes()? {
            Ok(())
        } else {
            Err(StoreError::Invalid(format!(
                "run {} already exists in the target with other contents",
                self.id()
            )))
        }
    }
}
