//! Queries on a read transaction (MVCC snapshot; never waits for the writer).

use crate::db::OrDb;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound;

use serde::Deserialize;

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata};
use serde_json::Value;

use crate::ledger::{self, LedgerEvent, VerifyReport};
use crate::ops::common::{NEXT_TASK_ID, REDELIVERED, STALE_REFUSALS, task_ids_of};
use crate::ops::schedule::SCHEDULE_FIRES;
use crate::tables::{self, decode};
use weft_store_api::StoreError;
use weft_store_api::{
    Counters, DeadLetter, LeaseRecord, QueueStats, RunFilter, RunRecord, RunStatus, TaskRecord,
};
use weft_store_api::{ScheduleId, ScheduleState};

/// One run.
pub fn run_get(rt: &ReadTransaction, id: &str) -> Result<Option<RunRecord>, StoreError> {
    let table = rt.open_table(tables::RUNS).db()?;
    table.get(id).db()?.map(|g| decode(g.value())).transpose()
}

/// Up to `limit` runs matching `filter`, newest first.
pub fn runs_list(
    rt: &ReadTransaction,
    limit: usize,
    filter: &RunFilter,
) -> Result<Vec<RunRecord>, StoreError> {
    let by_time = rt.open_table(tables::RUNS_BY_TIME).db()?;
    let runs = rt.open_table(tables::RUNS).db()?;
    let mut out = Vec::new();
    // Only the part of the time index the filter's times and cursor allow is
    // read; the other fields are checked run by run.
    let low = filter.since_ms.unwrap_or(0);
    let high = match (&filter.before, filter.until_ms) {
        (Some(c), Some(u)) if u <= c.created_ms => Bound::Excluded((u, "")),
        (Some(c), _) => Bound::Excluded((c.created_ms, c.id.as_str())),
        (None, Some(u)) => Bound::Excluded((u, "")),
        (None, None) => Bound::Unbounded,
    };
    for entry in by_time
        .range::<(u64, &str)>((Bound::Included((low, "")), high))
        .db()?
        .rev()
    {
        if out.len() >= limit {
            break;
        }
        let key = entry.db()?.0;
        let (_, id) = key.value();
        let Some(g) = runs.get(id).db()? else {
            continue;
        };
        // The filtered fields first: most runs a rare filter passes over are
        // never decoded whole (their input and output are skipped unbuilt).
        let keys: RunKeys<'_> = decode_borrowed(g.value())?;
        if filter.matches_fields(
            id,
            &keys.flow_id,
            &keys.tenant,
            keys.status,
            keys.created_ms,
        ) {
            out.push(decode(g.value())?);
        }
    }
    Ok(out)
}

/// The fields of a stored run that `runs_list` filters on.
#[derive(Deserialize)]
struct RunKeys<'a> {
    #[serde(borrow)]
    flow_id: Cow<'a, str>,
    #[serde(borrow)]
    tenant: Cow<'a, str>,
    status: RunStatus,
    created_ms: u64,
}

fn decode_borrowed<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, StoreError> {
    Ok(serde_json::from_slice(bytes)?)
}

/// One task.
pub fn task_get(rt: &ReadTransaction, id: u64) -> Result<Option<TaskRecord>, StoreError> {
    let table = rt.open_table(tables::TASKS).db()?;
    table.get(id).db()?.map(|g| decode(g.value())).transpose()
}

/// The tasks of a run, by task id.
pub fn tasks_of(rt: &ReadTransaction, run: &str) -> Result<Vec<TaskRecord>, StoreError> {
    let index = rt.open_table(tables::RUN_TASKS).db()?;
    let tasks = rt.open_table(tables::TASKS).db()?;
    let mut out = Vec::new();
    for id in task_ids_of(&index, run)? {
        if let Some(g) = tasks.get(id).db()? {
            out.push(decode(g.value())?);
        }
    }
    Ok(out)
}

/// The current lease of a task, if it is leased.
pub fn lease_of(rt: &ReadTransaction, task: u64) -> Result<Option<LeaseRecord>, StoreError> {
    let table = rt.open_table(tables::LEASES).db()?;
    table.get(task).db()?.map(|g| decode(g.value())).transpose()
}

/// A run's ledger in order; an undecodable event is an error.
pub fn ledger(rt: &ReadTransaction, run: &str) -> Result<Vec<LedgerEvent>, StoreError> {
    let table = rt.open_table(tables::LEDGER).db()?;
    ledger::read_events(&table, run)?
        .into_iter()
        .map(|e| {
            e.map_err(|(seq, why)| StoreError::Corrupt(format!("ledger {run} seq {seq}: {why}")))
        })
        .collect()
}

/// Recomputes a run's hash chain and checks it against the run (see
/// `verify_run`).
pub fn verify(rt: &ReadTransaction, run: &str) -> Result<VerifyReport, StoreError> {
    crate::verify_run::verify(rt, run)
}

/// Step id → output of every completed step of a run.
pub fn step_outputs(
    rt: &ReadTransaction,
    run: &str,
) -> Result<BTreeMap<String, Value>, StoreError> {
    let table = rt.open_table(tables::STEP_OUTPUTS).db()?;
    let mut out = BTreeMap::new();
    for entry in table.range((run, "")..).db()? {
        let (k, v) = entry.db()?;
        let (r, step) = k.value();
        if r != run {
            break;
        }
        out.insert(step.to_owned(), serde_json::from_str(v.value())?);
    }
    Ok(out)
}

/// The earliest delayed `ready_at` or lease expiry, if any.
pub fn next_due(rt: &ReadTransaction) -> Result<Option<u64>, StoreError> {
    let delayed = rt.open_table(tables::DELAYED).db()?;
    let expiry = rt.open_table(tables::LEASE_EXPIRY).db()?;
    let a = delayed.first().db()?.map(|(k, _)| k.value().0);
    let b = expiry.first().db()?.map(|(k, _)| k.value().0);
    Ok(match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// When the first lease still in `lease_expiry` runs out.
pub fn next_lease_expiry(rt: &ReadTransaction) -> Result<Option<u64>, StoreError> {
    let expiry = rt.open_table(tables::LEASE_EXPIRY).db()?;
    Ok(expiry.first().db()?.map(|(k, _)| k.value().0))
}

/// A journaled model call answer.
pub fn journal_get(
    rt: &ReadTransaction,
    run: &str,
    step: &str,
    index: u32,
) -> Result<Option<Value>, StoreError> {
    let table = rt.open_table(tables::JOURNAL).db()?;
    let text = table
        .get((run, step, index))
        .db()?
        .map(|g| g.value().to_owned());
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// One artifact of a run.
pub fn artifact_get(
    rt: &ReadTransaction,
    run: &str,
    key: &str,
) -> Result<Option<Value>, StoreError> {
    let table = rt.open_table(tables::ARTIFACTS).db()?;
    let text = table.get((run, key)).db()?.map(|g| g.value().to_owned());
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// The artifact keys of a run, sorted.
pub fn artifact_list(rt: &ReadTransaction, run: &str) -> Result<Vec<String>, StoreError> {
    let table = rt.open_table(tables::ARTIFACTS).db()?;
    let mut out = Vec::new();
    for entry in table.range((run, "")..).db()? {
        let (k, _) = entry.db()?;
        let (r, key) = k.value();
        if r != run {
            break;
        }
        out.push(key.to_owned());
    }
    Ok(out)
}

/// Every dead-lettered task, by task id.
pub fn dlq_list(rt: &ReadTransaction) -> Result<Vec<DeadLetter>, StoreError> {
    let table = rt.open_table(tables::DEAD_LETTERS).db()?;
    let mut out = Vec::new();
    for entry in table.iter().db()? {
        out.push(decode(entry.db()?.1.value())?);
    }
    Ok(out)
}

/// A snapshot of the queue at `now`.
pub fn queue_stats(rt: &ReadTransaction, now: u64) -> Result<QueueStats, StoreError> {
    let mut stats = QueueStats::default();
    // Counts from `pool_queued`, not a walk of the ready queue: a scrape costs
    // the same at any depth.
    for entry in rt.open_table(tables::POOL_QUEUED).db()?.iter().db()? {
        let (pool, n) = entry.db()?;
        if n.value() > 0 {
            stats
                .ready_by_pool
                .insert(pool.value().to_owned(), n.value());
        }
    }
    let ready = rt.open_table(tables::READY).db()?;
    let mut oldest: Option<u64> = None;
    for pool in stats.ready_by_pool.keys() {
        if let Some(at) = oldest_ready(&ready, pool)? {
            oldest = Some(oldest.map_or(at, |o| o.min(at)));
        }
    }
    stats.oldest_ready_age_ms = oldest.map(|o| now.saturating_sub(o));
    stats.inflight = rt.open_table(tables::LEASES).db()?.len().db()?;
    let delayed = rt.open_table(tables::DELAYED).db()?;
    stats.delayed = delayed.len().db()?;
    for entry in delayed.range((0u64, 0u64)..=(now, u64::MAX)).db()? {
        entry.db()?;
        stats.delayed_due += 1;
    }
    stats.dlq = rt.open_table(tables::DEAD_LETTERS).db()?.len().db()?;
    Ok(stats)
}

/// The ready time of `pool`'s oldest ready task. The queue is sorted by
/// priority, then ready time, so the oldest task of each priority is the
/// first of its group: one key read per priority in use, not per task.
fn oldest_ready(
    ready: &redb::ReadOnlyTable<(&'static str, u32, u64, u64), ()>,
    pool: &str,
) -> Result<Option<u64>, StoreError> {
    let mut oldest: Option<u64> = None;
    let mut from: u32 = 0;
    loop {
        let Some(entry) = ready.range((pool, from, 0u64, 0u64)..).db()?.next() else {
            break;
        };
        let (key, _) = entry.db()?;
        let (of, inverse_priority, ready_at, _) = key.value();
        if of != pool {
            break;
        }
        oldest = Some(oldest.map_or(ready_at, |o| o.min(ready_at)));
        match inverse_priority.checked_add(1) {
            Some(next) => from = next,
            None => break,
        }
    }
    Ok(oldest)
}

/// The persistent counters.
pub fn counters(rt: &ReadTransaction) -> Result<Counters, StoreError> {
    let table = rt.open_table(tables::COUNTERS).db()?;
    let get = |name: &str| -> Result<u64, StoreError> {
        Ok(table.get(name).db()?.map_or(0, |g| g.value()))
    };
    Ok(Counters {
        stale_refusals: get(STALE_REFUSALS)?,
        redelivered: get(REDELIVERED)?,
        schedule_fires: get(SCHEDULE_FIRES)?,
        tasks_created: get(NEXT_TASK_ID)?,
    })
}

/// Every schedule's state, by flow id then key.
pub fn schedules_list(rt: &ReadTransaction) -> Result<Vec<ScheduleState>, StoreError> {
    let table = rt.open_table(tables::SCHEDULES).db()?;
    let mut out = Vec::new();
    for entry in table.iter().db()? {
        out.push(decode(entry.db()?.1.value())?);
    }
    Ok(out)
}

/// One schedule's state.
pub fn schedule_get(
    rt: &ReadTransaction,
    id: &ScheduleId,
) -> Result<Option<ScheduleState>, StoreError> {
    let table = rt.open_table(tables::SCHEDULES).db()?;
    let key = (id.flow_id.as_str(), id.key.as_str());
    table.get(key).db()?.map(|g| decode(g.value())).transpose()
}
