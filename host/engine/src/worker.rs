//! The worker pool: N tokio tasks that lease ready tasks and execute them.
//!
//! An idle worker does not poll: it waits on the engine's wake-ups
//! (`wakeups.rs`: signalled when tasks are enqueued or a retry is scheduled), with a timeout until the
//! earliest delayed task becomes due or lease expires (`Store::next_due`).

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use weft_store_api::WorkerSite;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use weft_store_api::NextLease;

use crate::admission::{self, Admitted, Ask};
use crate::engine::Engine;
use crate::shared::Inner;
use crate::task;

/// How long an idle worker waits when nothing is due at all (a safety net; it
/// is normally woken by the notify).
const IDLE_WAIT: Duration = Duration::from_secs(60);
/// How long a worker waits after the store failed.
const ERROR_WAIT: Duration = Duration::from_secs(1);

/// A running pool of workers; stop it with [`Workers::shutdown`].
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Asks every worker to stop after its current task and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            if let Err(e) = handle.await {
                tracing::error!("a worker ended abnormally: {e}");
            }
        }
    }

    /// How many workers run.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the pool has no workers.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
}

impl Engine {
    /// Starts `EngineOptions::workers` workers (at least one), each with its own
    /// owner id (`weft-<pid>-<start>-w<i>`), leasing tasks of every pool.
    pub fn start(&self) -> Workers {
        let (stop, rx) = watch::channel(false);
        let start = self.inner.starts.fetch_add(1, Ordering::SeqCst);
        let handles = (0..self.inner.options.workers.max(1))
            .map(|i| {
                let owner = format!("weft-{}-{start}-w{i}", std::process::id());
                tokio::spawn(worker(Arc::clone(&self.inner), owner, rx.clone()))
            })
            .collect();
        Workers { stop, handles }
    }
}

async fn worker(inner: Arc<Inner>, owner: String, mut stop: watch::Receiver<bool>) {
    let ask = NextLease {
        owner: owner.clone(),
        pools: None,
        lease_ms: inner.options.lease_ms,
    };
    // A task leased together with the last completion, run without a wake-up.
    let mut next = None;
    loop {
        if let Some(lease) = next.take() {
            let ask = (!*stop.borrow()).then_some(&ask);
            next = task::execute(&inner, lease, ask).await.1;
            continue;
        }
        if *stop.borrow() {
            return;
        }
        // Register for a wake-up before looking, so a notify between the look and
        // the wait is not lost.
        let mut notified = pin!(inner.wakeups.worker_wakeup());
        notified.as_mut().enable();
        let now = inner.now();
        let admit = Ask {
            owner: &owner,
            pools: None,
            lease_ms: inner.options.lease_ms,
            site: WorkerSite::InProcess,
        };
        let wait = match admission::admit(&inner, &admit).await {
            Ok(Admitted::Lease(lease)) => {
                next = Some(lease);
                continue;
            }
            // The earlier of the next due task or lease expiry and the next
            // rate-limit token.
            Ok(Admitted::Wait(token_at)) => match inner.store.next_due().await {
                Ok(due) => match due.into_iter().chain(token_at).min() {
                    Some(at) => Duration::from_millis(at.saturating_sub(now).max(1)),
                    None => IDLE_WAIT,
                },
                Err(e) => {
                    tracing::error!(%owner, "cannot read the queue: {e}");
                    ERROR_WAIT
                }
            },
            Err(e) => {
                tracing::error!(%owner, "cannot lease: {e}");
                ERROR_WAIT
            }
        };
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(wait) => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
