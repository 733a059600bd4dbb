//! The lease reaper: one background task per engine that hands a task back to
//! the queue as soon as its lease runs out, and wakes the idle workers (those
//! of this process and the remote ones long-polling `POST /v1/worker/lease`)
//! so that one of them takes it at once.
//!
//! Without it a lease that ran out waited for the next lease request to be
//! reaped: a worker that went idle before the lease was handed out sleeps
//! until its own next due time (or the end of its long poll), which knew
//! nothing of that lease. The reaper sleeps until the first lease's
//! `expires_at` (`Store::next_lease_expiry`); a lease handed out with an
//! earlier expiry wakes it ([`ReaperWatch::leased`]), as does
//! [`Engine::wake`](crate::Engine::wake) (a manual clock moved).
//!
//! It holds the engine only weakly: dropping the last [`Engine`](crate::Engine)
//! ends it.

use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use crate::engine::Inner;

/// How long the reaper sleeps when no task is leased (it is woken by the
/// first lease anyway).
const IDLE_WAIT: Duration = Duration::from_secs(60);
/// How long it waits after the store failed.
const ERROR_WAIT: Duration = Duration::from_secs(1);
/// [`ReaperWatch::target`] while the reaper looks at the store: every lease
/// handed out meanwhile wakes it again.
const LOOKING: u64 = 0;

/// How the engine reaches its reaper.
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
    pub(crate) fn leased(&self, expires_at: u64) {
        let target = self.target.load(Ordering::SeqCst);
        if target == LOOKING || expires_at < target {
            self.notify.notify_one();
        }
    }

    /// Makes the reaper look at the store again (the clock moved, or the
    /// engine is going away).
    pub(crate) fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Starts the reaper of `inner` on the current tokio runtime (none outside
/// one: leases are then reaped by the next lease request only).
pub(crate) fn spawn(inner: &Arc<Inner>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no async runtime: expired leases are reaped by the next lease only");
        return;
    };
    let watch = Arc::clone(&inner.reaper);
    let engine = Arc::downgrade(inner);
    runtime.spawn(reaper(engine, watch));
}

async fn reaper(engine: Weak<Inner>, watch: Arc<ReaperWatch>) {
    loop {
        let Some(inner) = engine.upgrade() else {
            return;
        };
        let wait = reap(&inner, &watch).await;
        // Not held while sleeping: dropping the engine ends the reaper.
        drop(inner);
        if let Some(wait) = wait {
            // A wake-up sent while the reaper looked is kept as a permit, so
            // this returns at once for a lease handed out meanwhile.
            let notified = pin!(watch.notify.notified());
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Hands back every lease that has run out and wakes the idle workers for
/// them; `None`: look again at once, else how long to sleep.
async fn reap(inner: &Inner, watch: &ReaperWatch) -> Option<Duration> {
    watch.target.store(LOOKING, Ordering::SeqCst);
    let now = inner.now();
    match inner.store.next_lease_expiry().await {
        Ok(Some(at)) if at <= now => {
            let handed_back = inner.store.promote_and_expire(now).await;
            match handed_back {
                Ok(0) => Some(ERROR_WAIT),
                Ok(_) => {
                    inner.notify.notify_waiters();
                    None
                }
                Err(e) => {
                    tracing::warn!("cannot hand back expired leases: {e}");
                    Some(ERROR_WAIT)
                }
            }
        }
        Ok(Some(at)) => {
            watch.target.store(at, Ordering::SeqCst);
            Some(Duration::from_millis(at - now))
        }
        Ok(None) => {
            watch.target.store(u64::MAX, Ordering::SeqCst);
            Some(IDLE_WAIT)
        }
        Err(e) => {
            tracing::warn!("cannot read the leases: {e}");
            Some(ERROR_WAIT)
        }
    }
}
