//! The bodies of the daemon's worker endpoints (`/v1/worker/...`), shared by
//! the daemon (`weft-server`) and `weft worker`, so both sides speak one shape.
//!
//! A worker leases a [`RemoteTask`] (the step already rendered by the daemon:
//! plugin, config, input), runs the step plugin in its own sandbox, sends
//! heartbeats while it runs, and reports the result. Every request after the
//! lease carries the lease's fencing token; the daemon refuses a stale one
//! (409) and records the refusal. The step's `host` imports (model calls,
//! artifacts) are forwarded to the daemon, which journals model calls and
//! keeps provider credentials: a worker never holds them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Completion, CompletionRequest, PluginError};

/// The largest request body the daemon's worker endpoints take (a complete
/// report carries the step's whole output, which the sandbox caps well below
/// this): 64 MiB.
pub const MAX_WORKER_BODY_BYTES: usize = 64 * 1024 * 1024;

/// `POST /v1/worker/lease`: ask for a task, waiting up to `wait_ms` for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// The worker process asking (see [`LeaveRequest`]).
    pub worker: String,
    /// The worker slot asking (shown in leases and the ledger), e.g.
    /// `<worker>/3`.
    pub owner: String,
    /// The pools it takes tasks from; every pool when `None`.
    #[serde(default)]
    pub pools: Option<Vec<String>>,
    /// How long the lease lasts unless renewed by a heartbeat.
    pub lease_ms: u64,
    /// How long to wait for a task before answering with none (long poll).
    #[serde(default)]
    pub wait_ms: u64,
}

/// `POST /v1/worker/leave`: the worker process is stopping; its pending and
/// later lease requests answer with no task at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaveRequest {
    /// The worker process, as in its lease requests.
    pub worker: String,
}

/// The answer to a [`LeaseRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseResponse {
    /// The leased task; `None` when none became ready within the wait.
    pub task: Option<RemoteTask>,
}

/// A leased task, with everything a worker needs to run its step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteTask {
    /// The task id.
    pub task: u64,
    /// The lease's fencing token: present it with every later request.
    pub token: u64,
    /// When the lease runs out unless renewed (ms since the Unix epoch, the
    /// daemon's clock).
    pub expires_ms: u64,
    /// The run, flow, step and attempt (1-based) the plugin is told about.
    pub run: String,
    /// The flow id.
    pub flow: String,
    /// The step id.
    pub step: String,
    /// The attempt, 1-based.
    pub attempt: u32,
    /// The tenant the run belongs to.
    pub tenant: String,
    /// The step plugin's name in `weft.yaml`.
    pub plugin: String,
    /// The SHA-256 (hex) of the plugin's component; fetch it from
    /// `GET /v1/plugins/{sha256}` when not cached.
    pub plugin_sha256: String,
    /// The plugin's config, as JSON text.
    pub config: String,
    /// The step's input (templates rendered), as JSON text.
    pub input: String,
    /// The step's deadline per attempt, in ms.
    pub timeout_ms: u64,
}

/// `POST /v1/worker/tasks/{task}/heartbeat`: extend the lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// The worker slot sending it (as in its [`LeaseRequest`]).
    pub owner: String,
    /// The lease's fencing token.
    pub token: u64,
    /// The new lease length from now.
    pub lease_ms: u64,
}

/// The answer to a [`HeartbeatRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// The lease's new expiry (ms since the Unix epoch).
    pub expires_ms: u64,
}

/// `POST /v1/worker/tasks/{task}/complete`: the step succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// The lease's fencing token.
    pub token: u64,
    /// The step's output.
    pub output: Value,
    /// How long the attempt took on the worker.
    pub elapsed_ms: u64,
}

/// `POST /v1/worker/tasks/{task}/fail`: the step's attempt failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailRequest {
    /// The lease's fencing token.
    pub token: u64,
    /// The error as the plugin (or the sandbox) gave it; its kind decides
    /// whether the retry strategy may retry.
    pub error: PluginError,
    /// The full error text (with sandbox detail) for the ledger.
    pub message: String,
    /// How long the attempt took on the worker.
    pub elapsed_ms: u64,
}

/// The answer to a complete or fail report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportResponse {
    /// What became of the task.
    pub outcome: ReportOutcome,
    /// Whether this report finished the run.
    pub run_finished: bool,
}

/// What became of a task a remote worker reported on; on the wire
/// `succeeded`, `retry`, `dead-letter` or `run-failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportOutcome {
    /// The step's output is recorded.
    Succeeded,
    /// The attempt failed; the task is retried later.
    Retry,
    /// The attempt failed; the task is dead-lettered.
    DeadLetter,
    /// The attempt failed and so did the run.
    RunFailed,
    /// The attempt failed and so did the step, for good; the run goes on to
    /// the steps that run after a failure (`if: failure()`/`always()`) and
    /// will end failed.
    StepFailed,
    /// The step did not run: its condition said so (decided by the daemon
    /// before a task is handed out, so a worker's report never gets this).
    Skipped,
}

impl ReportOutcome {
    /// The wire name (`dead-letter`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Retry => "retry",
            Self::DeadLetter => "dead-letter",
            Self::RunFailed => "run-failed",
            Self::StepFailed => "step-failed",
            Self::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for ReportOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /v1/worker/tasks/{task}/model`: a model call of the running step,
/// served by the daemon (journaled: the same `index` of the same step is
/// answered from the journal when it was answered before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCallRequest {
    /// The lease's fencing token.
    pub token: u64,
    /// The call's index within this attempt, from 0.
    pub index: u32,
    /// The request, as the step made it.
    pub request: CompletionRequest,
}

/// The answer to a [`ModelCallRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCallResponse {
    /// The completion, or the error the step gets.
    pub result: Result<Completion, PluginError>,
}

/// `POST /v1/worker/tasks/{task}/artifact-get` and `.../artifact-put`: one of
/// the run's artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRequest {
    /// The lease's fencing token.
    pub token: u64,
    /// The artifact's key.
    pub key: String,
    /// The value to store (for a put), as JSON text.
    #[serde(default)]
    pub value: Option<String>,
}

/// The answer to an artifact request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactResponse {
    /// The stored value (for a get), as JSON text.
    pub value: Option<String>,
}

/// `POST /v1/worker/tasks/{task}/tool`: a `call-tool` of the running step. The
/// daemon runs the tool (in its own sandbox, with the step's run-info) and
/// records it in the run's ledger; the worker never needs the tool's component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCallRequest {
    /// The lease's fencing token.
    pub token: u64,
    /// The call's index within this attempt, from 0 (the tool's model calls
    /// are journaled under it).
    pub index: u32,
    /// The tool's step plugin name in `weft.yaml`.
    pub plugin: String,
    /// The tool's config, as JSON text.
    pub config: String,
    /// The tool's input, as JSON text.
    pub input: String,
    /// How much of the step's deadline is left, in ms; the tool gets at most
    /// that (and never more than the step's `timeout`).
    pub remaining_ms: u64,
}

/// The answer to a [`ToolCallRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallResponse {
    /// The tool's output as JSON text, or the error the step gets.
    pub result: Result<String, PluginError>,
}
