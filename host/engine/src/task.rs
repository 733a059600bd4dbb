//! Executing one leased task: prepare the call, run the step plugin while the
//! lease is renewed, then record the output (and let the store enqueue what
//! became ready) or hand the failure to the retry strategy.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft_store_api::WorkerSite;

use serde_json::Value;
use weft_core::{PluginError, RunInfo};
use weft_flow::{CompiledFlow, CompiledStep, OnBudgetExceeded};
use weft_runtime::Plugin;
use weft_runtime::{CallContext, CallLimits};
use weft_store_api::{
    Advance, FailDecision, Lease, NewTask, NextCandidate, NextLease, RunRecord, RunStatus,
    StoreError,
};

use crate::admission::{self, Admitted, Ask};
use crate::args::step_args;
use crate::budgets::{Refusal, next_utc_day};
use crate::catalog::Catalog;
use crate::engine::{DEFAULT_POOL, Engine, Inner};
use crate::host::{TaskHost, TaskScope};
use crate::progress::ProgressEvent;
use crate::retry;
use crate::tools::ToolScope;

/// What became of a task a worker executed.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// The step succeeded; `run_finished` if it was the run's last.
    Succeeded {
        /// Whether this completion finished the run.
        run_finished: bool,
    },
    /// The attempt failed and `decision` was applied.
    Failed {
        /// What the retry strategy (or the engine) decided.
        decision: FailDecision,
    },
    /// The lease was lost (expired and handed on, or the run finished) before
    /// the result could be recorded; the result was dropped.
    LeaseLost,
    /// The store could not record the result; the task comes back when its
    /// lease expires.
    StoreFailed(String),
}

impl Engine {
    /// Executes one leased task as a worker does: runs its step and records the
    /// result, fenced by the lease's token. Workers call this; tests use it to
    /// act as a worker.
    pub async fn run_task(&self, lease: Lease) -> TaskOutcome {
        execute(&self.inner, lease, None).await.0
    }
}

/// Executes `lease`'s task. With `next`, a success also leases the worker its
/// next task in the same commit (returned beside the outcome).
pub(crate) async fn execute(
    inner: &Arc<Inner>,
    lease: Lease,
    next: Option<&NextLease>,
) -> (TaskOutcome, Option<Lease>) {
    let started = inner.now();
    emit_started(inner, &lease);
    let catalog = inner.catalog();
    let (run, flow, step) = match locate(inner, &catalog, &lease).await {
        Ok(found) => found,
        Err(reason) => return (dead_letter_unlocated(inner, &lease, reason).await, None),
    };
    let call = call_step(inner, &catalog, &lease, &run, flow, step);
    let result = with_renewal(inner, &lease, call).await;
    let refusal = inner.budgets.take_refusal(lease.task, lease.token);
    let over_cap = inner.call_caps.take(lease.task, lease.token);
    let Some(result) = result else {
        return (TaskOutcome::LeaseLost, None);
    };
    // A call past the step's cap fails the attempt, whatever the step did next.
    let result = match over_cap {
        Some(message) => {
            let error = PluginError::Permanent(message);
            let text = error.to_string();
            Err((error, text))
        }
        None => result,
    };
    let elapsed_ms = inner.now().saturating_sub(started);
    match result {
        Ok(output) => {
            let success = Success { output, elapsed_ms };
            record_success(inner, &lease, flow, step, success, next).await
        }
        Err((error, text)) => {
            let (decision, by) = match refusal {
                Some(refusal) => (budget_decision(inner, refusal), None),
                None => retry::decide(inner, &catalog, flow, step, &lease, error, elapsed_ms).await,
            };
            let outcome = record_failure(inner, &lease, &text, decision, by.as_deref()).await;
            (outcome, None)
        }
    }
}

/// What a step whose model call was refused for its budget comes to, whatever
/// error the step made of it: the run fails (`fail`), or the task waits until
/// 00:00 UTC of the next day (`wait`); the retry strategy is not asked.
pub(crate) fn budget_decision(inner: &Inner, refusal: Refusal) -> FailDecision {
    match refusal.mode {
        OnBudgetExceeded::Fail => FailDecision::FailRun {
            reason: refusal.exceeded.to_string(),
        },
        OnBudgetExceeded::Wait => FailDecision::Retry {
            at_ms: next_utc_day(inner.now()),
        },
    }
}

/// A step's output and how long its attempt took.
pub(crate) struct Success {
    pub output: Value,
    pub elapsed_ms: u64,
}

/// The run, flow and step of a lease; `Err` says why there is none (the task
/// is dead-lettered with that reason).
pub(crate) async fn locate<'a>(
    inner: &Inner,
    catalog: &'a Catalog,
    lease: &Lease,
) -> Result<(RunRecord, &'a CompiledFlow, &'a CompiledStep), String> {
    let run = match inner.store.run_get(&lease.run).await {
        Ok(Some(run)) => run,
        Ok(None) => return Err(format!("run `{}` is not in the store", lease.run)),
        Err(e) => return Err(format!("cannot read run `{}`: {e}", lease.run)),
    };
    let flow = catalog
        .flow(&run.flow_id)
        .ok_or_else(|| {
            format!(
                "flow `{}` is not served by this engine (its file was removed from the flows folder, or never loaded); put it back, then requeue this task",
                run.flow_id
            )
        })?;
    let step = flow.step(&lease.step).ok_or_else(|| {
        format!(
            "flow `{}` (version {} now served) has no step `{}` any more; put the step back, then requeue this task",
            flow.id, flow.version, lease.step
        )
    })?;
    Ok((run, flow, step))
}

/// Reports that `lease`'s step starts.
pub(crate) fn emit_started(inner: &Inner, lease: &Lease) {
    inner.emit(ProgressEvent::StepStarted {
        run: lease.run.clone(),
        step: lease.step.clone(),
        attempt: lease.attempt,
    });
}

/// Dead-letters `lease`'s task, whose run, flow or step [`locate`] could not
/// find (`reason` says which).
pub(crate) async fn dead_letter_unlocated(
    inner: &Arc<Inner>,
    lease: &Lease,
    reason: String,
) -> TaskOutcome {
    let decision = FailDecision::DeadLetter {
        reason: reason.clone(),
    };
    record_failure(inner, lease, &reason, decision, None).await
}

/// A step call's rendered config and input (JSON text) and its plugin.
pub(crate) struct PreparedCall<'a> {
    pub config: String,
    pub input: String,
    pub plugin: &'a Arc<Plugin>,
}

/// Renders the step's arguments from the run input and the outputs so far.
/// The error is the guest-visible error and the full text.
pub(crate) async fn prepare_call<'a>(
    inner: &Inner,
    catalog: &'a Catalog,
    lease: &Lease,
    run_input: &Value,
    step: &CompiledStep,
) -> Result<PreparedCall<'a>, (PluginError, String)> {
    let outputs = inner
        .store
        .step_outputs(&lease.run)
        .await
        .map_err(|e| plain(PluginError::Transient(format!("step outputs: {e}"))))?;
    let (config, input) = step_args(&inner.project, step, run_input, &outputs).map_err(plain)?;
    let plugin = catalog.plugin(&step.uses).ok_or_else(|| {
        plain(PluginError::Permanent(format!(
            "step plugin `{}` is not loaded",
            step.uses
        )))
    })?;
    Ok(PreparedCall {
        config,
        input,
        plugin,
    })
}

/// A guest-visible error with its text.
fn plain(e: PluginError) -> (PluginError, String) {
    let text = e.to_string();
    (e, text)
}

/// Renders the arguments and calls the step plugin. The error is the
/// guest-visible error and the full text.
async fn call_step(
    inner: &Arc<Inner>,
    catalog: &Catalog,
    lease: &Lease,
    run: &RunRecord,
    flow: &CompiledFlow,
    step: &CompiledStep,
) -> Result<Value, (PluginError, String)> {
    crate::capabilities::check_step(&inner.project, &run.tenant, flow, step)
        .map_err(|e| plain(PluginError::Permanent(e.to_string())))?;
    let call = prepare_call(inner, catalog, lease, &run.input, step).await?;
    let scope = TaskScope::of(inner, lease.task, lease.token, &run.tenant)
        .await
        .map_err(|e| plain(PluginError::Transient(format!("task record: {e}"))))?;
    let info = RunInfo {
        run_id: lease.run.clone(),
        flow_id: flow.id.clone(),
        step_id: step.id.clone(),
        attempt: lease.attempt,
        tenant: run.tenant.clone(),
    };
    let host = TaskHost::new(
        Arc::clone(inner),
        scope,
        &lease.run,
        &step.id,
        step.model.clone(),
        step.timeout,
    )
    .with_caps(step)
    .with_tools(ToolScope {
        info: info.clone(),
        caller: step.uses.clone(),
        deadline: Instant::now() + step.timeout,
    });
    let ctx = CallContext::new(CallLimits {
        timeout: step.timeout,
        ..CallLimits::default()
    })
    .with_step_host(Arc::new(host));
    let text = call
        .plugin
        .run_step(&ctx, &info, &call.config, &call.input)
        .await
        .map_err(|e| (e.to_plugin_error(), e.to_string()))?;
    serde_json::from_str(&text)
        .map_err(|e| plain(PluginError::Permanent(format!("output is not JSON: {e}"))))
}

/// Runs `call` while renewing the lease every third of its length. `None` if
/// the lease was lost (the call is dropped).
async fn with_renewal<T>(
    inner: &Arc<Inner>,
    lease: &Lease,
    call: impl Future<Output = T>,
) -> Option<T> {
    let lease_ms = inner.options.lease_ms;
    let mut ticker = tokio::time::interval(Duration::from_millis((lease_ms / 3).max(1)));
    ticker.tick().await;
    tokio::pin!(call);
    loop {
        tokio::select! {
            out = &mut call => return Some(out),
            _ = ticker.tick() => {
                match inner.store.renew(lease.task, lease.token, lease_ms, WorkerSite::InProcess, inner.now()).await {
                    Ok(_) => {}
                    Err(e @ (StoreError::StaleToken { .. } | StoreError::RunFinished { .. })) => {
                        tracing::warn!(task = lease.task, "lease lost while running: {e}");
                        return None;
                    }
                    Err(e) => tracing::warn!(task = lease.task, "lease renewal failed: {e}"),
                }
            }
        }
    }
}

pub(crate) async fn record_success(
    inner: &Arc<Inner>,
    lease: &Lease,
    flow: &CompiledFlow,
    step: &CompiledStep,
    success: Success,
    next: Option<&NextLease>,
) -> (TaskOutcome, Option<Lease>) {
    let candidates = step
        .dependents
        .iter()
        .filter_map(|id| flow.step(id))
        .map(|next| NextCandidate {
            task: NewTask {
                step_id: next.id.clone(),
                pool: next.pool.clone().unwrap_or_else(|| DEFAULT_POOL.into()),
                priority: 0,
            },
            needs: next.needs.clone(),
        })
        .collect();
    let advance = Advance {
        candidates,
        all_steps: flow.steps.iter().map(|s| s.id.clone()).collect(),
        final_steps: flow.final_steps().map(|s| s.id.clone()).collect(),
    };
    let (task, token, now) = (lease.task, lease.token, inner.now());
    // Not under the admission lock: completions of many workers share one
    // group commit, and the slot is freed by this commit, before any lease the
    // store could make into it (see `admission`).
    let done = match inner
        .store
        .complete_step(task, token, success.output, advance, now)
        .await
    {
        Ok(done) => done,
        Err(e) => return (store_refusal(inner, lease, e), None),
    };
    inner.emit(ProgressEvent::StepSucceeded {
        run: lease.run.clone(),
        step: lease.step.clone(),
        attempt: lease.attempt,
        elapsed_ms: success.elapsed_ms,
    });
    let next_lease = match next {
        Some(next) => {
            let ask = Ask {
                owner: &next.owner,
                pools: next.pools.as_deref(),
                lease_ms: next.lease_ms,
                site: WorkerSite::InProcess,
            };
            match admission::admit(inner, &ask).await {
                Ok(Admitted::Lease(l)) => Some(l),
                Ok(Admitted::Wait(_)) => None,
                Err(e) => {
                    tracing::warn!(task = lease.task, "cannot lease the next task: {e}");
                    None
                }
            }
        }
        None => None,
    };
    // Wake one idle worker per new task this worker did not take itself, and
    // one for the slot this task freed.
    let taken = next_lease.as_ref().map(|l| l.task);
    for _ in done.enqueued.iter().filter(|id| Some(**id) != taken) {
        inner.notify.notify_one();
    }
    if taken.is_none() {
        inner.notify.notify_one();
    }
    let run_finished = done.run_output.is_some();
    if run_finished {
        inner.run_ended(&lease.run, RunStatus::Succeeded).await;
    }
    (TaskOutcome::Succeeded { run_finished }, next_lease)
}

/// Records a failed attempt and `decision`; `decided_by` is the sha256 of
/// the retry strategy component that made it, if one did.
pub(crate) async fn record_failure(
    inner: &Arc<Inner>,
    lease: &Lease,
    error: &str,
    decision: FailDecision,
    decided_by: Option<&str>,
) -> TaskOutcome {
    let limits = &inner.project.limits;
    let error = &*crate::caps::cap_message(limits, error);
    let decision = crate::caps::cap_decision(limits, decision);
    let now = inner.now();
    let recorded = match decided_by {
        Some(by) => {
            inner
                .store
                .fail(
                    lease.task,
                    lease.token,
                    error,
                    decision.clone(),
                    Some(by),
                    now,
                )
                .await
        }
        None => {
            inner
                .store
                .fail(lease.task, lease.token, error, decision.clone(), None, now)
                .await
        }
    };
    // The slot this task held is free.
    inner.notify.notify_one();
    match recorded {
        Ok(()) => {
            inner.emit(ProgressEvent::StepFailed {
                run: lease.run.clone(),
                step: lease.step.clone(),
                attempt: lease.attempt,
                error: error.to_owned(),
                decision: decision.clone(),
                time_ms: now,
            });
            match &decision {
                FailDecision::Retry { .. } => inner.notify.notify_waiters(),
                FailDecision::FailRun { .. } => {
                    inner.run_ended(&lease.run, RunStatus::Failed).await;
                }
                FailDecision::DeadLetter { .. } => {}
            }
            TaskOutcome::Failed { decision }
        }
        Err(e) => store_refusal(inner, lease, e),
    }
}

fn store_refusal(inner: &Inner, lease: &Lease, e: StoreError) -> TaskOutcome {
    match e {
        StoreError::StaleToken { .. } | StoreError::RunFinished { .. } => {
            tracing::warn!(task = lease.task, "result dropped: {e}");
            // A refusal for a lease that had run out handed the task back to
            // the queue: a waiting worker takes it now.
            inner.notify.notify_waiters();
            TaskOutcome::LeaseLost
        }
        other => {
            tracing::error!(task = lease.task, "cannot record the result: {other}");
            TaskOutcome::StoreFailed(other.to_string())
        }
    }
}
