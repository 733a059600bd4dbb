//! A provider's `retry-after`, remembered between a step's failed model call
//! and the retry decision: the step is retried no sooner than the provider
//! asked, whatever its retry strategy says (the strategy sees only the error).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The earliest retry time (engine ms) of steps whose model call was rate
/// limited, by (run, step).
#[derive(Debug, Default)]
pub(crate) struct RetryHints {
    not_before: Mutex<HashMap<(String, String), u64>>,
}

impl RetryHints {
    /// Step `step` of `run` must not be retried before `at_ms`. Hints already
    /// past (a step that caught the error and went on leaves one) are dropped.
    pub fn note(&self, run: &str, step: &str, at_ms: u64, now_ms: u64) {
        let mut map = self
            .not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, at| *at > now_ms);
        let slot = map.entry((run.to_owned(), step.to_owned())).or_insert(0);
        *slot = (*slot).max(at_ms);
    }

    /// The step's hint, removed.
    pub fn take(&self, run: &str, step: &str) -> Option<u64> {
        self.not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(run.to_owned(), step.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::RetryHints;

    #[test]
    fn the_latest_hint_wins_is_taken_once_and_past_ones_are_dropped() {
        let hints = RetryHints::default();
        hints.note("r1", "a", 5_000, 1_000);
        hints.note("r1", "a", 3_000, 1_000);
        assert_eq!(hints.take("r1", "a"), Some(5_000));
        assert_eq!(hints.take("r1", "a"), None);
        hints.note("r1", "b", 2_000, 1_000);
        hints.note("r2", "a", 9_000, 2_000);
        assert_eq!(hints.take("r1", "b"), None, "a past hint lingered");
        assert_eq!(hints.take("r2", "a"), Some(9_000));
    }
}
