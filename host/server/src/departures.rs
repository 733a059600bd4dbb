//! Worker processes that said they are stopping (`POST /v1/worker/leave`):
//! their long-polling lease requests end at once with no task, so a stopping
//! worker neither waits out its polls nor gets a lease it would not run.
//! A daemon that is stopping does the same for every worker
//! ([`Departures::close`]), so its graceful shutdown does not wait out them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How long a departure is remembered (a request of that worker arriving
/// later than this is served normally).
const REMEMBER: Duration = Duration::from_secs(600);

/// The departed workers and a wake-up for the requests waiting on them.
#[derive(Debug, Default)]
pub struct Departures {
    left: Mutex<HashMap<String, Instant>>,
    /// The daemon is stopping: every worker counts as gone.
    closed: AtomicBool,
    notify: Notify,
}

impl Departures {
    /// Records that `worker` is stopping and wakes its waiting requests.
    pub fn leave(&self, worker: &str) {
        let mut left = self.left.lock().unwrap_or_else(PoisonError::into_inner);
        left.retain(|_, at| at.elapsed() <= REMEMBER);
        left.insert(worker.to_owned(), Instant::now());
        drop(left);
        self.notify.notify_waiters();
    }

    /// Ends every waiting and later lease request (the daemon is stopping).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether `worker` said it is stopping, or the daemon is.
    pub fn has_left(&self, worker: &str) -> bool {
        self.closed.load(Ordering::SeqCst)
            || self
                .left
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(worker)
    }

    /// Resolves once `worker` has left.
    pub async fn wait(&self, worker: &str) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.has_left(worker) {
                return;
            }
            notified.await;
        }
    }
}
