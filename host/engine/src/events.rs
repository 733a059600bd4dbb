//! The engine's progress events: who hears of them, in which order.
//!
//! Observers ([`crate::Engine::observe`]: metrics) are called first and
//! synchronously, then every live subscriber ([`crate::Engine::subscribe`]:
//! long-polls, `weft run`) is sent the event; so whoever waits for an event
//! sees the metrics that count it. Only the run lifecycle
//! (`lifecycle.rs`) and the task host's model calls emit.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::mpsc;

use crate::progress::ProgressEvent;

/// A function that sees every progress event as it is emitted (see
/// [`crate::Engine::observe`]).
pub type Observer = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Observers and subscribers of progress events.
#[derive(Default)]
pub(crate) struct RunEvents {
    subscribers: Mutex<Vec<mpsc::UnboundedSender<ProgressEvent>>>,
    /// Called with every event before subscribers get it.
    observers: Mutex<Vec<Observer>>,
}

impl RunEvents {
    /// Hands `event` to every observer, then sends it to every live subscriber.
    pub fn emit(&self, event: ProgressEvent) {
        for observe in self
            .observers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            observe(&event);
        }
        let mut subs = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subs.retain(|s| s.send(event.clone()).is_ok());
    }

    /// Adds `observer`, called with every event from now on.
    pub fn observe(&self, observer: Observer) {
        self.observers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(observer);
    }

    /// A channel that receives every event from now on.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<ProgressEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A subscriber that went away is otherwise dropped only by the next
        // event: on a quiet daemon, each `GET /v1/runs/{id}?wait=` of a
        // finished run would leave its channel behind (about 4 KiB each).
        subscribers.retain(|s| !s.is_closed());
        subscribers.push(tx);
        rx
    }

    /// How many subscribers are held, those whose receiver is gone but not
    /// yet pruned included.
    pub fn subscriber_count(&self) -> usize {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
