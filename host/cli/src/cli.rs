//! The command line, as clap sees it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use weft_core::PluginKind;

use crate::units::{parse_duration, parse_size};

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
}

/// Arguments of `weft validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Flow files to check (default: every flows/*.yaml next to weft.yaml).
    pub files: Vec<PathBuf>,
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
