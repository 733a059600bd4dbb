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
    /// A step's model call (`host.complete`) was answered and its answer is in
    /// the journal: just journaled after the adapter answered, or served from
    /// the journal (`from_journal`) because an earlier execution of the step
    /// had asked it already and the adapter was not called.
    ModelCalled {
        /// The run.
        run: String,
        /// The step that made the call.
        step: String,
        /// The call's index among the step's calls (from 0); the journal key.
        call_index: u32,
        /// Whether the answer came from the journal (no adapter call).
        from_journal: bool,
        /// The model that answered.
        model: String,
        /// Tokens in the prompt.
        input_tokens: u64,
        /// Tokens in the answer.
        output_tokens: u64,
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
            | Self::ModelCalled { run, .. }
            | Self::RunFinished { run, .. } => run,
        }
    }
}
