//! Progress events rebuilt from a run's ledger, for commands that follow a run
//! on a daemon (its engine's events do not cross the API; its ledger does).

use std::collections::HashMap;

use serde_json::Value;
use weft_engine::ProgressEvent;
use weft_store_api::{FailDecision, LedgerEvent, RunStatus};

/// Turns ledger events into the progress events `weft run` shows. Model calls
/// are left out: the ledger does not keep their model and token counts.
#[derive(Debug, Default)]
pub(crate) struct LedgerProgress {
    /// Task id → when its running attempt started (for the elapsed time).
    started_ms: HashMap<u64, u64>,
    /// The run's flow, from its `run-created` event.
    flow: String,
    /// When the run was created (ms), from the same event.
    created_ms: u64,
}

impl LedgerProgress {
    /// The progress event `event` stands for, if any.
    pub(crate) fn event(&mut self, run: &str, event: &LedgerEvent) -> Option<ProgressEvent> {
        let p = &event.payload;
        let text = |key: &str| p.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
        let attempt = || {
            p.get("attempt")
                .and_then(Value::as_u64)
                .and_then(|a| u32::try_from(a).ok())
                .unwrap_or(0)
        };
        let task = p.get("task").and_then(Value::as_u64).unwrap_or(0);
        let run = run.to_owned();
        let flow = self.flow.clone();
        match event.kind.as_str() {
            "run-created" => {
                self.flow = text("flow_id");
                self.created_ms = event.time_ms;
                None
            }
            "step-started" => {
                self.started_ms.insert(task, event.time_ms);
                Some(ProgressEvent::StepStarted {
                    run,
                    flow,
                    step: text("step"),
                    attempt: attempt(),
                })
            }
            "step-succeeded" => {
                let start = self.started_ms.remove(&task).unwrap_or(event.time_ms);
                Some(ProgressEvent::StepSucceeded {
                    run,
                    flow,
                    step: text("step"),
                    attempt: attempt(),
                    elapsed_ms: event.time_ms.saturating_sub(start),
                })
            }
            "step-failed" => {
                self.started_ms.remove(&task);
                // The decision as the store recorded it (`FailDecision`).
                let decision = p
                    .get("decision")
                    .cloned()
                    .and_then(|d| serde_json::from_value::<FailDecision>(d).ok())?;
                Some(ProgressEvent::StepFailed {
                    run,
                    flow,
                    step: text("step"),
                    attempt: attempt(),
                    error: text("error"),
                    decision,
                    time_ms: event.time_ms,
                })
            }
            "step-skipped" => {
                self.started_ms.remove(&task);
                Some(ProgressEvent::StepSkipped {
                    run,
                    flow,
                    step: text("step"),
                    reason: text("reason"),
                })
            }
            "run-succeeded" => self.finished(run, event, RunStatus::Succeeded),
            "run-failed" => self.finished(run, event, RunStatus::Failed),
            "run-cancelled" => self.finished(run, event, RunStatus::Cancelled),
            _ => None,
        }
    }

    fn finished(&self, run: String, end: &LedgerEvent, status: RunStatus) -> Option<ProgressEvent> {
        Some(ProgressEvent::RunFinished {
            run,
            flow: self.flow.clone(),
            status,
            duration_ms: end.time_ms.saturating_sub(self.created_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use serde_json::{Value, json};
    use weft_engine::ProgressEvent;
    use weft_store_api::{FailDecision, LedgerEvent, RunStatus};

    use super::LedgerProgress;

    fn event(seq: u64, time_ms: u64, kind: &str, payload: Value) -> LedgerEvent {
        LedgerEvent {
            seq,
            time_ms,
            kind: kind.into(),
            payload,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn ledger_events_become_the_progress_weft_run_shows() {
        let mut progress = LedgerProgress::default();
        let events = [
            event(1, 100, "run-created", json!({"flow_id": "f"})),
            event(
                2,
                100,
                "step-started",
                json!({"task": 1, "step": "a", "attempt": 1}),
            ),
            event(
                3,
                120,
                "step-failed",
                json!({"task": 1, "step": "a", "attempt": 1, "error": "boom",
                       "decision": {"decision": "retry", "at_ms": 300}}),
            ),
            event(
                4,
                300,
                "step-started",
                json!({"task": 1, "step": "a", "attempt": 2}),
            ),
            event(
                5,
                345,
                "step-succeeded",
                json!({"task": 1, "step": "a", "attempt": 2}),
            ),
            event(6, 345, "run-succeeded", json!({})),
        ];
        let shown: Vec<ProgressEvent> = events
            .iter()
            .filter_map(|e| progress.event("r", e))
            .collect();
        let run = || "r".to_owned();
        let step = || "a".to_owned();
        let flow = || "f".to_owned();
        assert_eq!(
            shown,
            [
                ProgressEvent::StepStarted {
                    run: run(),
                    flow: flow(),
                    step: step(),
                    attempt: 1
                },
                ProgressEvent::StepFailed {
                    run: run(),
                    flow: flow(),
                    step: step(),
                    attempt: 1,
                    error: "boom".into(),
                    decision: FailDecision::Retry { at_ms: 300 },
                    time_ms: 120,
                },
                ProgressEvent::StepStarted {
                    run: run(),
                    flow: flow(),
                    step: step(),
                    attempt: 2
                },
                ProgressEvent::StepSucceeded {
                    run: run(),
                    flow: flow(),
                    step: step(),
                    attempt: 2,
                    elapsed_ms: 45,
                },
                ProgressEvent::RunFinished {
                    run: run(),
                    flow: flow(),
                    status: RunStatus::Succeeded,
                    duration_ms: 245,
                },
            ]
        );
    }
}
