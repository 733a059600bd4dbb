//! What happens after a failed attempt: the step's retry strategy decides.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use weft_core::{AttemptInfo, PluginError, RetryDecision};
use weft_flow::{CompiledFlow, CompiledStep};
use weft_runtime::{CallContext, CallLimits};
use weft_store::{FailDecision, Lease};

use crate::args::plugin_config;
use crate::catalog::Catalog;
use crate::engine::Inner;

/// How long a retry strategy may think.
const DECIDE_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the step's retry strategy (config: the `retry:` block's keys merged over
/// the plugin's `config`) what to do. A step without a retry policy (nothing
/// names one and `weft.yaml` has no `exp-backoff` retry plugin) fails the run,
/// saying so; a strategy that itself fails dead-letters the task with that
/// reason.
pub(crate) async fn decide(
    inner: &Arc<Inner>,
    catalog: &Catalog,
    flow: &CompiledFlow,
    step: &CompiledStep,
    lease: &Lease,
    error: PluginError,
    elapsed_ms: u64,
) -> FailDecision {
    let policy = match &step.retry {
        Some(policy) => Cow::Borrowed(policy),
        // Compiled against this project, a step without a policy is one whose
        // default `exp-backoff` is missing; ask the project why.
        None => match inner.project.default_retry() {
            Ok(policy) => Cow::Owned(policy),
            Err(why) => {
                return FailDecision::FailRun {
                    reason: format!(
                        "step `{}` failed and has no retry strategy: {why}: {error}",
                        step.id
                    ),
                };
            }
        },
    };
    let Some(strategy) = catalog.plugin(&policy.strategy) else {
        return FailDecision::DeadLetter {
            reason: format!(
                "retry strategy `{}` is not loaded; {error}",
                policy.strategy
            ),
        };
    };
    let config = plugin_config(&inner.project, &policy.strategy, &policy.config).to_string();
    let attempt = AttemptInfo {
        run_id: lease.run.clone(),
        flow_id: flow.id.clone(),
        step_id: step.id.clone(),
        attempt: lease.attempt,
        error,
        elapsed_ms,
    };
    let ctx = CallContext::new(CallLimits {
        timeout: DECIDE_TIMEOUT,
        ..CallLimits::default()
    });
    let not_before = inner.retry_hints.take(&lease.run, &step.id).unwrap_or(0);
    match strategy.decide(&ctx, &config, &attempt).await {
        // No sooner than the provider's `retry-after` asked.
        Ok(RetryDecision::RetryAfter(ms)) => FailDecision::Retry {
            at_ms: inner.now().saturating_add(ms).max(not_before),
        },
        Ok(RetryDecision::DeadLetter(reason)) => FailDecision::DeadLetter { reason },
        Ok(RetryDecision::Fail(reason)) => FailDecision::FailRun { reason },
        Err(e) => FailDecision::DeadLetter {
            reason: format!("retry strategy `{}` failed: {e}", policy.strategy),
        },
    }
}

/// A short description of a decision, for progress output.
pub(crate) fn describe(decision: &FailDecision) -> String {
    match decision {
        FailDecision::Retry { at_ms } => format!("retry at {at_ms}"),
        FailDecision::DeadLetter { reason } => format!("dead-letter: {reason}"),
        FailDecision::FailRun { reason } => format!("fail run: {reason}"),
    }
}
