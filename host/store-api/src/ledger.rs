//! The per-run ledger: an append-only, hash-chained list of events.
//!
//! Event `seq` (1, 2, …) stores `prev_hash` (the previous event's hash, 32 zero
//! bytes for seq 1) and `hash = SHA-256(prev_hash ‖ canonical bytes)`, where the
//! canonical bytes are those of [`crate::canonical::event_bytes`]. The head table
//! keeps the last (seq, hash) so appends need no scan and truncation is caught.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical;

/// The kinds of ledger events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The run was submitted.
    RunCreated,
    /// A task was leased (payload: task, step, attempt, owner, token).
    StepStarted,
    /// A task completed (payload: output, next task ids).
    StepSucceeded,
    /// A task failed (payload: error, decision).
    StepFailed,
    /// A step did not run: its condition said so or a need did not succeed
    /// (payload: task, step, attempt, reason, next task ids).
    StepSkipped,
    /// A failed task will be retried at `at_ms`.
    StepRetryScheduled,
    /// A failed task went to the dead-letter queue.
    StepDeadLettered,
    /// A dead-lettered task was put back in the queue.
    TaskRequeued,
    /// A dead-lettered task was purged.
    TaskPurged,
    /// The run succeeded.
    RunSucceeded,
    /// The run failed.
    RunFailed,
    /// The run was cancelled.
    RunCancelled,
    /// A lease ran out; the task went back to ready.
    LeaseExpired,
    /// A fenced operation was refused for a stale token.
    StaleTokenRefused,
    /// An artifact was written.
    ArtifactPut,
    /// A model call's answer was journaled.
    ModelCallJournaled,
    /// A step ran another step plugin as a tool (payload: step, index,
    /// plugin, sha256, ok, error).
    ToolCalled,
    /// A model call's cost was charged (payload: step, index, model, pool,
    /// tokens, `cost_micro_usd`).
    ModelCallCharged,
    /// A pool policy or retry strategy component was replaced at run time
    /// (in a stream `@pool:<name>` or `@retry:<flow>`; payload: old and new sha256).
    ComponentSwapped,
}

impl EventKind {
    /// The stored name (kebab-case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunCreated => "run-created",
            Self::StepStarted => "step-started",
            Self::StepSucceeded => "step-succeeded",
            Self::StepFailed => "step-failed",
            Self::StepSkipped => "step-skipped",
            Self::StepRetryScheduled => "step-retry-scheduled",
            Self::StepDeadLettered => "step-dead-lettered",
            Self::TaskRequeued => "task-requeued",
            Self::TaskPurged => "task-purged",
            Self::RunSucceeded => "run-succeeded",
            Self::RunFailed => "run-failed",
            Self::RunCancelled => "run-cancelled",
            Self::LeaseExpired => "lease-expired",
            Self::StaleTokenRefused => "stale-token-refused",
            Self::ArtifactPut => "artifact-put",
            Self::ModelCallJournaled => "model-call-journaled",
            Self::ToolCalled => "tool-called",
            Self::ModelCallCharged => "model-call-charged",
            Self::ComponentSwapped => "component-swapped",
        }
    }
}

/// One ledger event as stored and returned by `ledger`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEvent {
    /// 1-based position in the run's ledger.
    pub seq: u64,
    /// When it happened (the `now_ms` of the operation).
    pub time_ms: u64,
    /// The event kind, e.g. `step-started` (see [`EventKind::as_str`]).
    #[serde(rename = "type")]
    pub kind: String,
    /// Event details.
    pub payload: Value,
    /// Hex SHA-256 of the previous event (64 zeros for seq 1).
    pub prev_hash: String,
    /// Hex SHA-256 of `prev_hash ‖ canonical bytes`.
    pub hash: String,
}

/// The outcome of `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The run.
    pub run: String,
    /// Events checked.
    pub events: u64,
    /// The first event that does not match, if any.
    pub first_bad: Option<BadEvent>,
}

impl VerifyReport {
    /// True when the whole chain recomputes.
    pub fn is_ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEvent {
    /// The first seq that does not verify.
    pub seq: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// `SHA-256(prev ‖ canonical)`.
pub fn chain_hash(prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical);
    h.finalize().into()
}

/// A stored event, or the seq of one that does not decode and why.
pub type MaybeEvent = Result<LedgerEvent, (u64, String)>;

/// Recomputes a run's chain and compares it with the stored head.
pub fn verify_events(
    run: &str,
    events: Vec<MaybeEvent>,
    head: Option<(u64, [u8; 32])>,
) -> VerifyReport {
    let mut prev = [0u8; 32];
    let mut checked = 0;
    let bad = |seq: u64, reason: String| Some(BadEvent { seq, reason });
    let mut first_bad = None;
    for item in events {
        let expected_seq = checked + 1;
        let event = match item {
            Ok(e) => e,
            Err((seq, why)) => {
                first_bad = bad(seq, format!("undecodable: {why}"));
                break;
            }
        };
        if event.seq != expected_seq {
            first_bad = bad(expected_seq, format!("missing; found seq {}", event.seq));
            break;
        }
        if event.prev_hash != hex::encode(prev) {
            first_bad = bad(
                event.seq,
                "prev_hash does not match the previous event".into(),
            );
            break;
        }
        let bytes =
            canonical::event_bytes(run, event.seq, event.time_ms, &event.kind, &event.payload);
        let hash = chain_hash(&prev, &bytes);
        if event.hash != hex::encode(hash) {
            first_bad = bad(event.seq, "hash does not match the event's content".into());
            break;
        }
        prev = hash;
        checked += 1;
    }
    if first_bad.is_none() {
        let head = head.unwrap_or((0, [0u8; 32]));
        if head != (checked, prev) {
            first_bad = bad(
                head.0.min(checked + 1).max(1),
                format!(
                    "ledger head says seq {} but the chain ends at {checked}",
                    head.0
                ),
            );
        }
    }
    VerifyReport {
        run: run.to_owned(),
        events: checked,
        first_bad,
    }
}
