//! A loaded plugin, and the four kinds of call. Each call gets a fresh `Store`
//! from the pre-instantiated component, runs under the call's limits, and any
//! failure (trap, limit, deadline) fails that call alone.

use std::sync::Arc;

use wasmtime::component::InstancePre;
use wasmtime::{Store, UpdateDeadline};
use weft_core::{
    AttemptInfo, Candidate, Completion, CompletionRequest, PluginError, PluginKind, PoolState,
    RetryDecision, RunInfo,
};

use crate::bindings::{model_adapter, pool_policy, retry_strategy, step};
use crate::cache::ComponentOrigin;
use crate::convert;
use crate::error::{CallError, LoadError, StderrTail};
use crate::host_api::CallContext;
use crate::http_policy::HttpPolicy;
use crate::limits::LimitHit;
use crate::state::CallState;

/// Run one export call in a fresh store under the call's deadline: instantiate,
/// look up the typed export, call it, and settle the outcome. `$guest` and
/// `$store` name the loaded export and the store inside `$call`.
macro_rules! call_guest {
    ($self:ident, $ctx:ident, $indices:ident, |$guest:ident, $store:ident| $call:expr) => {{
        let mut store = $self.store($ctx);
        let fut = async {
            let instance = $self
                .pre
                .instantiate_async(&mut store)
                .await
                .map_err(Stage::Instantiate)?;
            let $guest = $indices.load(&mut store, &instance).map_err(Stage::Run)?;
            let $store = &mut store;
            $call.await.map_err(Stage::Run)
        };
        let outcome = tokio::time::timeout($ctx.limits.timeout, fut).await;
        settle(outcome, &store, $ctx)
    }};
}

/// Where each export's functions are, looked up once at load time.
pub(crate) enum ExportIndices {
    Step(step::GuestIndices),
    Model(model_adapter::GuestIndices),
    Retry(retry_strategy::GuestIndices),
    Pool(pool_policy::GuestIndices),
}

impl ExportIndices {
    pub(crate) fn new(kind: PluginKind, pre: &InstancePre<CallState>) -> Result<Self, LoadError> {
        let wrong = |e: wasmtime::Error| LoadError::WrongSignature {
            export: kind.export_name(),
            detail: format!("{e:#}"),
        };
        Ok(match kind {
            PluginKind::Step => Self::Step(step::GuestIndices::new(pre).map_err(wrong)?),
            PluginKind::Model => Self::Model(model_adapter::GuestIndices::new(pre).map_err(wrong)?),
            PluginKind::Retry => {
                Self::Retry(retry_strategy::GuestIndices::new(pre).map_err(wrong)?)
            }
            PluginKind::Pool => Self::Pool(pool_policy::GuestIndices::new(pre).map_err(wrong)?),
        })
    }
}

/// A component checked against its world and ready to be called.
pub struct Plugin {
    name: Arc<str>,
    kind: PluginKind,
    sha256: String,
    size: usize,
    origin: ComponentOrigin,
    pre: InstancePre<CallState>,
    exports: ExportIndices,
}

impl Plugin {
    pub(crate) fn new(
        name: Arc<str>,
        kind: PluginKind,
        sha256: String,
        size: usize,
        origin: ComponentOrigin,
        pre: InstancePre<CallState>,
        exports: ExportIndices,
    ) -> Self {
        Self {
            name,
            kind,
            sha256,
            size,
            origin,
            pre,
            exports,
        }
    }

    /// The name it was loaded under (the file stem for files).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its world.
    pub fn kind(&self) -> PluginKind {
        self.kind
    }

    /// Hex SHA-256 of the component's bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Size of the component in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether loading compiled it, or found it in the memory or disk cache.
    pub fn origin(&self) -> ComponentOrigin {
        self.origin
    }

    fn store(&self, ctx: &CallContext) -> Store<CallState> {
        let mut store = Store::new(self.pre.engine(), CallState::new(self.name.clone(), ctx));
        store.limiter(|s| &mut s.limiter);
        // Yield to the scheduler at every epoch tick, so the deadline can stop even
        // a plugin that never returns. tokio's own `yield_now` (not wasmtime's
        // generic wake-and-pend) makes the scheduler run other tasks first; without
        // it a spinning plugin starves its neighbours on the same worker thread.
        store.epoch_deadline_callback(|_| {
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        });
        store
    }

    /// Instantiate and look up the typed exports once, to surface signature and
    /// start-up errors at load time.
    pub(crate) async fn trial_instantiate(&self, ctx: &CallContext) -> Result<(), LoadError> {
        let mut store = self.store(ctx);
        let fut = async {
            let instance = self
                .pre
                .instantiate_async(&mut store)
                .await
                .map_err(Stage::Instantiate)?;
            match &self.exports {
                ExportIndices::Step(i) => i.load(&mut store, &instance).map(drop),
                ExportIndices::Model(i) => i.load(&mut store, &instance).map(drop),
                ExportIndices::Retry(i) => i.load(&mut store, &instance).map(drop),
                ExportIndices::Pool(i) => i.load(&mut store, &instance).map(drop),
            }
            .map_err(Stage::Run)
        };
        match tokio::time::timeout(ctx.limits.timeout, fut).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Stage::Run(e))) => Err(LoadError::WrongSignature {
                export: self.kind.export_name(),
                detail: format!("{e:#}"),
            }),
            Ok(Err(failed @ Stage::Instantiate(_))) => match classify(failed, &store, ctx) {
                // Instantiating sizes the memory as declared: the declaration is too big.
                CallError::MemoryLimit { cap, requested } => {
                    Err(crate::memory_decl::over_call_cap(cap, requested))
                }
                other => Err(LoadError::Instantiate(other.to_string())),
            },
            Err(_) => Err(LoadError::Instantiate(format!(
                "instantiation did not finish within {:?}",
                ctx.limits.timeout
            ))),
        }
    }

    /// Run a step plugin once. `config` and `input` must be JSON; the output is
    /// checked to be JSON within the output cap.
    pub async fn run_step(
        &self,
        ctx: &CallContext,
        info: &RunInfo,
        config: &str,
        input: &str,
    ) -> Result<String, CallError> {
        let ExportIndices::Step(indices) = &self.exports else {
            return Err(self.wrong_kind(PluginKind::Step));
        };
        let info = convert::run_info_to_guest(info);
        let (config, input) = (config.to_owned(), input.to_owned());
        let output = call_guest!(self, ctx, indices, |guest, store| {
            guest.call_run(store, &info, &config, &input)
        })?
        .map_err(convert::error_from_guest)?;
        check_size(output.len(), ctx)?;
        check_json(&output)?;
        Ok(output)
    }

    /// Ask a model adapter for a completion. Its outgoing HTTP goes through
    /// `ctx.http` (none: every request refused); an error it returns has the
    /// policy's API key redacted.
    pub async fn complete(
        &self,
        ctx: &CallContext,
        config: &str,
        req: &CompletionRequest,
    ) -> Result<Completion, CallError> {
        let ExportIndices::Model(indices) = &self.exports else {
            return Err(self.wrong_kind(PluginKind::Model));
        };
        let req = convert::request_to_guest(req);
        let config = config.to_owned();
        let completion = call_guest!(self, ctx, indices, |guest, store| {
            guest.call_complete(store, &config, &req)
        })?
        .map_err(convert::error_from_guest)
        .map_err(|e| match &ctx.http {
            Some(policy) => redact_error(e, policy),
            None => e,
        })?;
        check_size(
            completion.text.len() + completion.model.len() + completion.finish_reason.len(),
            ctx,
        )?;
        Ok(convert::completion_from_guest(completion))
    }

    /// Ask a retry strategy what to do after a failed attempt.
    pub async fn decide(
        &self,
        ctx: &CallContext,
        config: &str,
        attempt: &AttemptInfo,
    ) -> Result<RetryDecision, CallError> {
        let ExportIndices::Retry(indices) = &self.exports else {
            return Err(self.wrong_kind(PluginKind::Retry));
        };
        let attempt = convert::attempt_to_guest(attempt);
        let config = config.to_owned();
        let decision = call_guest!(self, ctx, indices, |guest, store| {
            guest.call_decide(store, &config, &attempt)
        })?;
        Ok(convert::decision_from_guest(decision))
    }

    /// Ask a pool policy which candidates to admit. Returns the ids as the policy
    /// gave them; the caller enforces its own hard limits.
    pub async fn select(
        &self,
        ctx: &CallContext,
        config: &str,
        state: &PoolState,
        candidates: &[Candidate],
    ) -> Result<Vec<String>, CallError> {
        let ExportIndices::Pool(indices) = &self.exports else {
            return Err(self.wrong_kind(PluginKind::Pool));
        };
        let state = convert::pool_state_to_guest(state);
        let candidates: Vec<_> = candidates.iter().map(convert::candidate_to_guest).collect();
        let config = config.to_owned();
        let chosen = call_guest!(self, ctx, indices, |guest, store| {
            guest.call_select(store, &config, &state, &candidates)
        })?;
        check_size(chosen.iter().map(String::len).sum(), ctx)?;
        Ok(chosen)
    }

    fn wrong_kind(&self, expected: PluginKind) -> CallError {
        CallError::WrongKind {
            expected,
            actual: self.kind,
        }
    }
}

/// Where in a call an error came from: instantiating the component, or running
/// it (looking up and calling its export).
enum Stage {
    Instantiate(wasmtime::Error),
    Run(wasmtime::Error),
}

/// Turn the outcome of a call (timed out, failed, or returned) into the call's
/// result, naming the limit that stopped it where one did.
fn settle<R>(
    outcome: Result<Result<R, Stage>, tokio::time::error::Elapsed>,
    store: &Store<CallState>,
    ctx: &CallContext,
) -> Result<R, CallError> {
    store.data().finish_logs();
    match outcome {
        Err(_) => Err(CallError::DeadlineExceeded {
            timeout: ctx.limits.timeout,
        }),
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(classify(e, store, ctx)),
    }
}

fn classify(failed: Stage, store: &Store<CallState>, ctx: &CallContext) -> CallError {
    let state = store.data();
    match state.limiter.hit {
        Some(LimitHit::Memory { cap, requested }) => {
            return CallError::MemoryLimit { cap, requested };
        }
        Some(LimitHit::Table { cap, requested }) => {
            return CallError::TableLimit { cap, requested };
        }
        None => {}
    }
    let e = match failed {
        Stage::Instantiate(e) => return CallError::Instantiate(format!("{e:#}")),
        Stage::Run(e) => e,
    };
    let stderr = StderrTail(state.output_tail());
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::StackOverflow) => CallError::StackOverflow { stderr },
        Some(wasmtime::Trap::Interrupt) => CallError::DeadlineExceeded {
            timeout: ctx.limits.timeout,
        },
        Some(trap) => CallError::Trap {
            message: trap.to_string(),
            stderr,
        },
        None => CallError::Trap {
            message: format!("{e:#}"),
            stderr,
        },
    }
}

fn redact_error(e: PluginError, policy: &HttpPolicy) -> PluginError {
    match e {
        PluginError::Transient(m) => PluginError::Transient(policy.redact(&m)),
        PluginError::Permanent(m) => PluginError::Permanent(policy.redact(&m)),
        PluginError::InvalidInput(m) => PluginError::InvalidInput(policy.redact(&m)),
    }
}

fn check_size(size: usize, ctx: &CallContext) -> Result<(), CallError> {
    if size > ctx.limits.output_bytes {
        return Err(CallError::OutputTooLarge {
            size,
            cap: ctx.limits.output_bytes,
        });
    }
    Ok(())
}

fn check_json(text: &str) -> Result<(), CallError> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(drop)
        .map_err(|e| CallError::InvalidJson(e.to_string()))
}

/// Measurement hooks for `cargo bench`; not part of the API.
#[doc(hidden)]
pub mod bench {
    use std::time::{Duration, Instant};

    use super::{CallContext, ExportIndices, Plugin, convert};

    /// Instantiate a step plugin once, then time `iterations` calls of `run` on
    /// that one instance (the sandbox normally uses a fresh instance per call;
    /// this isolates the cost of the call itself). `None` if it is not a step or
    /// a call fails.
    pub async fn step_call_only(
        plugin: &Plugin,
        ctx: &CallContext,
        input: &str,
        iterations: u64,
    ) -> Option<Duration> {
        let ExportIndices::Step(indices) = &plugin.exports else {
            return None;
        };
        let mut store = plugin.store(ctx);
        let instance = plugin.pre.instantiate_async(&mut store).await.ok()?;
        let guest = indices.load(&mut store, &instance).ok()?;
        let info = convert::run_info_to_guest(&weft_core::RunInfo {
            run_id: "bench".into(),
            flow_id: "bench".into(),
            step_id: "bench".into(),
            attempt: 1,
            tenant: "bench".into(),
        });
        let (config, input) = ("{}".to_owned(), input.to_owned());
        let started = Instant::now();
        for _ in 0..iterations {
            guest
                .call_run(&mut store, &info, &config, &input)
                .await
                .ok()?
                .ok()?;
        }
        Some(started.elapsed())
    }
}
