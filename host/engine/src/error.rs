//! The errors of the engine.

use std::path::PathBuf;

use weft_core::PluginKind;
use weft_flow::{InputError, Location};
use weft_runtime::LoadError;
use weft_store_api::StoreError;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The ledger signing key (`ledger.signing_key`, `$WEFT_LEDGER_SIGNING_KEY`)
    /// cannot be used.
    #[error("cannot use the ledger signing key {}: {reason}", path.display())]
    SigningKey {
        /// The key file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The state folder could not be created.
    #[error("cannot create the state folder {}: {source}", path.display())]
    StateDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("cannot open the store {}: {source}", path.display())]
    OpenStore {
        /// The store file.
        path: PathBuf,
        /// Why.
        source: StoreError,
    },
    /// A database store could not be opened (never shows its URL).
    #[error("cannot open the store {what}: {source}")]
    OpenDatabase {
        /// The store, e.g. `PostgreSQL (the URL in $WEFT_DATABASE_URL)`.
        what: String,
        /// Why.
        source: StoreError,
    },
    /// `store: { backend: postgres }` names an environment variable that is
    /// not set.
    #[error(
        "weft.yaml's store is PostgreSQL, but ${var} is not set: export it with the connection URL (postgres://user:password@host:5432/db), or name another variable in `store.url_env`"
    )]
    DatabaseUrlMissing {
        /// The variable `store.url_env` names.
        var: String,
    },
    /// A store operation failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The Wasm runtime could not be created.
    #[error("cannot start the Wasm runtime: {0}")]
    Runtime(#[source] LoadError),
    /// A plugin a flow references could not be loaded as the kind it is used as.
    #[error(
        "plugin `{plugin}` ({}), referenced at {referenced_at}, cannot be loaded as a {expected} plugin: {source}",
        path.display()
    )]
    Plugin {
        /// The plugin's name in `weft.yaml`.
        plugin: String,
        /// Its `.wasm` file.
        path: PathBuf,
        /// Where a flow (or `weft.yaml`) names it.
        referenced_at: Location,
        /// The kind it is used as.
        expected: PluginKind,
        /// Why it did not load.
        source: Box<LoadError>,
    },
    /// The run's tenant may not use a plugin or model the flow uses.
    #[error(
        "tenant `{tenant}` may not use {what}: it is not in tenants.{tenant}.capabilities.{key} in weft.yaml"
    )]
    Forbidden {
        /// The tenant.
        tenant: String,
        /// What it may not use, and where the flow uses it.
        what: String,
        /// The capabilities list that lacks it (`plugins` or `models`).
        key: &'static str,
    },
    /// No flow with this id was given to the engine.
    #[error("unknown flow `{0}`")]
    UnknownFlow(String),
    /// The run input does not fit the flow's `inputs:`.
    #[error("invalid input for flow `{flow}`: {source}")]
    Input {
        /// The flow.
        flow: String,
        /// What is wrong.
        source: InputError,
    },
    /// The flow has no `schedule:` entry at this index.
    #[error("flow `{flow}` has no schedule {index} (it has {count}; the first is 0)")]
    UnknownSchedule {
        /// The flow.
        flow: String,
        /// The index asked for.
        index: usize,
        /// How many schedules the flow has.
        count: usize,
    },
    /// The flows folder to watch is not there.
    #[error("there is no folder {}: expected the folder of the flow files", .0.display())]
    NoFlowsFolder(PathBuf),
    /// The flows folder could not be watched for changes.
    #[error("cannot watch the flows folder {}: {source}", dir.display())]
    Watch {
        /// The folder.
        dir: PathBuf,
        /// Why.
        source: notify::Error,
    },
    /// A pool that `weft.yaml` does not declare.
    #[error("unknown pool `{0}` (not declared under `pools:` in weft.yaml)")]
    UnknownPool(String),

    /// A component offered by a hot swap was refused; the old one stays.
    #[error("{what}: the component was refused, the old one stays: {reason}")]
    SwapRefused {
        /// What was to be swapped (`pool:<name>`, `retry:<flow>`).
        what: String,
        /// Why (the runtime's world check names the missing or extra item).
        reason: String,
    },

    /// No run with this id is in the store.
    #[error("unknown run `{0}`")]
    UnknownRun(String),
    /// No task with this id is in the store.
    #[error("unknown task {0}")]
    UnknownTask(u64),
    /// A worker's lease is not the task's current one: its result or request
    /// is refused.
    #[error("task {task}: lease lost: {reason}")]
    LeaseLost {
        /// The task.
        task: u64,
        /// Why.
        reason: String,
    },
    /// A lease request that cannot be served as asked.
    #[error("bad lease request: {0}")]
    BadLease(String),
    /// A submit's `not_before` is further ahead than a run may wait.
    #[error("a run may wait at most {max_days} days to start; not_before is {days} days ahead")]
    StartTooLate {
        /// How far ahead it was, in whole days.
        days: u64,
        /// The most a run may wait.
        max_days: u64,
    },
    /// The store could not record a result (the task comes back when its
    /// lease expires).
    #[error("cannot record the result: {0}")]
    Recording(String),
    /// A plugin's file could not be read.
    #[error("cannot read the plugin file {}: {source}", path.display())]
    PluginFile {
        /// The `.wasm` file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
