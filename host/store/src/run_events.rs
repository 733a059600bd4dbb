//! [`Store::run_events`]: a run, how many of its tasks are open and its ledger
//! events after a seq, all from ONE snapshot, for following a run from another
//! process (with [`Store::commits`] saying when to look again).

use redb::ReadTransaction;

use crate::error::StoreError;
use crate::ledger::LedgerEvent;
use crate::ops::common::task_ids_of;
use crate::store::Store;
use crate::tables::{self, decode};
use crate::types::{RunRecord, TaskRecord};

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

impl Store {
    /// Run `run`, its open task count and its ledger events after seq `after`,
    /// from one snapshot; `None` when there is no such run.
    pub fn run_events(&self, run: &str, after: u64) -> Result<Option<RunEvents>, StoreError> {
        self.read(|rt| run_events(rt, run, after))
    }
}

fn run_events(
    rt: &ReadTransaction,
    run_id: &str,
    after: u64,
) -> Result<Option<RunEvents>, StoreError> {
    let runs = rt.open_table(tables::RUNS)?;
    let Some(run) = runs
        .get(run_id)?
        .map(|g| decode::<RunRecord>(g.value()))
        .transpose()?
    else {
        return Ok(None);
    };
    let index = rt.open_table(tables::RUN_TASKS)?;
    let tasks = rt.open_table(tables::TASKS)?;
    let mut open_tasks = 0;
    for id in task_ids_of(&index, run_id)? {
        if let Some(g) = tasks.get(id)?
            && decode::<TaskRecord>(g.value())?.state.is_open()
        {
            open_tasks += 1;
        }
    }
    let ledger = rt.open_table(tables::LEDGER)?;
    let mut events = Vec::new();
    if after < u64::MAX {
        for entry in ledger.range((run_id, after + 1)..=(run_id, u64::MAX))? {
            let (k, v) = entry?;
            let seq = k.value().1;
            let event = serde_json::from_slice::<LedgerEvent>(v.value())
                .map_err(|e| StoreError::Corrupt(format!("ledger {run_id} seq {seq}: {e}")))?;
            events.push(event);
        }
    }
    let heads = rt.open_table(tables::LEDGER_HEAD)?;
    let last_seq = heads.get(run_id)?.map_or(0, |g| g.value().0);
    Ok(Some(RunEvents {
        run,
        open_tasks,
        events,
        last_seq,
    }))
}
