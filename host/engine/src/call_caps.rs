//! A step's `max_model_calls` and `max_tool_calls`: the call past either fails
//! the attempt, whatever the step makes of the error it gets.
//!
//! The host refuses the call (a permanent error the step sees) and notes the
//! refusal here, by (task, lease token); the attempt's outcome is then read
//! with [`CallCapHits::take`] (in process after the call, for a remote worker
//! when it reports), and a noted refusal fails the attempt with its message,
//! even if the step went on and returned an output.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use weft_core::PluginError;

/// The caps of one attempt's host calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallCaps {
    /// `max_model_calls` of the step.
    pub model: u32,
    /// `max_tool_calls` of the step.
    pub tool: u32,
}

/// Which cap a call ran into.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CapKind {
    /// `max_model_calls`.
    Model,
    /// `max_tool_calls`.
    Tool,
}

/// The refusals noted per attempt, by (task, lease token).
#[derive(Debug, Default)]
pub(crate) struct CallCapHits {
    hits: Mutex<HashMap<(u64, u64), String>>,
}

impl CallCapHits {
    /// Refuses call `index` (from 0) of `step` for going past `cap`, notes the
    /// refusal for the attempt (task, token) and returns the step's error.
    pub fn refuse(
        &self,
        (task, token): (u64, u64),
        step: &str,
        kind: CapKind,
        index: u32,
        cap: u32,
    ) -> PluginError {
        let (what, key) = match kind {
            CapKind::Model => ("model call", "max_model_calls"),
            CapKind::Tool => ("tool call", "max_tool_calls"),
        };
        let message = format!(
            "step `{step}` asked for {what} {} but may make at most {cap} in one attempt \
             (`{key}: {cap}` on the step); the attempt fails. Raise `{key}` in the flow \
             file if the step needs more",
            u64::from(index) + 1
        );
        let mut hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        // An older attempt's note that was never taken is stale now.
        hits.retain(|&(t, k), _| t != task || k == token);
        hits.entry((task, token)).or_insert_with(|| message.clone());
        PluginError::Permanent(message)
    }

    /// The refusal noted for the attempt (task, token), forgotten as it is
    /// taken.
    pub fn take(&self, task: u64, token: u64) -> Option<String> {
        self.hits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(task, token))
    }
}
