//! The command line of `weft workers start|stop|status`: a supervisor of
//! `weft worker` processes. Re-exported by [`crate::cli`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand};

use weft_flow::duration::parse_duration;

/// `weft workers …`
#[derive(Debug, Subcommand)]
pub enum WorkersCommand {
    /// Run N `weft worker` processes (or between `--min` and `--max`, scaled on
    /// the daemon's queue depth and lag); restart those that die; drain them on
    /// SIGTERM. Runs in the foreground until then.
    Start(Box<WorkersStartArgs>),
    /// Tell the supervisor named by the PID file to drain its workers and exit;
    /// waits until it has.
    Stop(WorkersStopArgs),
    /// The supervisor's workers: slot, pid, restarts, and its last scaling decision.
    Status(WorkersStatusArgs),
}

/// Where the supervisor's PID file is.
#[derive(Debug, Clone, Args)]
pub struct PidFileArgs {
    /// The supervisor's PID file; its status file is beside it (`.json`).
    #[arg(long, default_value = ".weft/workers.pid")]
    pub pid_file: PathBuf,
}

/// Arguments of `weft workers start`: exactly one of `-n` or `--min/--max`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("size").required(true).args(["count", "min"])))]
pub struct WorkersStartArgs {
    /// The daemon the workers work for (also `$WEFT_DAEMON`); `$WEFT_TOKEN` is
    /// passed on to them, and sent when reading the daemon's `/metrics`.
    #[arg(long, env = "WEFT_DAEMON")]
    pub daemon: Option<String>,
    /// A fixed number of workers.
    #[arg(short = 'n', long = "count", value_name = "N")]
    pub count: Option<usize>,
    /// Autoscale: never fewer workers than this.
    #[arg(long, requires = "max", value_name = "A")]
    pub min: Option<usize>,
    /// Autoscale: never more workers than this.
    #[arg(long, requires = "min", value_name = "B")]
    pub max: Option<usize>,
    /// Tasks each worker runs at once (its `--concurrency`).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// How long a worker's running tasks get to finish when it is stopped (its
    /// `--drain-grace`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub drain_grace: Duration,
    /// This supervisor's `instance` label (default: the host name); worker N
    /// is `<instance>-N`.
    #[arg(long, env = "WEFT_INSTANCE")]
    pub instance_id: Option<String>,
    /// Serve the supervisor's Prometheus metrics at this address (`/metrics`).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    #[command(flatten)]
    pub pid: PidFileArgs,
    /// A dead worker is restarted after this, doubled for each death in a row.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub restart_backoff: Duration,
    /// The longest restart back-off.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub restart_backoff_max: Duration,
    #[command(flatten)]
    pub scale: ScaleArgs,
    /// Further arguments of each `weft worker` (after `--`), e.g. `--pools a,b`.
    #[arg(last = true)]
    pub worker_args: Vec<String>,
}

/// The autoscaling rule's knobs (docs/deploy.md: the same rule as the
/// Kubernetes autoscalers in deploy/kubernetes/).
#[derive(Debug, Clone, Args)]
pub struct ScaleArgs {
    /// How often the daemon's queue is read.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub scale_interval: Duration,
    /// Scale up when ready tasks per worker slot stay above this.
    #[arg(long, default_value_t = 1.0)]
    pub up_depth_per_slot: f64,
    /// …or when the oldest ready task stays older than this.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub up_lag: Duration,
    /// …for this long.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub up_after: Duration,
    /// Scale down by one worker each time the queue has been empty this long.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub down_after: Duration,
}

/// Arguments of `weft workers stop`.
#[derive(Debug, Args)]
pub struct WorkersStopArgs {
    #[command(flatten)]
    pub pid: PidFileArgs,
    /// Give up waiting for the supervisor after this long (exit 1).
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Arguments of `weft workers status`.
#[derive(Debug, Args)]
pub struct WorkersStatusArgs {
    #[command(flatten)]
    pub pid: PidFileArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
