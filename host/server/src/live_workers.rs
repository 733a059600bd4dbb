//! Which workers are live, for `weft_workers_live`: the daemon's own workers
//! and every remote worker slot (lease owner) heard from recently.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A remote worker slot heard from within this window counts as live: a
/// slot asks for a lease at least every minute (the longest long poll) and
/// sends heartbeats while it runs a step.
pub const LIVE_WINDOW: Duration = Duration::from_secs(90);

/// The daemon's in-process workers and the remote slots last seen.
#[derive(Debug, Default)]
pub struct LiveWorkers {
    in_process: AtomicUsize,
    remote: Mutex<HashMap<String, Instant>>,
}

impl LiveWorkers {
    /// Sets how many in-process workers run.
    pub fn set_in_process(&self, n: usize) {
        self.in_process.store(n, Ordering::Relaxed);
    }

    /// Notes that the remote slot `owner` was heard from now.
    pub fn seen(&self, owner: &str) {
        let mut remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        match remote.get_mut(owner) {
            Some(at) => *at = Instant::now(),
            None => {
                remote.insert(owner.to_owned(), Instant::now());
            }
        }
    }

    /// In-process workers plus remote slots heard from within [`LIVE_WINDOW`]
    /// (older ones are forgotten).
    pub fn count(&self) -> usize {
        let mut remote = self.remote.lock().unwrap_or_else(PoisonError::into_inner);
        remote.retain(|_, at| at.elapsed() <= LIVE_WINDOW);
        self.in_process.load(Ordering::Relaxed) + remote.len()
    }
}
