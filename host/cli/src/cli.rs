//! The command line, as clap sees it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use weft_core::PluginKind;

pub use crate::cli_ledger::*;
pub use crate::cli_plugin::*;
pub use crate::cli_search::*;
pub use crate::cli_service::*;
pub use crate::cli_store::*;
pub use crate::cli_workers::*;
use crate::units::parse_size;
use weft_flow::duration::parse_duration;

/// weft: a workflow engine whose moving parts are WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "weft", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and try plugins (Wasm components).
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Check flow files and weft.yaml, and that every plugin they name is a
    /// component of the kind it is used as. Prints every problem; exits non-zero
    /// if there is one.
    Validate(ValidateArgs),
    /// Run a flow in this process until it finishes; prints its output.
    Run(FlowRunArgs),
    /// Inspect and continue the runs kept in the state folder.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// The dead-letter queue: tasks that failed for good and wait for an operator.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Write a starter project (weft.yaml, a flow, the reference plugins) into DIR.
    Init(InitArgs),
    /// Submit a run to the daemon; with `--wait`, wait for its outcome.
    Enqueue(EnqueueArgs),
    /// The task queue.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// The flows' cron schedules, as the daemon fires them.
    #[command(subcommand)]
    Schedules(SchedulesCommand),
    /// Named locks with a time to live and a fencing token, for scripts and
    /// flows that must not run twice at once.
    #[command(subcommand)]
    Lock(LockCommand),
    /// What model calls cost, per UTC day, tenant, pool and model, with totals.
    Costs(CostsArgs),
    /// Serve the engine: HTTP/JSON API, Unix socket, Prometheus metrics, and
    /// in-process workers; runs until SIGINT or SIGTERM.
    Daemon(DaemonArgs),
    /// Lease tasks from a daemon and run their steps here (a stateless worker).
    Worker(WorkerArgs),
    /// Supervise several `weft worker` processes: a fixed number, or scaled on
    /// the daemon's queue (see docs/deploy.md).
    #[command(subcommand)]
    Workers(WorkersCommand),
    /// API tokens for the daemon.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Search runs: keywords, phrases and fields (see docs/search.md).
    Search(SearchArgs),
    /// The search index.
    #[command(subcommand)]
    Index(IndexCommand),
    /// The pools: running/max, queued, cost today, the running and waiting tasks.
    Pools(PoolsArgs),
    /// Pool policies: swap a pool's policy component at run time.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Retry strategies: swap a flow's retry strategy component at run time.
    #[command(subcommand)]
    Retry(RetryCommand),
    /// The store file: check it for damage, and repair it.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Signed ledger heads: make a signing key, anchor the signed heads in a
    /// file kept elsewhere.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Measure the path users run: a real daemon, HTTP clients, the pool
    /// policy and the search index; prints a table (see docs/performance.md).
    Bench(crate::cli_bench::BenchArgs),
}

/// `weft pools [--pool NAME]`
#[derive(Debug, Args)]
pub struct PoolsArgs {
    /// Only this pool.
    #[arg(long)]
    pub pool: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

/// A component to swap in, and its config.
#[derive(Debug, Args)]
pub struct SwapArgs {
    /// The component (`.wasm`); refused, and nothing changes, unless it is of
    /// the right world.
    pub file: PathBuf,
    /// Its config as JSON, or `@file` (default: the one weft.yaml gives).
    #[arg(long)]
    pub config: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `weft policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Replace the pool's policy: its next admission decision uses FILE.
    Set {
        /// The pool.
        #[arg(long)]
        pool: String,
        #[command(flatten)]
        swap: SwapArgs,
    },
}

/// `weft retry …`
#[derive(Debug, Subcommand)]
pub enum RetryCommand {
    /// Replace the retry strategy of every step of the flow: its next failed
    /// attempt is decided by FILE.
    Set {
        /// The flow id.
        #[arg(long)]
        flow: String,
        #[command(flatten)]
        swap: SwapArgs,
    },
}

/// Where the state is: `--state DIR`, else `.weft/` next to the project's weft.yaml.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// The state folder (default: the project's, `.weft/` next to weft.yaml).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Talk to the weft daemon at this URL (or `unix:PATH`, its `--socket`)
    /// instead of opening the state folder.
    #[arg(long, env = "WEFT_DAEMON", value_name = "URL")]
    pub daemon: Option<String>,
}

/// Commands that only talk to a daemon: where it is, and the output format.
#[derive(Debug, Clone, Args)]
pub struct DaemonOutArgs {
    /// The weft daemon's URL, e.g. `http://127.0.0.1:7878`, or `unix:PATH`
    /// for its Unix socket.
    #[arg(long, env = "WEFT_DAEMON", value_name = "URL")]
    pub daemon: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A run, and where to find it.
#[derive(Debug, Args)]
pub struct RunIdArgs {
    /// The run id, e.g. `demo-2026-11-22-004-x7m`.
    pub run: String,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `weft runs …`
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// The runs, newest first.
    List(RunsListArgs),
    /// A run and each of its tasks: state, attempts, output, errors.
    Status(RunIdArgs),
    /// A run's ledger events.
    Tail(RunsTailArgs),
    /// Recompute a run's hash chain; exits 1 if it is broken.
    Verify(RunsVerifyArgs),
    /// A run's artifacts: keys and values, or the value of one.
    Artifacts(RunsArtifactsArgs),
    /// Continue a run (e.g. after `weft dlq requeue`) until it finishes.
    Resume(RunIdArgs),
    /// Stop a run that is no longer wanted: its open tasks are dropped and its
    /// running steps stopped.
    Cancel(RunsCancelArgs),
}

/// Arguments of `weft runs cancel`.
#[derive(Debug, Args)]
pub struct RunsCancelArgs {
    #[command(flatten)]
    pub run: RunIdArgs,
    /// Why: kept as the run's error (`cancelled: <reason>`) and in its
    /// `run-cancelled` ledger event.
    #[arg(long)]
    pub reason: Option<String>,
}

/// Arguments of `weft runs list`.
#[derive(Debug, Args)]
pub struct RunsListArgs {
    /// Only runs of this flow.
    #[arg(long)]
    pub flow: Option<String>,
    /// Only runs with this status (queued, running, succeeded, failed, cancelled).
    #[arg(long)]
    pub status: Option<RunStatusArg>,
    /// At most this many runs.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub state: StateArgs,
}

/// A run status, as `--status` takes it.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RunStatusArg {
    /// Submitted, not started.
    Queued,
    /// Started, not finished.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Cancelled.
    Cancelled,
}

/// Arguments of `weft runs tail`.
#[derive(Debug, Args)]
pub struct RunsTailArgs {
    /// The run id.
    pub run: String,
    /// Keep printing new events until the run finishes.
    #[arg(long, short = 'f')]
    pub follow: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

/// Arguments of `weft runs artifacts`.
#[derive(Debug, Args)]
pub struct RunsArtifactsArgs {
    /// The run id.
    pub run: String,
    /// Only this artifact: print its value.
    pub key: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `weft dlq …`
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// The dead-lettered tasks.
    Ls(DlqLsArgs),
    /// Put dead-lettered tasks back in the queue (then `weft runs resume RUN`).
    Requeue(DlqRequeueArgs),
    /// Drop dead-lettered tasks for good (asks on a terminal; `--yes` does not ask).
    Purge(PurgeArgs),
}

/// Arguments of `weft dlq ls`.
#[derive(Debug, Args)]
pub struct DlqLsArgs {
    /// Only tasks dead-lettered this long ago or less (e.g. `10m`, `2h`, `7d`).
    #[arg(long, value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// At most this many: the most recently dead-lettered.
    #[arg(long)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub state: StateArgs,
}

/// Arguments of `weft dlq requeue`.
#[derive(Debug, Args)]
pub struct DlqRequeueArgs {
    /// A task id (as `weft dlq ls` shows it), a run id, or a glob over run ids
    /// (`*` any characters, `?` one: `'p1-*'`). Without it, `--all` means
    /// every dead-lettered task.
    pub target: Option<String>,
    /// Requeue every task TARGET matches (needed when it matches more than one).
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

/// Arguments of `weft dlq purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// A task id (as `weft dlq ls` shows it), a run id, or a glob over run ids
    /// (`*` any characters, `?` one). Without it, `--all` means every
    /// dead-lettered task.
    pub target: Option<String>,
    /// Every dead-lettered task (without TARGET).
    #[arg(long)]
    pub all: bool,
    /// Do not ask: drop them for good; their steps will never run. Needed when
    /// stdin or stderr is not a terminal.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

/// Arguments of `weft init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project folder (created if missing).
    pub dir: PathBuf,
    /// Overwrite an existing weft.yaml, flow and plugins.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `weft validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Flow files to check (default: every flows/*.yaml next to weft.yaml).
    pub files: Vec<PathBuf>,
    /// Print the diagnostics as JSON on stdout (file, line, column, code,
    /// message, suggestion), for editors and CI annotations.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `weft run`.
#[derive(Debug, Args)]
pub struct FlowRunArgs {
    /// The flow: its id (a file in flows/ next to weft.yaml) or a flow file.
    pub flow: String,
    /// The run input, as JSON or `@file.json` (default `{}`).
    #[arg(long, short = 'i')]
    pub input: Option<String>,
    /// An idempotency key: submitting it again returns the first run.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// The state folder (default: the project's, `.weft/` next to weft.yaml).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Print a JSON report (run id, status, output, ledger verification).
    #[arg(long)]
    pub json: bool,
}

/// `weft plugin …`
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a component's world, exports, imports, size and sha256, and whether it
    /// satisfies a weft world. Exits non-zero when it satisfies none.
    Inspect(InspectArgs),
    /// Call a plugin once in the sandbox and print what it returned.
    Run(RunArgs),
    /// Write a new plugin project (sources, the WIT it needs, build.sh, a
    /// README, sample cases) in Rust, Python, JavaScript or C.
    New(PluginNewArgs),
    /// Build a plugin project into `dist/NAME.wasm` with its language's
    /// toolchain; says what is missing and how to install it.
    Build(PluginBuildArgs),
    /// Run a plugin's sample cases and print a pass/fail table; exits non-zero
    /// when a case fails.
    Test(PluginTestArgs),
}

/// Arguments of `weft plugin inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The `.wasm` file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `weft plugin run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The `.wasm` file.
    pub file: PathBuf,
    /// The input, as JSON or `@file.json`. For a step: its input. For a retry
    /// strategy: an attempt (`{"run_id",…,"error":{"kind":"transient","message":"…"}}`).
    /// For a pool policy: `{"state": {…}, "candidates": […]}`. For a model adapter: a
    /// completion request. Retry and pool plugins get a sample when it is left out.
    #[arg(long, short = 'i')]
    pub input: Option<String>,
    /// The plugin's config, as JSON or `@file.json`.
    #[arg(long, short = 'c', default_value = "{}")]
    pub config: String,
    /// Which world to call it as; by default the one it satisfies.
    #[arg(long)]
    pub kind: Option<PluginKind>,
    /// Wall-clock deadline of the call.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Memory cap of the call (e.g. 64MiB, 1GiB).
    #[arg(long, default_value = "128MiB", value_parser = parse_size)]
    pub memory: usize,
    /// Cap on the size of what the call returns.
    #[arg(long, default_value = "4MiB", value_parser = parse_size)]
    pub max_output: usize,
    /// The model adapter that serves a step's model calls (default: the built-in
    /// mock-model, deterministic and offline).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The model adapter's config, as JSON or `@file.json`.
    #[arg(long, default_value = "{}")]
    pub model_config: String,
    /// Print a JSON report (output, logs, artifacts, timing) instead of the output.
    #[arg(long)]
    pub json: bool,
}
