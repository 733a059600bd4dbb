//! What the engine reports while it works (for `weft run`'s live progress).

use serde::Serialize;
use weft_store_api::{FailDecision, RunStatus};

/// One thing that happened to a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ProgressEvent {
    /// A worker started an attempt of a step.
    StepStarted {
        /// The run.
        run: String,
        /// The run's flow.
        flow: String,
        /// The step.
        step: String,
        /// The attempt (1-based).
        attempt: u32,
    },
    /// A step succeeded and its output is stored.
    StepSucceeded {
        /// The run.
        run: String,
        /// The run's flow.
        flow: String,
        /// The step.
        step: String,
        /// The attempt that succeeded.
        attempt: u32,
        /// How long the attempt took.
        elapsed_ms: u64,
    },
    /// An attempt failed; `decision` says what happens next, typed (a retry
    /// and when, a dead letter and why, the run failed and why):
    /// [`describe_decision`] words it for a person.
    StepFailed {
        /// The run.
        run: String,
        /// The run's flow (empty for a task whose run is not in the store).
        flow: String,
        /// The step.
        step: String,
        /// The attempt that failed.
        attempt: u32,
        /// The error.
        error: String,
        /// What happens next, as the store applied it.
        decision: FailDecision,
        /// When the failure was recorded (ms since the Unix epoch, the
        /// engine's clock): what a retry's wait is counted from.
        time_ms: u64,
    },
    /// A step did not run: its condition (`if:`) said so, or a step it
    /// needs did not succeed. Fan-in counts it as ended.
    StepSkipped {
        /// The run.
        run: String,
        /// The run's flow.
        flow: String,
        /// The step.
        step: String,
        /// Why, e.g. "need `triage` was skipped".
        reason: String,
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
        /// The run's flow.
        flow: String,
        /// How.
        status: RunStatus,
        /// From its submit to its end (ms, the engine's clock).
        duration_ms: u64,
    },
}

impl ProgressEvent {
    /// The run the event is about.
    pub fn run(&self) -> &str {
        match self {
            Self::StepStarted { run, .. }
            | Self::StepSucceeded { run, .. }
            | Self::StepFailed { run, .. }
            | Self::StepSkipped { run, .. }
            | Self::ModelCalled { run, .. }
            | Self::RunFinished { run, .. } => run,
        }
    }
}

/// A failed attempt's decision in words, for progress lines: `retry in 1.2s at
/// 14:03:07 UTC`, `dead-letter: <reason>`, `fail run: <reason>`. `now_ms` is
/// when the decision was made (a retry's wait is counted from it).
pub fn describe_decision(decision: &FailDecision, now_ms: u64) -> String {
    match decision {
        FailDecision::Retry { at_ms } => format!("retry {}", when(*at_ms, now_ms)),
        FailDecision::DeadLetter { reason } => format!("dead-letter: {reason}"),
        FailDecision::FailRun { reason } => format!("fail run: {reason}"),
        FailDecision::FailStep { reason } => {
            format!("fail step: {reason} (the run goes on to the steps that run after a failure)")
        }
    }
}

/// A time to come, as a person reads it: `in 1.2s at 14:03:07 UTC` (with
/// the date, `… at 2026-11-23 00:00:00 UTC`, when it is not on `now_ms`'s UTC
/// day); `now` when it has come.
pub fn when(at_ms: u64, now_ms: u64) -> String {
    if at_ms <= now_ms {
        return "now".to_owned();
    }
    let clock = weft_store_api::utc_datetime(at_ms);
    let clock = if weft_store_api::utc_date(at_ms) == weft_store_api::utc_date(now_ms) {
        clock
            .split_once(' ')
            .map_or(clock.clone(), |(_, time)| time.to_owned())
    } else {
        clock
    };
    format!("in {} at {clock}", human_duration(at_ms - now_ms))
}

/// A duration in ms as `850ms`, `1.2s`, `4m05s` or `2h03m`.
pub fn human_duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60),
    }
}

#[cfg(test)]
mod tests {
    use weft_store_api::FailDecision;

    use super::{describe_decision, when};

    /// 2026-11-22 14:03:05.800 UTC.
    const NOW: u64 = 1_795_305_600_000 + 50_585_800;

    #[test]
    fn decisions_read_as_a_person_reads_them() {
        let retry = FailDecision::Retry { at_ms: NOW + 1_200 };
        assert_eq!(
            describe_decision(&retry, NOW),
            "retry in 1.2s at 14:03:07 UTC"
        );
        let soon = FailDecision::Retry { at_ms: NOW + 5 };
        assert_eq!(
            describe_decision(&soon, NOW),
            "retry in 5ms at 14:03:05 UTC"
        );
        let tomorrow = FailDecision::Retry {
            at_ms: 1_795_392_000_000,
        };
        assert_eq!(
            describe_decision(&tomorrow, NOW),
            "retry in 9h56m at 2026-11-23 00:00:00 UTC"
        );
        let dead = FailDecision::DeadLetter {
            reason: "gave up".into(),
        };
        assert_eq!(describe_decision(&dead, NOW), "dead-letter: gave up");
        let fail = FailDecision::FailRun {
            reason: "no".into(),
        };
        assert_eq!(describe_decision(&fail, NOW), "fail run: no");
        assert_eq!(when(NOW, NOW), "now");
    }
}
