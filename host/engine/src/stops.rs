//! Stopping the steps of a run that ended while they ran.
//!
//! A worker registers the run of each step it runs ([`RunStops::enter`]) and
//! races the step against the run's stop signal. When the run ends — a
//! cancel, a failure that fails it, its end in another daemon (PostgreSQL's
//! run-end notifications) — [`RunStops::stop`] signals it, and the worker
//! drops the step's call at once instead of letting it run to a result the
//! store would refuse. Remote workers learn of it from their next lease
//! renewal, which the store refuses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

/// The runs whose steps this process is running, and their stop signals.
#[derive(Default)]
pub(crate) struct RunStops {
    runs: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    signal: Arc<Notify>,
    /// Steps of the run running now.
    running: usize,
    /// Set by [`RunStops::stop`]: a step that registers late still stops.
    stopped: bool,
}

/// A running step's hold on its run's stop signal; dropping it lets go.
pub(crate) struct StopGuard<'a> {
    stops: &'a RunStops,
    run: String,
    signal: Arc<Notify>,
}

impl RunStops {
    /// Registers a step of `run` that starts running now.
    pub fn enter(&self, run: &str) -> StopGuard<'_> {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = runs.entry(run.to_owned()).or_insert_with(|| Entry {
            signal: Arc::new(Notify::new()),
            running: 0,
            stopped: false,
        });
        entry.running += 1;
        StopGuard {
            stops: self,
            run: run.to_owned(),
            signal: Arc::clone(&entry.signal),
        }
    }

    /// `run` has ended: every step of it running here stops.
    pub fn stop(&self, run: &str) {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = runs.get_mut(run) {
            entry.stopped = true;
            entry.signal.notify_waiters();
        }
    }

    fn stopped(&self, run: &str) -> bool {
        let runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        runs.get(run).is_some_and(|e| e.stopped)
    }

    /// How many runs have a step running here (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl StopGuard<'_> {
    /// Resolves once the run is stopped (at once if it already was).
    pub async fn stopped(&self) {
        let notified = self.signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.stops.stopped(&self.run) {
            return;
        }
        notified.await;
    }
}

impl Drop for StopGuard<'_> {
    fn drop(&mut self) {
        let mut runs = self
            .stops
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = runs.get_mut(&self.run) {
            entry.running = entry.running.saturating_sub(1);
            if entry.running == 0 {
                runs.remove(&self.run);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RunStops;

    #[tokio::test]
    async fn a_stop_reaches_steps_that_wait_and_steps_that_start_to_wait_later() {
        let stops = RunStops::default();
        let first = stops.enter("r");
        let second = stops.enter("r");
        let other = stops.enter("s");
        {
            let waiting = first.stopped();
            tokio::pin!(waiting);
            // Not stopped yet: the wait does not end.
            assert!(futures_poll_once(waiting.as_mut()).await.is_none());
            stops.stop("r");
            waiting.await;
        }
        // A step of the run that looks only now stops at once too.
        second.stopped().await;
        {
            // Another run is not stopped.
            let other_wait = other.stopped();
            tokio::pin!(other_wait);
            assert!(futures_poll_once(other_wait.as_mut()).await.is_none());
        }
        drop((first, second, other));
        assert_eq!(stops.len(), 0, "entries go with their last step");
    }

    /// Polls `f` once: `Some` if it finished.
    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        let mut f = f;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
