//! The queue side: promoting due delayed tasks, expiring leases, handing out
//! leases in order, renewing them.

use crate::db::OrDb;
use redb::ReadableTable;
use serde_json::json;

use crate::ledger::{self, EventKind};
use crate::ops::common::{
    REDELIVERED, bump, check_fence, get_run, get_task, make_ready, put_run, put_task,
};
use crate::ops::pool_leases::{self, Refused};
use crate::ops::ready_index;
use crate::tables::{Tables, encode};
use weft_store_api::StoreError;
use weft_store_api::{Lease, LeaseRecord, LeaseTry, PoolCap, RunStatus, TaskState};

/// A ready-queue key: (pool, u32::MAX - priority, ready_at, task id).
pub type ReadyKey = (String, u32, u64, u64);

/// Moves every delayed task with `ready_at <= now` to the ready queue.
pub fn promote_due(t: &mut Tables<'_>, now: u64) -> Result<u64, StoreError> {
    let mut due = Vec::new();
    for entry in t.delayed.range((0u64, 0u64)..=(now, u64::MAX)).db()? {
        due.push(entry.db()?.0.value());
    }
    for (ready_at, id) in &due {
        t.delayed.remove((*ready_at, *id)).db()?;
        let task = get_task(t, *id)?;
        make_ready(t, task, *ready_at)?;
    }
    Ok(u64::try_from(due.len()).unwrap_or(u64::MAX))
}

/// Hands every task whose lease ran out (`expires_at <= now`) back to the ready
/// queue, with a `lease-expired` ledger event; returns how many.
pub fn expire_due(t: &mut Tables<'_>, now: u64) -> Result<u64, StoreError> {
    let mut expired = Vec::new();
    for entry in t.lease_expiry.range((0u64, 0u64)..=(now, u64::MAX)).db()? {
        expired.push(entry.db()?.0.value());
    }
    for (expires_at, id) in &expired {
        expire_one(t, *expires_at, *id, now)?;
    }
    Ok(u64::try_from(expired.len()).unwrap_or(u64::MAX))
}

/// Hands task `id`, whose lease ran out at `expires_at`, back to the ready
/// queue (same attempt, `ready_at = now`), with a `lease-expired` ledger event
/// and `redelivered` + 1.
pub fn expire_one(
    t: &mut Tables<'_>,
    expires_at: u64,
    id: u64,
    now: u64,
) -> Result<(), StoreError> {
    t.lease_expiry.remove((expires_at, id)).db()?;
    let lease = t
        .leases
        .remove(id)
        .db()?
        .map(|g| crate::tables::decode::<LeaseRecord>(g.value()))
        .transpose()?;
    let task = get_task(t, id)?;
    pool_leases::remove(t, &task.pool, id)?;
    let payload = json!({
        "task": task.id, "step": task.step_id, "attempt": task.attempt,
        "owner": lease.as_ref().map(|l| l.owner.clone()),
        "token": lease.as_ref().map(|l| l.token), "expires_at": expires_at,
    });
    ledger::append(t, &task.run_id, now, EventKind::LeaseExpired, payload)?;
    make_ready(t, task, now)?;
    bump(t, REDELIVERED, 1)?;
    Ok(())
}

/// The ready queue, in a write or a read transaction.
pub trait ReadyTable: ReadableTable<(&'static str, u32, u64, u64), ()> {}

impl<T: ReadableTable<(&'static str, u32, u64, u64), ()>> ReadyTable for T {}

/// The first ready key of one pool.
fn first_of_pool(ready: &impl ReadyTable, pool: &str) -> Result<Option<ReadyKey>, StoreError> {
    let mut range = ready
        .range((pool, 0u32, 0u64, 0u64)..=(pool, u32::MAX, u64::MAX, u64::MAX))
        .db()?;
    match range.next() {
        Some(entry) => {
            let (key, _) = entry.db()?;
            let (p, inv, at, id) = key.value();
            Ok(Some((p.to_owned(), inv, at, id)))
        }
        None => Ok(None),
    }
}

/// The first ready key at or after pool `from` (any pool when `None`).
fn first_from(ready: &impl ReadyTable, from: Option<&str>) -> Result<Option<ReadyKey>, StoreError> {
    let mut range = match from {
        Some(p) => ready.range((p, 0u32, 0u64, 0u64)..).db()?,
        None => ready.iter().db()?,
    };
    match range.next() {
        Some(entry) => {
            let (key, _) = entry.db()?;
            let (p, inv, at, id) = key.value();
            Ok(Some((p.to_owned(), inv, at, id)))
        }
        None => Ok(None),
    }
}

/// The best ready task: highest priority, then earliest `ready_at`, then lowest
/// task id, among `pools` (every pool when `None`).
pub fn best_ready(
    ready: &impl ReadyTable,
    pools: Option<&[String]>,
) -> Result<Option<ReadyKey>, StoreError> {
    let mut heads = Vec::new();
    match pools {
        Some(pools) => {
            for pool in pools {
                heads.extend(first_of_pool(ready, pool)?);
            }
        }
        None => {
            // One head per pool: after a pool's head, skip to the first key of the
            // next pool (`pool + "\0"` sorts after every key of `pool`).
            let mut next = first_from(ready, None)?;
            while let Some(head) = next {
                let skip = format!("{}\0", head.0);
                heads.push(head);
                next = first_from(ready, Some(&skip))?;
            }
        }
    }
    Ok(heads
        .into_iter()
        .min_by_key(|(_, inv, at, id)| (*inv, *at, *id)))
}

/// Who asks for a lease, for how long, and the least fencing token to hand out.
#[derive(Debug, Clone)]
pub struct LeaseAsk {
    /// The worker asking.
    pub owner: String,
    /// The pools it takes tasks from (every pool when `None`).
    pub pools: Option<Vec<String>>,
    /// How long the lease lasts.
    pub lease_ms: u64,
    /// Tokens handed out are at least this. The store raises it on every open
    /// above every token an earlier process could have handed out, so a lease
    /// lost with a volatile commit never has its token issued twice.
    pub token_floor: u64,
}

/// Leases the best ready task to `ask.owner` (after promoting due delayed tasks
/// and expiring stale leases).
pub fn lease(t: &mut Tables<'_>, ask: &LeaseAsk, now: u64) -> Result<Option<Lease>, StoreError> {
    if ask.owner.is_empty() {
        return Err(StoreError::Invalid("a lease needs an owner".into()));
    }
    promote_due(t, now)?;
    expire_due(t, now)?;
    let Some(key) = best_ready(&t.ready, ask.pools.as_deref())? else {
        return Ok(None);
    };
    lease_key(t, ask, key, None, now).map(Some)
}

/// Leases task `id` to `ask.owner` if it is ready now (after promoting due
/// delayed tasks and expiring stale leases) and its pool passes `cap` (fewer
/// than `max_concurrent` leases, a token in its bucket, taken); else says
/// why not. `admitted_by` (the pool policy component's sha256) goes into the
/// `step-started` ledger event.
pub fn lease_task(
    t: &mut Tables<'_>,
    ask: &LeaseAsk,
    id: u64,
    admitted_by: &str,
    cap: PoolCap,
    now: u64,
) -> Result<LeaseTry, StoreError> {
    if ask.owner.is_empty() {
        return Err(StoreError::Invalid("a lease needs an owner".into()));
    }
    promote_due(t, now)?;
    expire_due(t, now)?;
    let Some(task) = t
        .tasks
        .get(id)
        .db()?
        .map(|g| crate::tables::decode::<weft_store_api::TaskRecord>(g.value()))
        .transpose()?
    else {
        return Ok(LeaseTry::Gone);
    };
    let key = (
        task.pool.clone(),
        u32::MAX - task.priority,
        task.ready_at,
        id,
    );
    if task.state != TaskState::Ready
        || t.ready
            .get((key.0.as_str(), key.1, key.2, key.3))
            .db()?
            .is_none()
    {
        return Ok(LeaseTry::Gone);
    }
    match pool_leases::admit(t, &task.pool, cap, now)? {
        Some(Refused::Full) => Ok(LeaseTry::Full),
        Some(Refused::RateLimited(next_token_at)) => Ok(LeaseTry::RateLimited { next_token_at }),
        None => lease_key(t, ask, key, Some(admitted_by), now).map(LeaseTry::Leased),
    }
}

/// Leases the ready task at `key`: out of the ready queue, a new token, a
/// lease record and a `step-started` ledger event.
fn lease_key(
    t: &mut Tables<'_>,
    ask: &LeaseAsk,
    (pool, _, _, id): ReadyKey,
    admitted_by: Option<&str>,
    now: u64,
) -> Result<Lease, StoreError> {
    let mut task = get_task(t, id)?;
    ready_index::remove(t, &task)?;
    task.state = TaskState::Leased;
    task.last_token = (task.last_token + 1).max(ask.token_floor);
    let expires_at = now.saturating_add(ask.lease_ms);
    let record = LeaseRecord {
        owner: ask.owner.clone(),
        token: task.last_token,
        expires_at,
        leased_at: now,
    };
    t.leases.insert(id, encode(&record)?.as_slice()).db()?;
    t.lease_expiry.insert((expires_at, id), ()).db()?;
    pool_leases::insert(t, &task.pool, id)?;
    put_task(t, &task)?;
    let mut run = get_run(t, &task.run_id)?;
    if run.status == RunStatus::Queued {
        run.status = RunStatus::Running;
        run.updated_ms = now;
        put_run(t, &run)?;
    }
    let mut payload = json!({
        "task": id, "step": task.step_id, "attempt": task.attempt,
        "owner": ask.owner, "token": task.last_token, "expires_at": expires_at,
    });
    if let (Some(by), Some(map)) = (admitted_by, payload.as_object_mut()) {
        map.insert("pool".into(), json!(pool));
        map.insert("admitted_by".into(), json!(by));
    }
    ledger::append(t, &task.run_id, now, EventKind::StepStarted, payload)?;
    Ok(Lease {
        task: id,
        run: task.run_id,
        step: task.step_id,
        attempt: task.attempt,
        token: record.token,
        expires_at,
    })
}

/// Extends a lease to `now + lease_ms`; refuses a stale token.
pub fn renew(
    t: &mut Tables<'_>,
    task_id: u64,
    token: u64,
    lease_ms: u64,
    now: u64,
) -> Result<u64, StoreError> {
    let (_, mut lease) = check_fence(t, task_id, token, "renew", now)?;
    t.lease_expiry.remove((lease.expires_at, task_id)).db()?;
    lease.expires_at = now.saturating_add(lease_ms);
    t.leases.insert(task_id, encode(&lease)?.as_slice()).db()?;
    t.lease_expiry
        .insert((lease.expires_at, task_id), ())
        .db()?;
    Ok(lease.expires_at)
}
