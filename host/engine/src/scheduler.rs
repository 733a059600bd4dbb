//! The background scheduler: one tokio task that calls
//! [`Engine::tick_schedules`] whenever a fire is due.
//!
//! It does not poll: it sleeps until [`Engine::next_fire`] (read on the
//! engine's clock), at most [`MAX_SLEEP`] so that a step of the system clock is
//! noticed within a minute, and wakes early on [`Engine::wake`] (after a manual
//! clock moved) or a resumed schedule. On a `ManualClock` the sleep is
//! meaningless: move the clock, then call `Engine::wake`, or drive
//! `tick_schedules` directly.

use std::pin::pin;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::engine::Engine;

/// The longest the scheduler sleeps without looking at the clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How long it waits after a tick or a read of the store failed.
const ERROR_WAIT: Duration = Duration::from_secs(5);

/// The running scheduler; stop it with [`SchedulerHandle::shutdown`].
#[derive(Debug)]
pub struct SchedulerHandle {
    stop: watch::Sender<bool>,
    ticks: watch::Receiver<u64>,
    handle: JoinHandle<()>,
}

impl SchedulerHandle {
    /// Asks the scheduler to stop (after the tick it may be in) and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.handle.await {
            tracing::error!("the scheduler ended abnormally: {e}");
        }
    }

    /// The number of ticks done so far (successful or not), updated after
    /// each: wait on it to know that the scheduler has looked at the clock.
    pub fn ticks(&self) -> watch::Receiver<u64> {
        self.ticks.clone()
    }
}

impl Engine {
    /// Starts the scheduler: a task that fires the loaded flows' schedules on
    /// time (see [`Engine::tick_schedules`]) until
    /// [`SchedulerHandle::shutdown`]. It ticks once at start, which registers
    /// schedules seen for the first time and handles fires missed while the
    /// engine was down.
    pub fn start_scheduler(&self) -> SchedulerHandle {
        let (stop, stop_rx) = watch::channel(false);
        let (ticks_tx, ticks) = watch::channel(0);
        let handle = tokio::spawn(run(self.clone(), stop_rx, ticks_tx));
        SchedulerHandle {
            stop,
            ticks,
            handle,
        }
    }
}

async fn run(engine: Engine, mut stop: watch::Receiver<bool>, ticks: watch::Sender<u64>) {
    loop {
        if *stop.borrow() {
            return;
        }
        // Register for a wake-up before looking, so a wake between the look
        // and the wait is not lost.
        let mut woken = pin!(engine.inner.wakeups.schedule_wakeup());
        woken.as_mut().enable();
        let now = engine.inner.now();
        let wait = match engine.next_fire().await {
            Ok(Some(due)) if due <= now => {
                let result = engine.tick_schedules().await;
                ticks.send_modify(|n| *n += 1);
                match result {
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::error!("schedule tick failed: {e}");
                        ERROR_WAIT
                    }
                }
            }
            Ok(Some(due)) => Duration::from_millis(due - now).min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::error!("cannot read the schedules: {e}");
                ERROR_WAIT
            }
        };
        tokio::select! {
            () = &mut woken => {}
            () = tokio::time::sleep(wait) => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
