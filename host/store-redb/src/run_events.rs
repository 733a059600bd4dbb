//! `RunStore::run_events` on redb: a run, how many of its tasks are open and its ledger
//! events after a seq, all from ONE snapshot, for following a run from another
//! process (with `Store::commits` saying when to look again).

use crate::db::OrDb;
use redb::ReadTransaction;

use crate::ledger::LedgerEvent;
use crate::ops::common::task_ids_of;
use crate::tables::{self, decode};
use weft_store_api::StoreError;
use weft_store_api::{RunEvents, RunRecord, TaskRecord};

/// The run, its open task count and its ledger events after `after`.
pub(crate) fn run_events(
    rt: &ReadTransaction,
    run_id: &str,
    after: u64,
) -> Result<Option<RunEvents>, StoreError> {
    let runs = rt.open_table(tables::RUNS).db()?;
    let Some(run) = runs
        .get(run_id)
        .db()?
        .map(|g| decode::<RunRecord>(g.value()))
        .transpose()?
    else {
        return Ok(None);
    };
    let index = rt.open_table(tables::RUN_TASKS).db()?;
    let tasks = rt.open_table(tables::TASKS).db()?;
    let mut open_tasks = 0;
    for id in task_ids_of(&index, run_id)? {
        if let Some(g) = tasks.get(id).db()?
            && decode::<TaskRecord>(g.value())?.state.is_open()
        {
            open_tasks += 1;
        }
    }
    let ledger = rt.open_table(tables::LEDGER).db()?;
    let mut events = Vec::new();
    if after < u64::MAX {
        for entry in ledger
            .range((run_id, after + 1)..=(run_id, u64::MAX))
            .db()?
        {
            let (k, v) = entry.db()?;
            let seq = k.value().1;
            let event = serde_json::from_slice::<LedgerEvent>(v.value())
                .map_err(|e| StoreError::Corrupt(format!("ledger {run_id} seq {seq}: {e}")))?;
            events.push(event);
        }
    }
    let heads = rt.open_table(tables::LEDGER_HEAD).db()?;
    let last_seq = heads.get(run_id).db()?.map_or(0, |g| g.value().0);
    Ok(Some(RunEvents {
        run,
        open_tasks,
        events,
        last_seq,
    }))
}
