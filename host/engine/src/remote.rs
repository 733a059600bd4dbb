//! Tasks run by workers in other processes (`weft worker`, through the
//! daemon's `/v1/worker/...` endpoints).
//!
//! The split of work: the engine leases the task (a durable commit, since the
//! worker is another process) and renders the step's arguments; the worker
//! runs the step plugin in its own sandbox; the engine records the outcome with
//! the same code an in-process worker uses (fan-in, retry strategy, dead
//! letters, events), fenced by the lease's token. A model call the step makes
//! is served here, journaled, so provider credentials never leave the daemon.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use weft_store_api::WorkerSite;

use weft_core::worker_protocol::{
    CompleteRequest, FailRequest, LeaseRequest, ModelCallRequest, RemoteTask, ReportOutcome,
    ReportResponse,
};
use weft_core::{Completion, PluginError};
use weft_flow::{CompiledFlow, CompiledStep};
use weft_store_api::{FailDecision, Lease, RunRecord, TaskRecord, TaskState};

use crate::admission::{self, Admitted, Ask};
use crate::catalog::Catalog;
use crate::conditions::{Gate, record_failure};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::host::{TaskHost, TaskScope};
use crate::lifecycle::TaskOutcome;
use crate::retry;
use crate::shared::Inner;
use crate::task::{Success, budget_decision, located, prepare_call, record_success};

/// The longest a lease request may wait for a task.
pub const MAX_LEASE_WAIT: Duration = Duration::from_secs(60);
/// The shortest and longest lease a remote worker may ask for.
pub const LEASE_MS_RANGE: (u64, u64) = (1_000, 10 * 60 * 1000);

impl Engine {
    /// Leases a task to a worker in another process, waiting up to
    /// `ask.wait_ms` (at most [`MAX_LEASE_WAIT`]) for one to become ready.
    /// Tasks whose step cannot even be prepared (its flow was removed, its
    /// arguments do not render) are failed as an in-process worker would fail
    /// them, and the next one is tried. When `cancelled` resolves during the
    /// wait, the answer is `None` (a store operation already under way is
    /// never abandoned, so a lease is never made and then dropped).
    pub async fn lease_remote(
        &self,
        ask: &LeaseRequest,
        cancelled: impl Future<Output = ()>,
    ) -> Result<Option<RemoteTask>, EngineError> {
        check_lease_ms(ask.lease_ms)?;
        let mut cancelled = pin!(cancelled);
        let inner = &self.inner;
        let wait = Duration::from_millis(ask.wait_ms).min(MAX_LEASE_WAIT);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Register for a wake-up before looking, so that a task enqueued
            // between the look and the wait is not missed.
            let mut notified = pin!(inner.wakeups.worker_wakeup());
            notified.as_mut().enable();
            let token_at = match self.try_lease_remote(ask).await? {
                Ok(task) => return Ok(Some(task)),
                Err(token_at) => token_at,
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let until_due = inner
                .store
                .next_due()
                .await?
                .into_iter()
                .chain(token_at)
                .min()
                .map(|due| Duration::from_millis(due.saturating_sub(inner.now()).max(1)));
            let sleep_until = until_due.map_or(deadline, |d| (now + d).min(deadline));
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(sleep_until) => {}
                () = &mut cancelled => return Ok(None),
            }
        }
    }

    /// A task for `ask`, or `Err(when)`: nothing now, and a rate-limit token
    /// comes at `when` (ms), if given.
    async fn try_lease_remote(
        &self,
        ask: &LeaseRequest,
    ) -> Result<Result<RemoteTask, Option<u64>>, EngineError> {
        let inner = &self.inner;
        loop {
            let admit = Ask {
                owner: &ask.owner,
                pools: ask.pools.as_deref(),
                lease_ms: ask.lease_ms,
                site: WorkerSite::Remote,
            };
            let lease = match admission::admit(inner, &admit).await? {
                Admitted::Lease(lease) => lease,
                Admitted::Wait(token_at) => return Ok(Err(token_at)),
            };
            let catalog = inner.catalog();
            let Ok((run, flow, step)) = located(inner, &catalog, &lease).await else {
                continue;
            };
            match crate::conditions::gate(inner, &lease, &run, flow, step).await {
                Gate::Run => {}
                // Skipped here: the worker gets the next task instead.
                Gate::Ended(_) => continue,
                Gate::Failed(text) => {
                    let error = PluginError::Permanent(text.clone());
                    let (decision, by) =
                        retry::decide(inner, &catalog, flow, step, &lease, error, 0).await;
                    let located = Some((&run, flow, step));
                    record_failure(inner, &lease, located, &text, decision, by.as_deref()).await;
                    continue;
                }
            }
            inner.lifecycle.step_started(&lease, &run);
            let allowed = crate::capabilities::check_step(&inner.project, &run.tenant, flow, step)
                .map_err(|e| {
                    let text = e.to_string();
                    (PluginError::Permanent(text.clone()), text)
                });
            let prepared = match allowed {
                Ok(()) => prepare_call(inner, &catalog, &lease, &run.input, step).await,
                Err(e) => Err(e),
            };
            match prepared {
                Ok(call) => {
                    return Ok(Ok(RemoteTask {
                        task: lease.task,
                        token: lease.token,
                        expires_ms: lease.expires_at,
                        run: lease.run,
                        flow: flow.id.clone(),
                        step: step.id.clone(),
                        attempt: lease.attempt,
                        tenant: run.tenant,
                        plugin: step.uses.clone(),
                        plugin_sha256: call.plugin.sha256().to_owned(),
                        config: call.config,
                        input: call.input,
                        timeout_ms: u64::try_from(step.timeout.as_millis()).unwrap_or(u64::MAX),
                    }));
                }
                Err((error, text)) => {
                    let (decision, by) =
                        retry::decide(inner, &catalog, flow, step, &lease, error, 0).await;
                    let located = Some((&run, flow, step));
                    record_failure(inner, &lease, located, &text, decision, by.as_deref()).await;
                }
            }
        }
    }

    /// Extends a remote worker's lease to `now + lease_ms`; returns the new
    /// expiry. A stale token is refused ([`EngineError::LeaseLost`]) and
    /// recorded.
    pub async fn heartbeat(
        &self,
        task: u64,
        token: u64,
        lease_ms: u64,
    ) -> Result<u64, EngineError> {
        check_lease_ms(lease_ms)?;
        let inner = &self.inner;
        inner
            .store
            .renew(task, token, lease_ms, WorkerSite::Remote, inner.now())
            .await
            .map_err(|e| lease_error(task, e))
    }

    /// Records a remote worker's successful step, as an in-process worker
    /// would: the output, the steps now ready, the run's end.
    pub async fn complete_remote(
        &self,
        task: u64,
        report: CompleteRequest,
    ) -> Result<ReportResponse, EngineError> {
        let inner = &self.inner;
        let record = self.task_record(task).await?;
        if let Some(answer) = self.already_reported(&record, report.token).await? {
            return Ok(answer);
        }
        // A model or tool call past the step's cap fails the attempt, even
        // though the step went on to an output.
        if let Some(message) = inner.call_caps.take(task, report.token) {
            let error = PluginError::Permanent(message);
            let failed = FailRequest {
                token: report.token,
                message: error.to_string(),
                error,
                elapsed_ms: report.elapsed_ms,
            };
            return self.fail_remote(task, failed).await;
        }
        let lease = lease_from(record, report.token);
        // The step got over a budget refusal (or made its own answer of it).
        inner.budgets.take_refusal(task, report.token);
        let catalog = inner.catalog();
        let (run, flow, step) = match located(inner, &catalog, &lease).await {
            Ok(found) => found,
            Err(outcome) => return report_of(task, outcome),
        };
        let success = Success {
            output: report.output,
            elapsed_ms: report.elapsed_ms,
        };
        let (outcome, _) = record_success(inner, &lease, &run, flow, step, success, None).await;
        report_of(task, outcome)
    }

    /// Records a remote worker's failed attempt: the step's retry strategy
    /// decides (retry later, dead-letter, fail the run), as for an in-process
    /// worker.
    pub async fn fail_remote(
        &self,
        task: u64,
        report: FailRequest,
    ) -> Result<ReportResponse, EngineError> {
        let inner = &self.inner;
        let record = self.task_record(task).await?;
        if let Some(answer) = self.already_reported(&record, report.token).await? {
            return Ok(answer);
        }
        let lease = lease_from(record, report.token);
        let catalog = inner.catalog();
        let refusal = inner.budgets.take_refusal(task, report.token);
        // The call past a cap is why the attempt failed, whatever the step said.
        let mut report = report;
        if let Some(message) = inner.call_caps.take(task, report.token) {
            report.error = PluginError::Permanent(message);
            report.message = report.error.to_string();
        }
        let located = catalog.locate(&inner.store, &lease).await;
        let run = match &located {
            Ok((run, _, _)) => Some(run.clone()),
            Err(unlocated) => unlocated.run.clone(),
        };
        let (decision, by) = match (&located, refusal) {
            (Err(unlocated), _) => (
                FailDecision::DeadLetter {
                    reason: unlocated.reason.clone(),
                },
                None,
            ),
            (Ok(_), Some(refusal)) => (budget_decision(inner, refusal), None),
            (Ok((_, flow, step)), None) => {
                retry::decide(
                    inner,
                    &catalog,
                    flow,
                    step,
                    &lease,
                    report.error,
                    report.elapsed_ms,
                )
                .await
            }
        };
        let outcome = match &located {
            Ok((run, flow, step)) => {
                let located = Some((run, *flow, *step));
                record_failure(
                    inner,
                    &lease,
                    located,
                    &report.message,
                    decision,
                    by.as_deref(),
                )
                .await
            }
            Err(_) => {
                inner
                    .lifecycle
                    .step_failed(
                        &lease,
                        run.as_ref(),
                        &report.message,
                        decision,
                        by.as_deref(),
                    )
                    .await
            }
        };
        report_of(task, outcome)
    }

    /// Serves model call `call.index` of a remote worker's running step: the
    /// journaled answer when there is one, else the model's adapter (here, in
    /// the daemon) and the answer journaled. `Err` when the lease is not the
    /// current one; `Ok(Err(..))` is the error the step gets.
    pub async fn model_call_remote(
        &self,
        task: u64,
        call: &ModelCallRequest,
    ) -> Result<Result<Completion, PluginError>, EngineError> {
        let lease = self.current_lease(task, call.token).await?;
        let catalog = self.inner.catalog();
        let (run, _, step) = locate_lease(&self.inner, &catalog, &lease).await?;
        let scope = TaskScope::of(&self.inner, task, call.token, &run.tenant).await?;
        let host = TaskHost::new(Arc::clone(&self.inner), scope, &lease.run, step);
        Ok(host.complete_at(call.index, &call.request).await)
    }

    /// A remote step's `artifact-get`: the run's artifact `key` (JSON text).
    pub async fn artifact_get_remote(
        &self,
        task: u64,
        token: u64,
        key: &str,
    ) -> Result<Option<String>, EngineError> {
        let lease = self.current_lease(task, token).await?;
        Ok(self
            .inner
            .store
            .artifact_get(&lease.run, key)
            .await?
            .map(|v| v.to_string()))
    }

    /// A remote step's `artifact-put`. `Ok(Err(..))` is the error the step gets
    /// (the value is not JSON).
    pub async fn artifact_put_remote(
        &self,
        task: u64,
        token: u64,
        key: &str,
        value: &str,
    ) -> Result<Result<(), PluginError>, EngineError> {
        let lease = self.current_lease(task, token).await?;
        if let Err(refused) = crate::caps::check_artifact(&self.inner.project.limits, key, value) {
            return Ok(Err(refused));
        }
        let value = match serde_json::from_str(value) {
            Ok(v) => v,
            Err(e) => {
                return Ok(Err(PluginError::InvalidInput(format!(
                    "artifact `{key}`: {e}"
                ))));
            }
        };
        let inner = &self.inner;
        inner
            .store
            .artifact_put(&lease.run, key, value, inner.now())
            .await?;
        Ok(Ok(()))
    }

    /// The answer to a report that this lease (`token`) already made and the
    /// store recorded: a worker whose first report landed but whose answer was
    /// lost sends it again, and must not be told its lease was lost. Only
    /// states that this lease's own report leads to count (an expired lease
    /// puts the task back to `ready`, which does not).
    async fn already_reported(
        &self,
        record: &TaskRecord,
        token: u64,
    ) -> Result<Option<ReportResponse>, EngineError> {
        if record.last_token != token {
            return Ok(None);
        }
        if matches!(
            record.state,
            TaskState::Ready | TaskState::Leased | TaskState::Cancelled
        ) {
            return Ok(None);
        }
        let run_finished = self
            .inner
            .store
            .run_get(&record.run_id)
            .await?
            .is_some_and(|run| run.status.is_final());
        let outcome = match record.state {
            TaskState::Done => ReportOutcome::Succeeded,
            TaskState::Delayed => ReportOutcome::Retry,
            TaskState::Dead => ReportOutcome::DeadLetter,
            TaskState::Failed if run_finished => ReportOutcome::RunFailed,
            TaskState::Failed => ReportOutcome::StepFailed,
            TaskState::Skipped => ReportOutcome::Skipped,
            TaskState::Ready | TaskState::Leased | TaskState::Cancelled => return Ok(None),
        };
        Ok(Some(ReportResponse {
            outcome,
            run_finished,
        }))
    }

    /// The stored record of `task`.
    async fn task_record(&self, task: u64) -> Result<TaskRecord, EngineError> {
        self.inner
            .store
            .task_get(task)
            .await?
            .ok_or(EngineError::UnknownTask(task))
    }

    /// The lease of `task` if `token` is its current one and it has not run
    /// out (a read: host calls of a step whose lease was lost are refused
    /// without being recorded).
    pub(crate) async fn current_lease(&self, task: u64, token: u64) -> Result<Lease, EngineError> {
        let lease = lease_from(self.task_record(task).await?, token);
        match self.inner.store.lease_of(task).await? {
            Some(current) if current.token == token && current.expires_at > self.inner.now() => {
                Ok(lease)
            }
            Some(current) if current.token == token => Err(EngineError::LeaseLost {
                task,
                reason: format!(
                    "the lease ran out at {}",
                    weft_store_api::utc_datetime(current.expires_at)
                ),
            }),
            _ => Err(EngineError::LeaseLost {
                task,
                reason: "the lease expired and the task was handed on, or the task is done".into(),
            }),
        }
    }
}

/// The lease of `record`'s task as presented with `token` (the store checks
/// the token when the result is recorded, and records a stale one).
fn lease_from(record: TaskRecord, token: u64) -> Lease {
    Lease {
        task: record.id,
        run: record.run_id,
        step: record.step_id,
        attempt: record.attempt,
        token,
        expires_at: 0,
    }
}

/// The run, flow and step of `lease` in `catalog`, for a call a remote
/// worker's step makes: one that cannot be found is a lost lease.
pub(crate) async fn locate_lease<'a>(
    inner: &Inner,
    catalog: &'a Catalog,
    lease: &Lease,
) -> Result<(RunRecord, &'a CompiledFlow, &'a CompiledStep), EngineError> {
    catalog
        .locate(&inner.store, lease)
        .await
        .map_err(|unlocated| EngineError::LeaseLost {
            task: lease.task,
            reason: unlocated.reason,
        })
}

fn check_lease_ms(lease_ms: u64) -> Result<(), EngineError> {
    let (min, max) = LEASE_MS_RANGE;
    if (min..=max).contains(&lease_ms) {
        Ok(())
    } else {
        Err(EngineError::BadLease(format!(
            "lease_ms must be between {min} and {max}, got {lease_ms}"
        )))
    }
}

fn lease_error(task: u64, e: weft_store_api::StoreError) -> EngineError {
    match e {
        e @ (weft_store_api::StoreError::StaleToken { .. }
        | weft_store_api::StoreError::RunFinished { .. }) => EngineError::LeaseLost {
            task,
            reason: e.to_string(),
        },
        other => EngineError::Store(other),
    }
}

fn report_of(task: u64, outcome: TaskOutcome) -> Result<ReportResponse, EngineError> {
    let (outcome, run_finished) = match outcome {
        TaskOutcome::Succeeded { run_finished } => (ReportOutcome::Succeeded, run_finished),
        TaskOutcome::Failed { decision } => match decision {
            FailDecision::Retry { .. } => (ReportOutcome::Retry, false),
            FailDecision::DeadLetter { .. } => (ReportOutcome::DeadLetter, false),
            FailDecision::FailRun { .. } => (ReportOutcome::RunFailed, true),
            FailDecision::FailStep { .. } => (ReportOutcome::StepFailed, false),
        },
        TaskOutcome::Skipped { run_finished } => (ReportOutcome::Skipped, run_finished),
        TaskOutcome::LeaseLost => {
            return Err(EngineError::LeaseLost {
                task,
                reason: "the lease's token is stale (the lease expired and the task was handed \
                         on, or the run finished); the result was refused and recorded"
                    .into(),
            });
        }
        TaskOutcome::StoreFailed(why) => return Err(EngineError::Recording(why)),
    };
    Ok(ReportResponse {
        outcome,
        run_finished,
    })
}
