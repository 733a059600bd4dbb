//! What the engine reports while it works (for `weft run`'s live progress).

use serde::Serialize;
use weft_store::RunStatus;

/// One thing that happened to a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ProgressEvent {
    /// A worker started an attempt of a step.
    StepStarted {
        /// The run.
        run: String,
        /// The step.
        step: String,
        /// The attempt (1-based).
        attempt: u32,
    },
    /// A step succeeded and its output is stored.
    StepSucceeded {
        /// The run.
        run: String,
        /// The step.
        step: String,
        /// The attempt that succeeded.
        attempt: u32,
        /// How long the attempt took.
        elapsed_ms: u64,
    },
    /// An attempt failed; `decision` says what happens next (`retry at <ms>`,
    /// `dead-letter: …`, `fail run: …`).
    StepFailed {
        /// The run.
        run: String,
        /// The step.
        step: String,
        /// The attempt that failed.
        attempt: u32,
        /// The error.
        error: String,
        /// What happens next.
        decision: String,
    },
    /// The run finished.
    RunFinished {
        /// The run.
        run: String,
        /// How.
        status: RunStatus,
    },
}

impl ProgressEvent {
    /// The run the event is about.
    pub fn run(&self) -> &str {
        match self {
            Self::StepStarted { run, .. }
            | Self::StepSucceeded { run, .. }
            | Self::StepFailed { run, .. }
            | Self::RunFinished { run, .. } => run,
        }
    }
}
