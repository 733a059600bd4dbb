//! The records the store keeps and the arguments and answers of its operations.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use weft_core::Money;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Submitted; no task of it has been leased yet.
    Queued,
    /// At least one task has been leased.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Cancelled by an operator.
    Cancelled,
}

impl RunStatus {
    /// Whether the run has finished (it takes no more changes).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// The lowercase name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskState {
    /// In the ready queue of its pool.
    Ready,
    /// Waiting for its `ready_at` (retry back-off).
    Delayed,
    /// Held by a worker under a lease.
    Leased,
    /// Completed.
    Done,
    /// Dead-lettered; waits for an operator (`dlq_requeue` / `dlq_purge`).
    Dead,
    /// Failed and took its run down with it (`FailDecision::FailRun`).
    Failed,
    /// Dropped because its run finished (cancelled, or failed by another step).
    Cancelled,
    /// Not run: its condition (`if:`) said so, or a step it needs did not
    /// succeed (`QueueStore::end_step` with `StepEnd::Skipped`).
    Skipped,
}

impl TaskState {
    /// The lowercase name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Delayed => "delayed",
            Self::Leased => "leased",
            Self::Done => "done",
            Self::Dead => "dead",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
        }
    }

    /// Whether the task still waits for, or holds, a worker.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Ready | Self::Delayed | Self::Leased)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of a cancelled run and the `reason` of its `run-cancelled`
/// event: `cancelled`, or `cancelled: <reason>` when the canceller gave one
/// (a reason is trimmed and capped at [`MAX_CANCEL_REASON`] characters).
pub fn cancel_reason(reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => {
            let capped: String = r.chars().take(MAX_CANCEL_REASON).collect();
            format!("cancelled: {capped}")
        }
        None => "cancelled".to_owned(),
    }
}

/// The longest reason a cancel keeps (characters).
pub const MAX_CANCEL_REASON: usize = 500;

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// `<prefix>-<yyyy-mm-dd>-<seq>-<3 chars>`.
    pub id: String,
    /// The flow it runs.
    pub flow_id: String,
    /// The flow's version.
    pub flow_version: String,
    /// Who it runs for.
    pub tenant: String,
    /// Where it stands.
    pub status: RunStatus,
    /// Its input.
    pub input: Value,
    /// Its output, once succeeded.
    pub output: Option<Value>,
    /// Its error, once failed or cancelled.
    pub error: Option<String>,
    /// When it was submitted (ms since the Unix epoch, UTC).
    pub created_ms: u64,
    /// When it last changed.
    pub updated_ms: u64,
    /// Its priority (higher first).
    pub priority: u32,
    /// What its model calls were charged so far (zero for a run stored before
    /// runs carried their cost; `CostStore::run_cost` has its calls and dollars).
    #[serde(default)]
    pub cost: RunCost,
}

/// What a run's model calls were charged: added to in the transaction that
/// journals each answered call (a journal replay is not charged again).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct RunCost {
    /// Model calls charged.
    pub calls: u64,
    /// Input tokens the adapters reported.
    pub input_tokens: u64,
    /// Output tokens the adapters reported.
    pub output_tokens: u64,
    /// US dollars, in whole micro-dollars.
    pub micro_usd: u64,
}

impl RunCost {
    /// The cost as [`Money`].
    pub fn cost(&self) -> Money {
        Money::from_micros(self.micro_usd)
    }

    /// The dollars as a float, for display (`micro_usd` is exact).
    pub fn usd(&self) -> f64 {
        self.cost().as_usd()
    }
}

/// Serialized with `usd` beside `micro_usd`, so that a reader of the JSON sees
/// dollars; `usd` is ignored when read back.
impl Serialize for RunCost {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("RunCost", 5)?;
        s.serialize_field("calls", &self.calls)?;
        s.serialize_field("input_tokens", &self.input_tokens)?;
        s.serialize_field("output_tokens", &self.output_tokens)?;
        s.serialize_field("micro_usd", &self.micro_usd)?;
        s.serialize_field("usd", &self.usd())?;
        s.end()
    }
}

/// A task (one attempt-carrying unit of work: one step of one run) as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Store-wide task id, increasing.
    pub id: u64,
    /// Its run.
    pub run_id: String,
    /// Its step.
    pub step_id: String,
    /// 1 for the first attempt; +1 on each retry and each DLQ requeue. A lease
    /// that expires hands the same attempt on again (at-least-once).
    pub attempt: u32,
    /// The worker pool that may take it.
    pub pool: String,
    /// Higher first.
    pub priority: u32,
    /// When it became (or becomes) ready, in ms.
    pub ready_at: u64,
    /// Where it stands.
    pub state: TaskState,
    /// The newest fencing token handed out for it (0 = never leased).
    pub last_token: u64,
    /// The last error it failed with.
    pub error: Option<String>,
    /// Its run's tenant (empty in records written before this field existed;
    /// filled in when the task next enters the ready queue).
    #[serde(default)]
    pub tenant: String,
}

/// A task to enqueue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    /// The step it runs.
    pub step_id: String,
    /// The pool that may take it.
    pub pool: String,
    /// Higher first.
    pub priority: u32,
}

/// A step that may become ready when a task of its run completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextCandidate {
    /// The task to enqueue if the step is ready.
    pub task: NewTask,
    /// The steps it needs; it is ready once every one of them has an output.
    pub needs: Vec<String>,
}

/// What completing a step of a DAG may lead to; the store decides inside the
/// completion's transaction (see `QueueStore::complete_step`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advance {
    /// Steps that may become ready: each is enqueued only if every step it needs
    /// has an output and the run has no task for it yet.
    pub candidates: Vec<NextCandidate>,
    /// Every step of the flow. Once each has an output the run succeeds. Empty:
    /// the run is never finished by this completion.
    pub all_steps: Vec<String>,
    /// The steps whose outputs make the run's output: with one, its output; with
    /// several, an object of their outputs keyed by step id.
    pub final_steps: Vec<String>,
}

/// The answer to `complete_step`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCompleted {
    /// The ids of the tasks it enqueued.
    pub enqueued: Vec<u64>,
    /// The run's output, if this completion finished the run.
    pub run_output: Option<Value>,
    /// Whether this completion finished the run as failed (a step before
    /// had failed with `FailDecision::FailStep`).
    pub run_failed: bool,
}

/// A run to submit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// The flow it runs.
    pub flow_id: String,
    /// The flow's version.
    pub flow_version: String,
    /// Who it runs for.
    pub tenant: String,
    /// Its input.
    pub input: Value,
    /// Higher first.
    pub priority: u32,
    /// `(key, ttl_ms)`: while the key is younger than its TTL, submitting it again
    /// returns the first run instead of creating one.
    pub idempotency_key: Option<(String, u64)>,
    /// The first part of the run id: lowercase ASCII letters, digits and `-`.
    pub id_prefix: String,
    /// When set and later than the submit's `now` (ms since the Unix
    /// epoch), the run's first tasks wait, delayed, until then; the run is
    /// `queued` meanwhile and holds no worker and no lease.
    pub not_before: Option<u64>,
    /// The tasks that start the run.
    pub initial_tasks: Vec<NewTask>,
}

/// The answer to `submit_run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The run (the existing one on an idempotency hit).
    pub run_id: String,
    /// False on an idempotency hit.
    pub created: bool,
}

/// A task handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The task.
    pub task: u64,
    /// Its run.
    pub run: String,
    /// Its step.
    pub step: String,
    /// Its attempt (1-based).
    pub attempt: u32,
    /// The fencing token; `renew`, `complete` and `fail` must present it.
    pub token: u64,
    /// When the lease runs out, in ms.
    pub expires_at: u64,
}

/// A worker's request for its next lease, made together with a completion so
/// that finishing one task and taking the next cost one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextLease {
    /// The worker asking.
    pub owner: String,
    /// The pools it takes tasks from (every pool when `None`).
    pub pools: Option<Vec<String>>,
    /// How long the lease lasts.
    pub lease_ms: u64,
}

/// The lease as stored, per task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// Who holds it.
    pub owner: String,
    /// Its fencing token.
    pub token: u64,
    /// When it runs out, in ms.
    pub expires_at: u64,
    /// When it was handed out, in ms (0 in leases stored before this field).
    #[serde(default)]
    pub leased_at: u64,
}

/// How a `complete` finishes the run, if it does.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// The run succeeded with this output.
    Succeeded {
        /// The run's output.
        output: Value,
    },
    /// The run failed with this error.
    Failed {
        /// Why.
        error: String,
    },
}

/// What to do with a failed task: the decision itself, typed, from the retry
/// strategy (or the engine) to the store, the ledger (`step-failed`'s
/// `decision`) and whoever reports it (progress lines, metrics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum FailDecision {
    /// Try again once `at_ms` has come (the task waits as delayed).
    Retry {
        /// When it becomes ready again.
        at_ms: u64,
    },
    /// Park the task in the dead-letter queue.
    DeadLetter {
        /// Why.
        reason: String,
    },
    /// Fail the whole run.
    FailRun {
        /// Why.
        reason: String,
    },
    /// The step fails for good but the run goes on, to the steps after it
    /// that ask for `failure()` or `always()`, and ends failed with `reason`
    /// once they have. Stores take it through `QueueStore::end_step`
    /// (`StepEnd::Failed`), which also decides what became ready.
    FailStep {
        /// Why.
        reason: String,
    },
}

/// How a leased step of a DAG ends without an output of its own (see
/// `QueueStore::end_step`). Either way its output is `null`, so fan-in
/// counts it as ended and its dependents are decided next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepEnd {
    /// Its condition said not to run it: the task is `skipped`, the ledger
    /// gets `step-skipped` with `reason`.
    Skipped {
        /// Why, e.g. "`if: ${{ input.urgent }}` was false".
        reason: String,
    },
    /// It failed for good (`FailDecision::FailStep`): the task is `failed`,
    /// the ledger gets `step-failed` with that decision, and the run, which
    /// goes on, ends failed with the first such `reason`.
    Failed {
        /// The attempt's error.
        error: String,
        /// Why the run will fail.
        reason: String,
        /// The retry strategy component's sha256, if one decided.
        decided_by: Option<String>,
    },
}

/// A tool call a step made through the `call-tool` host import, as the ledger
/// records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The step that called the tool.
    pub step: String,
    /// The call's index within the step's attempt, from 0.
    pub index: u32,
    /// The tool's plugin name in `weft.yaml`.
    pub plugin: String,
    /// Hex SHA-256 of the tool's component (empty when it could not be loaded).
    pub sha256: String,
    /// `None` when the tool answered; else the error the step was given.
    pub error: Option<String>,
}

/// The answer to `dlq_purge`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    /// The task that was purged.
    pub task: u64,
    /// Its run.
    pub run: String,
    /// Its step.
    pub step: String,
    /// `Some(failed)` when the purge ended the run (it was still open: a step
    /// without an output can never let it succeed); `None` when the run had
    /// already finished.
    pub run_ended: Option<RunStatus>,
}

/// A dead-lettered task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The task.
    pub task: u64,
    /// Its run.
    pub run: String,
    /// Its step.
    pub step: String,
    /// Why it was dead-lettered.
    pub reason: String,
    /// When, in ms.
    pub time_ms: u64,
}

impl DeadLetter {
    /// Those of `letters` dead-lettered at `since_ms` or later, and of those
    /// the `limit` most recent; in the order of `letters`.
    pub fn recent(
        letters: Vec<DeadLetter>,
        since_ms: Option<u64>,
        limit: Option<usize>,
    ) -> Vec<DeadLetter> {
        let mut kept: Vec<DeadLetter> = letters
            .into_iter()
            .filter(|d| since_ms.is_none_or(|since| d.time_ms >= since))
            .collect();
        if let Some(limit) = limit
            && kept.len() > limit
        {
            let mut times: Vec<(u64, u64)> = kept.iter().map(|d| (d.time_ms, d.task)).collect();
            times.sort_unstable_by(|a, b| b.cmp(a));
            let newest: std::collections::HashSet<u64> =
                times.iter().take(limit).map(|&(_, task)| task).collect();
            kept.retain(|d| newest.contains(&d.task));
        }
        kept
    }
}

/// Filters for `runs_list`; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only this flow.
    pub flow_id: Option<String>,
    /// Only this status.
    pub status: Option<RunStatus>,
    /// Only runs submitted at or after this time (ms since the Unix epoch).
    pub since_ms: Option<u64>,
    /// Only runs submitted before this time.
    pub until_ms: Option<u64>,
    /// Only runs older than this one in the list's order (newest first): the
    /// cursor of the next page, [`RunCursor::of`] the last run of a page.
    pub before: Option<RunCursor>,
}

/// A place in the newest-first list of runs: a run's submission time and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunCursor {
    /// The run's `created_ms`.
    pub created_ms: u64,
    /// The run's id (runs submitted in the same millisecond are ordered by it).
    pub id: String,
}

impl RunCursor {
    /// The cursor just past `run`.
    pub fn of(run: &RunRecord) -> Self {
        Self {
            created_ms: run.created_ms,
            id: run.id.clone(),
        }
    }

    /// Its text form, `<created_ms>-<id>` (what `GET /v1/runs?before=` takes).
    pub fn encode(&self) -> String {
        format!("{}-{}", self.created_ms, self.id)
    }

    /// Reads [`RunCursor::encode`]'s form; `None` when `text` is not one.
    pub fn decode(text: &str) -> Option<Self> {
        let (ms, id) = text.split_once('-')?;
        let created_ms = ms.parse().ok()?;
        (!id.is_empty()).then(|| Self {
            created_ms,
            id: id.to_owned(),
        })
    }
}
impl RunFilter {
    /// Whether a run with these fields passes every field of the filter (a
    /// backend can read them without decoding the whole record).
    pub fn matches_fields(
        &self,
        id: &str,
        flow_id: &str,
        tenant: &str,
        status: RunStatus,
        created_ms: u64,
    ) -> bool {
        self.tenant.as_ref().is_none_or(|t| t == tenant)
            && self.flow_id.as_ref().is_none_or(|f| f == flow_id)
            && self.status.is_none_or(|s| s == status)
            && self.since_ms.is_none_or(|t| created_ms >= t)
            && self.until_ms.is_none_or(|t| created_ms < t)
            && self
                .before
                .as_ref()
                .is_none_or(|c| (created_ms, id) < (c.created_ms, c.id.as_str()))
    }
}

/// A snapshot of the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Ready tasks per pool.
    pub ready_by_pool: BTreeMap<String, u64>,
    /// Leased tasks.
    pub inflight: u64,
    /// Delayed tasks (including those already due).
    pub delayed: u64,
    /// Delayed tasks whose `ready_at` has come (the next `lease` makes them ready).
    pub delayed_due: u64,
    /// Dead-lettered tasks.
    pub dlq: u64,
    /// Age of the oldest ready task (`now - ready_at`), if any is ready.
    pub oldest_ready_age_ms: Option<u64>,
}

/// Persistent counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Fenced operations refused for a stale token.
    pub stale_refusals: u64,
    /// Tasks handed back to the queue because their lease expired.
    pub redelivered: u64,
    /// Runs created by cron schedules (fires on time, caught up, or triggered).
    pub schedule_fires: u64,
    /// Tasks ever created (one per step of each run; retries and redeliveries
    /// reuse their task).
    pub tasks_created: u64,
}

/// What the writer has done since `open` (in memory, not persisted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Write transactions committed.
    pub commits: u64,
    /// Of those, the ones committed with fsync (any batch with a durable op;
    /// the others held only leases and renewals).
    pub durable_commits: u64,
    /// Operations acknowledged (successfully or with a refusal).
    pub ops: u64,
    /// The largest batch committed in one transaction.
    pub max_batch: u64,
}

#[cfg(test)]
mod dead_letter_tests {
    use super::DeadLetter;

    fn letter(task: u64, time_ms: u64) -> DeadLetter {
        DeadLetter {
            task,
            run: format!("r-{task}"),
            step: "a".into(),
            reason: "boom".into(),
            time_ms,
        }
    }

    #[test]
    fn recent_keeps_those_since_a_time_and_the_most_recent_few_in_task_order() {
        let all = || {
            vec![
                letter(1, 500),
                letter(2, 100),
                letter(3, 300),
                letter(4, 200),
            ]
        };
        let tasks = |d: Vec<DeadLetter>| d.iter().map(|d| d.task).collect::<Vec<_>>();
        assert_eq!(tasks(DeadLetter::recent(all(), None, None)), [1, 2, 3, 4]);
        assert_eq!(tasks(DeadLetter::recent(all(), Some(250), None)), [1, 3]);
        assert_eq!(tasks(DeadLetter::recent(all(), None, Some(2))), [1, 3]);
        assert_eq!(tasks(DeadLetter::recent(all(), Some(150), Some(2))), [1, 3]);
        assert_eq!(
            tasks(DeadLetter::recent(all(), None, Some(0))),
            Vec::<u64>::new()
        );
    }
}
