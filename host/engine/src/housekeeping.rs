//! Housekeeping of the store that nothing else triggers: expired idempotency
//! keys are purged in the background ([`Engine::start_housekeeping`], which
//! the daemon runs), and the state of schedules no loaded flow has any more is
//! removed ([`Engine::prune_schedules`], at daemon start and after a flow
//! reload).

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use weft_store_api::ScheduleId;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::schedule::loaded_schedule_ids;

/// The longest time between two purges of expired idempotency keys. With a
/// shorter `idempotency.ttl`, the purge runs every TTL (at least every second).
pub const PURGE_EVERY: Duration = Duration::from_secs(300);
/// The most keys one purge transaction removes; a purge takes batches until
/// one is not full, so that the writer is never held long.
pub const PURGE_BATCH: usize = 1_000;

/// The running housekeeping; stop it with [`HousekeepingHandle::shutdown`].
#[derive(Debug)]
pub struct HousekeepingHandle {
    stop: watch::Sender<bool>,
    passes: watch::Receiver<u64>,
    handle: JoinHandle<()>,
}

impl HousekeepingHandle {
    /// Asks it to stop (after the pass it may be in) and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await {
            tracing::error!("the housekeeping ended abnormally: {e}");
        }
    }

    /// The number of purge passes done so far (successful or not), updated
    /// after each: wait on it to know that a pass has run.
    pub fn passes(&self) -> watch::Receiver<u64> {
        self.passes.clone()
    }
}

impl Engine {
    /// Removes every idempotency key that has run out at the clock's now, in
    /// batches of [`PURGE_BATCH`]; returns how many. Submits see no
    /// difference (an expired key is taken over anyway): it keeps the table
    /// from only growing.
    pub async fn purge_idempotency(&self) -> Result<usize, EngineError> {
        let store = self.store();
        let mut total = 0;
        loop {
            let purged = store.purge_idempotency(self.now_ms(), PURGE_BATCH).await?;
            total += purged;
            if purged < PURGE_BATCH {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Starts the background purge of expired idempotency keys: once now,
    /// then every [`PURGE_EVERY`] (every `idempotency.ttl` when that is
    /// shorter, at least every second), until
    /// [`HousekeepingHandle::shutdown`].
    pub fn start_housekeeping(&self) -> HousekeepingHandle {
        let (stop, stop_rx) = watch::channel(false);
        let (passes_tx, passes) = watch::channel(0);
        let every = Duration::from_millis(self.idempotency_ttl_ms())
            .clamp(Duration::from_secs(1), PURGE_EVERY);
        let handle = tokio::spawn(run(self.clone(), every, stop_rx, passes_tx));
        HousekeepingHandle {
            stop,
            passes,
            handle,
        }
    }

    /// Removes the stored state of every schedule that no loaded flow has
    /// (flows that are gone, and entries whose cron line, time zone or place
    /// changed, which are new schedules to the store); returns their ids.
    /// The runs they fired stay.
    pub async fn prune_schedules(&self) -> Result<Vec<ScheduleId>, EngineError> {
        let keep = loaded_schedule_ids(&self.catalog());
        let removed = self.store().schedules_retain(keep).await?;
        for id in &removed {
            tracing::info!(
                flow = %id.flow_id, key = %id.key,
                "removed the state of a schedule no loaded flow has any more"
            );
        }
        Ok(removed)
    }
}

async fn run(
    engine: Engine,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    passes: watch::Sender<u64>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        match engine.purge_idempotency().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("purged {n} expired idempotency key(s)"),
            Err(e) => tracing::error!("purging expired idempotency keys failed: {e}"),
        }
        passes.send_modify(|n| *n += 1);
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
