//! Who is woken when: the idle workers (local, and remote ones long-polling
//! `POST /v1/worker/lease`), the scheduler, and the lease reaper.
//!
//! Nobody polls: an idle worker waits on [`Wakeups::worker_wakeup`] (or its
//! timer until the next due task), the scheduler on
//! [`Wakeups::schedule_wakeup`], the reaper until the first lease runs out.
//! A change that makes one task ready, or frees one slot, wakes one worker
//! ([`Wakeups::task_ready`]); waking them all would have the rest find nothing
//! and commit an empty lease for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// The engine's wake-up signals.
#[derive(Default)]
pub(crate) struct Wakeups {
    workers: Notify,
    schedules: Notify,
    reaper: Arc<ReaperWatch>,
}

impl Wakeups {
    /// One task became ready, or one slot was freed: one idle worker looks
    /// (a wake-up with no idle worker is kept as one permit).
    pub fn task_ready(&self) {
        self.workers.notify_one();
    }

    /// `n` tasks became ready.
    pub fn tasks_ready(&self, n: usize) {
        for _ in 0..n {
            self.workers.notify_one();
        }
    }

    /// The queue changed in a way any idle worker may care about (a retry
    /// scheduled, leases handed back, a dead letter requeued): all look.
    pub fn queue_changed(&self) {
        self.workers.notify_waiters();
    }

    /// What an idle worker waits on; enable it before looking at the queue,
    /// so that a wake-up between the look and the wait is not lost.
    pub fn worker_wakeup(&self) -> Notified<'_> {
        self.workers.notified()
    }

    /// The schedules changed (a flow reload, a resumed schedule).
    pub fn schedules_changed(&self) {
        self.schedules.notify_waiters();
    }

    /// What the scheduler waits on between fires.
    pub fn schedule_wakeup(&self) -> Notified<'_> {
        self.schedules.notified()
    }

    /// A lease that runs out at `expires_at` was handed out.
    pub fn lease_granted(&self, expires_at: u64) {
        self.reaper.leased(expires_at);
    }

    /// Everyone looks again: the workers, the scheduler, the reaper (a manual
    /// clock moved, or the engine is going away).
    pub fn everyone(&self) {
        self.workers.notify_waiters();
        self.schedules.notify_waiters();
        self.reaper.wake();
    }

    /// The reaper's side of its signal.
    pub fn reaper(&self) -> Arc<ReaperWatch> {
        Arc::clone(&self.reaper)
    }
}

/// [`ReaperWatch::target`] while the reaper looks at the store: every lease
/// handed out meanwhile wakes it again.
const LOOKING: u64 = 0;

/// How the engine reaches its lease reaper (`lease_reaper.rs`).
#[derive(Debug)]
pub(crate) struct ReaperWatch {
    notify: Notify,
    /// The expiry (ms) the reaper sleeps until; `u64::MAX` when no task is
    /// leased, [`LOOKING`] while it reads the store.
    target: AtomicU64,
}

impl Default for ReaperWatch {
    fn default() -> Self {
        Self {
            notify: Notify::new(),
            target: AtomicU64::new(LOOKING),
        }
    }
}

impl ReaperWatch {
    /// A lease that runs out at `expires_at` was handed out: the reaper must
    /// wake for it if it sleeps until later.
    fn leased(&self, expires_at: u64) {
        let target = self.target.load(Ordering::SeqCst);
        if target == LOOKING || expires_at < target {
            self.notify.notify_one();
        }
    }

    /// Makes the reaper look at the store again.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// The reaper reads the store now.
    pub fn looking(&self) {
        self.target.store(LOOKING, Ordering::SeqCst);
    }

    /// The reaper sleeps until `at` (ms), `u64::MAX`: until the first lease.
    pub fn sleeps_until(&self, at: u64) {
        self.target.store(at, Ordering::SeqCst);
    }

    /// What the reaper waits on while it sleeps.
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }
}
