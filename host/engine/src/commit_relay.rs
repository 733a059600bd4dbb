//! Wake-ups from other processes' commits. With several daemons on one
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
