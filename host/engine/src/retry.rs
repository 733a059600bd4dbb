//! What happens after a failed attempt: the step's retry strategy decides.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use weft_core::{AttemptInfo, PluginError, RetryDecision};
use weft_flow::{CompiledFlow, CompiledStep};
use weft_runtime::{CallContext, CallLimits};
use weft_store_api::{FailDecision, Lease};

use crate::args::plugin_config;
use crate::catalog::Catalog;
use crate::shared::Inner;

/// How long a retry strategy may think.
const DECIDE_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the step's retry strategy (config: the `retry:` block's keys merged over
/// the plugin's `config`) what to do. A step without a retry policy (nothing
/// names one and `weft.yaml` has no `exp-backoff` retry plugin) fails the run,
/// saying so; a strategy that itself fails dead-letters the task with that
/// reason. A strategy swapped in for the flow (`weft retry set`) decides
/// instead of the configured one. Beside the decision: the sha256 of the
/// component that made it, if one did.
pub(crate) async fn decide(
    inner: &Arc<Inner>,
    catalog: &Catalog,
    flow: &CompiledFlow,
    step: &CompiledStep,
    lease: &Lease,
    error: PluginError,
    elapsed_ms: u64,
) -> (FailDecision, Option<String>) {
    // A huge message would be copied into the strategy's sandbox and every
    // reason that quotes it.
    let error = crate::caps::cap_error(&inner.project.limits, error);
    let swapped = inner.swaps.retry_for(&flow.id);
    let policy = match &step.retry {
        Some(policy) => Cow::Borrowed(policy),
        // Compiled against this project, a step without a policy is one whose
        // default `exp-backoff` is missing; ask the project why.
        None => match inner.project.default_retry() {
            Ok(policy) => Cow::Owned(policy),
            Err(why) if swapped.is_none() => {
                let reason = format!(
                    "step `{}` failed and has no retry strategy: {why}: {error}",
                    step.id
                );
                return (FailDecision::FailRun { reason }, None);
            }
            Err(_) => Cow::Owned(weft_flow::RetryPolicy {
                strategy: "swapped".into(),
                config: serde_json::Value::Object(serde_json::Map::new()),
            }),
        },
    };
    let (strategy, config) = match swapped {
        Some((plugin, config)) => {
            let config = config.unwrap_or_else(|| policy.config.clone());
            (plugin, config.to_string())
        }
        None => {
            let Some(strategy) = catalog.plugin(&policy.strategy) else {
                let reason = format!(
                    "retry strategy `{}` is not loaded; {error}",
                    policy.strategy
                );
                return (FailDecision::DeadLetter { reason }, None);
            };
            let config = plugin_config(&inner.project, &policy.strategy, &policy.config);
            (Arc::clone(strategy), config.to_string())
        }
    };
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
    let decision = match strategy.decide(&ctx, &config, &attempt).await {
        // No sooner than the provider's `retry-after` asked.
        Ok(RetryDecision::RetryAfter(ms)) => FailDecision::Retry {
            at_ms: inner.now().saturating_add(ms).max(not_before),
        },
        Ok(RetryDecision::DeadLetter(reason)) => FailDecision::DeadLetter { reason },
        Ok(RetryDecision::Fail(reason)) => FailDecision::FailRun { reason },
        Err(e) => FailDecision::DeadLetter {
            reason: format!("retry strategy `{}` failed: {e}", strategy.name()),
        },
    };
    (decision, Some(strategy.sha256().to_owned()))
}
