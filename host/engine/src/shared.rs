//! [`Inner`]: the engine's services, which every worker, task host and
//! background task shares (behind an `Arc`).
//!
//! Each field is one service that owns its state privately (the flows and
//! plugins, the store, the run lifecycle, wake-ups, admission claims,
//! budgets, swaps, circuits...). This module depends only on those services,
//! never on the procedures that use them (task execution, admission, the
//! scheduler), so the engine's modules import one another in one direction.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, PoisonError, RwLock};

use weft_flow::ProjectConfig;
use weft_runtime::Runtime;
use weft_store_api::SharedStore;

use crate::budgets::Budgets;
use crate::call_caps::CallCapHits;
use crate::catalog::Catalog;
use crate::circuit::Circuits;
use crate::claims::AdmissionClaims;
use crate::lifecycle::RunLifecycle;
use crate::model_policy::ModelRequests;
use crate::options::EngineOptions;
use crate::retry_hint::RetryHints;
use crate::swaps::Swaps;
use crate::wakeups::Wakeups;

/// What every worker and task host shares.
pub(crate) struct Inner {
    pub project: ProjectConfig,
    /// The flows and plugins; replaced whole by
    /// [`crate::Engine::replace_flows`].
    pub catalog: RwLock<Arc<Catalog>>,
    pub store: SharedStore,
    pub runtime: Runtime,
    pub options: EngineOptions,
    /// Every change of a run: recorded, reported, woken for.
    pub lifecycle: RunLifecycle,
    /// Who is woken when (workers, scheduler, lease reaper).
    pub wakeups: Arc<Wakeups>,
    /// Model adapter calls since open (journal replays not counted).
    pub adapter_calls: AtomicU64,
    /// Each model's circuit breaker.
    pub circuits: Circuits,
    /// Model requests by model and outcome.
    pub model_requests: ModelRequests,
    /// Model-call charges committed since open.
    pub charges: crate::charges::Charges,
    /// Providers' `retry-after`s, floors of the next retry of their steps.
    pub retry_hints: RetryHints,
    /// How many times workers were started (their owner ids differ).
    pub starts: AtomicU64,
    /// Reservations of model calls in flight and budget refusals.
    pub budgets: Arc<Budgets>,
    /// Attempts that went past their step's `max_model_calls`/`max_tool_calls`.
    pub call_caps: CallCapHits,
    /// Tasks this process's admissions chose, and policy failures.
    pub claims: AdmissionClaims,
    /// Components swapped in at run time.
    pub swaps: Swaps,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The reaper holds the engine weakly: woken, it finds it gone and ends.
        self.wakeups.reaper().wake();
    }
}

impl Inner {
    /// The engine's clock: ms since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.options.clock.now_ms()
    }

    /// The current flows and plugins.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::clone(&self.catalog.read().unwrap_or_else(PoisonError::into_inner))
    }
}
