//! Reading a redb store out for a copy (`CopyStore::export_runs`,
//! `export_rest`): each run with everything that belongs to it, and what
//! belongs to no run, from one read transaction.

use std::collections::BTreeMap;

use redb::{ReadTransaction, ReadableTable};
use weft_store_api::{
    CopyCounters, DaySeq, DayTotal, JournalEntry, LedgerEvent, RunExport, StoreError, StoreExport,
    StreamExport, TaskExport,
};

use crate::db::OrDb;
use crate::ops::common::{NEXT_TASK_ID, REDELIVERED, STALE_REFUSALS};
use crate::ops::lock::LOCK_TOKENS;
use crate::ops::schedule::SCHEDULE_FIRES;
use crate::read;
use crate::tables::{self, decode};

/// Up to `limit` runs with ids after `after`, in id order.
pub(crate) fn runs(
    rt: &ReadTransaction,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<RunExport>, StoreError> {
    let table = rt.open_table(tables::RUNS).db()?;
    let mut ids = Vec::new();
    let range = match after {
        Some(a) => table.range::<&str>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
        None => table.range::<&str>(..),
    };
    for entry in range.db()? {
        if ids.len() >= limit {
            break;
        }
        ids.push(entry.db()?.0.value().to_owned());
    }
    ids.iter()
        .map(|id| {
            run(rt, id)?
                .ok_or_else(|| StoreError::Corrupt(format!("run {id} vanished from its snapshot")))
        })
        .collect()
}

/// The idempotency key that names run `id`, found from the key its
/// `run-created` event records (a key taken over by a later run names that
/// one, and is not this run's any more).
fn key_of(
    rt: &ReadTransaction,
    id: &str,
    events: &[LedgerEvent],
) -> Result<Option<(String, u64)>, StoreError> {
    let Some(key) = events
        .first()
        .filter(|e| e.kind == "run-created")
        .and_then(|e| e.payload.get("idempotency_key"))
        .and_then(|k| k.as_str())
    else {
        return Ok(None);
    };
    let table = rt.open_table(tables::IDEMPOTENCY).db()?;
    let found = match table.get(key).db()? {
        Some(g) if g.value().0 == id => Some(g.value().1),
        _ => None,
    };
    Ok(found.map(|expires_at| (key.to_owned(), expires_at)))
}

/// One run with everything that belongs to it; `None` if there is no such run.
pub(crate) fn run(rt: &ReadTransaction, id: &str) -> Result<Option<RunExport>, StoreError> {
    let Some(record) = read::run_get(rt, id)? else {
        return Ok(None);
    };
    let dead = rt.open_table(tables::DEAD_LETTERS).db()?;
    let mut tasks = Vec::new();
    let mut dead_letters = Vec::new();
    for task in read::tasks_of(rt, id)? {
        if let Some(g) = dead.get(task.id).db()? {
            dead_letters.push(decode(g.value())?);
        }
        let lease = read::lease_of(rt, task.id)?;
        tasks.push(TaskExport { task, lease });
    }
    let head = rt
        .open_table(tables::LEDGER_HEAD)
        .db()?
        .get(id)
        .db()?
        .map(|g| {
            let (seq, hash) = g.value();
            (seq, hex::encode(hash))
        });
    let events = read::ledger(rt, id)?;
    let idempotency = key_of(rt, id, &events)?;
    Ok(Some(RunExport {
        run: record,
        tasks,
        events,
        head,
        journal: journal(rt, id)?,
        outputs: read::step_outputs(rt, id)?,
        artifacts: artifacts(rt, id)?,
        dead_letters,
        idempotency,
    }))
}

fn journal(rt: &ReadTransaction, id: &str) -> Result<Vec<JournalEntry>, StoreError> {
    let table = rt.open_table(tables::JOURNAL).db()?;
    let mut out = Vec::new();
    for entry in table.range((id, "", 0u32)..).db()? {
        let (k, v) = entry.db()?;
        let (run, step, index) = k.value();
        if run != id {
            break;
        }
        out.push(JournalEntry {
            step: step.to_owned(),
            index,
            value: serde_json::from_str(v.value())?,
        });
    }
    Ok(out)
}

fn artifacts(
    rt: &ReadTransaction,
    id: &str,
) -> Result<BTreeMap<String, serde_json::Value>, StoreError> {
    let table = rt.open_table(tables::ARTIFACTS).db()?;
    let mut out = BTreeMap::new();
    for entry in table.range((id, "")..).db()? {
        let (k, v) = entry.db()?;
        let (run, key) = k.value();
        if run != id {
            break;
        }
        out.insert(key.to_owned(), serde_json::from_str(v.value())?);
    }
    Ok(out)
}

/// Everything that belongs to no run.
pub(crate) fn rest(rt: &ReadTransaction) -> Result<StoreExport, StoreError> {
    let mut locks = Vec::new();
    for entry in rt.open_table(tables::LOCKS).db()?.iter().db()? {
        locks.push(decode(entry.db()?.1.value())?);
    }
    let day_totals =
        |def: redb::TableDefinition<(&str, &str), u64>| -> Result<Vec<DayTotal>, StoreError> {
            let mut out = Vec::new();
            for entry in rt.open_table(def).db()?.iter().db()? {
                let (k, v) = entry.db()?;
                let (day, name) = k.value();
                out.push(DayTotal {
                    day: day.to_owned(),
                    name: name.to_owned(),
                    micro_usd: v.value(),
                });
            }
            Ok(out)
        };
    let mut day_seqs = Vec::new();
    for entry in rt.open_table(tables::DAY_SEQ).db()?.iter().db()? {
        let (k, v) = entry.db()?;
        let (prefix, day) = k.value();
        day_seqs.push(DaySeq {
            prefix: prefix.to_owned(),
            day: day.to_owned(),
            seq: v.value(),
        });
    }
    let counters = rt.open_table(tables::COUNTERS).db()?;
    let get = |name: &str| -> Result<u64, StoreError> {
        Ok(counters.get(name).db()?.map_or(0, |g| g.value()))
    };
    Ok(StoreExport {
        schedules: read::schedules_list(rt)?,
        locks,
        cost_rows: crate::costs::cost_rows(rt, "", None)?,
        tenant_days: day_totals(tables::COST_TENANT_DAY)?,
        pool_days: day_totals(tables::COST_POOL_DAY)?,
        day_seqs,
        overrides: crate::swaps::overrides(rt)?,
        streams: streams(rt)?,
        counters: CopyCounters {
            last_task_id: get(NEXT_TASK_ID)?,
            lock_tokens: get(LOCK_TOKENS)?,
            stale_refusals: get(STALE_REFUSALS)?,
            redelivered: get(REDELIVERED)?,
            schedule_fires: get(SCHEDULE_FIRES)?,
        },
    })
}

/// The ledger streams that are not runs (ids starting with `@`).
fn streams(rt: &ReadTransaction) -> Result<Vec<StreamExport>, StoreError> {
    let heads = rt.open_table(tables::LEDGER_HEAD).db()?;
    let mut out = Vec::new();
    for entry in heads.range("@".."A").db()? {
        let id = entry.db()?.0.value().to_owned();
        let events: Vec<LedgerEvent> = read::ledger(rt, &id)?;
        out.push(StreamExport { id, events });
    }
    Ok(out)
}
