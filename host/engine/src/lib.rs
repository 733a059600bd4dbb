//! The weft engine: it submits runs of compiled flows and executes their DAG of
//! sandboxed Wasm steps.
//!
//! - [`Engine::open`] opens the store (`<state>/weft.redb`), a runtime (component
//!   cache `<state>/cache`) and every plugin the flows reference, each checked
//!   to be of the kind it is used as.
//! - [`Engine::submit`] checks the input and stores the run with its initial
//!   steps as ready tasks.
//! - [`Engine::start`] runs a pool of workers that lease tasks, renew the lease
//!   while the step runs, call the step plugin, and record its output; the
//!   store enqueues each step whose `needs` are now all met and finishes the run
//!   in the same transaction (so a join after parallel steps runs exactly once).
//! - A failed attempt goes to the step's retry strategy plugin (`exp-backoff`
//!   when nothing names one and weft.yaml declares it; else the run fails).
//!   Its decision stays typed ([`weft_store_api::FailDecision`]) in
//!   [`ProgressEvent::StepFailed`]; [`describe_decision`] words it for people
//!   (`retry in 1.2s at 14:03:07 UTC`).
//! - Every end of a run — last step done, a failure that fails it,
//!   [`Engine::cancel`], [`Engine::dlq_purge`] — is reported in one place
//!   (`lifecycle.rs`): one [`ProgressEvent::RunFinished`], which metrics count
//!   and `?wait=` long-polls wait for.
//! - A lease is over at its expiry: the store refuses a late report with it,
//!   and the lease reaper (`lease_reaper.rs`) hands the task back as the lease
//!   runs out and wakes the idle workers, local and long-polling.
//! - A step's model calls are routed to the model's adapter and journaled, so a
//!   step that runs again gets the journaled answers; each answered call is a
//!   [`ProgressEvent::ModelCalled`].
//! - A model call runs under the model's HTTP policy ([`model_http_policy`]:
//!   its `allowed_hosts`, the API key from its `api_key_env`, its timeouts)
//!   and its circuit breaker ([`Engine::circuits`]); outcomes are counted
//!   ([`Engine::model_requests`]).
//! - [`Engine::tick_schedules`] fires the flows' cron schedules that are due
//!   (each fire's run and the schedule's new state in one commit, with the
//!   idempotency key `cron:<flow>:<fire time>`); [`Engine::start_scheduler`]
//!   runs it on time in the background.
//! - [`Engine::start_housekeeping`] purges expired idempotency keys in the
//!   background (weft.yaml `idempotency.ttl`); [`Engine::prune_schedules`]
//!   drops the stored state of schedules no loaded flow has (daemon start,
//!   flow reload).
//! - [`FlowFolder`] keeps, per flow file, the version that serves (a broken
//!   file keeps its last good one); [`FolderEvents::watch`] and
//!   [`FolderEvents::serve`] reload a changed folder into the engine with
//!   [`Engine::replace_flows`] and publish a [`FlowStatus`].
//!
//! **Run output**: with one final step (a step nothing needs), its output; with
//! several, an object of their outputs keyed by step id.
//!
//! - **Pools** (`pools:` in weft.yaml): every lease goes through admission
//!   (`admission.rs`): a pool's free slots, rate limit and daily cost limit,
//!   then its policy component picks among a bounded list of candidates.
//!   [`Engine::set_pool_policy`] and [`Engine::set_retry_strategy`] swap
//!   components at run time, recorded in the ledger streams `@pool:<name>`
//!   and `@retry:<flow>`; [`Engine::pools_status`] is what `weft pools` shows.

mod admission;
mod args;
mod budgets;
mod call_caps;
mod capabilities;
mod caps;
mod catalog;
mod charges;
mod circuit;
mod claims;
mod clock;
mod commit_relay;
mod conditions;
mod engine;
mod error;
mod events;
mod flow_folder;
mod flow_reload;
mod flow_watch;
mod head_signing;
mod host;
mod housekeeping;
mod lease_reaper;
mod lifecycle;
mod model_policy;
mod options;
mod plugin_source;
mod plugins;
mod pools;
mod progress;
mod remote;
mod retry;
mod retry_hint;
mod run;
mod schedule;
mod schedule_plan;
mod scheduler;
mod shared;
mod spend;
mod stops;
mod store_open;
mod swap;
mod swaps;
mod task;
mod tools;
mod wakeups;
mod worker;

pub use admission::{CANDIDATES_PER_TENANT, MAX_CANDIDATES};
pub use budgets::{BudgetExceeded, Limited};
pub use catalog::Catalog;
pub use charges::ChargeTotal;
pub use circuit::{CircuitSnapshot, CircuitState};
pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::{DEFAULT_POOL, Engine, tenant_idempotency_key};
pub use error::EngineError;
pub use events::Observer;
pub use flow_folder::{FlowFileError, FlowFolder, FlowScan};
pub use flow_reload::FlowStatus;
pub use flow_watch::{FlowWatcher, FolderEvents, RELOAD_MAX_DELAY, RELOAD_QUIET};
pub use head_signing::SIGNING_KEY_ENV;
pub use housekeeping::{HousekeepingHandle, PURGE_BATCH, PURGE_EVERY};
pub use lifecycle::TaskOutcome;
pub use model_policy::{ModelOutcome, model_http_policy};
pub use options::{EngineOptions, MAX_START_DELAY_MS, SubmitOptions};
pub use plugin_source::PluginComponent;
pub use plugins::check_plugins;
pub use pools::PoolStatus;
pub use progress::{ProgressEvent, describe_decision, human_duration, when};
pub use remote::{LEASE_MS_RANGE, MAX_LEASE_WAIT};
pub use run::HeldLease;
pub use schedule::{Fired, ScheduleInfo};
pub use schedule_plan::{
    CRON_KEY_TTL_MS, MISSED_GRACE_MS, fire_key, manual_key, next_fire_after, schedule_key,
};
pub use scheduler::{MAX_SLEEP, SchedulerHandle};
pub use store_open::{open_store, postgres_config, redb_file};
pub use swap::{MAX_SWAP_NAME, SwapReport, valid_swap_name};
pub use swaps::PRIORITY_ORDER;
pub use worker::Workers;
