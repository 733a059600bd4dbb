//! The command line of `weft bench`.

use clap::Args;

/// `weft bench`: the standard workloads against a real daemon.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Measure this daemon (`http://HOST:PORT`, its flows must include the
    /// bench's `bench-chain` and `bench-one`) instead of starting one; backlog
    /// drains and daemon CPU/RSS need a daemon the bench starts itself.
    #[arg(long, value_name = "URL")]
    pub daemon: Option<String>,
    /// API token for `--daemon` (default: `$WEFT_TOKEN`).
    #[arg(long, env = "WEFT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Runs of the 3-step chain in the burst.
    #[arg(long, default_value_t = 2_000)]
    pub runs: usize,
    /// Concurrent clients in the burst (each submits a run and waits for it).
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Runs submitted one at a time, for latency.
    #[arg(long, default_value_t = 200)]
    pub sequential: usize,
    /// Backlog depths whose drain rate is measured (one-step runs queued with
    /// no worker, then drained).
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    pub depths: Vec<usize>,
    /// Runs of history submitted before a second burst (0: none).
    #[arg(long, default_value_t = 0)]
    pub history: usize,
    /// In-process workers of the daemon the bench starts.
    #[arg(long, default_value_t = 16)]
    pub workers: usize,
    /// Also measure the burst with this many `weft worker` processes (and no
    /// in-process workers).
    #[arg(long, default_value_t = 0)]
    pub remote_workers: usize,
    /// Slots per `weft worker` process.
    #[arg(long, default_value_t = 8)]
    pub remote_slots: usize,
    /// The default pool's policy component: `priority-fifo`, `fair-share`, or
    /// `none` (priority order, no component).
    #[arg(long, default_value = "priority-fifo")]
    pub policy: String,
    /// Keep the bench daemons' store in PostgreSQL (the URL in
    /// `$WEFT_DATABASE_URL`; each phase in a schema of its own) instead of an
    /// embedded redb file.
    #[arg(long)]
    pub postgres: bool,
    /// Also measure the burst on this many daemons sharing one PostgreSQL
    /// schema (needs `--postgres`), the clients spread over them.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub daemons: usize,
    /// Start the daemon without its search index.
    #[arg(long)]
    pub no_index: bool,
    /// A short run for CI: 300 burst runs, 50 sequential, depths 100 and 1000.
    #[arg(long)]
    pub quick: bool,
    /// After the load, also measure the idle daemon again once it has been
    /// quiet this many seconds (the search index merges its segments after a
    /// long load; memory a daemon gives back shows here).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub settle: u64,
    /// Exit non-zero if the burst's store operations per commit fall below
    /// this (a serialising change shows as ~1).
    #[arg(long, value_name = "RATIO")]
    pub min_ops_per_commit: Option<f64>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}
