//! Which workers are live, for `weft_workers_live` and `GET /v1/workers`: the
//! daemon's own workers and every remote worker slot (lease owner) heard from
//! recently, with the task each slot was last handed and has not reported yet.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use weft_core::worker_protocol::RemoteTask;

/// A remote worker slot heard from within this window counts as live: a
/// slot asks for a lease at least every minute (the longest long poll) and
/// sends heartbeats while it runs a step.
pub const LIVE_WINDOW: Duration = Duration::from_secs(90);

/// What a remote slot runs: the task it was handed and has not reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotTask {
    /// The task id.
    pub task: u64,
    /// Its run.
    pub run: String,
    /// Its flow.
    pub flow: String,
    /// Its step.
    pub step: String,
    /// The attempt.
    pub attempt: u32,
    /// Its tenant.
    pub tenant: String,
    /// When its lease runs out unless renewed (ms since the Unix epoch).
    pub expires_ms: u64,
}

/// One remote slot as `GET /v1/workers` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotView {
    /// The lease owner (`<worker>/<slot>`).
    pub owner: String,
    /// The `weft worker` process it belongs to, as it named itself.
    pub worker: String,
    /// Milliseconds since it was last heard from.
    pub seen_ms_ago: u64,
    /// The task it runs, if any.
    pub running: Option<SlotTask>,
}

#[derive(Debug)]
struct Slot {
    worker: String,
    seen: Instant,
    running: Option<SlotTask>,
}

/// The daemon's in-process workers and the remote slots last seen.
#[derive(Debug, Default)]
pub struct LiveWorkers {
    in_process: AtomicUsize,
    remote: Mutex<HashMap<String, Slot>>,
}

impl LiveWorkers {
    /// Sets how many in-process workers run.
    pub fn set_in_process(&self, n: usize) {
        self.in_process.store(n, Ordering::Relaxed);
    }

    /// How many in-process workers run.
    pub fn in_process(&self) -> usize {
        self.in_process.load(Ordering::Relaxed)
    }

    /// Notes that the remote slot `owner` was heard from now.
    pub fn seen(&self, owner: &str) {
        self.touch(owner, None, |_| {});
    }

    /// Notes that the slot `owner` of `worker` asked for work now and was
    /// handed `task` (or nothing): what it runs until it reports.
    pub fn leased(&self, worker: &str, owner: &str, task: Option<&RemoteTask>) {
        let running = task.map(|t| SlotTask {
            task: t.task,
            run: t.run.clone(),
            flow: t.flow.clone(),
            step: t.step.clone(),
            attempt: t.attempt,
            tenant: t.tenant.clone(),
            expires_ms: t.expires_ms,
        });
        self.touch(owner, Some(worker), |slot| slot.running = running);
    }

    /// Notes that `task` was reported (completed or failed): the slot that ran
    /// it runs nothing now.
    pub fn reported(&self, task: u64) {
        let mut remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        for slot in remote.values_mut() {
            if slot.running.as_ref().is_some_and(|r| r.task == task) {
                slot.running = None;
                slot.seen = Instant::now();
            }
        }
    }

    fn touch(&self, owner: &str, worker: Option<&str>, update: impl FnOnce(&mut Slot)) {
        let mut remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = remote.entry(owner.to_owned()).or_insert_with(|| Slot {
            worker: worker_of(owner).to_owned(),
            seen: Instant::now(),
            running: None,
        });
        slot.seen = Instant::now();
        if let Some(w) = worker {
            w.clone_into(&mut slot.worker);
        }
        update(slot);
    }

    /// In-process workers plus remote slots heard from within [`LIVE_WINDOW`]
    /// (older ones are forgotten).
    pub fn count(&self) -> usize {
        let mut remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        remote.retain(|_, s| s.seen.elapsed() <= LIVE_WINDOW);
        self.in_process() + remote.len()
    }

    /// The remote slots heard from within [`LIVE_WINDOW`], by owner (older
    /// ones are forgotten).
    pub fn slots(&self) -> Vec<SlotView> {
        let mut remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        remote.retain(|_, s| s.seen.elapsed() <= LIVE_WINDOW);
        let mut out: Vec<SlotView> = remote
            .iter()
            .map(|(owner, s)| SlotView {
                owner: owner.clone(),
                worker: s.worker.clone(),
                seen_ms_ago: u64::try_from(s.seen.elapsed().as_millis()).unwrap_or(u64::MAX),
                running: s.running.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.owner.cmp(&b.owner));
        out
    }
}

/// The worker part of an owner `<worker>/<slot>` (the whole owner otherwise).
fn worker_of(owner: &str) -> &str {
    owner.rsplit_once('/').map_or(owner, |(w, _)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: u64) -> RemoteTask {
        RemoteTask {
            task: id,
            token: 1,
            expires_ms: 10,
            run: "r".into(),
            flow: "f".into(),
            step: "s".into(),
            attempt: 1,
            tenant: "t".into(),
            plugin: "p".into(),
            plugin_sha256: String::new(),
            config: "{}".into(),
            input: "{}".into(),
            timeout_ms: 1,
        }
    }

    #[test]
    fn a_slot_runs_what_it_was_handed_until_it_reports() {
        let live = LiveWorkers::default();
        live.set_in_process(2);
        live.leased("w1", "w1/0", Some(&task(7)));
        live.leased("w1", "w1/1", None);
        live.seen("w2/0");
        assert_eq!(live.count(), 5);
        let slots = live.slots();
        assert_eq!(slots.len(), 3);
        assert_eq!(slots[0].owner, "w1/0");
        assert_eq!(slots[0].running.as_ref().map(|r| r.task), Some(7));
        assert_eq!(slots[1].running, None);
        assert_eq!(slots[2].worker, "w2");
        live.reported(7);
        assert!(live.slots().iter().all(|s| s.running.is_none()));
    }
}
