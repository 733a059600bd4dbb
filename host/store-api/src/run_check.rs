//! What a ledger that recomputes must still match: its run's record. A run
//! in the store has a ledger starting with `run-created`; a run that ended
//! has the event of that end, and a ledger that records an end belongs to a
//! run that says so (cutting events off the end and rewinding the head
//! recomputes, but fails here). Shared by every backend's `verify`.

use crate::ledger::BadEvent;
use crate::types::{RunRecord, RunStatus};

/// The event of each end of a run.
fn end_event(status: RunStatus) -> Option<&'static str> {
    match status {
        RunStatus::Succeeded => Some("run-succeeded"),
        RunStatus::Failed => Some("run-failed"),
        RunStatus::Cancelled => Some("run-cancelled"),
        RunStatus::Queued | RunStatus::Running => None,
    }
}

/// What does not match between a verified chain of `count` events (their seq
/// and kind) and the run's record.
pub fn check_against_run(run: &RunRecord, kinds: &[(u64, String)], count: u64) -> Option<BadEvent> {
    let bad = |seq: u64, reason: String| Some(BadEvent { seq, reason });
    match kinds.first() {
        None => {
            return bad(
                1,
                format!(
                    "missing: run {} is in the store ({}) but its ledger has no events; \
                     a run's ledger starts with run-created",
                    run.id,
                    run.status.as_str()
                ),
            );
        }
        Some((seq, kind)) if kind != "run-created" => {
            return bad(*seq, format!("the first event is {kind}, not run-created"));
        }
        Some(_) => {}
    }
    let ends = ["run-succeeded", "run-failed", "run-cancelled"];
    let ended = kinds.iter().find(|(_, k)| ends.contains(&k.as_str()));
    match (end_event(run.status), ended) {
        (Some(want), None) => bad(
            count + 1,
            format!(
                "missing: the run is {} but its ledger has no {want} event \
                 (the chain ends at seq {count}: events were cut off its end)",
                run.status.as_str()
            ),
        ),
        (Some(want), Some((seq, kind))) if kind != want => bad(
            *seq,
            format!(
                "the ledger records {kind} but the run is {}",
                run.status.as_str()
            ),
        ),
        (None, Some((seq, kind))) => bad(
            *seq,
            format!(
                "the ledger records {kind} but the run is {}",
                run.status.as_str()
            ),
        ),
        _ => None,
    }
}
