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
//! earlier expiry wakes it (`Wakeups::lease_granted`), as does
//! [`Engine::wake`](crate::Engine::wake) (a manual clock moved).
//!
//! It holds the engine only weakly: dropping the last [`Engine`](crate::Engine)
//! ends it.

use std::pin::pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::shared::Inner;
use crate::wakeups::ReaperWatch;

/// How long the reaper sleeps when no task is leased (it is woken by the
/// first lease anyway).
const IDLE_WAIT: Duration = Duration::from_secs(60);
/// How long it waits after the store failed.
const ERROR_WAIT: Duration = Duration::from_secs(1);
/// Starts the reaper of `inner` on the current tokio runtime (none outside
/// one: leases are then reaped by the next lease request only).
pub(crate) fn spawn(inner: &Arc<Inner>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no async runtime: expired leases are reaped by the next lease only");
        return;
    };
    let watch = inner.wakeups.reaper();
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
            let notified = pin!(watch.notified());
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
    watch.looking();
    let now = inner.now();
    match inner.store.next_lease_expiry().await {
        Ok(Some(at)) if at <= now => {
            // The lifecycle wakes the idle workers for what it hands back.
            match inner.lifecycle.promote_and_expire().await {
                Ok(0) => Some(ERROR_WAIT),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!("cannot hand back expired leases: {e}");
                    Some(ERROR_WAIT)
                }
            }
        }
        Ok(Some(at)) => {
            watch.sleeps_until(at);
            Some(Duration::from_millis(at - now))
        }
        Ok(None) => {
            watch.sleeps_until(u64::MAX);
            Some(IDLE_WAIT)
        }
        Err(e) => {
            tracing::warn!("cannot read the leases: {e}");
            Some(ERROR_WAIT)
        }
    }
}
