//! The counters and histograms fed by the engine's progress events, counted
//! from the event alone, synchronously, as the engine emits it: no store read,
//! no task of its own, so a client that waited for the event sees it counted
//! in its next scrape.

use weft_engine::ProgressEvent;
use weft_store_api::FailDecision;

use super::decls::Families;

impl Families {
    /// Counts `event` (steps that succeeded or failed, runs that finished;
    /// other events count nothing).
    pub fn count(&self, event: &ProgressEvent) {
        match event {
            ProgressEvent::StepSucceeded {
                flow, elapsed_ms, ..
            } => {
                self.tasks_completed.with_label_values(&[flow]).inc();
                self.step_duration
                    .with_label_values(&[flow])
                    .observe(seconds(*elapsed_ms));
            }
            ProgressEvent::StepFailed { flow, decision, .. } => {
                self.tasks_failed.with_label_values(&[flow]).inc();
                match decision {
                    FailDecision::Retry { .. } => self.retries.with_label_values(&[flow]).inc(),
                    FailDecision::DeadLetter { .. } => {
                        self.dead_lettered.with_label_values(&[flow]).inc();
                    }
                    FailDecision::FailRun { .. } | FailDecision::FailStep { .. } => {}
                }
            }
            ProgressEvent::RunFinished {
                flow,
                status,
                duration_ms,
                ..
            } => {
                self.runs.with_label_values(&[flow, status.as_str()]).inc();
                self.run_duration
                    .with_label_values(&[flow])
                    .observe(seconds(*duration_ms));
            }
            ProgressEvent::StepSkipped { flow, .. } => {
                self.steps_skipped.with_label_values(&[flow]).inc();
            }
            ProgressEvent::StepStarted { .. } | ProgressEvent::ModelCalled { .. } => {}
        }
    }
}

/// Milliseconds as the seconds Prometheus histograms take.
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use prometheus::Registry;
    use weft_engine::ProgressEvent;
    use weft_store_api::{FailDecision, RunStatus};

    use super::Families;

    fn families() -> Families {
        Families::register(&Registry::new()).unwrap()
    }

    /// The events name runs that no store holds: counting them reads nothing.
    #[test]
    fn events_are_counted_from_the_event_alone() {
        let f = families();
        let failed = |decision| ProgressEvent::StepFailed {
            run: "nowhere-1".into(),
            flow: "chain".into(),
            step: "a".into(),
            attempt: 1,
            error: "boom".into(),
            decision,
            time_ms: 0,
        };
        f.count(&ProgressEvent::StepStarted {
            run: "nowhere-1".into(),
            flow: "chain".into(),
            step: "a".into(),
            attempt: 1,
        });
        f.count(&ProgressEvent::StepSucceeded {
            run: "nowhere-1".into(),
            flow: "chain".into(),
            step: "a".into(),
            attempt: 1,
            elapsed_ms: 250,
        });
        f.count(&failed(FailDecision::Retry { at_ms: 5 }));
        f.count(&failed(FailDecision::DeadLetter {
            reason: "gave up".into(),
        }));
        f.count(&failed(FailDecision::FailRun {
            reason: "no".into(),
        }));
        f.count(&failed(FailDecision::FailStep {
            reason: "the run goes on".into(),
        }));
        f.count(&ProgressEvent::StepSkipped {
            run: "nowhere-1".into(),
            flow: "chain".into(),
            step: "b".into(),
            reason: "need `a` failed".into(),
        });
        f.count(&ProgressEvent::RunFinished {
            run: "nowhere-1".into(),
            flow: "chain".into(),
            status: RunStatus::Failed,
            duration_ms: 1_500,
        });
        let chain = ["chain"];
        assert_eq!(f.tasks_completed.with_label_values(&chain).get(), 1);
        assert_eq!(f.tasks_failed.with_label_values(&chain).get(), 4);
        assert_eq!(f.steps_skipped.with_label_values(&chain).get(), 1);
        assert_eq!(f.retries.with_label_values(&chain).get(), 1);
        assert_eq!(f.dead_lettered.with_label_values(&chain).get(), 1);
        assert_eq!(f.runs.with_label_values(&["chain", "failed"]).get(), 1);
        let steps = f.step_duration.with_label_values(&chain);
        assert_eq!(
            (steps.get_sample_count(), steps.get_sample_sum()),
            (1, 0.25)
        );
        let runs = f.run_duration.with_label_values(&chain);
        assert_eq!((runs.get_sample_count(), runs.get_sample_sum()), (1, 1.5));
    }
}
