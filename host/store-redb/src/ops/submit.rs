//! `submit_run`: idempotency, run id allocation, the run record, its first tasks.

use crate::db::OrDb;
use redb::ReadableTable;
use serde_json::Value;

use crate::ledger::{self, EventKind};
use crate::ops::common::{check_new_tasks, create_tasks, delay_task, get_run, put_run};
use crate::tables::{Tables, decode};
use weft_store_api::StoreError;
use weft_store_api::{
    LeaseRecord, NewRun, RunCost, RunRecord, RunStatus, StrictPool, Submitted, TaskRecord,
};

/// Submits a run, or returns the live run of its idempotency key; a new run
/// whose first tasks would enter a full pool of `strict` is refused. The
/// single writer serialises every submit, so the check holds.
pub fn submit_run(
    t: &mut Tables<'_>,
    new: &NewRun,
    strict: &[StrictPool],
    now: u64,
) -> Result<Submitted, StoreError> {
    match check_submit(t, new, now)? {
        Some(run_id) => Ok(Submitted {
            run_id,
            created: false,
        }),
        None => {
            check_room(t, new, strict, now)?;
            Ok(Submitted {
                run_id: create_run(t, new, now, None)?,
                created: true,
            })
        }
    }
}

/// `Err(PoolExhausted)` for the first pool of `strict` that one of `new`'s
/// first tasks enters and whose live leases plus queued tasks reach its
/// `max_concurrent`.
fn check_room(
    t: &Tables<'_>,
    new: &NewRun,
    strict: &[StrictPool],
    now: u64,
) -> Result<(), StoreError> {
    for pool in StrictPool::entered(strict, &new.initial_tasks) {
        let queued = t
            .pool_queued
            .get(pool.pool.as_str())
            .db()?
            .map_or(0, |g| g.value());
        let mut active = 0u64;
        for entry in t.leases.iter().db()? {
            let (id, lease) = entry.db()?;
            let lease: LeaseRecord = decode(lease.value())?;
            if lease.expires_at <= now {
                continue;
            }
            if let Some(task) = t.tasks.get(id.value()).db()?
                && decode::<TaskRecord>(task.value())?.pool == pool.pool
            {
                active += 1;
            }
        }
        pool.check_room(active, queued)?;
    }
    Ok(())
}

/// Checks a run to submit without writing anything: `Some(run)` when its
/// idempotency key still names a run (with the same flow and input), `None`
/// when the run is to be created, an error when it is refused.
pub fn check_submit(t: &Tables<'_>, new: &NewRun, now: u64) -> Result<Option<String>, StoreError> {
    weft_store_api::check_prefix(&new.id_prefix)?;
    if new.flow_id.is_empty() {
        return Err(StoreError::Invalid("a run needs a flow id".into()));
    }
    check_new_tasks(&new.initial_tasks)?;
    let Some((key, _)) = &new.idempotency_key else {
        return Ok(None);
    };
    if key.is_empty() {
        return Err(StoreError::Invalid(
            "an idempotency key must not be empty".into(),
        ));
    }
    let Some(g) = t.idempotency.get(key.as_str()).db()? else {
        return Ok(None);
    };
    let (run, expires_at) = g.value();
    if expires_at <= now {
        return Ok(None);
    }
    let existing = get_run(t, run)?;
    if existing.flow_id != new.flow_id || existing.input != new.input {
        return Err(StoreError::IdempotencyConflict {
            key: key.clone(),
            run: run.to_owned(),
        });
    }
    Ok(Some(run.to_owned()))
}

/// Creates a run that [`check_submit`] accepted (`None`): the record, its
/// idempotency key, its first tasks and its `run-created` event, whose payload
/// gets `origin` (e.g. the schedule that fired it) under `"origin"` when given.
/// Returns the run id.
pub fn create_run(
    t: &mut Tables<'_>,
    new: &NewRun,
    now: u64,
    origin: Option<Value>,
) -> Result<String, StoreError> {
    let id = allocate_id(t, &new.id_prefix, now)?;
    let run = RunRecord {
        id: id.clone(),
        flow_id: new.flow_id.clone(),
        flow_version: new.flow_version.clone(),
        tenant: new.tenant.clone(),
        status: RunStatus::Queued,
        input: new.input.clone(),
        output: None,
        error: None,
        created_ms: now,
        updated_ms: now,
        priority: new.priority,
        cost: RunCost::default(),
    };
    put_run(t, &run)?;
    t.runs_by_time.insert((now, id.as_str()), ()).db()?;
    if let Some((key, ttl)) = &new.idempotency_key {
        crate::ops::idempotency::put(t, key, &id, now.saturating_add(*ttl))?;
    }
    let task_ids = create_tasks(t, &id, &run.tenant, &new.initial_tasks, now)?;
    if let Some(at) = new.not_before.filter(|at| *at > now) {
        for task in &task_ids {
            delay_task(t, *task, at)?;
        }
    }
    let payload = weft_store_api::run_created_payload(&run, new, &task_ids, origin);
    ledger::append(t, &id, now, EventKind::RunCreated, payload)?;
    Ok(id)
}

/// Takes the next sequence number of `prefix` on the UTC day of `now` and forms
/// a run id that is not taken yet.
fn allocate_id(t: &mut Tables<'_>, prefix: &str, now: u64) -> Result<String, StoreError> {
    let date = weft_store_api::utc_date(now);
    let seq = t
        .day_seq
        .get((prefix, date.as_str()))
        .db()?
        .map_or(0, |g| g.value())
        + 1;
    t.day_seq.insert((prefix, date.as_str()), seq).db()?;
    for salt in 0..8 {
        let id = weft_store_api::format_id(
            prefix,
            &date,
            seq,
            &weft_store_api::random_suffix(now ^ seq ^ salt),
        );
        if t.runs.get(id.as_str()).db()?.is_none() {
            return Ok(id);
        }
    }
    Err(StoreError::Corrupt(format!(
        "run id sequence {seq} of {prefix} on {date} is already taken"
    )))
}
