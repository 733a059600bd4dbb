//! `QueueStore::queue_next` on redb: the task the next lease would hand out, without
//! leasing it (a peek on a read snapshot; nothing is written).

use crate::db::OrDb;
use redb::{ReadTransaction, ReadableTable};

use crate::ops::queue::best_ready;
use crate::tables::{self, decode};
use weft_store_api::StoreError;
use weft_store_api::{NextTask, RunRecord, TaskRecord};

/// A candidate: (u32::MAX - priority, ready since, task id) orders like a lease.
type Candidate = (u32, u64, u64);

/// The task the next `lease` of `pool` (every pool when `None`) at `now` would
/// hand out among the runs of `project` (run id prefix) if given. Reads a
/// snapshot: it leases, promotes and expires nothing. Like a lease, it counts
/// delayed tasks that are due and leased tasks whose lease has run out. It
/// walks the ready queue with a project, so that form is for people, not for
/// every lease.
pub(crate) fn queue_next(
    rt: &ReadTransaction,
    pool: Option<&str>,
    project: Option<&str>,
    now: u64,
) -> Result<Option<NextTask>, StoreError> {
    let tasks = rt.open_table(tables::TASKS).db()?;
    let task = |id: u64| -> Result<Option<TaskRecord>, StoreError> {
        tasks.get(id).db()?.map(|g| decode(g.value())).transpose()
    };
    let in_project =
        |t: &TaskRecord| project.is_none_or(|p| weft_store_api::prefix_of(&t.run_id) == Some(p));
    let wanted = |t: &TaskRecord| pool.is_none_or(|p| p == t.pool) && in_project(t);
    let pools = pool.map(|p| vec![p.to_owned()]);

    let ready = rt.open_table(tables::READY).db()?;
    let mut best: Option<Candidate> = match project {
        None => best_ready(&ready, pools.as_deref())?.map(|(_, inv, at, id)| (inv, at, id)),
        Some(_) => {
            // The ready queue is ordered by pool, then as a lease takes: the
            // first task of the project in each pool is that pool's best.
            let mut best: Option<Candidate> = None;
            let mut done_pool: Option<String> = None;
            for entry in ready.iter().db()? {
                let (key, _) = entry.db()?;
                let (p, inv, at, id) = key.value();
                if pool.is_some_and(|want| want != p) || done_pool.as_deref() == Some(p) {
                    continue;
                }
                if task(id)?.is_some_and(|t| in_project(&t)) {
                    best = Some(best.map_or((inv, at, id), |b| b.min((inv, at, id))));
                    done_pool = Some(p.to_owned());
                }
            }
            best
        }
    };
    let mut consider = |candidate: Candidate| {
        best = Some(best.map_or(candidate, |b| b.min(candidate)));
    };
    // Due delayed tasks keep their ready_at when promoted.
    let delayed = rt.open_table(tables::DELAYED).db()?;
    for entry in delayed.range((0u64, 0u64)..=(now, u64::MAX)).db()? {
        let (ready_at, id) = entry.db()?.0.value();
        if let Some(t) = task(id)?.filter(wanted) {
            consider((u32::MAX - t.priority, ready_at, id));
        }
    }
    // Expired leases are handed back with ready_at = now.
    let expiry = rt.open_table(tables::LEASE_EXPIRY).db()?;
    for entry in expiry.range((0u64, 0u64)..=(now, u64::MAX)).db()? {
        let (_, id) = entry.db()?.0.value();
        if let Some(t) = task(id)?.filter(wanted) {
            consider((u32::MAX - t.priority, now, id));
        }
    }

    let Some((_, ready_since_ms, id)) = best else {
        return Ok(None);
    };
    let Some(t) = task(id)? else {
        return Err(StoreError::Corrupt(format!(
            "task {id} is queued but has no record"
        )));
    };
    let runs = rt.open_table(tables::RUNS).db()?;
    let run: Option<RunRecord> = runs
        .get(t.run_id.as_str())
        .db()?
        .map(|g| decode(g.value()))
        .transpose()?;
    Ok(Some(NextTask {
        task: t.id,
        flow: run.map(|r| r.flow_id).unwrap_or_default(),
        run: t.run_id,
        step: t.step_id,
        pool: t.pool,
        priority: t.priority,
        attempt: t.attempt,
        ready_since_ms,
        lag_ms: now.saturating_sub(ready_since_ms),
        state: t.state,
    }))
}
