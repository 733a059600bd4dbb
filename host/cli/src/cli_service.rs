//! The command line of the service: `weft daemon`, `weft worker`, `weft token`,
//! and the commands that talk to a daemon or its queue (`enqueue`, `queue`,
//! `lock`, `schedules`). Re-exported by [`crate::cli`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand};

use crate::cli::{DaemonOutArgs, StateArgs};
use weft_flow::duration::parse_duration;

/// Arguments of `weft worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The daemon to work for (also `$WEFT_DAEMON`): its URL, or `unix:PATH`
    /// for its Unix socket; `$WEFT_TOKEN` is sent as its bearer token.
    #[arg(long, env = "WEFT_DAEMON")]
    pub daemon: Option<String>,
    /// Tasks run at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Only lease tasks of these pools (comma-separated; default: every pool).
    #[arg(long, value_delimiter = ',')]
    pub pools: Option<Vec<String>>,
    /// The lease asked for; heartbeats renew it every third of that, and a
    /// killed worker's task comes back after at most this long (1s to 10m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub lease: Duration,
    /// On SIGTERM/SIGINT, how long running tasks get to finish.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub drain_grace: Duration,
    /// This worker's name, the start of its lease owner id (default: the host
    /// name).
    #[arg(long, env = "WEFT_INSTANCE")]
    pub instance_id: Option<String>,
}

/// `weft token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new random API token: prints the token (once; weft keeps no copy)
    /// and the weft.yaml line with its SHA-256 that lets the daemon accept it.
    New(TokenNewArgs),
}

/// Arguments of `weft token new`: exactly one of `--tenant`, `--admin`, `--worker`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("role").required(true).args(["tenant", "admin", "worker"])))]
pub struct TokenNewArgs {
    /// A token of this tenant: it submits and sees only the tenant's runs.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// An admin token: every endpoint, every tenant's runs.
    #[arg(long)]
    pub admin: bool,
    /// A worker token: only the worker endpoints.
    #[arg(long)]
    pub worker: bool,
    /// The token's name in weft.yaml (default: `token-` and the first 8 hex
    /// digits of its hash).
    #[arg(long)]
    pub name: Option<String>,
    /// Print JSON (`token`, `sha256`, `name`, `role`, `yaml_path`, `yaml_line`).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `weft enqueue`.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// The flow id, as the daemon knows it, or a flow file (its `id` is used).
    pub flow: String,
    /// The run input, as JSON or `@file.json` (default `{}`).
    #[arg(long, short = 'i')]
    pub input: Option<String>,
    /// An idempotency key: submitting it again returns the first run.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Higher runs first.
    #[arg(long)]
    pub priority: Option<u32>,
    /// Start the run no earlier than this RFC 3339 time
    /// (`2026-12-07T09:00:00Z`); it waits queued, holding no worker.
    #[arg(long, value_name = "TIME", conflicts_with = "delay")]
    pub at: Option<String>,
    /// Start the run no earlier than this long from now (`90s`, `10m`, `2h`).
    #[arg(long, value_name = "DURATION")]
    pub delay: Option<String>,
    /// Wait up to this many seconds (at most 300) for the run to finish; the exit
    /// code then says whether it succeeded.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=300))]
    pub wait: Option<u64>,
    #[command(flatten)]
    pub out: DaemonOutArgs,
}

/// `weft queue …`
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Depth, ready tasks per pool, inflight, delayed, dead letters, oldest-ready lag.
    Stats(StateArgs),
    /// The task the next lease would take (a peek: nothing is leased).
    Next(QueueNextArgs),
}

/// Arguments of `weft queue next`.
#[derive(Debug, Args)]
pub struct QueueNextArgs {
    /// Only this pool (default: every pool).
    #[arg(long)]
    pub pool: Option<String>,
    /// Only the runs of this project: those whose id starts with `<P>-`
    /// (weft.yaml's `id_prefix`, or the one a flow takes from its path).
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

/// Arguments of `weft costs`.
#[derive(Debug, Args)]
pub struct CostsArgs {
    /// Only this tenant (a tenant's token sees only its own anyway).
    #[arg(long)]
    pub tenant: Option<String>,
    /// From this far back: `7d` (the last 7 UTC days, today included), or a
    /// UTC day `yyyy-mm-dd`. Default: every day.
    #[arg(long)]
    pub since: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `weft lock …`
#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Take a lock, or renew one you hold; prints its fencing token. Exits 1,
    /// naming the holder, when someone else holds it.
    Acquire(LockAcquireArgs),
    /// Release a lock with the token `weft lock acquire` printed.
    Release(LockReleaseArgs),
    /// The locks held now: key, owner, token, expiry.
    List(StateArgs),
}

/// Arguments of `weft lock acquire`.
#[derive(Debug, Args)]
pub struct LockAcquireArgs {
    /// The lock's name: letters, digits, `.`, `_`, `-`, `:` or `/` (at most 128).
    pub key: String,
    /// How long the lock holds unless renewed (acquire it again to renew).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub ttl: Duration,
    /// Who takes it (default: `user@host:pid` of this command).
    #[arg(long)]
    pub owner: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

/// Arguments of `weft lock release`.
#[derive(Debug, Args)]
pub struct LockReleaseArgs {
    /// The lock's name.
    pub key: String,
    /// The fencing token `weft lock acquire` printed.
    #[arg(long)]
    pub token: u64,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `weft schedules …`
#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// Every schedule: flow, index, cron, paused, fires, last and next fire.
    List(DaemonOutArgs),
    /// Stop a schedule firing until it is resumed.
    Pause(ScheduleArgs),
    /// Let a paused schedule fire again (nothing from the pause is caught up).
    Resume(ScheduleArgs),
    /// Fire a schedule once now (also while paused).
    Trigger(ScheduleArgs),
}

/// A schedule: its flow and its index in the flow's `schedule:` list.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// The flow id.
    pub flow: String,
    /// The schedule's index in the flow's `schedule:` list (from 0).
    pub index: usize,
    #[command(flatten)]
    pub out: DaemonOutArgs,
}

/// `weft daemon`
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Address of the HTTP API (port 0 picks a free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// Also serve the API on this Unix socket (mode 0600).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Serve `/metrics` on this address too (it is always on the API address).
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// The `instance` label on every metric (default: the host name).
    #[arg(long, env = "WEFT_INSTANCE")]
    pub instance_id: Option<String>,
    /// The folder of flow files (default: `flows/` next to weft.yaml).
    #[arg(long)]
    pub flows: Option<PathBuf>,
    /// In-process workers (0: only `weft worker` processes run tasks).
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// The state folder (default: the project's, `.weft/` next to weft.yaml).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Serve without authentication, every caller an admin. Only when weft.yaml
    /// declares no API token, and only on a loopback `--listen` address (and the
    /// Unix socket).
    #[arg(long)]
    pub no_auth: bool,
    /// Serve without the search index (the search endpoints say it is off).
    #[arg(long)]
    pub no_index: bool,
}
