//! Wake-ups from other processes' commits, and the ends of runs there. With several daemons on one
//! database, a task one daemon makes ready (a submit to an API-only daemon,
//! a step another daemon completed) notifies only that daemon's workers; the
//! others would sleep until their next timer (up to a minute). The relay
//! follows the store's watch of other processes' commits
//! (`Store::foreign_commits`; this process's own commits wake its workers
//! where they are made) and wakes one idle worker (or remote worker's long
//! poll) per change it sees: one look at the queue, not a herd. Under load
//! the watch folds many commits into one change, and a wake-up with no idle
//! worker is a single stored permit.

use std::sync::{Arc, Weak};

use tokio::sync::broadcast::{self, error::RecvError};

use crate::shared::Inner;
use crate::wakeups::Wakeups;

/// Starts the relay of the store's `commits` to `wakeups`; it ends with the
/// engine (or the store).
pub(crate) fn spawn(wakeups: &Arc<Wakeups>, mut commits: tokio::sync::watch::Receiver<u64>) {
    let wakeups: Weak<Wakeups> = Arc::downgrade(wakeups);
    tokio::spawn(async move {
        while commits.changed().await.is_ok() {
            match wakeups.upgrade() {
                Some(wakeups) => wakeups.task_ready(),
                None => return,
            }
        }
    });
}

/// Starts the follower of the runs that ended in any process (`Store::run_ends`):
/// their steps still running here are stopped. It ends with the engine.
pub(crate) fn spawn_run_ends(inner: &Arc<Inner>, mut ends: broadcast::Receiver<String>) {
    let engine: Weak<Inner> = Arc::downgrade(inner);
    tokio::spawn(async move {
        loop {
            let ended = match ends.recv().await {
                Ok(run) => run,
                // Ends missed in a burst: their steps stop at their next
                // lease renewal, which the store refuses.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            };
            match engine.upgrade() {
                Some(inner) => inner.lifecycle.stops().stop(&ended),
                None => return,
            }
        }
    });
}
