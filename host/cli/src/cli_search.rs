//! The command line of `weft search` and `weft index …`.

use clap::{Args, Subcommand};

use crate::cli::StateArgs;

/// Arguments of `weft search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query: words, "phrases", and fields such as `flow:billing
    /// status:failed error:timeout since:7d` (see docs/search.md).
    #[arg(default_value = "")]
    pub query: String,
    /// Nearest-neighbour search over run summaries (needs an embedding model).
    #[arg(long)]
    pub semantic: bool,
    /// Only runs of this flow.
    #[arg(long)]
    pub flow: Option<String>,
    /// Only runs with this status (queued, running, succeeded, failed, cancelled).
    #[arg(long)]
    pub status: Option<String>,
    /// Only this tenant's runs (admins; a tenant's token always sees its own).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only runs submitted since: an age (`7d`, `12h`), a date or an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only runs submitted before this time (same forms as `--since`).
    #[arg(long)]
    pub until: Option<String>,
    /// Order: `score` (best match first) or `time` (newest first).
    #[arg(long, default_value = "score", value_parser = ["score", "time"])]
    pub sort: String,
    /// Search step outcomes instead of runs.
    #[arg(long)]
    pub steps: bool,
    /// At most this many results.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `weft index …`
#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Delete the search index and build it again from the store.
    Rebuild(StateArgs),
    /// How far the search index is behind the store.
    Status(StateArgs),
}
