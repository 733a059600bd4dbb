//! The ready queue's three indexes, always written together:
//!
//! - `READY` (pool, priority, ready time, task): lease order within a pool;
//! - `READY_BY_TENANT` (pool, tenant, priority, ready time, task): the same
//!   order per tenant, so that admission reads the head of every tenant's
//!   queue in a few key reads, however deep another tenant's flood is;
//! - `POOL_QUEUED` (pool → count): how many tasks each pool has ready, so that
//!   nobody counts a queue by reading it.
//!
//! Every entry into and exit from the ready queue goes through [`insert`] and
//! [`remove`]; [`rebuild`] makes the last two from `READY` for a store written
//! before they existed.

use crate::db::OrDb;
use std::collections::HashMap;

use redb::{ReadableTable, WriteTransaction};

use crate::ops::common::get_run;
use crate::tables::{self, Tables, decode, encode};
use weft_store_api::StoreError;
use weft_store_api::{RunRecord, TaskRecord};

/// The counter that says the per-tenant index and the counts are built.
const BUILT: &str = "ready_index_v1";

/// Puts `task` (state and `ready_at` already set) into every ready index. A
/// task without a tenant (written before tasks carried one) gets its run's.
pub fn insert(t: &mut Tables<'_>, task: &mut TaskRecord) -> Result<(), StoreError> {
    if task.tenant.is_empty() {
        task.tenant = get_run(t, &task.run_id)?.tenant;
    }
    let inv = u32::MAX - task.priority;
    let pool = task.pool.as_str();
    t.ready
        .insert((pool, inv, task.ready_at, task.id), ())
        .db()?;
    t.ready_by_tenant
        .insert(
            (pool, task.tenant.as_str(), inv, task.ready_at, task.id),
            (),
        )
        .db()?;
    let count = t.pool_queued.get(pool).db()?.map_or(0, |g| g.value());
    t.pool_queued.insert(pool, count.saturating_add(1)).db()?;
    Ok(())
}

/// Takes `task` out of every ready index (a no-op for an index that does not
/// hold it).
pub fn remove(t: &mut Tables<'_>, task: &TaskRecord) -> Result<(), StoreError> {
    let inv = u32::MAX - task.priority;
    let pool = task.pool.as_str();
    let was_ready = t
        .ready
        .remove((pool, inv, task.ready_at, task.id))
        .db()?
        .is_some();
    t.ready_by_tenant
        .remove((pool, task.tenant.as_str(), inv, task.ready_at, task.id))
        .db()?;
    if was_ready {
        let count = t.pool_queued.get(pool).db()?.map_or(0, |g| g.value());
        if count <= 1 {
            t.pool_queued.remove(pool).db()?;
        } else {
            t.pool_queued.insert(pool, count - 1).db()?;
        }
    }
    Ok(())
}

/// Builds `READY_BY_TENANT` and `POOL_QUEUED` from `READY` if this store has
/// not had them built yet (one pass over the ready queue, at open). Returns
/// how many ready tasks it indexed.
pub fn rebuild(tx: &WriteTransaction) -> Result<u64, StoreError> {
    let mut counters = tx.open_table(tables::COUNTERS).db()?;
    if counters.get(BUILT).db()?.is_some() {
        return Ok(0);
    }
    let ready = tx.open_table(tables::READY).db()?;
    let mut keys = Vec::new();
    for entry in ready.iter().db()? {
        let key = entry.db()?.0;
        let (pool, inv, at, id) = key.value();
        keys.push((pool.to_owned(), inv, at, id));
    }
    let mut tasks = tx.open_table(tables::TASKS).db()?;
    let runs = tx.open_table(tables::RUNS).db()?;
    let mut by_tenant = tx.open_table(tables::READY_BY_TENANT).db()?;
    let mut queued = tx.open_table(tables::POOL_QUEUED).db()?;
    let mut tenants: HashMap<String, String> = HashMap::new();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for (pool, inv, at, id) in &keys {
        let Some(bytes) = tasks.get(*id).db()?.map(|g| g.value().to_vec()) else {
            continue;
        };
        let mut task: TaskRecord = decode(&bytes)?;
        if task.tenant.is_empty() {
            let tenant = match tenants.get(&task.run_id) {
                Some(found) => found.clone(),
                None => {
                    let found = match runs.get(task.run_id.as_str()).db()? {
                        Some(g) => decode::<RunRecord>(g.value())?.tenant,
                        None => String::new(),
                    };
                    tenants.insert(task.run_id.clone(), found.clone());
                    found
                }
            };
            task.tenant = tenant;
            tasks.insert(*id, encode(&task)?.as_slice()).db()?;
        }
        by_tenant
            .insert((pool.as_str(), task.tenant.as_str(), *inv, *at, *id), ())
            .db()?;
        *counts.entry(pool.clone()).or_default() += 1;
    }
    for (pool, count) in &counts {
        queued.insert(pool.as_str(), *count).db()?;
    }
    counters.insert(BUILT, 1).db()?;
    Ok(u64::try_from(keys.len()).unwrap_or(u64::MAX))
}
