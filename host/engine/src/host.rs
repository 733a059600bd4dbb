//! The `host` import of one task: model calls routed to the model's adapter and
//! journaled, artifacts in the store.
//!
//! Model calls are journaled by (run, step, call index), the index counting the
//! calls of this attempt from 0. A step that runs again (a retry, or after a
//! crash) and asks in the same order gets the journaled answers without the
//! adapter being called. Each answered call is reported as
//! [`ProgressEvent::ModelCalled`] once its answer is in the journal.
//!
//! A call that reaches the adapter goes through the model's circuit breaker
//! and runs under the model's HTTP policy (allowed hosts, API key, timeouts);
//! its outcome is counted per model.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::Value;
use weft_core::{Completion, CompletionRequest, PluginError};
use weft_runtime::{CallContext, CallLimits, StepHost};

use crate::args::plugin_config;
use crate::circuit::Verdict;
use crate::engine::Inner;
use crate::model_policy::{ModelOutcome, model_http_policy};
use crate::progress::ProgressEvent;

/// Serves one task's `host` import.
pub(crate) struct TaskHost {
    inner: Arc<Inner>,
    run: String,
    step: String,
    /// The step's `model:`, used when a request names no model.
    default_model: Option<String>,
    timeout: Duration,
    next_call: AtomicU32,
}

impl TaskHost {
    pub fn new(
        inner: Arc<Inner>,
        run: &str,
        step: &str,
        default_model: Option<String>,
        timeout: Duration,
    ) -> Self {
        Self {
            inner,
            run: run.to_owned(),
            step: step.to_owned(),
            default_model,
            timeout,
            next_call: AtomicU32::new(0),
        }
    }

    fn journaled(&self, index: u32) -> Result<Option<Completion>, PluginError> {
        let stored = self
            .inner
            .store
            .journal_get(&self.run, &self.step, index)
            .map_err(|e| PluginError::Transient(format!("journal: {e}")))?;
        stored
            .map(|v| {
                serde_json::from_value(v).map_err(|e| {
                    PluginError::Permanent(format!("journaled answer {index} is unreadable: {e}"))
                })
            })
            .transpose()
    }

    /// Reports call `index`, whose `answer` is in the journal now.
    fn called(&self, index: u32, from_journal: bool, answer: &Completion) {
        self.inner.emit(ProgressEvent::ModelCalled {
            run: self.run.clone(),
            step: self.step.clone(),
            call_index: index,
            from_journal,
            model: answer.model.clone(),
            input_tokens: answer.usage.input_tokens,
            output_tokens: answer.usage.output_tokens,
        });
    }

    async fn call_adapter(&self, req: &CompletionRequest) -> Result<Completion, PluginError> {
        let inner = &self.inner;
        let name = if req.model.is_empty() {
            self.default_model.clone().unwrap_or_default()
        } else {
            req.model.clone()
        };
        let Some(model) = inner.project.models.get(&name) else {
            let known: Vec<&str> = inner.project.models.keys().map(String::as_str).collect();
            return Err(PluginError::InvalidInput(format!(
                "unknown model `{name}` (weft.yaml declares: {})",
                known.join(", ")
            )));
        };
        let catalog = inner.catalog();
        let Some(adapter) = catalog.plugin(&model.adapter) else {
            return Err(PluginError::Permanent(format!(
                "the adapter `{}` of model `{name}` is not loaded",
                model.adapter
            )));
        };
        let config = plugin_config(&inner.project, &model.adapter, &model.config).to_string();
        let policy = model_http_policy(model, None).inspect_err(|_| {
            inner.model_requests.count(&name, ModelOutcome::NoKey);
        })?;
        let circuit = &model.net.circuit;
        let admitted = inner
            .circuits
            .admit(&name, circuit, inner.now())
            .inspect_err(|_| inner.model_requests.count(&name, ModelOutcome::CircuitOpen))?;
        let ctx = CallContext::new(CallLimits {
            timeout: self.timeout,
            ..CallLimits::default()
        })
        .with_http(policy.clone());
        inner.adapter_calls.fetch_add(1, Ordering::SeqCst);
        let result = adapter
            .complete(&ctx, &config, req)
            .await
            .map_err(|e| e.to_plugin_error());
        let refusals = policy.refusals();
        let (outcome, verdict) = match &result {
            Ok(_) => (ModelOutcome::Ok, Verdict::Healthy),
            Err(_) if !refusals.is_empty() => (ModelOutcome::Denied, Verdict::Neutral),
            Err(PluginError::Transient(_)) => (ModelOutcome::Transient, Verdict::Transient),
            Err(PluginError::Permanent(_)) => (ModelOutcome::Permanent, Verdict::Healthy),
            Err(PluginError::InvalidInput(_)) => (ModelOutcome::InvalidInput, Verdict::Neutral),
        };
        inner.model_requests.count(&name, outcome);
        let now = inner.now();
        admitted.record(verdict, now);
        if let (Err(PluginError::Transient(_)), Some(ms)) = (&result, policy.retry_after_ms()) {
            let at = now.saturating_add(ms);
            inner.retry_hints.note(&self.run, &self.step, at, now);
        }
        result.map_err(|e| match e {
            // The adapter saw only "denied"; the host knows why.
            PluginError::Permanent(m) | PluginError::Transient(m) if !refusals.is_empty() => {
                PluginError::Permanent(format!("{m} [host: {}]", refusals.join("; ")))
            }
            other => other,
        })
    }
}

#[async_trait::async_trait]
impl StepHost for TaskHost {
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, PluginError> {
        let index = self.next_call.fetch_add(1, Ordering::SeqCst);
        self.complete_at(index, &req).await
    }

    async fn artifact_get(&self, key: &str) -> Option<String> {
        match self.inner.store.artifact_get(&self.run, key) {
            Ok(v) => v.map(|v| v.to_string()),
            Err(e) => {
                tracing::warn!(run = %self.run, key, "artifact_get: {e}");
                None
            }
        }
    }

    async fn artifact_put(&self, key: &str, value: String) -> Result<(), PluginError> {
        let value: Value = serde_json::from_str(&value)
            .map_err(|e| PluginError::InvalidInput(format!("artifact `{key}`: {e}")))?;
        let now = self.inner.now();
        self.inner
            .store
            .artifact_put(&self.run, key, value, now)
            .await
            .map_err(|e| PluginError::Transient(format!("artifact `{key}`: {e}")))
    }
}

impl TaskHost {
    /// Model call number `index` of this attempt: the journaled answer, else
    /// the adapter's (journaled before it is returned).
    pub async fn complete_at(
        &self,
        index: u32,
        req: &CompletionRequest,
    ) -> Result<Completion, PluginError> {
        if let Some(answer) = self.journaled(index)? {
            self.called(index, true, &answer);
            return Ok(answer);
        }
        let answer = self.call_adapter(req).await?;
        let value = serde_json::to_value(&answer)
            .map_err(|e| PluginError::Permanent(format!("cannot journal the answer: {e}")))?;
        let now = self.inner.now();
        let stored = self
            .inner
            .store
            .journal_put(&self.run, &self.step, index, value, now)
            .await
            .map_err(|e| PluginError::Transient(format!("journal: {e}")))?;
        if stored {
            self.called(index, false, &answer);
            return Ok(answer);
        }
        // Another attempt journaled this call first: its answer wins.
        let answer = self.journaled(index)?.unwrap_or(answer);
        self.called(index, true, &answer);
        Ok(answer)
    }
}
