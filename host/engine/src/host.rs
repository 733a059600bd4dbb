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
use std::time::{Duration, Instant};

use serde_json::Value;
use weft_core::{Completion, CompletionRequest, Money, PluginError, RunInfo};
use weft_flow::{CompiledStep, ModelDecl};
use weft_runtime::{CallContext, CallLimits, StepHost};
use weft_store_api::Charge;

use crate::args::plugin_config;
use crate::budgets::{self, CallScope, Refusal, Reservation, ReserveError};
use crate::call_caps::{CallCaps, CapKind};
use crate::circuit::Verdict;
use crate::model_policy::{ModelOutcome, model_http_policy};
use crate::progress::ProgressEvent;
use crate::shared::Inner;

/// Whose a task is: what its model calls are checked against and charged to.
#[derive(Debug, Clone)]
pub(crate) struct TaskScope {
    /// The task id and its lease's token (budget refusals are remembered by
    /// the attempt).
    pub task: u64,
    /// The lease's fencing token.
    pub token: u64,
    /// The run's tenant.
    pub tenant: String,
    /// The task's pool.
    pub pool: String,
}

impl TaskScope {
    /// The scope of task `task`'s attempt under lease `token`, of a run of
    /// `tenant` (its pool read from the store).
    pub async fn of(
        inner: &Inner,
        task: u64,
        token: u64,
        tenant: &str,
    ) -> Result<Self, weft_store_api::StoreError> {
        let pool = inner
            .store
            .task_get(task)
            .await?
            .map(|t| t.pool)
            .ok_or(weft_store_api::StoreError::TaskNotFound(task))?;
        Ok(Self {
            task,
            token,
            tenant: tenant.to_owned(),
            pool,
        })
    }
}

/// What a step's host needs to run tools for it.
#[derive(Debug, Clone)]
pub(crate) struct ToolScope {
    /// The caller's run-info, given to every tool unchanged.
    pub info: RunInfo,
    /// The caller's own plugin, which it may not call as a tool.
    pub caller: String,
    /// When the caller's attempt runs out of time.
    pub deadline: Instant,
}

/// Serves one task's `host` import.
pub(crate) struct TaskHost {
    inner: Arc<Inner>,
    scope: TaskScope,
    run: String,
    step: String,
    /// The step's `model:`, used when a request names no model.
    default_model: Option<String>,
    timeout: Duration,
    next_call: AtomicU32,
    /// `None` for a tool's own host: tools cannot call tools.
    tools: Option<ToolScope>,
    next_tool: AtomicU32,
    /// The step's `max_model_calls` and `max_tool_calls`.
    caps: CallCaps,
}

impl TaskHost {
    /// The host of `step` of run `run`: the step's default model, timeout and
    /// caps on its model and tool calls; no tools until [`Self::with_tools`].
    pub fn new(inner: Arc<Inner>, scope: TaskScope, run: &str, step: &CompiledStep) -> Self {
        Self {
            inner,
            scope,
            run: run.to_owned(),
            step: step.id.clone(),
            default_model: step.model.clone(),
            timeout: step.timeout,
            next_call: AtomicU32::new(0),
            tools: None,
            next_tool: AtomicU32::new(0),
            caps: CallCaps {
                model: step.max_model_calls,
                tool: step.max_tool_calls,
            },
        }
    }

    /// The refusal of call `index` if it is past the cap of `kind`.
    pub(crate) fn past_cap(&self, kind: CapKind, index: u32) -> Result<(), PluginError> {
        let cap = match kind {
            CapKind::Model => self.caps.model,
            CapKind::Tool => self.caps.tool,
        };
        if index < cap {
            return Ok(());
        }
        let attempt = (self.scope.task, self.scope.token);
        Err(self
            .inner
            .call_caps
            .refuse(attempt, &self.step, kind, index, cap))
    }

    /// The same host, able to run tools for the step described by `scope`.
    pub fn with_tools(mut self, scope: ToolScope) -> Self {
        self.tools = Some(scope);
        self
    }

    /// The host of tool call `index` of this step: its model calls are
    /// journaled under `<step>/tool-<index>`, and it runs no tools.
    pub(crate) fn tool_host(&self, index: u32) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            scope: self.scope.clone(),
            run: self.run.clone(),
            step: format!("{}/tool-{index}", self.step),
            default_model: self.default_model.clone(),
            timeout: self.timeout,
            next_call: AtomicU32::new(0),
            tools: None,
            next_tool: AtomicU32::new(0),
            caps: self.caps,
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn run(&self) -> &str {
        &self.run
    }

    pub(crate) fn step(&self) -> &str {
        &self.step
    }

    pub(crate) fn tools(&self) -> Option<&ToolScope> {
        self.tools.as_ref()
    }

    async fn journaled(&self, index: u32) -> Result<Option<Completion>, PluginError> {
        let stored = self
            .inner
            .store
            .journal_get(&self.run, &self.step, index)
            .await
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
        self.inner
            .lifecycle
            .model_called(ProgressEvent::ModelCalled {
                run: self.run.clone(),
                step: self.step.clone(),
                call_index: index,
                from_journal,
                model: answer.model.clone(),
                input_tokens: answer.usage.input_tokens,
                output_tokens: answer.usage.output_tokens,
            });
    }

    /// The model `req` names (or the step's `model:`), if declared and allowed
    /// for the task's tenant.
    fn model_of(&self, req: &CompletionRequest) -> Result<(String, ModelDecl), PluginError> {
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
        let tenant = &self.scope.tenant;
        if let Some(caps) = inner.project.tenant_capabilities(tenant)
            && !caps.allows_model(&name)
        {
            return Err(PluginError::Permanent(format!(
                "model `{name}` is not allowed for tenant `{tenant}` (see tenants.{tenant}.capabilities.models in weft.yaml)"
            )));
        }
        Ok((name, model.clone()))
    }

    async fn call_adapter(
        &self,
        name: &str,
        model: &ModelDecl,
        req: &CompletionRequest,
    ) -> Result<Completion, PluginError> {
        let inner = &self.inner;
        let catalog = inner.catalog();
        let Some(adapter) = catalog.plugin(&model.adapter) else {
            return Err(PluginError::Permanent(format!(
                "the adapter `{}` of model `{name}` is not loaded",
                model.adapter
            )));
        };
        let config = plugin_config(&inner.project, &model.adapter, &model.config).to_string();
        // The tenant's `hosts` capability narrows the model's `allowed_hosts`.
        let tenant_hosts = inner.project.tenant_hosts(&self.scope.tenant);
        let policy = model_http_policy(model, tenant_hosts.as_deref()).inspect_err(|_| {
            inner.model_requests.count(name, ModelOutcome::NoKey);
        })?;
        let circuit = &model.net.circuit;
        let admitted = inner
            .circuits
            .admit(name, circuit, inner.now())
            .inspect_err(|_| inner.model_requests.count(name, ModelOutcome::CircuitOpen))?;
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
        inner.model_requests.count(name, outcome);
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

    /// Reserves the most `req` could cost against the tenant's budget and the
    /// pool's limit; a refusal is remembered for the task and returned as a
    /// permanent error.
    async fn reserve(
        &self,
        name: &str,
        model: &ModelDecl,
        req: &CompletionRequest,
    ) -> Result<Reservation, PluginError> {
        let inner = &self.inner;
        let (tenant_budget, mode) = budgets::tenant_budget(&inner.project, &self.scope.tenant);
        // A limit set through `Engine::set_pool_limit` wins over the
        // pool's `cost_limit_daily_usd` in weft.yaml.
        let pool_limit = inner
            .budgets
            .pool_limit(&self.scope.pool)
            .or_else(|| crate::admission::pool_decl(inner, &self.scope.pool).cost_limit_daily_usd);
        let limited = tenant_budget.is_some() || pool_limit.is_some();
        let priced_output = model.price.is_some_and(|p| !p.output_per_million.is_zero());
        let output = match budgets::output_bound(model, req) {
            Some(n) => n,
            None if limited && priced_output => {
                return Err(PluginError::InvalidInput(format!(
                    "model `{name}`: a call under a budget needs `max-tokens` (or `max_tokens` in the model's config in weft.yaml) to bound its cost"
                )));
            }
            None => 0,
        };
        let bound = budgets::token_cost(model, budgets::input_bound(req), output);
        let scope = CallScope {
            tenant: &self.scope.tenant,
            pool: &self.scope.pool,
            tenant_budget,
            pool_limit,
        };
        match inner
            .budgets
            .reserve(&inner.store, &scope, bound, self.timeout, inner.now())
            .await
        {
            Ok(r) => Ok(r),
            Err(ReserveError::Store(e)) => Err(PluginError::Transient(format!("budget: {e}"))),
            Err(ReserveError::Exceeded(exceeded)) => {
                let message = exceeded.to_string();
                inner.budgets.refused(
                    self.scope.task,
                    self.scope.token,
                    Refusal { exceeded, mode },
                );
                Err(PluginError::Permanent(message))
            }
        }
    }
}

#[async_trait::async_trait]
impl StepHost for TaskHost {
    async fn complete(&self, req: CompletionRequest) -> Result<Completion, PluginError> {
        let index = self.next_call.fetch_add(1, Ordering::SeqCst);
        self.complete_at(index, &req).await
    }

    async fn artifact_get(&self, key: &str) -> Option<String> {
        match self.inner.store.artifact_get(&self.run, key).await {
            Ok(v) => v.map(|v| v.to_string()),
            Err(e) => {
                tracing::warn!(run = %self.run, key, "artifact_get: {e}");
                None
            }
        }
    }

    async fn artifact_put(&self, key: &str, value: String) -> Result<(), PluginError> {
        crate::caps::check_artifact(&self.inner.project.limits, key, &value)?;
        let value: Value = serde_json::from_str(&value)
            .map_err(|e| PluginError::InvalidInput(format!("artifact `{key}`: {e}")))?;
        let now = self.inner.now();
        self.inner
            .store
            .artifact_put(&self.run, key, value, now)
            .await
            .map_err(|e| PluginError::Transient(format!("artifact `{key}`: {e}")))
    }

    async fn call_tool(
        &self,
        plugin: &str,
        config: String,
        input: String,
    ) -> Result<String, PluginError> {
        let index = self.next_tool.fetch_add(1, Ordering::SeqCst);
        self.call_tool_at(index, plugin, &config, &input).await
    }
}

impl TaskHost {
    /// The charge of `answer`: the provider's `cost_usd` when it reports one,
    /// else its tokens × the model's price.
    fn charge(
        &self,
        name: &str,
        model: &ModelDecl,
        answer: &Completion,
        reservation: &Reservation,
    ) -> Charge {
        let reserved = reservation.amount();
        let usage = &answer.usage;
        let cost = match Money::from_usd(usage.cost_usd) {
            Ok(cost) if !cost.is_zero() => cost,
            Ok(_) => budgets::token_cost(model, usage.input_tokens, usage.output_tokens),
            Err(e) => {
                tracing::warn!(
                    run = %self.run, step = %self.step, model = name,
                    "the adapter's reported cost is not an amount of money ({e}); charged by tokens"
                );
                budgets::token_cost(model, usage.input_tokens, usage.output_tokens)
            }
        };
        if cost > reserved {
            tracing::warn!(
                run = %self.run, step = %self.step, model = name,
                "model call cost {cost} but at most {reserved} was reserved (the provider's reported cost or tokens exceed the bound); charged in full"
            );
        }
        Charge {
            day: reservation.day().to_owned(),
            pool: self.scope.pool.clone(),
            model: name.to_owned(),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            micro_usd: cost.micros(),
            reservation: None,
        }
    }

    /// Model call number `index` of this attempt: the journaled answer, else
    /// the adapter's (journaled before it is returned).
    pub async fn complete_at(
        &self,
        index: u32,
        req: &CompletionRequest,
    ) -> Result<Completion, PluginError> {
        self.past_cap(CapKind::Model, index)?;
        if let Some(answer) = self.journaled(index).await? {
            self.called(index, true, &answer);
            return Ok(answer);
        }
        let (name, model) = self.model_of(req)?;
        let mut reservation = self.reserve(&name, &model, req).await?;
        let answer = self.call_adapter(&name, &model, req).await?;
        let value = serde_json::to_value(&answer)
            .map_err(|e| PluginError::Permanent(format!("cannot journal the answer: {e}")))?;
        let mut charge = self.charge(&name, &model, &answer, &reservation);
        // The charge releases the reservation in its own transaction; it is
        // committed even if this call is dropped meanwhile (a lost lease):
        // spawned, it goes on.
        let reserved = reservation.charged();
        charge.reservation = reserved;
        let (inner, run, step, now) = (
            Arc::clone(&self.inner),
            self.run.clone(),
            self.step.clone(),
            self.inner.now(),
        );
        let tenant = self.scope.tenant.clone();
        let stored = tokio::spawn(async move {
            let (pool, model, micro_usd) =
                (charge.pool.clone(), charge.model.clone(), charge.micro_usd);
            let stored = inner
                .store
                .journal_put_charged(&run, &step, index, value, charge, now)
                .await;
            // Committed: counted here, even if the call was dropped meanwhile.
            if let Ok(true) = stored {
                inner.charges.add(&tenant, &pool, &model, micro_usd);
            }
            // A charge that failed wrote nothing: the reservation still holds.
            if stored.is_err()
                && let Some(id) = reserved
                && let Err(e) = inner.store.release_budget(id, now).await
            {
                tracing::warn!(
                    reservation = id,
                    "releasing a budget reservation failed: {e}"
                );
            }
            drop(reservation);
            stored
        })
        .await
        .map_err(|e| PluginError::Transient(format!("journal: {e}")))?
        .map_err(|e| PluginError::Transient(format!("journal: {e}")))?;
        if stored {
            self.called(index, false, &answer);
            return Ok(answer);
        }
        // Another attempt journaled this call first: its answer wins.
        let answer = self.journaled(index).await?.unwrap_or(answer);
        self.called(index, true, &answer);
        Ok(answer)
    }
}
