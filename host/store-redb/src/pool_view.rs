//! `QueueStore::pool_view` on redb: what a pool holds now — its running tasks (live
//! leases) and its queued tasks — read from one snapshot, for admission and
//! for `weft pools`.

use crate::db::OrDb;
use std::collections::HashMap;

use redb::{ReadTransaction, ReadableTable};

use crate::tables::{self, decode};
use weft_store_api::StoreError;
use weft_store_api::{LeaseRecord, PoolTask, PoolView, RunRecord, TaskRecord, ViewLimits};

/// The pools that have a task in the ready queue, sorted (one key read per
/// pool).
pub(crate) fn ready_pools(rt: &ReadTransaction) -> Result<Vec<String>, StoreError> {
    let ready = rt.open_table(tables::READY).db()?;
    let mut pools = Vec::new();
    let mut next = ready.iter().db()?.next();
    while let Some(entry) = next {
        let pool = entry.db()?.0.value().0.to_owned();
        // `pool + "\0"` sorts after every key of `pool`.
        let skip = format!("{pool}\0");
        next = ready
            .range((skip.as_str(), 0u32, 0u64, 0u64)..)
            .db()?
            .next();
        pools.push(pool);
    }
    Ok(pools)
}

/// The pools that have a queued task or a live lease, sorted.
pub(crate) fn busy_pools(rt: &ReadTransaction, now: u64) -> Result<Vec<String>, StoreError> {
    let mut pools = std::collections::BTreeSet::new();
    // Pools with ready tasks from their counts, not from a walk of the queue.
    for entry in rt.open_table(tables::POOL_QUEUED).db()?.iter().db()? {
        let (pool, n) = entry.db()?;
        if n.value() > 0 {
            pools.insert(pool.value().to_owned());
        }
    }
    let leases = rt.open_table(tables::LEASES).db()?;
    let tasks = rt.open_table(tables::TASKS).db()?;
    for entry in leases.iter().db()? {
        let (id, lease) = entry.db()?;
        let lease: LeaseRecord = decode(lease.value())?;
        if lease.expires_at > now
            && let Some(t) = tasks.get(id.value()).db()?
        {
            pools.insert(decode::<TaskRecord>(t.value())?.pool);
        }
    }
    Ok(pools.into_iter().collect())
}

/// The running and queued tasks of `pool` at `now`. Leases that ran out do not
/// count as running (the next lease hands them back).
pub(crate) fn pool_view(
    rt: &ReadTransaction,
    pool: &str,
    limits: ViewLimits,
    now: u64,
) -> Result<PoolView, StoreError> {
    let tasks = rt.open_table(tables::TASKS).db()?;
    let runs = rt.open_table(tables::RUNS).db()?;
    // (tenant, flow) per run, read once per run.
    let mut run_info: HashMap<String, (String, String)> = HashMap::new();
    let mut info = |run: &str| -> Result<(String, String), StoreError> {
        if let Some(found) = run_info.get(run) {
            return Ok(found.clone());
        }
        let found = match runs.get(run).db()? {
            Some(g) => {
                let r: RunRecord = decode(g.value())?;
                (r.tenant, r.flow_id)
            }
            None => (String::new(), String::new()),
        };
        run_info.insert(run.to_owned(), found.clone());
        Ok(found)
    };
    let mut view = PoolView::default();

    let leases = rt.open_table(tables::LEASES).db()?;
    for entry in leases.iter().db()? {
        let (id, lease) = entry.db()?;
        let lease: LeaseRecord = decode(lease.value())?;
        if lease.expires_at <= now {
            continue;
        }
        let Some(t) = tasks.get(id.value()).db()? else {
            continue;
        };
        let t: TaskRecord = decode(t.value())?;
        if t.pool != pool {
            continue;
        }
        let (tenant, flow) = info(&t.run_id)?;
        view.running.push(PoolTask {
            task: t.id,
            run: t.run_id,
            flow,
            step: t.step_id,
            tenant,
            priority: t.priority,
            since_ms: lease.leased_at,
        });
    }
    view.running.sort_by_key(|t| (t.since_ms, t.task));

    view.queued_total = rt
        .open_table(tables::POOL_QUEUED)
        .db()?
        .get(pool)
        .db()?
        .map_or(0, |g| g.value());
    view.bucket = rt
        .open_table(tables::POOL_BUCKETS)
        .db()?
        .get(pool)
        .db()?
        .map(|g| {
            let (micro_tokens, at_ms) = g.value();
            weft_store_api::TokenBucket {
                micro_tokens,
                at_ms,
            }
        });
    for (inv, ready_at, id) in queued_keys(rt, pool, limits)? {
        let Some(t) = tasks.get(id).db()? else {
            continue;
        };
        let t: TaskRecord = decode(t.value())?;
        let (tenant, flow) = info(&t.run_id)?;
        view.queued.push(PoolTask {
            task: t.id,
            run: t.run_id,
            flow,
            step: t.step_id,
            tenant,
            priority: u32::MAX - inv,
            since_ms: ready_at,
        });
    }
    Ok(view)
}

/// The ready-queue keys (inverted priority, ready time, task) a view shows,
/// in lease order: the head of every tenant's queue (so no tenant is hidden
/// behind another's flood), then the next ones of each tenant up to
/// `limits.per_tenant`, while there are fewer than `limits.candidates`. Reads
/// at most `limits.per_tenant` keys per tenant and `limits.scan` keys in all,
/// from the per-tenant index: the cost follows the number of tenants with
/// work, not the depth of the queue.
fn queued_keys(
    rt: &ReadTransaction,
    pool: &str,
    limits: ViewLimits,
) -> Result<Vec<(u32, u64, u64)>, StoreError> {
    let index = rt.open_table(tables::READY_BY_TENANT).db()?;
    let mut heads = Vec::new();
    let mut rest = Vec::new();
    let mut read = 0usize;
    let mut from = String::new();
    'tenants: while read < limits.scan {
        let mut range = index
            .range((pool, from.as_str(), 0u32, 0u64, 0u64)..)
            .db()?;
        let mut tenant: Option<String> = None;
        let mut taken = 0usize;
        while taken < limits.per_tenant.max(1) && read < limits.scan {
            let Some(entry) = range.next() else {
                break;
            };
            let key = entry.db()?.0;
            let (p, tn, inv, at, id) = key.value();
            if p != pool {
                break;
            }
            match &tenant {
                Some(current) if current != tn => break,
                Some(_) => {}
                None => tenant = Some(tn.to_owned()),
            }
            read += 1;
            if taken == 0 {
                heads.push((inv, at, id));
            } else {
                rest.push((inv, at, id));
            }
            taken += 1;
        }
        let Some(tenant) = tenant else {
            break 'tenants;
        };
        // `tenant + "\0"` sorts after every key of `tenant`.
        from = format!("{tenant}\0");
    }
    rest.sort_unstable();
    let room = limits.candidates.saturating_sub(heads.len());
    heads.extend(rest.into_iter().take(room));
    heads.sort_unstable();
    Ok(heads)
}
