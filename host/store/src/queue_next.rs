//! [`Store::queue_next`]: the task the next lease would hand out, without
//! leasing it (a peek on a read snapshot; nothing is written).

use redb::{ReadTransaction, ReadableTable};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::ops::queue::best_ready;
use crate::run_id;
use crate::store::Store;
use crate::tables::{self, decode};
use crate::types::{RunRecord, TaskRecord, TaskState};

/// The task that would be leased next, as [`Store::queue_next`] sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextTask {
    /// The task.
    pub task: u64,
    /// Its run.
    pub run: String,
    /// The run's flow.
    pub flow: String,
    /// Its step.
    pub step: String,
    /// Its pool.
    pub pool: String,
    /// Its priority (higher first).
    pub priority: u32,
    /// The attempt the lease would run (1-based).
    pub attempt: u32,
    /// Since when it has been ready (ms since the Unix epoch): its `ready_at`,
    /// or, for a task whose lease has expired, `now` (it is handed back then).
    pub ready_since_ms: u64,
    /// `now - ready_since_ms`.
    pub lag_ms: u64,
    /// Its state as stored: `ready`; `delayed` for a retry whose time has come;
    /// `leased` for a task whose lease has run out (the next lease promotes or
    /// hands back both before it picks).
    pub state: TaskState,
}

/// A candidate: (u32::MAX - priority, ready since, task id) orders like a lease.
type Candidate = (u32, u64, u64);

impl Store {
    /// The task the next `lease` of `pool` (every pool when `None`) at `now`
    /// would hand out, or `None` when nothing is ready. Reads a snapshot: it
    /// leases, promotes and expires nothing. Like a lease, it counts delayed
    /// tasks that are due and leased tasks whose lease has run out.
    pub fn queue_next(&self, pool: Option<&str>, now: u64) -> Result<Option<NextTask>, StoreError> {
        self.queue_next_of(pool, None, now)
    }

    /// [`Store::queue_next`] among the runs of one project: those whose run
    /// id has the prefix `project` (`<project>-<yyyy-mm-dd>-<seq>-<3 chars>`).
    /// The task a lease of the pool would take among them; a lease itself
    /// does not filter by project. It walks the ready queue, so it is meant
    /// for people, not for every lease.
    pub fn queue_next_of(
        &self,
        pool: Option<&str>,
        project: Option<&str>,
        now: u64,
    ) -> Result<Option<NextTask>, StoreError> {
        self.read(|rt| queue_next(rt, pool, project, now))
    }
}

fn queue_next(
    rt: &ReadTransaction,
    pool: Option<&str>,
    project: Option<&str>,
    now: u64,
) -> Result<Option<NextTask>, StoreError> {
    let tasks = rt.open_table(tables::TASKS)?;
    let task = |id: u64| -> Result<Option<TaskRecord>, StoreError> {
        tasks.get(id)?.map(|g| decode(g.value())).transpose()
    };
    let in_project =
        |t: &TaskRecord| project.is_none_or(|p| run_id::prefix_of(&t.run_id) == Some(p));
    let wanted = |t: &TaskRecord| pool.is_none_or(|p| p == t.pool) && in_project(t);
    let pools = pool.map(|p| vec![p.to_owned()]);

    let ready = rt.open_table(tables::READY)?;
    let mut best: Option<Candidate> = match project {
        None => best_ready(&ready, pools.as_deref())?.map(|(_, inv, at, id)| (inv, at, id)),
        Some(_) => {
            // The ready queue is ordered by pool, then as a lease takes: the
            // first task of the project in each pool is that pool's best.
            let mut best: Option<Candidate> = None;
            let mut done_pool: Option<String> = None;
            for entry in ready.iter()? {
                let (key, _) = entry?;
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
    let delayed = rt.open_table(tables::DELAYED)?;
    for entry in delayed.range((0u64, 0u64)..=(now, u64::MAX))? {
        let (ready_at, id) = entry?.0.value();
        if let Some(t) = task(id)?.filter(wanted) {
            consider((u32::MAX - t.priority, ready_at, id));
        }
    }
    // Expired leases are handed back with ready_at = now.
    let expiry = rt.open_table(tables::LEASE_EXPIRY)?;
    for entry in expiry.range((0u64, 0u64)..=(now, u64::MAX))? {
        let (_, id) = entry?.0.value();
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
    let runs = rt.open_table(tables::RUNS)?;
    let run: Option<RunRecord> = runs
        .get(t.run_id.as_str())?
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
