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
use weft_store_api::{FailDecision, Lease, NextLease, RunRecord, StoreError};

use crate::admission::{self, Admitted, Ask};
use crate::args::step_args;
use crate::budgets::{Refusal, next_utc_day};
use crate::catalog::Catalog;
use crate::conditions::{Gate, advance_of, record_failure};
use crate::engine::Engine;
use crate::host::{TaskHost, TaskScope, ToolScope};
use crate::lifecycle::TaskOutcome;
use crate::retry;
use crate::shared::Inner;
use crate::stops::StopGuard;

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
    let catalog = inner.catalog();
    let (run, flow, step) = match located(inner, &catalog, &lease).await {
        Ok(found) => found,
        Err(outcome) => return (outcome, None),
    };
    match crate::conditions::gate(inner, &lease, &run, flow, step).await {
        Gate::Run => {}
        Gate::Ended(outcome) => return (outcome, None),
        Gate::Failed(text) => {
            let error = PluginError::Permanent(text.clone());
            let (decision, by) = retry::decide(inner, &catalog, flow, step, &lease, error, 0).await;
            let located = Some((&run, flow, step));
            let outcome =
                record_failure(inner, &lease, located, &text, decision, by.as_deref()).await;
            return (outcome, None);
        }
    }
    // Registered before the start is reported: a cancel by anyone who saw
    // the start finds the step to stop.
    let stop = inner.lifecycle.stops().enter(&lease.run);
    inner.lifecycle.step_started(&lease, &run);
    let call = call_step(inner, &catalog, &lease, &run, flow, step);
    let result = with_renewal(inner, &lease, &stop, call).await;
    drop(stop);
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
            record_success(inner, &lease, &run, flow, step, success, next).await
        }
        Err((error, text)) => {
            let (decision, by) = match refusal {
                Some(refusal) => (budget_decision(inner, refusal), None),
                None => retry::decide(inner, &catalog, flow, step, &lease, error, elapsed_ms).await,
            };
            let located = Some((&run, flow, step));
            let outcome =
                record_failure(inner, &lease, located, &text, decision, by.as_deref()).await;
            (outcome, None)
        }
    }
}

/// The run, flow and step of `lease`; a task whose run, flow or step cannot
/// be found is dead-lettered saying which, and that is the `Err`.
pub(crate) async fn located<'a>(
    inner: &Inner,
    catalog: &'a Catalog,
    lease: &Lease,
) -> Result<(RunRecord, &'a CompiledFlow, &'a CompiledStep), TaskOutcome> {
    match catalog.locate(&inner.store, lease).await {
        Ok(found) => Ok(found),
        Err(unlocated) => Err(inner
            .lifecycle
            .dead_letter_unlocated(lease, unlocated)
            .await),
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
    let host = TaskHost::new(Arc::clone(inner), scope, &lease.run, step).with_tools(ToolScope {
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
/// the lease was lost or the run ended (`stop`): the call is dropped.
async fn with_renewal<T>(
    inner: &Arc<Inner>,
    lease: &Lease,
    stop: &StopGuard<'_>,
    call: impl Future<Output = T>,
) -> Option<T> {
    let lease_ms = inner.options.lease_ms;
    let mut ticker = tokio::time::interval(Duration::from_millis((lease_ms / 3).max(1)));
    ticker.tick().await;
    tokio::pin!(call);
    let stopped = stop.stopped();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            out = &mut call => return Some(out),
            () = &mut stopped => {
                tracing::info!(task = lease.task, run = %lease.run, "the run ended: its step is stopped");
                return None;
            }
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
    run: &RunRecord,
    flow: &CompiledFlow,
    step: &CompiledStep,
    success: Success,
    next: Option<&NextLease>,
) -> (TaskOutcome, Option<Lease>) {
    let advance = advance_of(flow, step);
    let next_lease = || async {
        let next = next?;
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
    };
    inner
        .lifecycle
        .step_succeeded(
            lease,
            run,
            success.output,
            advance,
            success.elapsed_ms,
            next_lease,
        )
        .await
}
